// HLS segment remux cost: fMP4 and MPEG-TS segments of 2-second 1080p30 H.264 fragments,
// made by playback::Fmp4MediaSegment / TsSegment from the stored Matroska bytes, against
// ffmpeg's own HLS segmenter (`ffmpeg -c copy -f hls -hls_segment_type fmp4`) on the same
// input in the same run.
//
// Figures: wall time per segment p50/p99, cold (the first remux of each fragment) and warm
// (the same fragment again); CPU time per segment (this thread's); ffmpeg's CPU time per
// segment (its rusage, whole process: reading the file, demuxing, segmenting, writing) and,
// for scale, ffmpeg's CPU for only reading and demuxing the same input (-f null).
//
// Usage: hls_segment_bench [input.mkv] [max_fragments]
//   default input: bench-data/h264_200mb.mkv (made by EnsureH264Input when missing).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_media.h"
#include "bench/figures.h"
#include "common/clock.h"
#include "common/mkv.h"
#include "fragmenter/fragmenter.h"
#include "playback/remux.h"

namespace streamarc::bench {
namespace {

struct Stored {
  std::string header;
  std::string cluster;
  int64_t start_us = 0;
};

class Collect : public fragmenter::FragmentSink {
 public:
  explicit Collect(size_t max) : max_(max) {}
  Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
    if (out.size() >= max_) return Status::Ok();
    Stored s;
    s.header.assign(f->section->header.begin(), f->section->header.end());
    s.cluster.assign(f->cluster.begin(), f->cluster.end());
    s.start_us = 10'000'000 + f->producer_timestamp_ms * 1000;
    out.push_back(std::move(s));
    return Status::Ok();
  }
  std::vector<Stored> out;

 private:
  size_t max_;
};

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Runs a shell command and returns the CPU seconds (user + system) it and its children used.
double ChildCpuSeconds(const std::string& cmd, int* rc) {
  rusage before{}, after{};
  getrusage(RUSAGE_CHILDREN, &before);
  *rc = RunShell(cmd);
  getrusage(RUSAGE_CHILDREN, &after);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime) -
         secs(before.ru_stime);
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Figures {
  std::vector<double> cold_ms, warm_ms;
  std::vector<double> cold_cpu_ms;  // this thread's CPU per cold remux: tells preemption apart
  double cpu_s = 0;                 // cold pass, this thread
  size_t bytes = 0;
};

template <typename Fn>
Figures Measure(const std::vector<Stored>& frags, int warm_rounds, Fn remux) {
  Figures f;
  double cpu0 = ThreadCpuSeconds();
  for (size_t i = 0; i < frags.size(); ++i) {
    double t0 = Now();
    double c0 = ThreadCpuSeconds();
    f.bytes += remux(frags[i], i);
    f.cold_cpu_ms.push_back((ThreadCpuSeconds() - c0) * 1e3);
    f.cold_ms.push_back((Now() - t0) * 1e3);
  }
  f.cpu_s = ThreadCpuSeconds() - cpu0;
  for (int r = 0; r < warm_rounds; ++r) {
    for (size_t i = 0; i < frags.size(); ++i) {
      double t0 = Now();
      remux(frags[i], i);
      f.warm_ms.push_back((Now() - t0) * 1e3);
    }
  }
  return f;
}

int Main(int argc, char** argv) {
  std::string input = argc > 1 ? argv[1] : "bench-data/h264_200mb.mkv";
  size_t max_fragments = argc > 2 ? std::stoul(argv[2]) : 100;
  if (argc <= 1 && !EnsureH264Input(input)) {
    std::fprintf(stderr, "cannot make %s\n", input.c_str());
    return 1;
  }
  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", input.c_str());
    return 1;
  }

  // Cut the input into fragments the way PutMedia stores them.
  Collect sink(max_fragments);
  SystemClock clock;
  fragmenter::Options options;
  options.max_fragments_per_second = 0;
  options.max_bytes_per_second = 0;
  auto fragmenter = fragmenter::NewFragmenter(options, sink, clock);
  if (!fragmenter.ok()) return 1;
  mkv::Reader reader(**fragmenter);
  std::vector<char> buf(1 << 20);
  while (sink.out.size() < max_fragments && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    Status s = reader.Feed({reinterpret_cast<const uint8_t*>(buf.data()), n});
    if (!s.ok()) {
      std::fprintf(stderr, "reading %s: %s\n", input.c_str(), s.ToString().c_str());
      return 1;
    }
  }
  if (sink.out.size() < max_fragments) (void)reader.Finish();
  std::vector<Stored> frags = std::move(sink.out);
  if (frags.size() < 2) {
    std::fprintf(stderr, "too few fragments\n");
    return 1;
  }
  // The last one may be cut short by the read loop; keep only whole fragments.
  frags.pop_back();
  double seconds = static_cast<double>(frags.back().start_us - frags.front().start_us) / 1e6 +
                   static_cast<double>(frags[1].start_us - frags[0].start_us) / 1e6;
  size_t total_bytes = 0;
  for (const Stored& s : frags) total_bytes += s.cluster.size();
  std::printf("input: %s, %zu fragments, %.1f s of media, %.2f MB per fragment\n", input.c_str(),
              frags.size(), seconds, static_cast<double>(total_bytes) / frags.size() / 1e6);

  auto init = playback::Fmp4InitSegment(frags[0].header, {});
  if (!init.ok()) {
    std::fprintf(stderr, "init: %s\n", init.status().ToString().c_str());
    return 1;
  }
  bool failed = false;
  auto fmp4 = Measure(frags, 3, [&](const Stored& s, size_t i) -> size_t {
    auto seg = playback::Fmp4MediaSegment({s.header, s.cluster, s.start_us}, {},
                                          static_cast<uint32_t>(i + 1));
    if (!seg.ok()) failed = true;
    return seg.ok() ? seg->size() : 0;
  });
  auto ts = Measure(frags, 3, [&](const Stored& s, size_t) -> size_t {
    auto seg = playback::TsSegment({s.header, s.cluster, s.start_us}, {});
    if (!seg.ok()) failed = true;
    return seg.ok() ? seg->size() : 0;
  });
  if (failed) {
    std::fprintf(stderr, "a remux failed\n");
    return 1;
  }

  // ffmpeg on the same media: HLS fMP4 segmenting, and only reading (-f null) for scale.
  auto dir =
      std::filesystem::temp_directory_path() / ("hls_segment_bench." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.3f", seconds);
  int rc = 0;
  double ff_hls =
      ChildCpuSeconds("ffmpeg -nostdin -loglevel error -y -i '" + input + "' -t " + duration +
                          " -c copy -f hls -hls_segment_type fmp4 -hls_time 2 -hls_list_size 0 "
                          "-hls_fmp4_init_filename init.mp4 -hls_segment_filename '" +
                          dir.string() + "/seg%05d.m4s' '" + dir.string() + "/out.m3u8'",
                      &rc);
  size_t ff_segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".m4s") ++ff_segments;
  }
  int rc2 = 0;
  double ff_read = ChildCpuSeconds(
      "ffmpeg -nostdin -loglevel error -y -i '" + input + "' -t " + duration + " -c copy -f null -",
      &rc2);
  std::filesystem::remove_all(dir);
  if (rc != 0 || rc2 != 0 || ff_segments == 0) {
    std::fprintf(stderr, "ffmpeg failed (rc %d / %d, %zu segments)\n", rc, rc2, ff_segments);
    return 1;
  }

  auto report = [&](const char* name, const Figures& f) {
    std::printf(
        "%-5s segment: cold p50 %.2f ms p99 %.2f ms | warm p50 %.2f ms p99 %.2f ms | "
        "CPU %.2f ms/segment (cold CPU p99 %.2f ms) | %.2f MB/segment\n",
        name, Percentile(f.cold_ms, 0.5), Percentile(f.cold_ms, 0.99), Percentile(f.warm_ms, 0.5),
        Percentile(f.warm_ms, 0.99), f.cpu_s * 1e3 / static_cast<double>(frags.size()),
        Percentile(f.cold_cpu_ms, 0.99), static_cast<double>(f.bytes) / frags.size() / 1e6);
  };
  report("fMP4", fmp4);
  report("TS", ts);
  double ours = fmp4.cpu_s * 1e3 / static_cast<double>(frags.size());
  double theirs = ff_hls * 1e3 / static_cast<double>(ff_segments);
  std::printf(
      "ffmpeg -c copy -f hls fmp4: %zu segments, CPU %.2f ms/segment (whole process; "
      "reading+demuxing alone: %.2f ms/segment)\n",
      ff_segments, theirs, ff_read * 1e3 / static_cast<double>(ff_segments));
  std::printf("ratio fMP4 CPU per segment, ours / ffmpeg's: %.2f\n", ours / theirs);
  PrintFigure("hls_segment_bench", "fMP4 CPU per 2 s segment", ours, theirs, "ms",
              "ffmpeg -c copy -f hls fmp4, same run");
  PrintFigure("hls_segment_bench", "fMP4 remux p99, cold", Percentile(fmp4.cold_ms, 0.99), "ms",
              "goal < 5 ms");
  PrintFigure("hls_segment_bench", "TS CPU per 2 s segment",
              ts.cpu_s * 1e3 / static_cast<double>(frags.size()), "ms", "");
  std::printf("load average while measuring: %s\n", LoadAverage().c_str());
  std::printf("goal p99 cold < 5 ms: %s (%.2f ms)\n",
              Percentile(fmp4.cold_ms, 0.99) < 5.0 ? "met" : "NOT met",
              Percentile(fmp4.cold_ms, 0.99));
  return 0;
}

}  // namespace
}  // namespace streamarc::bench

int main(int argc, char** argv) { return streamarc::bench::Main(argc, argv); }
