// Producer SDK cost and latency: one real-time 1080p30 4 Mbit/s H.264 camera (Annex-B access
// units replayed at their timestamps) pushed through the SDK into a real streamarcd started
// here, on loopback.
//
// Prints: the SDK's CPU per stream (getrusage of this process while streaming, minus the
// same replay loop without the SDK), its memory (RSS growth minus the content store's bytes),
// PutFrame-to-PERSISTED latency p50/p99 per fragment, and, as the reference measured in the
// same run, an ffmpeg process remuxing the same stream in real time to Matroska
// (`ffmpeg -re -i ... -c copy -f matroska /dev/null`, what a minimal passthrough producer costs).
// Goals (issue 6): CPU < 1 % of a core, memory < content store + 10 MB, p99 latency within
// fragment duration + 50 ms.
//
// Usage: producer_bench [--streamarcd PATH] [--seconds N] [--input FILE.mkv]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_media.h"
#include "bench/bench_process.h"
#include "bench/figures.h"
#include "common/clock.h"
#include "producer-sdk/nal.h"
#include "producer-sdk/producer.h"

namespace {

using namespace streamarc;
using namespace streamarc::bench;
using SteadyClock = std::chrono::steady_clock;

struct AccessUnit {
  int64_t pts_ms = 0;
  bool key = false;
  std::vector<uint8_t> data;
};

// The first `seconds` of the input as access units in decode order, with ffprobe's PTS and
// key flags. An access unit starts at the first non-VCL NAL after a slice, or at a slice
// whose first_mb_in_slice is 0 (its ue(v) starts with a 1 bit) right after another slice.
bool LoadAccessUnits(const std::string& mkv, int seconds, const std::string& tmp,
                     std::vector<AccessUnit>* out) {
  std::string es = tmp + "/bench.h264";
  std::string cut = tmp + "/bench.mkv";
  if (bench::RunShell("ffmpeg -nostdin -loglevel error -y -i '" + mkv + "' -t " +
                      std::to_string(seconds) + " -c copy '" + cut + "'") != 0 ||
      bench::RunShell("ffmpeg -nostdin -loglevel error -y -i '" + cut +
                      "' -c copy -bsf:v h264_mp4toannexb -f h264 '" + es + "'") != 0) {
    return false;
  }
  auto j = nlohmann::json::parse(
      Capture("ffprobe -v error -select_streams v:0 -show_packets -show_entries "
              "packet=pts_time,flags -of json '" +
              cut + "'"),
      nullptr, false);
  if (j.is_discarded() || !j.contains("packets")) return false;
  std::string bytes = Slurp(es);
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<size_t> starts;
  bool prev_vcl = true, in_prefix = false;
  for (const auto& n : producer::nal::SplitAnnexB(all)) {
    uint8_t t = producer::nal::H264Type(n);
    bool vcl = t >= 1 && t <= 5;
    size_t off = static_cast<size_t>(n.data() - all.data());
    size_t sc = off >= 4 && all[off - 4] == 0 ? off - 4 : off - 3;
    if (!vcl && prev_vcl) {
      starts.push_back(sc);
      in_prefix = true;
    } else if (vcl && prev_vcl && n.size() > 1 && (n[1] & 0x80) && !in_prefix) {
      starts.push_back(sc);
    }
    if (vcl) in_prefix = false;
    prev_vcl = vcl;
  }
  if (starts.empty()) return false;
  starts[0] = 0;
  const auto& packets = j["packets"];
  if (starts.size() != packets.size()) {
    std::fprintf(stderr, "access units %zu != packets %zu\n", starts.size(), packets.size());
    return false;
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t end = i + 1 < starts.size() ? starts[i + 1] : all.size();
    AccessUnit au;
    au.pts_ms = std::llround(std::stod(packets[i].value("pts_time", std::string("0"))) * 1000);
    au.key = packets[i].value("flags", std::string()).find('K') != std::string::npos;
    au.data.assign(all.begin() + static_cast<ptrdiff_t>(starts[i]),
                   all.begin() + static_cast<ptrdiff_t>(end));
    out->push_back(std::move(au));
  }
  return true;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Replays `aus` in real time (by decode order, each at its PTS-derived due time is not
// monotonic with B-frames, so frames go out at frame-interval steps), calling `put` for each.
template <typename Put>
void Replay(const std::vector<AccessUnit>& aus, Put&& put) {
  auto t0 = SteadyClock::now();
  const auto step = std::chrono::microseconds(1'000'000 / 30);
  for (size_t i = 0; i < aus.size(); ++i) {
    std::this_thread::sleep_until(t0 + step * static_cast<int64_t>(i));
    put(aus[i]);
  }
}

class LatencyRecorder : public producer::StreamCallbacks {
 public:
  void OnFragmentAck(const producer::FragmentAck& a) override {
    if (a.type != producer::AckType::kPersisted) return;
    std::lock_guard<std::mutex> l(mu);
    persisted[a.timecode] = SteadyClock::now();
  }
  std::mutex mu;
  std::map<int64_t, SteadyClock::time_point> first_put;  // fragment timecode -> PutFrame
  std::map<int64_t, SteadyClock::time_point> persisted;
};

// CPU of `ffmpeg -re` remuxing the first `seconds` of the input to Matroska, as a fraction
// of one core (user+sys of the child over wall time).
double FfmpegReferenceCpu(const std::string& mkv, int seconds) {
  auto t0 = SteadyClock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execlp("ffmpeg", "ffmpeg", "-nostdin", "-re", "-i", mkv.c_str(), "-t",
           std::to_string(seconds).c_str(), "-c", "copy", "-f", "matroska", "-y", "/dev/null",
           static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double wall = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return cpu / wall;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = "build/server/streamarcd", input = "bench-data/h264_200mb.mkv";
  int seconds = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--streamarcd") bin = argv[i + 1];
    if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    if (a == "--input") input = argv[i + 1];
  }
  if (!bench::EnsureH264Input(input)) return 1;
  const std::string dir = "bench-data/producer";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<AccessUnit> aus;
  if (!LoadAccessUnits(input, seconds, dir, &aus)) {
    std::fprintf(stderr, "cannot prepare the input\n");
    return 1;
  }
  std::fprintf(stderr, "%zu access units (%d s of 1080p30)\n", aus.size(), seconds);

  // Baseline: the same replay loop, touching every byte, without the SDK.
  const int base_seconds = std::min(seconds, 10);
  std::vector<AccessUnit> base(aus.begin(),
                               aus.begin() + std::min<size_t>(aus.size(), base_seconds * 30));
  volatile uint64_t sink = 0;
  double cpu0 = CpuSeconds();
  auto w0 = SteadyClock::now();
  Replay(base, [&](const AccessUnit& au) { sink = sink + au.data[au.data.size() / 2]; });
  double base_cpu =
      (CpuSeconds() - cpu0) / std::chrono::duration<double>(SteadyClock::now() - w0).count();

  std::filesystem::create_directories(dir);
  BenchServer server;
  if (!server.Start(bin, dir + "/data")) {
    std::fprintf(stderr, "cannot start %s\n", bin.c_str());
    return 1;
  }
  producer::ClientOptions co;
  co.endpoint = "http://127.0.0.1:" + std::to_string(server.port);
  co.credentials = {"AKIDBENCH", "secret", ""};
  auto client = producer::Client::Create(co);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  producer::StreamOptions so;
  so.name = "bench-camera";
  so.fragment_duration_ms = 2'000;
  so.storage_bytes = 64u << 20;
  LatencyRecorder rec;
  auto stream = (*client)->OpenStream(so, &rec);
  if (!stream.ok()) {
    std::fprintf(stderr, "%s\n", stream.status().ToString().c_str());
    return 1;
  }
  SystemClock clock;
  const int64_t start_ms = clock.NowMicros() / 1000;
  long rss0 = RssKb(), rss_max = rss0;
  size_t store_max = 0;
  int64_t fragment_tc = -1;
  cpu0 = CpuSeconds();
  w0 = SteadyClock::now();
  Replay(aus, [&](const AccessUnit& au) {
    producer::Frame f;
    f.pts_us = (start_ms + au.pts_ms) * 1000;
    f.dts_us = f.pts_us;
    f.key_frame = au.key;
    f.data = au.data;
    auto now = SteadyClock::now();
    Status s = (*stream)->PutFrame(f);
    if (!s.ok()) std::fprintf(stderr, "PutFrame: %s\n", s.ToString().c_str());
    if (au.key) {
      std::lock_guard<std::mutex> l(rec.mu);
      // The SDK opens a fragment at a key frame once the previous one reached 2 s.
      if (fragment_tc < 0 || start_ms + au.pts_ms - fragment_tc >= so.fragment_duration_ms) {
        fragment_tc = start_ms + au.pts_ms;
        rec.first_put[fragment_tc] = now;
      }
    }
    if (au.key) {
      rss_max = std::max(rss_max, RssKb());
      store_max = std::max(store_max, (*stream)->stats().store_bytes);
    }
  });
  double wall = std::chrono::duration<double>(SteadyClock::now() - w0).count();
  double sdk_cpu = (CpuSeconds() - cpu0) / wall - base_cpu;
  Status stop = (*stream)->Stop(20'000);
  producer::StreamStats st = (*stream)->stats();
  server.Stop();

  std::vector<double> lat_ms;
  {
    std::lock_guard<std::mutex> l(rec.mu);
    for (const auto& [tc, t] : rec.first_put) {
      auto p = rec.persisted.find(tc);
      if (p != rec.persisted.end()) {
        lat_ms.push_back(std::chrono::duration<double, std::milli>(p->second - t).count());
      }
    }
  }
  // The last fragment is closed by Stop, not by a key frame: its latency is not a live one.
  if (!lat_ms.empty()) lat_ms.pop_back();

  double ref_cpu = FfmpegReferenceCpu(input, std::min(seconds, 20));
  double mem_mb = static_cast<double>(rss_max - rss0) / 1024.0;
  double store_mb = static_cast<double>(store_max) / (1024.0 * 1024.0);
  double p50 = Percentile(lat_ms, 0.5), p99 = Percentile(lat_ms, 0.99);
  double goal_ms = static_cast<double>(so.fragment_duration_ms) + 50;
  std::printf("producer_bench: 1 stream, 1080p30 H.264 ~4 Mbit/s, %d s real time, loopback\n",
              seconds);
  std::printf("  stop: %s; frames %llu, fragments persisted %llu, dropped %llu, reconnects %llu\n",
              stop.ToString().c_str(), static_cast<unsigned long long>(st.frames_put),
              static_cast<unsigned long long>(st.fragments_persisted),
              static_cast<unsigned long long>(st.frames_dropped),
              static_cast<unsigned long long>(st.reconnects));
  std::printf(
      "  SDK CPU per stream:      %.3f %% of a core (replay baseline %.3f %% subtracted); goal < 1 "
      "%%: %s\n",
      sdk_cpu * 100, base_cpu * 100, sdk_cpu < 0.01 ? "met" : "NOT met");
  std::printf(
      "  reference, same run:     ffmpeg -re remux to Matroska %.3f %% of a core; SDK/ffmpeg = "
      "%.2f\n",
      ref_cpu * 100, ref_cpu > 0 ? sdk_cpu / ref_cpu : 0.0);
  std::printf(
      "  memory: RSS +%.1f MB, content store peak %.1f MB, other %.1f MB; goal other < 10 MB: %s\n",
      mem_mb, store_mb, mem_mb - store_mb, mem_mb - store_mb < 10 ? "met" : "NOT met");
  std::printf(
      "  PutFrame->PERSISTED per fragment (%zu): p50 %.1f ms, p99 %.1f ms; goal p99 <= %.0f ms "
      "(fragment %lld ms + 50): %s (p99/goal %.3f)\n",
      lat_ms.size(), p50, p99, goal_ms, static_cast<long long>(so.fragment_duration_ms),
      p99 <= goal_ms ? "met" : "NOT met", p99 / goal_ms);
  PrintFigure("producer_bench", "SDK CPU per stream", sdk_cpu * 100, ref_cpu * 100, "% of a core",
              "ffmpeg -re remux to Matroska, same run (goal < 1 %)");
  PrintFigure("producer_bench", "memory beyond the content store", mem_mb - store_mb, "MB",
              "goal < 10 MB");
  PrintFigure("producer_bench", "PutFrame to PERSISTED p99", p99, goal_ms, "ms",
              "goal: the fragment's duration + 50 ms");
  return stop.ok() ? 0 : 1;
}
