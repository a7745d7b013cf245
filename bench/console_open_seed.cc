// Seeds a data directory for console_open_bench.js: one stream, "cam", with N days of
// 2-second fragments ending now (producer timestamps 0.3 s before server ones), appended
// through the archive's normal path with fsync off, plus a gap of an hour every day so the
// timeline has spans and gaps to draw. The payload is 16 bytes per fragment: the timeline
// reads the index, never the media.
//
// Usage: console_open_seed --dir DATA_DIR [--days 30]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/log.h"

using namespace streamarc;
using namespace streamarc::archive;

namespace {

constexpr int64_t kTwoSeconds = 2'000'000;
constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  double days = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") dir = argv[i + 1];
    if (k == "--days") days = std::stod(argv[i + 1]);
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: console_open_seed --dir DATA_DIR [--days 30]\n");
    return 2;
  }
  std::filesystem::remove_all(dir);
  SystemClock clock;
  const int64_t now_us = clock.NowMicros();
  const int64_t start_us = now_us - static_cast<int64_t>(days * static_cast<double>(kDayUs));
  std::unique_ptr<Env> env = NewPosixEnv();
  Logger logger(clock, LogLevel::kWarn);
  Options o;
  o.root = dir;
  o.sweep_interval_us = 0;
  o.sync = false;
  o.max_batch_fragments = 16384;
  auto opened = OpenLocalArchive(o, *env, clock, logger);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Archive> a = std::move(*opened);
  CreateStreamRequest req;
  req.name = "cam";
  req.retention_hours = kMaxRetentionHours;
  if (!a->CreateStream(req).ok()) return 1;
  const std::string payload(16, 'f');
  int64_t appended = 0;
  for (int64_t t = start_us; t + kTwoSeconds <= now_us; t += kTwoSeconds) {
    // The camera is off from 03:00 to 04:00 (UTC) every day.
    if ((t % kDayUs) >= 3 * kHourUs && (t % kDayUs) < 4 * kHourUs) continue;
    FragmentInput f;
    f.bytes = payload;
    f.server_timestamp_us = t;
    f.producer_timestamp_us = t - 300'000;
    f.duration_us = kTwoSeconds;
    f.track_info = "V_MPEG4/ISO/AVC 1920x1080 (codec private)";
    f.key_frame_offsets = {0};
    // Refused while the commit queue is full: wait for it to drain a little.
    while (!a->Append(StreamRef::Name("cam"), f, [](const Status&, const FragmentInfo&) {}).ok()) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    ++appended;
  }
  a->Flush();
  std::printf("console_open_seed: %lld fragments (%.1f days) in %s\n",
              static_cast<long long>(appended), days, dir.c_str());
  return 0;
}
