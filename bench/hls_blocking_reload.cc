// LL-HLS blocking playlist reloads at 100 viewers of one stream: the time from a part
// becoming available on the live edge to each viewer's answer (the playlist that lists it),
// p50/p99. Goal (issue 13): under 50 ms.
//
// The server parts run in this process (archive, LiveHub and its part feed, worker pool, the
// libwebsockets HTTP server with the real HLS routes), so "available" and "answered" are read
// from one clock: the feeder replays a real 720p25 H.264 stream (ffmpeg, 2 s GOPs, cut by
// our fragmenter) frame by frame in real time to the part feed, as PutMedia does, and notes
// when it publishes the frame that closes each part (it runs the same PartCutter to know).
// Each viewer is a loopback socket on its own thread that asks for the next part
// (_HLS_msn/_HLS_part) as soon as it has an answer; only requests sent before their part
// existed count.
//
// Reference, same run: the same viewers fetching the playlist without blocking (the cost of
// building and sending an answer at that concurrency). Ratio ours / reference at p99.
//
// Usage: hls_blocking_reload [--viewers N] [--fragments N]
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
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive/archive.h"
#include "bench/figures.h"
#include "bench/loopback.h"
#include "common/clock.h"
#include "common/log.h"
#include "fragmenter/fragmenter.h"
#include "playback/live_hub.h"
#include "playback/part_cutter.h"
#include "server/api_context.h"
#include "server/hls_api.h"
#include "server/http_server.h"
#include "server/router.h"
#include "server/worker_pool.h"
#include "tests/support/ll_playlist.h"

namespace {

using namespace streamarc;
using Steady = std::chrono::steady_clock;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Steady::now().time_since_epoch())
      .count();
}

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

Percentiles Summarize(std::vector<double> ms) {
  Percentiles p;
  p.n = ms.size();
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

// ---- the input: a real stream, as the fragmenter writes it ----

struct Frame {
  uint64_t track;
  int64_t timecode;
  bool key, cut_track;
  std::string data;
};
struct Recorded : fragmenter::FragmentSink {
  std::string header;
  std::vector<std::vector<Frame>> frames;
  std::vector<std::shared_ptr<const fragmenter::Fragment>> fragments;
  Status OnFragmentStart(const fragmenter::FragmentHead& h) override {
    if (header.empty()) header.assign(h.section->header.begin(), h.section->header.end());
    frames.emplace_back();
    return Status::Ok();
  }
  void OnFrameWritten(const fragmenter::FragmentHead&, const fragmenter::WrittenFrame& f) override {
    frames.back().push_back(
        {f.track, f.timecode, f.key, f.cut_track, std::string(f.data.begin(), f.data.end())});
  }
  Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
    fragments.push_back(std::move(f));
    return Status::Ok();
  }
};

bool MakeInput(const std::string& path, Recorded* out) {
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string cmd =
        "ffmpeg -v error -nostdin -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 40 "
        "-c:v libx264 -preset veryfast -b:v 2M -g 50 -bf 0 -pix_fmt yuv420p " +
        path;
    if (std::system(cmd.c_str()) != 0) return false;
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::string bytes;
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
  std::fclose(f);
  SystemClock clock;
  fragmenter::Options o;
  o.max_fragments_per_second = 0;
  o.max_bytes_per_second = 0;
  auto frag = fragmenter::NewFragmenter(o, *out, clock);
  if (!frag.ok()) return false;
  mkv::Reader reader(**frag);
  Status s = reader.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (s.ok()) s = reader.Finish();
  return s.ok() && out->fragments.size() >= 4;
}

// ---- a minimal HTTP/1.1 client over a kept-alive loopback socket ----

using bench::Connect;

// Sends a request and reads one response; returns the body ("" on failure), *status.
std::string Exchange(int fd, const std::string& method, const std::string& target,
                     const std::string& body, int* status) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!body.empty()) {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return "";
  std::string in;
  char buf[65536];
  size_t head_end = std::string::npos, length = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        *status = std::atoi(in.c_str() + 9);
        std::string lower = in.substr(0, head_end);
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        const size_t cl = lower.find("content-length:");
        length = cl == std::string::npos ? 0 : std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
      }
    }
    if (head_end != std::string::npos && in.size() >= head_end + 4 + length) {
      return in.substr(head_end + 4, length);
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return "";
    in.append(buf, static_cast<size_t>(n));
  }
}

struct Server {
  SystemClock clock;
  Logger log{clock, LogLevel::kWarn};
  std::unique_ptr<archive::Env> env = archive::NewPosixEnv();
  std::unique_ptr<archive::Archive> archive;
  playback::LiveHub hub;
  server::RequestIds ids{1};
  server::WorkerPool pool{2, 4096};
  std::unique_ptr<server::ApiContext> ctx;
  std::unique_ptr<server::HttpServer> http;
  std::thread thread;

  bool Start(const std::string& root) {
    archive::Options ao;
    ao.root = root;
    ao.sync = false;
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
    ctx = std::make_unique<server::ApiContext>(server::ApiContext{
        *archive, hub, pool, clock, log, ids, "http://127.0.0.1:" + std::to_string(http->port()),
        "secret-secret-secret-secret-secr"});
    server::Router routes(*http);
    server::RegisterHlsApi(routes, *ctx);
    thread = std::thread([this] { http->Run(); });
    return true;
  }
  ~Server() {
    if (http) http->Stop();
    if (thread.joinable()) thread.join();
    http.reset();
  }
};

}  // namespace

int main(int argc, char** argv) {
  int viewers = 100, fragments = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--viewers")) viewers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--fragments")) fragments = std::atoi(argv[i + 1]);
  }
  Recorded input;
  if (!MakeInput("bench-data/llhls_720p25.mkv", &input)) {
    std::fprintf(stderr, "could not make or cut the input (ffmpeg?)\n");
    return 1;
  }
  fragments = std::min<int>(fragments, static_cast<int>(input.fragments.size()) - 1);
  const std::string root = "bench-data/hls_blocking_reload";
  std::filesystem::remove_all(root);
  Server server;
  if (!server.Start(root)) {
    std::fprintf(stderr, "server did not start\n");
    return 1;
  }
  auto header = std::make_shared<const std::string>(input.header);

  // Fragment 0 persisted, so a LIVE session can be made.
  auto persist = [&](size_t k, int64_t server_us) {
    const auto& f = *input.fragments[k];
    archive::FragmentInput in;
    in.bytes.assign(f.cluster.begin(), f.cluster.end());
    in.server_timestamp_us = server_us;
    in.producer_timestamp_us = f.producer_timestamp_ms * 1000;
    in.duration_us = f.duration_ms * 1000;
    in.track_info = input.header;
    auto n = server.archive->Append(archive::StreamRef::Name("bench"), std::move(in),
                                    [](const Status&, const archive::FragmentInfo&) {});
    return n.ok() ? *n : std::string();
  };
  persist(0, server.clock.NowMicros());
  server.archive->Flush();

  int status = 0;
  int fd = Connect(server.http->port());
  const std::string created = Exchange(
      fd, "POST", "/getHLSStreamingSessionURL",
      R"({"StreamName":"bench","PlaybackMode":"LIVE","DisplayFragmentTimestamp":"ALWAYS"})",
      &status);
  close(fd);
  const size_t at = created.find("/hls/v1/");
  if (status != 200 || at == std::string::npos) {
    std::fprintf(stderr, "session: %d %s\n", status, created.c_str());
    return 1;
  }
  const std::string token =
      created.substr(created.find("SessionToken=") + 13,
                     created.find('"', at) - created.find("SessionToken=") - 13);
  const std::string playlist =
      "/hls/v1/getHLSMediaPlaylist.m3u8?SessionToken=" + token + "&TrackNumber=1";

  // When each part (edge id, index) became available.
  std::mutex mu;
  std::map<std::pair<uint64_t, uint32_t>, int64_t> available;
  std::atomic<bool> done{false};

  // Fragment k's start, as PutMedia announces it when the fragment's first cluster begins.
  auto fragment_start = [&](int k) {
    playback::PartEvent start;
    start.type = playback::PartEvent::Type::kFragmentStart;
    start.stream_name = "bench";
    start.header = header;
    start.producer_timestamp_us =
        input.fragments[static_cast<size_t>(k)]->producer_timestamp_ms * 1000;
    start.server_timestamp_us = server.clock.NowMicros();
    server.hub.parts().Publish(start);
    return start.server_timestamp_us;
  };
  // The first playlist names the next fragment's edge id in its hint. The live edge follows a
  // stream once it has a viewer, and hints once it has seen a fragment start (before, one may
  // be under way that it cannot serve): a first request, then fragment 1 starts; its frames
  // follow once the viewers wait.
  fd = Connect(server.http->port());
  (void)Exchange(fd, "GET", playlist, "", &status);
  close(fd);
  int64_t start_us = fragment_start(1);
  fd = Connect(server.http->port());
  const std::string first_text = Exchange(fd, "GET", playlist, "", &status);
  auto first = testing::ParseLlPlaylist(first_text);
  close(fd);
  const size_t id_at = first.hint_uri.find("LiveFragment=");
  if (id_at == std::string::npos) {
    std::fprintf(stderr, "no LL playlist:\n%d\n%s\n", status, first_text.c_str());
    return 1;
  }
  const uint64_t first_id = std::strtoull(first.hint_uri.c_str() + id_at + 13, nullptr, 10);

  std::vector<double> blocking_ms;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(viewers));
  std::atomic<int> ready{0};
  for (int v = 0; v < viewers; ++v) {
    threads.emplace_back([&] {
      int c = Connect(server.http->port());
      int st = 0;
      auto p = testing::ParseLlPlaylist(Exchange(c, "GET", playlist, "", &st));
      ready.fetch_add(1);
      std::vector<std::pair<std::pair<uint64_t, uint32_t>, std::pair<int64_t, int64_t>>> mine;
      while (!done.load() && !p.segments.empty()) {
        const auto& last = p.segments.back();
        const uint64_t msn = last.complete ? last.msn + 1 : last.msn;
        const uint32_t part = last.complete ? 0 : static_cast<uint32_t>(last.parts.size());
        const int64_t sent = NowUs();
        const std::string body = Exchange(
            c, "GET",
            playlist + "&_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part),
            "", &st);
        const int64_t got = NowUs();
        if (body.empty() || st != 200) break;
        p = testing::ParseLlPlaylist(body);
        for (const auto& s : p.segments) {
          if (s.msn != msn || s.parts.size() <= part) continue;
          const std::string& uri = s.parts[part].uri;
          const size_t i = uri.find("LiveFragment=");
          const uint64_t id = std::strtoull(uri.c_str() + i + 13, nullptr, 10);
          mine.push_back({{id, part}, {sent, got}});
        }
      }
      close(c);
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [key, times] : mine) {
        auto it = available.find(key);
        // Only requests that had to wait for their part measure the wake-up.
        if (it == available.end() || times.first >= it->second) continue;
        blocking_ms.push_back((times.second - it->second) / 1000.0);
      }
    });
  }
  while (ready.load() < viewers) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // The feeder: fragments 1..N in real time, as PutMedia hands them over.
  const int64_t t0 = NowUs();
  const int64_t base_tc = input.frames[1].front().timecode;
  for (int k = 1; k <= fragments; ++k) {
    const auto& f = *input.fragments[k];
    const uint64_t id = first_id + static_cast<uint64_t>(k - 1);
    if (k > 1) start_us = fragment_start(k);
    playback::PartCutter mirror(333'000, 1'000'000);
    for (const Frame& fr : input.frames[k]) {
      const int64_t due = t0 + (fr.timecode - base_tc) * 1000;
      while (NowUs() < due) std::this_thread::sleep_for(std::chrono::microseconds(due - NowUs()));
      playback::PartEvent e;
      e.type = playback::PartEvent::Type::kFrame;
      e.stream_name = "bench";
      e.track = fr.track;
      e.timecode = fr.timecode;
      e.key = fr.key;
      e.cut_track = fr.cut_track;
      e.data = {reinterpret_cast<const uint8_t*>(fr.data.data()), fr.data.size()};
      auto cut = mirror.Add({fr.track, fr.timecode, fr.key, fr.cut_track, e.data});
      const int64_t now = NowUs();
      if (cut) {
        std::lock_guard<std::mutex> lock(mu);
        available[{id, cut->index}] = now;
      }
      server.hub.parts().Publish(e);
    }
    auto last = mirror.Finish(f.duration_ms * 1000);
    const std::string number = persist(static_cast<size_t>(k), start_us);
    playback::PartEvent end;
    end.type = playback::PartEvent::Type::kFragmentEnd;
    end.stream_name = "bench";
    end.fragment_number = number;
    end.duration_us = f.duration_ms * 1000;
    end.cluster = std::make_shared<const std::string>(f.cluster.begin(), f.cluster.end());
    if (last) {
      std::lock_guard<std::mutex> lock(mu);
      available[{id, last->index}] = NowUs();
    }
    server.hub.parts().Publish(end);
  }
  done.store(true);
  // Wake the viewers still parked: one more fragment start.
  playback::PartEvent wake;
  wake.type = playback::PartEvent::Type::kFragmentStart;
  wake.stream_name = "bench";
  wake.header = header;
  wake.server_timestamp_us = server.clock.NowMicros();
  server.hub.parts().Publish(wake);
  for (auto& t : threads) t.join();

  // Reference: the same viewers, plain playlist requests, all at once.
  std::vector<double> plain_ms;
  threads.clear();
  for (int v = 0; v < viewers; ++v) {
    threads.emplace_back([&] {
      int c = Connect(server.http->port());
      int st = 0;
      std::vector<double> mine;
      for (int i = 0; i < 20; ++i) {
        const int64_t sent = NowUs();
        if (Exchange(c, "GET", playlist, "", &st).empty()) break;
        mine.push_back((NowUs() - sent) / 1000.0);
      }
      close(c);
      std::lock_guard<std::mutex> lock(mu);
      plain_ms.insert(plain_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();

  const Percentiles b = Summarize(blocking_ms);
  const Percentiles r = Summarize(plain_ms);
  std::printf("hls_blocking_reload: %d viewers, %d fragments of ~2 s, parts of <= 333 ms\n",
              viewers, fragments);
  std::printf(
      "  part available -> blocking reload answered: p50 %.2f ms, p99 %.2f ms, max %.2f "
      "ms (%zu answers)\n",
      b.p50, b.p99, b.max, b.n);
  std::printf("  reference, plain playlist GET at %d viewers: p50 %.2f ms, p99 %.2f ms (%zu)\n",
              viewers, r.p50, r.p99, r.n);
  std::printf("  ratio ours/reference at p99: %.2f; goal p99 < 50 ms: %s\n",
              r.p99 > 0 ? b.p99 / r.p99 : 0.0, b.p99 < 50 ? "met" : "not met");
  streamarc::bench::PrintFigure(
      "hls_blocking_reload", std::to_string(viewers) + " viewers: part available to answer p99",
      b.p99, r.p99, "ms", "plain playlist GET, same run (goal p99 < 50 ms)");
  std::filesystem::remove_all(root);
  return 0;
}
