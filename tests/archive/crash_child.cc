// The crash test's child: opens the archive (recovering it), then appends fragments to
// several streams as fast as group commit allows, and writes one line to stdout for every
// fragment reported durable. It never exits on its own before its time limit: the parent
// kills it with SIGKILL at a random moment.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "archive/archive.h"
#include "tests/archive/crash_protocol.h"

using namespace streamarc;
using namespace streamarc::archive;
using namespace streamarc::archive::testing;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <archive root> <seed>\n", argv[0]);
    return 2;
  }
  const uint64_t base = std::stoull(argv[2]);
  SystemClock clock;
  Logger logger(clock, LogLevel::kWarn);
  std::unique_ptr<Env> env = NewPosixEnv();
  Options options;
  options.root = argv[1];
  options.max_segment_bytes = 256 << 10;  // roll often: more files, more edges
  options.segment_window_us = 2'000'000;
  options.sweep_interval_us = 0;
  Result<std::unique_ptr<Archive>> opened = OpenLocalArchive(options, *env, clock, logger);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  Archive& a = **opened;
  for (int i = 0; i < kCrashStreams; ++i) {
    CreateStreamRequest req;
    req.name = CrashStreamName(i);
    req.retention_hours = kCrashRetentionHours;
    Result<StreamInfo> s = a.CreateStream(req);
    if (!s.ok() && s.status().code() != Code::kAlreadyExists) {
      std::fprintf(stderr, "create: %s\n", s.status().ToString().c_str());
      return 1;
    }
  }
  // Tells the parent that start-up and recovery are over.
  if (::write(1, "ready\n", 6) != 6) return 3;
  std::mt19937_64 rng(base);
  std::atomic<int> in_flight{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (uint64_t i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    while (in_flight.load() >= 24) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const int s = static_cast<int>(rng() % kCrashStreams);
    const std::string stream = CrashStreamName(s);
    const size_t size = 100 + rng() % 20000;
    const uint64_t seed = (base << 24) ^ i;
    FragmentInput f;
    f.bytes = CrashBytes(seed, size);
    f.server_timestamp_us = clock.NowMicros();
    f.producer_timestamp_us = f.server_timestamp_us - 1000;
    f.duration_us = 2'000'000;
    f.track_info = "tracks";
    f.key_frame_offsets = {0};
    const long long producer = f.producer_timestamp_us;
    ++in_flight;
    Result<std::string> n =
        a.Append(StreamRef::Name(stream), std::move(f),
                 [&, stream, seed, size, producer](const Status& st, const FragmentInfo& info) {
                   if (st.ok()) {
                     char line[512];
                     int len = std::snprintf(line, sizeof line, "%s %s %llu %zu %lld\n",
                                             stream.c_str(), info.number.c_str(),
                                             static_cast<unsigned long long>(seed), size, producer);
                     if (::write(1, line, static_cast<size_t>(len)) != len) _exit(3);
                   }
                   --in_flight;
                 });
    if (!n.ok()) {
      --in_flight;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return 0;
}
