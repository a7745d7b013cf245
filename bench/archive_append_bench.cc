// Archive append throughput and durable-ack latency, next to dd.
//
// For 1, 100 and 500 streams of 2-second fragments it appends as fast as back-pressure
// allows (every fragment group-committed: fdatasync + SQLite commit) and compares the MB/s
// with `dd if=/dev/zero bs=1M conv=fdatasync` writing the same number of bytes to the same
// directory in the same run. Then it paces 100 cameras in real time and reports the
// durable-ack latency (Append to callback) p50/p99.
//
// Usage: archive_append_bench [--dir DIR] [--mb MB_PER_RUN] [--bitrate-mbit N]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive/archive.h"
#include "bench/figures.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// MB/s of dd writing `bytes` into `dir` with one fdatasync at the end.
double DdMbPerSec(const std::string& dir, uint64_t bytes) {
  const std::string file = dir + "/dd.out";
  const std::string cmd = "dd if=/dev/zero of=" + file +
                          " bs=1M count=" + std::to_string(bytes >> 20) +
                          " conv=fdatasync 2>/dev/null";
  auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  auto t1 = Clock::now();
  std::filesystem::remove(file);
  if (rc != 0) return 0;
  return static_cast<double>(bytes) / 1e6 / Seconds(t0, t1);
}

struct Run {
  double mb_per_sec = 0;
  double p50_ms = 0, p99_ms = 0;
  uint64_t commits = 0, syncs = 0, fragments = 0;
};

std::unique_ptr<Archive> OpenFresh(const std::string& root, const streamarc::Clock& clock,
                                   Logger& logger, Env& env, int streams) {
  std::filesystem::remove_all(root);
  Options o;
  o.root = root;
  o.sweep_interval_us = 0;
  auto a = OpenLocalArchive(o, env, clock, logger);
  if (!a.ok()) {
    std::fprintf(stderr, "open: %s\n", a.status().ToString().c_str());
    std::exit(1);
  }
  for (int i = 0; i < streams; ++i) {
    CreateStreamRequest r;
    r.name = "cam-" + std::to_string(i);
    r.retention_hours = 24;
    if (!(*a)->CreateStream(r).ok()) std::exit(1);
  }
  // Warm-up, not measured: one small fragment per stream opens its segment file, as in a
  // server that has been running (a segment lives for an hour of its stream).
  for (int i = 0; i < streams; ++i) {
    FragmentInput f;
    f.bytes = "warm-up";
    f.server_timestamp_us = clock.NowMicros();
    if (!(*a)->Append(StreamRef::Name("cam-" + std::to_string(i)), std::move(f),
                      [](const Status&, const FragmentInfo&) {})
             .ok()) {
      std::exit(1);
    }
  }
  (*a)->Flush();
  return std::move(*a);
}

// Appends `total` bytes of `frag`-byte fragments round-robin over `streams`, as fast as
// the archive takes them.
Run Saturate(const std::string& root, int streams, uint64_t total, size_t frag, Env& env) {
  SystemClock clock;
  Logger logger(clock, LogLevel::kWarn);
  auto a = OpenFresh(root, clock, logger, env, streams);
  const std::string payload(frag, 'v');
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<uint64_t> failed{0};
  const uint64_t count = total / frag;
  const ArchiveStats warm = a->Stats();
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    FragmentInput f;
    f.bytes = payload;
    f.server_timestamp_us = clock.NowMicros();
    f.producer_timestamp_us = f.server_timestamp_us;
    f.duration_us = 2'000'000;
    f.key_frame_offsets = {0};
    const auto start = Clock::now();
    for (;;) {
      auto n = a->Append(StreamRef::Name("cam-" + std::to_string(i % streams)), f,
                         [&, start](const Status& s, const FragmentInfo&) {
                           double ms = Seconds(start, Clock::now()) * 1e3;
                           if (!s.ok()) ++failed;
                           std::lock_guard<std::mutex> lock(mu);
                           lat.push_back(ms);
                         });
      if (n.ok()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // back-pressure
    }
  }
  a->Flush();
  auto t1 = Clock::now();
  Run r;
  r.mb_per_sec = static_cast<double>(count * frag) / 1e6 / Seconds(t0, t1);
  r.p50_ms = Percentile(lat, 0.5);
  r.p99_ms = Percentile(lat, 0.99);
  ArchiveStats st = a->Stats();
  r.commits = st.commits - warm.commits;
  r.syncs = st.file_syncs - warm.file_syncs;
  r.fragments = st.fragments_appended - warm.fragments_appended;
  if (failed) std::fprintf(stderr, "%llu fragments failed\n", (unsigned long long)failed.load());
  a.reset();
  std::filesystem::remove_all(root);
  return r;
}

// `streams` cameras, each delivering one `frag`-byte fragment every 2 s, phases spread
// evenly; returns the durable-ack latencies of `seconds` of that.
Run Paced(const std::string& root, int streams, size_t frag, double seconds, Env& env) {
  SystemClock clock;
  Logger logger(clock, LogLevel::kWarn);
  auto a = OpenFresh(root, clock, logger, env, streams);
  const std::string payload(frag, 'p');
  std::mutex mu;
  std::vector<double> lat;
  const double interval = 2.0 / streams;  // seconds between fragments across all cameras
  const auto t0 = Clock::now();
  for (uint64_t i = 0;; ++i) {
    const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(interval * static_cast<double>(i)));
    if (Seconds(t0, due) > seconds) break;
    std::this_thread::sleep_until(due);
    FragmentInput f;
    f.bytes = payload;
    f.server_timestamp_us = clock.NowMicros();
    f.producer_timestamp_us = f.server_timestamp_us;
    f.duration_us = 2'000'000;
    const auto start = Clock::now();
    auto n = a->Append(StreamRef::Name("cam-" + std::to_string(i % streams)), std::move(f),
                       [&, start](const Status&, const FragmentInfo&) {
                         double ms = Seconds(start, Clock::now()) * 1e3;
                         std::lock_guard<std::mutex> lock(mu);
                         lat.push_back(ms);
                       });
    if (!n.ok()) std::fprintf(stderr, "append refused: %s\n", n.status().ToString().c_str());
  }
  a->Flush();
  Run r;
  r.p50_ms = Percentile(lat, 0.5);
  r.p99_ms = Percentile(lat, 0.99);
  r.fragments = a->Stats().fragments_appended - static_cast<uint64_t>(streams);
  r.commits = a->Stats().commits;
  a.reset();
  std::filesystem::remove_all(root);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  uint64_t mb = 512;
  double bitrate_mbit = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--dir") dir = argv[i + 1];
    if (k == "--mb") mb = std::stoull(argv[i + 1]);
    if (k == "--bitrate-mbit") bitrate_mbit = std::stod(argv[i + 1]);
  }
  const std::string root = dir + "/archive-append-bench";
  std::unique_ptr<Env> env = NewPosixEnv();
  const size_t frag = static_cast<size_t>(bitrate_mbit * 1e6 / 8 * 2);  // 2 s of video
  const uint64_t total = mb << 20;
  std::printf(
      "archive append bench: %s, %.1f Mbit/s cameras, %zu-byte 2-second fragments, "
      "%llu MB per run\n",
      dir.c_str(), bitrate_mbit, frag, static_cast<unsigned long long>(mb));
  std::printf("%8s %12s %12s %7s %9s %9s\n", "streams", "archive", "dd", "ratio", "commits",
              "fsyncs");
  for (int streams : {1, 100, 500}) {
    // dd right before and right after each run (the same disk in the same state); the mean.
    const double dd_before = DdMbPerSec(dir, total);
    Run r = Saturate(root, streams, total, frag, *env);
    const double dd = (dd_before + DdMbPerSec(dir, total)) / 2;
    std::printf("%8d %7.1f MB/s %7.1f MB/s %6.0f%% %9llu %9llu\n", streams, r.mb_per_sec, dd,
                dd > 0 ? 100 * r.mb_per_sec / dd : 0, static_cast<unsigned long long>(r.commits),
                static_cast<unsigned long long>(r.syncs));
    streamarc::bench::PrintFigure(
        "archive_append_bench", std::to_string(streams) + " streams: append throughput",
        r.mb_per_sec, dd, "MB/s", "dd conv=fdatasync, same disk, same run");
  }
  // Paced like real cameras: 100 at the full bitrate, 500 at a quarter of it.
  for (auto [streams, div] : {std::pair{100, 1}, std::pair{500, 4}}) {
    const double mbit = bitrate_mbit / div;
    Run p = Paced(root, streams, frag / div, 10.0, *env);
    std::printf(
        "paced: %d cameras at %.1f Mbit/s (%.1f MB/s), %llu fragments in %llu commits: "
        "durable ack p50 %.1f ms, p99 %.1f ms (goal p99 < 20 ms)\n",
        streams, mbit, streams * mbit / 8, static_cast<unsigned long long>(p.fragments),
        static_cast<unsigned long long>(p.commits), p.p50_ms, p.p99_ms);
    streamarc::bench::PrintFigure("archive_append_bench",
                                  "paced " + std::to_string(streams) + " cameras: durable ack p99",
                                  p.p99_ms, "ms", "goal < 20 ms");
  }
  return 0;
}
