// GetMedia live latency: from the moment a fragment is PERSISTED (the archive's durable
// callback, where PutMedia publishes it to the LiveHub) to the first byte of its chunk at
// each GetMedia reader, with 1 and 100 readers of one stream. Goal: p99 under 5 ms.
//
// The server parts run in this process (archive, LiveHub, worker pool, the libwebsockets
// HTTP server with the real GetMedia handler) so the publish time and the arrival time are
// read from one clock; the readers are plain loopback sockets, one thread each.
//
// Reference, measured in the same run: one thread writing the same chunk bytes straight to
// N loopback sockets (no server, no HTTP), first byte at each reader: the floor the kernel
// and the scheduler set on this machine. The ratio is ours / reference at p99.
//
// Usage: getmedia_live_bench [--fragments N] [--readers 1,100] [--fragment-kib K]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "archive/archive.h"
#include "bench/figures.h"
#include "bench/loopback.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mkv.h"
#include "playback/live_hub.h"
#include "server/api_context.h"
#include "server/http_server.h"
#include "server/kvs_error.h"
#include "server/media_api.h"
#include "server/worker_pool.h"

namespace {

using namespace streamarc;
using Steady = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch())
      .count();
}

void SleepUs(int64_t us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles Summarize(std::vector<double> ms) {
  Percentiles p;
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.max = ms.back();
  return p;
}

using bench::Connect;

// A fragment as PutMedia stores it: the header section and one cluster of `kib` KiB
// (30 frames of incompressible bytes, one second at 30 fps).
struct Fragment {
  std::string header;
  std::string cluster;
};

Fragment MakeFragment(int64_t timecode_ms, size_t kib) {
  Fragment f;
  mkv::Bytes h;
  mkv::Writer hw(h);
  hw.WriteEbmlHeader();
  hw.BeginSegment();
  hw.WriteInfo({});
  mkv::TrackInfo video;
  video.number = 1;
  video.codec_id = "V_MPEG4/ISO/AVC";
  video.pixel_width = 1920;
  video.pixel_height = 1080;
  hw.WriteTracks(std::span<const mkv::TrackInfo>(&video, 1));
  f.header.assign(h.begin(), h.end());
  mkv::Bytes c;
  mkv::Writer cw(c);
  (void)cw.BeginCluster(timecode_ms);
  std::mt19937 rng(static_cast<uint32_t>(timecode_ms));
  std::vector<uint8_t> frame(kib * 1024 / 30);
  for (int i = 0; i < 30; ++i) {
    for (auto& b : frame) b = static_cast<uint8_t>(rng());
    (void)cw.WriteFrame(1, timecode_ms + i * 33, i == 0, frame);
  }
  (void)cw.EndCluster();
  f.cluster.assign(c.begin(), c.end());
  return f;
}

// Reads one HTTP response's chunked body, noting when the first byte of each chunk arrives.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  ~Reader() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  void Start(size_t expected_chunks) {
    first_byte_ns_.assign(expected_chunks, 0);
    thread_ = std::thread([this] { Loop(); });
  }
  void Shutdown() { ::shutdown(fd_, SHUT_RDWR); }
  size_t complete() const { return complete_.load(); }
  const std::vector<int64_t>& first_byte_ns() const { return first_byte_ns_; }

  // Reads the response head; true on 200.
  bool ReadHead() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && recv(fd_, &c, 1, 0) == 1) head += c;
    return head.rfind("HTTP/1.1 200", 0) == 0;
  }

 private:
  void Loop() {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) return;
      int64_t now = NowNs();
      for (ssize_t i = 0; i < n; ++i) Byte(buf[static_cast<size_t>(i)], now);
    }
  }
  // Chunked framing: "<hex>\r\n" <payload> "\r\n".
  void Byte(char c, int64_t now) {
    switch (state_) {
      case kSize:
        if (size_line_.empty() && index_ < first_byte_ns_.size() && !first_byte_ns_[index_]) {
          first_byte_ns_[index_] = now;
        }
        if (c == '\n') {
          left_ = std::strtoull(size_line_.c_str(), nullptr, 16);
          size_line_.clear();
          state_ = left_ ? kData : kSize;
        } else {
          size_line_ += c;
        }
        break;
      case kData:
        if (--left_ == 0) state_ = kEnd;
        break;
      case kEnd:
        if (c == '\n') {
          state_ = kSize;
          ++index_;
          complete_.store(index_);
        }
        break;
    }
  }
  enum State { kSize, kData, kEnd };
  int fd_;
  std::thread thread_;
  State state_ = kSize;
  std::string size_line_;
  uint64_t left_ = 0;
  size_t index_ = 0;
  std::atomic<size_t> complete_{0};
  std::vector<int64_t> first_byte_ns_;
};

bool WaitAll(const std::vector<std::unique_ptr<Reader>>& readers, size_t chunks) {
  int64_t deadline = NowNs() + 10'000'000'000;
  for (const auto& r : readers) {
    while (r->complete() < chunks) {
      if (NowNs() > deadline) return false;
      SleepUs(100);
    }
  }
  return true;
}

struct Server {
  SystemClock clock;
  Logger log{clock, LogLevel::kWarn};
  std::unique_ptr<archive::Env> env = archive::NewPosixEnv();
  std::unique_ptr<archive::Archive> archive;
  playback::LiveHub hub;
  server::RequestIds ids{1};
  server::WorkerPool pool{2, 1024};
  std::unique_ptr<server::ApiContext> ctx;
  std::unique_ptr<server::HttpServer> http;
  std::thread thread;

  bool Start(const std::string& root) {
    archive::Options ao;
    ao.root = root;
    ao.sync = false;  // latency after the durable point is what we measure
    ao.sweep_interval_us = 0;
    auto a = archive::OpenLocalArchive(ao, *env, clock, log);
    if (!a.ok()) return false;
    archive = std::move(*a);
    archive::CreateStreamRequest req;
    req.name = "bench";
    req.retention_hours = 1;
    if (!archive->CreateStream(req).ok()) return false;
    server::HttpServerOptions ho;
    ho.port = 0;
    http = std::make_unique<server::HttpServer>(ho, pool, log);
    if (!http->Start().ok()) return false;
    ctx = std::make_unique<server::ApiContext>(
        server::ApiContext{*archive, hub, pool, clock, log, ids, "", "secret"});
    server::MediaApiOptions mo;
    mo.max_get_media_per_stream = 1000;
    server::RegisterMediaApi(*http, *ctx, mo);
    thread = std::thread([this] { http->Run(); });
    return true;
  }
  ~Server() {
    if (http) http->Stop();
    if (thread.joinable()) thread.join();
    http.reset();
  }
};

// Ours: `readers` GetMedia NOW connections; `fragments` appended one at a time, each
// published at its durable callback. Returns the latency of every (fragment, reader).
std::vector<double> RunOurs(Server& s, int readers, int fragments, size_t kib, int warmup) {
  std::vector<std::unique_ptr<Reader>> rs;
  const std::string body = R"({"StreamName":"bench","StartSelector":{"StartSelectorType":"NOW"}})";
  const std::string req = "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  for (int i = 0; i < readers; ++i) {
    int fd = Connect(s.http->port());
    if (fd < 0 || send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) return {};
    rs.push_back(std::make_unique<Reader>(fd));
    if (!rs.back()->ReadHead()) {
      std::fprintf(stderr, "reader %d refused\n", i);
      return {};
    }
    rs.back()->Start(static_cast<size_t>(fragments));
  }
  std::vector<int64_t> published(static_cast<size_t>(fragments), 0);
  auto ref = archive::StreamRef::Name("bench");
  for (int k = 0; k < fragments; ++k) {
    Fragment f = MakeFragment(int64_t{k} * 1000, kib);
    archive::FragmentInput in;
    in.bytes = f.cluster;
    in.producer_timestamp_us = s.clock.NowMicros();
    in.server_timestamp_us = in.producer_timestamp_us;
    in.duration_us = 1'000'000;
    in.track_info = f.header;
    auto cluster = std::make_shared<const std::string>(f.cluster);
    auto appended = s.archive->Append(
        ref, std::move(in),
        [&s, &published, k, cluster](const Status& st, const archive::FragmentInfo& info) {
          if (!st.ok()) return;
          auto live = std::make_shared<playback::LiveFragment>();
          live->stream_name = "bench";
          live->info = info;
          live->cluster = cluster;
          published[static_cast<size_t>(k)] = NowNs();  // PERSISTED, as PutMedia publishes
          s.hub.Publish(live);
        });
    if (!appended.ok()) return {};
    if (!WaitAll(rs, static_cast<size_t>(k) + 1)) {
      std::fprintf(stderr, "readers stalled at fragment %d\n", k);
      return {};
    }
    SleepUs(2000);  // a quiet gap, as between real fragments
  }
  std::vector<double> ms;
  for (auto& r : rs) {
    for (int k = warmup; k < fragments; ++k) {
      ms.push_back(
          (r->first_byte_ns()[static_cast<size_t>(k)] - published[static_cast<size_t>(k)]) / 1e6);
    }
    r->Shutdown();
  }
  rs.clear();
  return ms;
}

// Reference: one thread writes the same bytes to N loopback sockets.
std::vector<double> RunReference(int readers, int fragments, size_t kib, int warmup) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("bind");
    close(lfd);
    return {};
  }
  socklen_t len = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  listen(lfd, 1024);
  int port = ntohs(a.sin_port);
  std::vector<std::unique_ptr<Reader>> rs;
  std::vector<int> writers;
  for (int i = 0; i < readers; ++i) {
    rs.push_back(std::make_unique<Reader>(Connect(port)));
    int w = accept(lfd, nullptr, nullptr);
    int one = 1;
    setsockopt(w, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    writers.push_back(w);
    rs.back()->Start(static_cast<size_t>(fragments));
  }
  close(lfd);
  Fragment f = MakeFragment(0, kib);
  std::string chunk = f.header + f.cluster;
  char head[32];
  std::snprintf(head, sizeof head, "%zx\r\n", chunk.size());
  chunk = head + chunk + "\r\n";
  std::vector<int64_t> sent(static_cast<size_t>(fragments));
  for (int k = 0; k < fragments; ++k) {
    sent[static_cast<size_t>(k)] = NowNs();
    for (int w : writers) {
      size_t p = 0;
      while (p < chunk.size()) {
        ssize_t n = send(w, chunk.data() + p, chunk.size() - p, MSG_NOSIGNAL);
        if (n <= 0) break;
        p += static_cast<size_t>(n);
      }
    }
    if (!WaitAll(rs, static_cast<size_t>(k) + 1)) return {};
    SleepUs(2000);
  }
  std::vector<double> ms;
  for (auto& r : rs) {
    for (int k = warmup; k < fragments; ++k) {
      ms.push_back((r->first_byte_ns()[static_cast<size_t>(k)] - sent[static_cast<size_t>(k)]) /
                   1e6);
    }
  }
  for (int w : writers) close(w);
  rs.clear();
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int fragments = 200;
  size_t kib = 128;
  std::vector<int> reader_counts = {1, 100};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--fragments") fragments = std::atoi(argv[i + 1]);
    if (flag == "--fragment-kib") kib = static_cast<size_t>(std::atoi(argv[i + 1]));
    if (flag == "--readers") {
      reader_counts.clear();
      for (char* p = argv[i + 1]; *p;) {
        reader_counts.push_back(static_cast<int>(std::strtol(p, &p, 10)));
        if (*p == ',') ++p;
      }
    }
  }
  const int warmup = std::min(10, fragments / 10);
  std::string root =
      std::filesystem::temp_directory_path() / ("getmedia_live_bench." + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  int rc = 0;
  {
    Server server;
    if (!server.Start(root)) {
      std::fprintf(stderr, "cannot start the server parts\n");
      return 1;
    }
    std::printf("GetMedia live latency: PERSISTED -> first byte at the reader\n");
    std::printf("%d fragments of %zu KiB per run (%d warm-up dropped), 2 ms gap\n\n", fragments,
                kib, warmup);
    std::printf("%-8s %10s %10s %10s | %10s %10s | %8s %s\n", "readers", "p50 ms", "p99 ms",
                "max ms", "ref p50", "ref p99", "p99/ref", "goal p99<5ms");
    for (int n : reader_counts) {
      auto ours = RunOurs(server, n, fragments, kib, warmup);
      auto ref = RunReference(n, fragments, kib, warmup);
      if (ours.empty() || ref.empty()) {
        std::printf("%-8d run failed\n", n);
        rc = 1;
        continue;
      }
      Percentiles o = Summarize(ours), r = Summarize(ref);
      std::printf("%-8d %10.3f %10.3f %10.3f | %10.3f %10.3f | %8.2f %s\n", n, o.p50, o.p99, o.max,
                  r.p50, r.p99, r.p99 > 0 ? o.p99 / r.p99 : 0.0, o.p99 < 5.0 ? "met" : "NOT met");
      const std::string at = std::to_string(n) + (n == 1 ? " reader" : " readers");
      const std::string floor = "one thread writing to the sockets, same run (goal p99 < 5 ms)";
      streamarc::bench::PrintFigure("getmedia_live_bench", at + ": PERSISTED to first byte p50",
                                    o.p50, r.p50, "ms", floor);
      streamarc::bench::PrintFigure("getmedia_live_bench", at + ": PERSISTED to first byte p99",
                                    o.p99, r.p99, "ms", floor);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(root);
  return rc;
}
