// The consumer tests' fixture: a real streamarcd over loopback, media made by ffmpeg and
// pushed with curl's PutMedia, and what the tests compare the Consumer's frames with
// (ffprobe's view of the input, ListFragments). Shared by consumer_test.cc and
// python_consumer_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "frametap/frametap.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap::consumer_test {

using streamarc::testing::ChildProcess;
using streamarc::testing::CountOf;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

constexpr char kStream[] = "cam1";
// PutMedia with RELATIVE timecodes from these producer start times (epoch seconds).
constexpr int64_t kStartUs = 1'700'000'000'000'000;
constexpr char kStart[] = "1700000000.000";
constexpr int64_t kSecondStartUs = 1'700'000'100'000'000;
constexpr char kSecondStart[] = "1700000100.000";

// ffprobe's video packets of a file, in presentation order, as producer times.
struct Probe {
  std::vector<int64_t> times;  // epoch microseconds
  std::vector<int64_t> keys;
  // Every frame before the last key frame (the range the tests read: the consumer stops at
  // a key frame at or past its end).
  std::vector<int64_t> Before(int64_t end) const {
    std::vector<int64_t> out;
    for (int64_t t : times) {
      if (t < end) out.push_back(t);
    }
    return out;
  }
};

inline Probe ProbeVideo(const std::string& path, int64_t start_us) {
  Probe p;
  auto times = streamarc::testing::ProbeTimes(path);
  EXPECT_TRUE(times.ok()) << times.status().ToString();
  if (!times.ok()) return p;
  for (const auto& t : *times) {
    if (t.type != "video") continue;
    const int64_t us = start_us + std::llround(t.pts_s * 1e6);
    p.times.push_back(us);
    if (t.key) p.keys.push_back(us);
  }
  std::sort(p.times.begin(), p.times.end());
  std::sort(p.keys.begin(), p.keys.end());
  return p;
}

struct Got {
  std::vector<FrameInfo> frames;
  std::vector<cv::Size> sizes;
  Status status;
  ConsumerStats stats;
  std::vector<int64_t> Times() const {
    std::vector<int64_t> t;
    for (const auto& f : frames) t.push_back(f.producer_timestamp_us);
    return t;
  }
};

// Stops a consumer that has not finished within a minute, so a consumer waiting for frames
// that never come (the bug a test looks for) fails the test instead of hanging it.
class Watchdog {
 public:
  explicit Watchdog(Consumer& c)
      : thread_([this, &c] {
          MutexLock lock(mu_);
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (!done_ && mu_cv_.WaitUntil(mu_, deadline)) {
          }
          if (!done_) c.Stop();
        }) {}
  ~Watchdog() {
    {
      MutexLock lock(mu_);
      done_ = true;
      mu_cv_.NotifyAll();
    }
    thread_.join();
  }

 private:
  Mutex mu_;
  CondVar mu_cv_;
  bool done_ = false;
  std::thread thread_;
};

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    streamarc::testing::CurlCreateStream(server_.url(), kStream);
  }
  void TearDown() override {
    if (server_.pid() > 0) server_.Stop();
  }

  std::string Media(const char* name) {
    auto path = MakeMedia(name);
    EXPECT_TRUE(path.ok()) << path.status().ToString();
    return path.ok() ? *path : "";
  }

  void Upload(const std::string& file, const char* start = kStart) {
    std::string acks = CurlPutMedia(server_.url(), {kStream, file, start, true, {}});
    ASSERT_GT(CountOf(acks, "\"PERSISTED\""), 0u) << acks.substr(0, 500);
  }

  // The server logs when a GetMedia reader reaches the live edge (for a NOW reader of an
  // empty stream: at once). A test uploads only then, or NOW would start after the first
  // fragments. Polls the log for up to a minute (a loaded sanitizer build is slow).
  bool ReaderIsLive() {
    for (int i = 0; i < 12'000; ++i) {
      if (server_.log().find("reader is at the live edge") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  ConsumerOptions Options(StartType start = StartType::kEarliest) {
    ConsumerOptions o;
    o.endpoint = server_.url();
    o.stream_name = kStream;
    o.start.type = start;
    o.decode_threads = 2;
    return o;
  }

  // Runs a consumer to its end (a minute at most); `each` may stop it (false) or act
  // mid-stream; `before_run` acts between Open and Run.
  Got Collect(const ConsumerOptions& o, const std::function<bool(const FrameInfo&)>& each = nullptr,
              const std::function<void()>& before_run = nullptr) {
    Got got;
    auto c = Consumer::Open(o);
    if (!c.ok()) {
      got.status = c.status();
      return got;
    }
    if (before_run) before_run();
    Watchdog watchdog(**c);
    got.status = (*c)->Run([&](const cv::Mat& image, const FrameInfo& info) {
      got.frames.push_back(info);
      got.sizes.push_back(image.size());
      EXPECT_EQ(image.type(), o.target.format == PixelFormat::kGray ? CV_8UC1 : CV_8UC3);
      return each ? each(info) : true;
    });
    got.stats = (*c)->stats();
    return got;
  }

  // `o` (a NOW start) opened on the empty stream, `file` uploaded once its reader is live.
  Got CollectLive(const ConsumerOptions& o, const std::string& file) {
    return Collect(o, nullptr, [&] {
      ASSERT_TRUE(ReaderIsLive()) << server_.log();
      Upload(file);
    });
  }

  // Every frame's fragment number and server timestamp agree with ListFragments.
  void CheckAgainstListFragments(const Got& got, bool open_gop = false) {
    struct F {
      int64_t producer_us, server_us;
    };
    std::map<std::string, F> by_number;
    for (const auto& f : streamarc::testing::ListAllFragments(server_.url(), kStream)) {
      by_number[f["FragmentNumber"].get<std::string>()] = {
          std::llround(f["ProducerTimestamp"].get<double>() * 1e6),
          std::llround(f["ServerTimestamp"].get<double>() * 1e6)};
    }
    std::set<std::string> seen;
    for (const FrameInfo& info : got.frames) {
      auto it = by_number.find(info.fragment_number);
      ASSERT_NE(it, by_number.end()) << info.fragment_number;
      seen.insert(info.fragment_number);
      // The frame lies in its fragment: at or after its start (or, in an open GOP, shown
      // before the key frame that starts it: after the previous fragment's start), before
      // the next one's.
      if (!open_gop) {
        EXPECT_GE(info.producer_timestamp_us, it->second.producer_us);
      } else if (it != by_number.begin()) {
        EXPECT_GT(info.producer_timestamp_us, std::prev(it)->second.producer_us);
      }
      auto next = std::next(it);
      if (next != by_number.end() && next->first.size() == it->first.size()) {
        EXPECT_LT(info.producer_timestamp_us, next->second.producer_us);
      }
      // Server time: the fragment's (tags carry milliseconds) plus the frame's offset in it.
      const int64_t want =
          it->second.server_us + (info.producer_timestamp_us - it->second.producer_us);
      EXPECT_LE(std::llabs(info.server_timestamp_us - want), 1000) << info.fragment_number;
    }
    EXPECT_GT(seen.size(), 2u);
  }

  TempDir dir_;
  ServerProcess server_;
};

}  // namespace streamarc::frametap::consumer_test
