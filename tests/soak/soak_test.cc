// The miniature soak (issue 14; tests/soak/README.md): many cameras (our producer SDK, real
// H.264 from ffmpeg, AAC on every fifth) stream into one streamarcd for a long time while
// readers churn through every read API and connections come and go, and the server's
// one-hour retention rolls over again and again: the server (soak_streamarcd, streamarcd on a
// wall clock kSpeed times real time) keeps an hour of video in kRetentionRealS seconds. The
// server process is sampled from outside (/proc: RSS, file descriptors, threads; the data
// directory's bytes; /metrics' connection gauges) and must stay flat once retention deletes
// as fast as the cameras record: memory, descriptors, threads and disk in the last third of
// the run where they were in the middle third, descriptors and threads back to where they
// started once the clients are gone, disk within what an hour of retention keeps. Every
// acknowledged fragment still within retention is then read back and compared byte for byte
// (tests/faults' check).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/faults/fault_producer.h"
#include "tests/soak/churn.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::soak {
namespace {

using faults::FaultProducer;
using nlohmann::json;
using streamarc::testing::Curl;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::RawHttp;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using Clock = std::chrono::steady_clock;

// The server's wall clock runs this many times real time: an hour of retention is 10 s, a
// 90 s run is 9 hours of server time. Not faster: a fragment (0.5 s real) then spans 3
// minutes of server time and the sweep (every kSweepMs of real time) 6 minutes, both small
// beside the hour, and HLS sessions (12 hours at most) still last two minutes.
constexpr int64_t kSpeed = 360;
constexpr int64_t kSweepMs = 1'000;
constexpr double kRetentionRealS = 3600.0 / kSpeed;
constexpr int64_t kHourUs = 3'600'000'000;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// --- Samples of the server process -------------------------------------------------------

struct Sample {
  double t = 0;  // seconds since the cameras started
  int64_t rss_kb = 0;
  int64_t anon_kb = 0;  // the part of it that is not a file's pages (heap, stacks)
  int fds = 0;
  int threads = 0;
  uint64_t disk = 0;           // bytes of every file under the data dir (segments, index, WAL)
  uint64_t segment_bytes = 0;  // streamarc_segment_bytes
  std::map<std::string, double> conns;  // streamarc_open_connections by kind
  double expired = 0;                   // fragments retention deleted so far
};

// A "Name:   123 kB" line of /proc/PID/status, in kB; -1 without it.
int64_t StatusKb(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0) return std::atoll(line.c_str() + name.size() + 1);
  }
  return -1;
}

// What each open descriptor of `pid` is (its /proc/PID/fd link).
std::map<std::string, std::string> FdTargets(pid_t pid) {
  std::map<std::string, std::string> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code le;
    out[it->path().filename()] = std::filesystem::read_symlink(it->path(), le).string();
  }
  return out;
}

int CountEntries(const std::string& dir) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  // Files come and go while the server runs: skip what vanished under the walk.
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fe;
    if (it->is_regular_file(fe)) {
      const uint64_t size = it->file_size(fe);
      if (!fe) total += size;
    }
  }
  return total;
}

// The value of `series` (name and labels exactly as printed) in Prometheus text; -1 if absent.
double MetricValue(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::atof(text.c_str() + at + series.size() + 1);
    at += series.size();
  }
  return -1;
}

Sample TakeSample(const ServerProcess& server, const std::string& data_dir, double t) {
  Sample s;
  s.t = t;
  const std::string proc = "/proc/" + std::to_string(server.pid());
  s.rss_kb = StatusKb(server.pid(), "VmRSS");
  s.anon_kb = StatusKb(server.pid(), "RssAnon");
  s.fds = CountEntries(proc + "/fd");
  s.threads = CountEntries(proc + "/task");
  s.disk = DirBytes(data_dir);
  const std::string metrics = CurlGet(server.url() + "/metrics", {"-m", "10"});
  for (const char* kind : {"idle", "request", "putmedia", "getmedia", "other_streaming"}) {
    s.conns[kind] =
        MetricValue(metrics, std::string("streamarc_open_connections{kind=\"") + kind + "\"}");
  }
  s.segment_bytes =
      static_cast<uint64_t>(std::max(0.0, MetricValue(metrics, "streamarc_segment_bytes")));
  s.expired = MetricValue(metrics, "streamarc_deleted_fragments_total{reason=\"retention\"}");
  return s;
}

void PrintSamples(const std::vector<Sample>& samples) {
  std::printf("%7s %8s %9s %5s %7s %9s %9s %8s %8s %6s %7s %5s %9s\n", "t(s)", "RSS(MiB)",
              "anon(MiB)", "fds", "threads", "disk(MiB)", "segs(MiB)", "putmedia", "getmedia",
              "other", "request", "idle", "expired");
  for (const Sample& s : samples) {
    std::printf("%7.1f %8.1f %9.1f %5d %7d %9.2f %9.2f %8.0f %8.0f %6.0f %7.0f %5.0f %9.0f\n", s.t,
                static_cast<double>(s.rss_kb) / 1024.0, static_cast<double>(s.anon_kb) / 1024.0,
                s.fds, s.threads, static_cast<double>(s.disk) / 1048576.0,
                static_cast<double>(s.segment_bytes) / 1048576.0, s.conns.at("putmedia"),
                s.conns.at("getmedia"), s.conns.at("other_streaming"), s.conns.at("request"),
                s.conns.at("idle"), s.expired);
  }
}

// Samples with t in [from, to).
std::vector<Sample> Window(const std::vector<Sample>& all, double from, double to) {
  std::vector<Sample> out;
  for (const Sample& s : all) {
    if (s.t >= from && s.t < to) out.push_back(s);
  }
  return out;
}

template <typename F>
double Max(const std::vector<Sample>& w, F f) {
  double m = 0;
  for (const Sample& s : w) m = std::max(m, static_cast<double>(f(s)));
  return m;
}

template <typename F>
double Median(const std::vector<Sample>& w, F f) {
  std::vector<double> v;
  v.reserve(w.size());
  for (const Sample& s : w) v.push_back(static_cast<double>(f(s)));
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// --- The soak ---------------------------------------------------------------------------------

TEST(SoakTest, ManyStreamsWithRetentionRollingOverStayFlat) {
  const int seconds = EnvInt("STREAMARC_SOAK_SECONDS", 90);
  const int streams = EnvInt("STREAMARC_SOAK_STREAMS", 50);
  const double sample_every = std::max(2.0, seconds / 150.0);
  std::printf("soak: %d streams for %d s (%.1f hours of server time), a sample every %.0f s\n",
              streams, seconds, seconds / kRetentionRealS, sample_every);

  // 10 fps, a key frame every 0.5 s: a fragment every half second per camera.
  auto source = faults::MakeSource(10, 10, 5, "160x120");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_TRUE(faults::AddAudio(&*source).ok());
  auto clip_file = testing::MakeMedia(testing::kH264AacMkv);
  ASSERT_TRUE(clip_file.ok()) << clip_file.status().ToString();

  TempDir dir;
  const std::string data_dir = dir.File("data");
  // STREAMARC_SOAK_SERVER: a wrapper that execs soak_streamarcd under a profiler (README).
  const char* wrapper = std::getenv("STREAMARC_SOAK_SERVER");
  ServerProcess server(wrapper != nullptr ? wrapper : STREAMARC_SOAK_STREAMARCD_PATH);
  const std::vector<std::string> tapped = {"soak-000", "soak-001"};
  Status started = server.Start(
      data_dir, {"--time-speed", std::to_string(kSpeed), "--sweep-interval-ms",
                 std::to_string(kSweepMs), "--frame-tap", tapped[0], "--frame-tap", tapped[1]});
  ASSERT_TRUE(started.ok()) << started.ToString();
  // Where descriptors and threads must come back to once every client is gone.
  const Sample baseline = TakeSample(server, data_dir, 0);
  const auto baseline_fds = FdTargets(server.pid());

  std::vector<std::unique_ptr<FaultProducer>> cams;
  std::vector<std::string> names;
  producer::StreamOptions so = faults::CameraOptions();
  so.retention_hours = 1;
  for (int i = 0; i < streams; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "soak-%03d", i);
    names.push_back(name);
    cams.push_back(std::make_unique<FaultProducer>(*source, name, i % 5 == 4));
    Status s = cams.back()->Start(faults::ClientFor(server.url()), so);
    ASSERT_TRUE(s.ok()) << name << ": " << s.ToString();
  }
  const auto t0 = Clock::now();

  // The readers ask for the last 3 to 8 seconds: they start once every camera has that much
  // acknowledged (17 fragments of 0.5 s).
  for (const auto& c : cams) {
    ASSERT_TRUE(c->WaitForPersisted(16, std::chrono::seconds(60)))
        << c->name() << ": " << c->persisted() << " fragments acknowledged after a minute";
  }
  Churn churn(server, names, *clip_file, tapped);
  churn.Start(3);

  std::vector<Sample> samples;
  for (int k = 1;; ++k) {
    const auto at = t0 + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(k * sample_every));
    if (at > t0 + std::chrono::seconds(seconds)) break;
    std::this_thread::sleep_until(at);  // the run's length, not an ordering
    samples.push_back(TakeSample(server, data_dir, Seconds(Clock::now() - t0)));
    ASSERT_GT(samples.back().rss_kb, 0) << "streamarcd is gone:\n" << server.log();
  }
  const double streamed_s = Seconds(Clock::now() - t0);
  churn.Stop();

  // The cameras stop; the server's clock stops too before their last fragments are
  // acknowledged, so that what retention keeps can be read back at one instant.
  for (auto& c : cams) c->StopPutting();
  ASSERT_EQ(kill(server.pid(), SIGUSR1), 0);
  ASSERT_TRUE(server.WaitForLog("soak clock frozen now_us=", 10'000));
  const std::string log = server.log();
  const int64_t frozen_us = std::atoll(log.c_str() + log.find("soak clock frozen now_us=") + 25);
  {
    std::vector<std::thread> finishing;
    finishing.reserve(cams.size());
    for (auto& c : cams) {
      finishing.emplace_back([&c] {
        Status s = c->Finish(60'000);
        EXPECT_TRUE(s.ok()) << c->name() << ": " << s.ToString();
      });
    }
    for (auto& t : finishing) t.join();
  }

  // Every acknowledged fragment within retention is there, readable and whole.
  const int64_t cutoff_ms = (frozen_us - kHourUs) / 1000;
  size_t acked = 0, stored = 0, evicted = 0, checked = 0, error_acks = 0;
  uint64_t bytes_sent = 0;
  for (const auto& c : cams) {
    error_acks += c->errors();
    for (const auto& e : c->error_acks()) {
      ADD_FAILURE() << c->name() << ": ERROR ack " << e.error_id << " " << e.error_code;
    }
    EXPECT_TRUE(c->stream_errors().empty())
        << c->name() << ": " << c->stream_errors()[0].ToString();
    EXPECT_TRUE(c->put_status().ok()) << c->name() << ": " << c->put_status().ToString();
    EXPECT_EQ(c->dropped_fragments(), 0) << c->name();
    bytes_sent += c->stats().bytes_sent;
    const std::vector<faults::ReadFragment> frags = faults::ReadStream(server.url(), c->name());
    const faults::Tally t = faults::CheckStream(*c, frags, /*allow_evicted_prefix=*/true);
    EXPECT_EQ(t.acked_lost, 0u) << c->name();
    acked += t.acked;
    stored += t.fragments;
    evicted += t.evicted;
    checked += t.frames_checked;
    // Retention took the stream's oldest fragments, and no more than it should: the oldest
    // left is within a fragment (0.5 s, kSpeed/2 s of server time) of the hour's edge.
    EXPECT_GT(t.evicted, 0u) << c->name() << ": retention deleted nothing";
    ASSERT_FALSE(frags.empty()) << c->name() << ": nothing left";
    EXPECT_GE(frags.front().server_ms, cutoff_ms) << c->name() << ": older than the hour";
    EXPECT_LE(frags.front().server_ms, cutoff_ms + kSpeed * 1'000)
        << c->name() << ": the oldest kept is " << (frags.front().server_ms - cutoff_ms) / 1000
        << " s of server time inside the hour";
  }
  EXPECT_EQ(error_acks, 0u);

  // The clock runs again: open segments whose window passes are sealed and closed.
  ASSERT_EQ(kill(server.pid(), SIGUSR1), 0);
  ASSERT_TRUE(server.WaitForLog("soak clock running", 10'000));
  cams.clear();  // their SDK clients and connections go
  // Descriptors other than the index's (see below) and threads as at the start.
  const auto settled = [&](const Sample& s) {
    int index = 0;
    for (const auto& [fd, target] : FdTargets(server.pid())) {
      index += target.find("/index.sqlite") != std::string::npos ? 1 : 0;
    }
    int index_before = 0;
    for (const auto& [fd, target] : baseline_fds) {
      index_before += target.find("/index.sqlite") != std::string::npos ? 1 : 0;
    }
    return s.fds - index == baseline.fds - index_before && s.threads == baseline.threads;
  };
  Sample idle = TakeSample(server, data_dir, Seconds(Clock::now() - t0));
  for (const auto deadline = Clock::now() + std::chrono::seconds(30);
       !settled(idle) && Clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // polling the server's state
    idle = TakeSample(server, data_dir, Seconds(Clock::now() - t0));
  }

  PrintSamples(samples);
  std::printf(
      "baseline: fds %d threads %d RSS %.1f MiB; idle after the run: fds %d threads %d RSS %.1f "
      "MiB disk %.1f MiB\n",
      baseline.fds, baseline.threads, static_cast<double>(baseline.rss_kb) / 1024.0, idle.fds,
      idle.threads, static_cast<double>(idle.rss_kb) / 1024.0,
      static_cast<double>(idle.disk) / 1048576.0);
  std::printf("readers: %s\n", churn.Summary().c_str());
  for (const std::string& f : churn.failures()) std::printf("  reader failure: %s\n", f.c_str());

  // Every client gone, the server holds what it held before any came (the listening
  // socket, the index, its pools' threads): a connection, session or segment kept past
  // its end shows here.
  // The exception: the index's pool of reader connections (two descriptors each, the
  // database and its WAL) grows to the most queries that ran at once and is kept for the next
  // ones; bounded by the threads that query (workers and the service thread), so at most 16.
  const auto is_index = [](const std::string& target) {
    return target.find("/index.sqlite") != std::string::npos;
  };
  const auto idle_fds = FdTargets(server.pid());
  int index_before = 0, index_after = 0;
  for (const auto& [fd, target] : baseline_fds) index_before += is_index(target) ? 1 : 0;
  for (const auto& [fd, target] : idle_fds) index_after += is_index(target) ? 1 : 0;
  EXPECT_EQ(idle.fds - index_after, baseline.fds - index_before)
      << "file descriptors not back to the baseline";
  EXPECT_LE(index_after - index_before, 2 * 16) << "the index's reader pool grew past its bound";
  if (idle.fds - index_after != baseline.fds - index_before) {
    for (const auto& [fd, target] : idle_fds) {
      auto it = baseline_fds.find(fd);
      if (it == baseline_fds.end() || it->second != target) {
        std::printf("  fd %s -> %s (at the start: %s)\n", fd.c_str(), target.c_str(),
                    it == baseline_fds.end() ? "closed" : it->second.c_str());
      }
    }
  }
  EXPECT_EQ(idle.threads, baseline.threads) << "threads not back to the baseline";
  EXPECT_EQ(idle.conns["putmedia"] + idle.conns["getmedia"] + idle.conns["other_streaming"], 0);

  // The readers' calls succeed. A few may find the range they ask for not yet acknowledged
  // on a machine loaded enough to delay acks by more than 3 s: at most 1 in 100.
  EXPECT_GT(churn.calls(), 50u);
  EXPECT_LE(churn.failed() * 100, churn.calls()) << churn.Summary();

  // Flatness. Retention must have started deleting by the end of the first third (its
  // first deletion comes at most two hours of server time, 2 * kRetentionRealS, after the
  // start: a segment spans an hour's window and expires an hour after its last fragment).
  double warm = -1;
  for (const Sample& s : samples) {
    if (s.expired > 0) {
      warm = s.t;
      break;
    }
  }
  // Not fatal: without retention the thirds below show the growth too.
  EXPECT_GE(warm, 0) << "retention never deleted anything";
  EXPECT_LE(warm, streamed_s / 3) << "retention started too late to compare thirds";
  const auto middle = Window(samples, streamed_s / 3, 2 * streamed_s / 3);
  const auto last = Window(samples, 2 * streamed_s / 3, streamed_s + 1);
  ASSERT_GE(middle.size(), 3u);
  ASSERT_GE(last.size(), 3u);
  auto rss = [](const Sample& s) { return s.rss_kb; };
  auto fds = [](const Sample& s) { return s.fds; };
  auto threads = [](const Sample& s) { return s.threads; };
  auto disk = [](const Sample& s) { return s.disk; };
  auto segs = [](const Sample& s) { return s.segment_bytes; };
  const double rss_mid = Median(middle, rss), rss_last = Median(last, rss);
  const double rss_mid_max = Max(middle, rss), rss_last_max = Max(last, rss);
  std::printf(
      "soak: %d streams, %.0f s (%.1f h of server time, retention rolled over %.0f times); "
      "%zu fragments acknowledged (%.0f/s), %zu kept, %zu expired, %zu frames compared, %zu "
      "ERROR acks; RSS median %.1f -> %.1f MiB (max %.1f -> %.1f), fds max %.0f -> %.0f, "
      "threads max %.0f -> %.0f, disk max %.1f -> %.1f MiB (middle third -> last third)\n",
      streams, streamed_s, streamed_s / kRetentionRealS, streamed_s / kRetentionRealS - 1, acked,
      static_cast<double>(acked) / streamed_s, stored, evicted, checked, error_acks, rss_mid / 1024,
      rss_last / 1024, rss_mid_max / 1024, rss_last_max / 1024, Max(middle, fds), Max(last, fds),
      Max(middle, threads), Max(last, threads), Max(middle, disk) / 1048576,
      Max(last, disk) / 1048576);

  // Memory: the last third's median RSS within 5% (at least 4 MiB) of the middle third's.
  // The server's steady state is bounded (its caches, pools and buffers per connection), so
  // what it holds after retention starts deleting should not move; 5% is allocator noise
  // and whichever readers happen to be open at a sample. A leak of 1 KiB per fragment
  // (100 fragments a second here) adds 3 MiB per 30 s third, seen in the long run at least.
#ifndef STREAMARC_SOAK_SANITIZED
  EXPECT_LE(rss_last, rss_mid + std::max(rss_mid * 0.05, 4096.0)) << "RSS grew";
#endif
  // Descriptors and threads under load: the cameras' connections and open segments are the
  // same at both times; the readers open a few at a time (3 threads, at most 3 connections
  // each plus a curl's), hence the 12.
  EXPECT_LE(Max(last, fds), Max(middle, fds) + 12) << "file descriptors grew";
  EXPECT_LE(Max(last, threads), Max(middle, threads) + 2) << "threads grew";
  // Disk: retention deletes a segment (an hour's window) once its last fragment is an hour
  // old, so a stream holds at most two hours of video (2 * kRetentionRealS of real time)
  // plus a sweep period. The cameras sent `bytes_sent` over `streamed_s` seconds; the
  // segments hold about that (the churn streams add a few seconds each, deleted at once).
  const double rate = static_cast<double>(bytes_sent) / streamed_s;
  const double keep_bound = rate * (2 * kRetentionRealS + kSweepMs / 1000.0 + 2) * 1.25;
  EXPECT_LE(Max(last, segs), keep_bound) << "segments over what an hour of retention keeps";
  // The whole data dir (index, WAL, the 4 MiB reserve) flat: at most 15% above the middle
  // third's peak. Without retention it would be half as much again (3/3 against 2/3).
  EXPECT_LE(Max(last, disk), Max(middle, disk) * 1.15) << "the data dir grew";
}

}  // namespace
}  // namespace streamarc::soak
