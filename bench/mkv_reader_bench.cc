// Matroska push-reader throughput: a ~200 MB H.264 1080p MKV held in memory, fed in 64 KiB
// pieces, on one core. Reference: `ffprobe -show_packets` on the same file, same run.
//
// Usage: mkv_reader_bench [FILE.mkv]   (made with ffmpeg when absent: bench-data/h264_200mb.mkv)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_media.h"
#include "bench/figures.h"
#include "common/mkv.h"

namespace {

using Clock = std::chrono::steady_clock;

class Counter : public streamarc::mkv::ReaderHandler {
 public:
  streamarc::Status OnFrame(const streamarc::mkv::Frame& f) override {
    ++frames;
    bytes += f.data.size();
    return streamarc::Status::Ok();
  }
  uint64_t frames = 0;
  uint64_t bytes = 0;
};

// Wall and CPU seconds of a shell command, and its stdout line count.
struct Timed {
  double wall = 0, cpu = 0;
  long lines = 0;
};

Timed TimeCommand(const std::string& cmd) {
  Timed t;
  struct rusage before {};
  getrusage(RUSAGE_CHILDREN, &before);
  auto start = Clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return t;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) t.lines += std::count(buf, buf + n, '\n');
  pclose(p);
  t.wall = std::chrono::duration<double>(Clock::now() - start).count();
  struct rusage after {};
  getrusage(RUSAGE_CHILDREN, &after);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  t.cpu =
      secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime) - secs(before.ru_stime);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "bench-data/h264_200mb.mkv";
  if (!streamarc::bench::EnsureH264Input(path)) {
    std::fprintf(stderr, "cannot make %s\n", path.c_str());
    return 1;
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), {});
  const size_t kPiece = 64 * 1024;
  const double mb = data.size() / 1e6;

  // Five passes; best and median both printed.
  std::vector<double> times;
  Counter last;
  for (int pass = 0; pass < 5; ++pass) {
    Counter c;
    streamarc::mkv::Reader reader(c);
    auto start = Clock::now();
    for (size_t p = 0; p < data.size(); p += kPiece) {
      size_t n = std::min(kPiece, data.size() - p);
      if (!reader.Feed({data.data() + p, n}).ok()) {
        std::fprintf(stderr, "reader error\n");
        return 1;
      }
    }
    if (!reader.Finish().ok()) return 1;
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    last = c;
  }
  std::sort(times.begin(), times.end());
  const double best = times.front(), median = times[times.size() / 2];

  Timed probe = TimeCommand("ffprobe -v error -show_packets -of compact '" + path + "'");
  std::printf("input: %s, %.1f MB, %llu frames, fed in 64 KiB pieces\n", path.c_str(), mb,
              static_cast<unsigned long long>(last.frames));
  std::printf(
      "streamarc mkv::Reader: median %.4f s = %.0f MB/s, best %.4f s = %.0f MB/s "
      "(5 passes, one thread, input in memory)\n",
      median, mb / median, best, mb / best);
  std::printf("ffprobe -show_packets: %.3f s wall, %.3f s CPU, %.0f MB/s, %ld packets\n",
              probe.wall, probe.cpu, mb / probe.wall, probe.lines);
  std::printf("ratio: ffprobe wall time / reader median time = %.0f\n", probe.wall / median);
  streamarc::bench::PrintFigure("mkv_reader_bench", "time to read the 200 MB input", median,
                                probe.wall, "s", "ffprobe -show_packets, same run");
  if (static_cast<long>(last.frames) != probe.lines) {
    std::printf("WARNING: frame counts differ (reader %llu, ffprobe %ld)\n",
                static_cast<unsigned long long>(last.frames), probe.lines);
  }
  return 0;
}
