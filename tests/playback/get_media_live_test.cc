// GetMedia's live fan-out in one process (archive, LiveHub, worker pool, the real HTTP server
// and handler) with small bounds: a reader that stops reading never holds up ingest or a
// reader that keeps up, and once it reads again it gets every fragment, in order, once
// (caught up from the archive after it fell off the live feed).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "archive/archive.h"
#include "common/mkv.h"
#include "playback/live_hub.h"
#include "server/api_context.h"
#include "server/http_server.h"
#include "server/media_api.h"
#include "tests/support/mkv_stream.h"
#include "tests/support/raw_http.h"
#include "tests/support/subprocess.h"

namespace streamarc::playback {
namespace {

constexpr int kFragments = 200;
constexpr size_t kFrameBytes = 4000;  // 30 frames: ~120 KB per fragment, ~24 MB in all

std::string Header() {
  mkv::Bytes h = testing::MkvHeader({testing::H264Track(/*codec_private=*/{})});
  return std::string(h.begin(), h.end());
}

std::string Cluster(int k) {
  mkv::Bytes c;
  mkv::Writer w(c);
  EXPECT_TRUE(w.BeginCluster(int64_t{k} * 1000).ok());
  std::vector<uint8_t> frame(kFrameBytes, static_cast<uint8_t>(k));
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(w.WriteFrame(1, int64_t{k} * 1000 + i * 33, i == 0, frame).ok());
  }
  EXPECT_TRUE(w.EndCluster().ok());
  return std::string(c.begin(), c.end());
}

// The fragment numbers in a GetMedia body (HTTP framing removed).
class Numbers : public mkv::ReaderHandler {
 public:
  Status OnTags(const std::vector<mkv::SimpleTag>& tags) override {
    for (const auto& t : tags) {
      if (t.name == "AWS_KINESISVIDEO_FRAGMENT_NUMBER") numbers.push_back(t.value);
    }
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame&) override {
    ++frames;
    return Status::Ok();
  }
  std::vector<std::string> numbers;
  size_t frames = 0;
};

// A GetMedia connection with a small receive buffer, read on demand.
class Client {
 public:
  explicit Client(int port) {
    fd_ = testing::ConnectLoopback(port, 20'000, /*rcvbuf_bytes=*/32 * 1024);
    EXPECT_GE(fd_, 0);
    std::string body = R"({"StreamName":"cam","StartSelector":{"StartSelectorType":"NOW"}})";
    std::string req =
        "POST /getMedia HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    EXPECT_EQ(send(fd_, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    while (raw_.find("\r\n\r\n") == std::string::npos && ReadSome()) {
    }
    EXPECT_EQ(raw_.rfind("HTTP/1.1 200", 0), 0u) << raw_;
    raw_.erase(0, raw_.find("\r\n\r\n") + 4);
  }
  ~Client() { close(fd_); }

  // Reads until `chunks` HTTP chunks have arrived; returns their payloads joined.
  std::string ReadChunks(size_t chunks) {
    std::string body;
    size_t p = 0, got = 0;
    while (got < chunks) {
      size_t eol = raw_.find("\r\n", p);
      if (eol != std::string::npos) {
        size_t n = std::strtoul(raw_.c_str() + p, nullptr, 16);
        if (raw_.size() >= eol + 2 + n + 2) {
          body.append(raw_, eol + 2, n);
          p = eol + 2 + n + 2;
          ++got;
          continue;
        }
      }
      if (!ReadSome()) break;
    }
    raw_.erase(0, p);
    return body;
  }

 private:
  bool ReadSome() {
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    raw_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string raw_;
};

TEST(GetMediaLive, SlowReaderFallsBackToTheArchiveWithoutHoldingUpIngestOrOthers) {
  testing::TempDir dir;
  SystemClock clock;
  std::mutex log_mu;
  std::string log_text;
  Logger log(clock, LogLevel::kInfo, [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log_text.append(line);
  });
  auto env = archive::NewPosixEnv();
  archive::Options ao;
  ao.root = dir.path();
  ao.sync = false;
  ao.sweep_interval_us = 0;
  auto opened = archive::OpenLocalArchive(ao, *env, clock, log);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& a = **opened;
  archive::CreateStreamRequest create;
  create.name = "cam";
  create.retention_hours = 1;
  ASSERT_TRUE(a.CreateStream(create).ok());

  LiveHub hub;
  server::RequestIds ids(1);  // before the pool: its jobs may still use it while it drains
  server::WorkerPool pool(2, 1024);
  server::HttpServerOptions ho;
  ho.port = 0;
  server::HttpServer http(ho, pool, log);
  ASSERT_TRUE(http.Start().ok());
  server::ApiContext ctx{a, hub, pool, clock, log, ids, "", "secret"};
  server::MediaApiOptions mo;
  mo.max_reader_queued_bytes = 256 * 1024;
  mo.resume_queued_bytes = 64 * 1024;
  server::RegisterMediaApi(http, ctx, mo);
  std::thread service([&] { http.Run(); });

  {
    Client slow(http.port());
    Client fast(http.port());
    std::string fast_body;
    std::thread fast_reader([&] { fast_body = fast.ReadChunks(kFragments); });

    // Ingest as PutMedia does: append, publish at the durable callback. Nothing here waits
    // for a reader.
    const std::string header = Header();
    std::atomic<int> durable{0};
    std::vector<std::string> appended;
    for (int k = 0; k < kFragments; ++k) {
      archive::FragmentInput in;
      in.bytes = Cluster(k);
      in.server_timestamp_us = clock.NowMicros();
      in.producer_timestamp_us = in.server_timestamp_us;
      in.duration_us = 1'000'000;
      in.track_info = header;
      auto shared = std::make_shared<const std::string>(in.bytes);
      auto n = a.Append(archive::StreamRef::Name("cam"), std::move(in),
                        [&, shared](const Status& s, const archive::FragmentInfo& info) {
                          ASSERT_TRUE(s.ok());
                          auto live = std::make_shared<LiveFragment>();
                          live->stream_name = "cam";
                          live->info = info;
                          live->cluster = shared;
                          hub.Publish(live);
                          durable.fetch_add(1);
                        });
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      appended.push_back(*n);
      if (k % 20 == 19) a.Flush();  // spread the fragments over several commits
    }
    a.Flush();
    EXPECT_EQ(durable.load(), kFragments) << "ingest finished while a reader read nothing";

    fast_reader.join();
    Numbers f;
    {
      mkv::Reader r(f);
      ASSERT_TRUE(
          r.Feed({reinterpret_cast<const uint8_t*>(fast_body.data()), fast_body.size()}).ok());
    }
    EXPECT_EQ(f.numbers, appended);
    EXPECT_EQ(f.frames, size_t{kFragments} * 30);

    // The slow reader now reads: every fragment once, in order.
    std::string slow_body = slow.ReadChunks(kFragments);
    Numbers s;
    {
      mkv::Reader r(s);
      ASSERT_TRUE(
          r.Feed({reinterpret_cast<const uint8_t*>(slow_body.data()), slow_body.size()}).ok());
    }
    EXPECT_EQ(s.numbers, appended);
    EXPECT_EQ(s.frames, size_t{kFragments} * 30);
  }
  {
    std::lock_guard<std::mutex> lock(log_mu);
    EXPECT_NE(log_text.find("reader fell behind"), std::string::npos)
        << "the slow reader never left the live feed: raise kFragments";
  }
  http.Stop();
  service.join();
}

}  // namespace
}  // namespace streamarc::playback
