// The frame-tap consumer against the real streamarcd over loopback: media made by ffmpeg,
// pushed with curl's PutMedia, read back through GetMedia by the Consumer, every frame's
// timestamps compared with ffprobe's view of the input and with ListFragments.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/mutex.h"
#include "frametap/frametap.h"
#include "tests/frametap/cut_proxy.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

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

Probe ProbeVideo(const std::string& path, int64_t start_us) {
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

class ConsumerCodecTest : public ConsumerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ConsumerCodecTest, ArchivedRangeMatchesFfprobe) {
  const std::string file = Media(GetParam());
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  ASSERT_GT(probe.keys.size(), 2u);
  ConsumerOptions o = Options();
  o.end_producer_us = probe.keys.back();
  Got got = Collect(o);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.Times(), probe.Before(probe.keys.back()));
  for (size_t i = 0; i < got.frames.size(); ++i) {
    const bool key = std::binary_search(probe.keys.begin(), probe.keys.end(),
                                        got.frames[i].producer_timestamp_us);
    EXPECT_EQ(got.frames[i].key_frame, key) << i;
    EXPECT_EQ(got.sizes[i], cv::Size(320, 240));
  }
  // x265 makes open GOPs (CRA key frames): frames that follow one in decode order, stored in
  // its fragment, may be shown before it.
  CheckAgainstListFragments(got, std::string(GetParam()) == streamarc::testing::kH265Mkv);
  EXPECT_EQ(got.stats.frames_delivered, got.frames.size());
  EXPECT_EQ(got.stats.frames_dropped, 0u);
}

// Started with NOW before anything is uploaded: the frames arrive live.
TEST_P(ConsumerCodecTest, LiveFromNowMatchesFfprobe) {
  const std::string file = Media(GetParam());
  Probe probe = ProbeVideo(file, kStartUs);
  ConsumerOptions o = Options(StartType::kNow);
  o.end_producer_us = probe.keys.back();
  Got got = CollectLive(o, file);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.Times(), probe.Before(probe.keys.back()));
  CheckAgainstListFragments(got, std::string(GetParam()) == streamarc::testing::kH265Mkv);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ConsumerCodecTest,
                         ::testing::Values(streamarc::testing::kH264AacMkv,
                                           streamarc::testing::kH265Mkv));

TEST_F(ConsumerTest, SamplingModes) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const int64_t end = probe.keys.back();
  const std::vector<int64_t> all = probe.Before(end);

  ConsumerOptions keys = Options();
  keys.end_producer_us = end;
  keys.sampling.mode = Sampling::Mode::kKeyFramesOnly;
  Got k = Collect(keys);
  ASSERT_TRUE(k.status.ok()) << k.status.ToString();
  std::vector<int64_t> want_keys(probe.keys.begin(), probe.keys.end() - 1);
  EXPECT_EQ(k.Times(), want_keys);
  // The rest was never decoded (the key frame that ends the range is: see Pipeline::OnFrame).
  EXPECT_EQ(k.stats.frames_decoded, want_keys.size() + 1);

  ConsumerOptions nth = Options();
  nth.end_producer_us = end;
  nth.sampling = {Sampling::Mode::kEveryNth, 3, 0};
  std::vector<int64_t> want_nth;
  for (size_t i = 0; i < all.size(); i += 3) want_nth.push_back(all[i]);
  EXPECT_EQ(Collect(nth).Times(), want_nth);

  ConsumerOptions fps = Options();
  fps.end_producer_us = end;
  fps.sampling = {Sampling::Mode::kFps, 1, 4.0};
  std::vector<int64_t> want_fps;
  int64_t last_bucket = -1;
  for (int64_t t : all) {
    const int64_t bucket = t / 250'000;  // 4 per second
    if (bucket != last_bucket) want_fps.push_back(t);
    last_bucket = bucket;
  }
  Got f = Collect(fps);
  EXPECT_EQ(f.Times(), want_fps);
  EXPECT_EQ(f.stats.frames_decoded, all.size() + 1);
}

TEST_F(ConsumerTest, DropPolicyCountsAndBlockPolicyLosesNothing) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const std::vector<int64_t> all = probe.Before(probe.keys.back());
  // A slow callback: the work a heavy detector would do.
  auto slow = [](const FrameInfo&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    return true;
  };
  ConsumerOptions drop = Options();
  drop.end_producer_us = probe.keys.back();
  drop.queue_frames = 1;
  drop.overflow = Overflow::kDrop;
  Got d = Collect(drop, slow);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_GT(d.stats.frames_dropped, 0u);
  EXPECT_EQ(d.stats.frames_delivered + d.stats.frames_dropped, all.size());
  EXPECT_EQ(d.frames.size(), d.stats.frames_delivered);
  // What was delivered is in order and a subset of the input.
  const std::vector<int64_t> delivered = d.Times();
  for (int64_t t : delivered) EXPECT_TRUE(std::binary_search(all.begin(), all.end(), t));
  EXPECT_TRUE(std::is_sorted(delivered.begin(), delivered.end()));

  ConsumerOptions block = drop;
  block.overflow = Overflow::kBlock;
  Got b = Collect(block, slow);
  EXPECT_EQ(b.Times(), all);
  EXPECT_EQ(b.stats.frames_dropped, 0u);
}

// A consumer stuck in its callback (a detector that hangs) holds up nobody: while it is
// stuck, PutMedia gets every fragment PERSISTED and another consumer reads every frame. (The
// ack latency beside a stalled consumer is a benchmark figure, not a test.)
TEST_F(ConsumerTest, AStuckCallbackHoldsUpNeitherIngestNorOtherReaders) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  const Probe first = ProbeVideo(file, kStartUs);
  constexpr int64_t kLaterUs = kStartUs + 100'000'000;  // the second upload, 100 s on
  const Probe second = ProbeVideo(file, kLaterUs);
  ConsumerOptions o = Options();
  o.queue_frames = 1;
  o.overflow = Overflow::kBlock;
  auto stuck = Consumer::Open(o);
  ASSERT_TRUE(stuck.ok()) << stuck.status().ToString();
  Mutex mu;
  CondVar cv;
  bool entered = false, release = false;
  Upload(file);
  std::thread runner([&] {
    Status s = (*stuck)->Run([&](const cv::Mat&, const FrameInfo&) {
      MutexLock lock(mu);
      entered = true;
      cv.NotifyAll();
      while (!release) cv.Wait(mu);
      return false;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  {
    MutexLock lock(mu);
    while (!entered) cv.Wait(mu);
  }
  // Stuck now, its queue full: the next upload is acknowledged all the same.
  const std::string acks = CurlPutMedia(server_.url(), {kStream, file, "1700000100.000", true, {}});
  EXPECT_GT(CountOf(acks, "\"PERSISTED\""), 0u) << acks.substr(0, 500);
  EXPECT_EQ(CountOf(acks, "\"PERSISTED\""), CountOf(acks, "\"RECEIVED\"")) << acks;
  ConsumerOptions other = Options();
  other.end_producer_us = second.keys.back();
  Got got = Collect(other);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  std::vector<int64_t> want = first.times;
  const std::vector<int64_t> rest = second.Before(second.keys.back());
  want.insert(want.end(), rest.begin(), rest.end());
  EXPECT_EQ(got.Times(), want);
  {
    MutexLock lock(mu);
    release = true;
    cv.NotifyAll();
  }
  runner.join();
}

TEST_F(ConsumerTest, GrayAndScaledTargets) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  ConsumerOptions o = Options();
  o.end_producer_us = probe.keys[1];
  o.target = {PixelFormat::kGray, 160, 0};
  Got got = Collect(o);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  ASSERT_EQ(got.Times(), probe.Before(probe.keys[1]));
  for (const auto& s : got.sizes) EXPECT_EQ(s, cv::Size(160, 120));
}

// A consumer process killed inside its callback, then started again from its checkpoint:
// every frame is handled once.
TEST_F(ConsumerTest, KilledConsumerResumesFromItsCheckpoint) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const std::vector<int64_t> all = probe.Before(probe.keys.back());
  const std::string checkpoint = dir_.File("checkpoint");
  const std::string end = std::to_string(probe.keys.back());

  ChildProcess first({FRAMETAP_CHILD, server_.url(), kStream, checkpoint, end, "3"});
  ASSERT_TRUE(first.WaitForOutput("blocked", 60'000)) << first.Output();
  first.Signal(SIGKILL);
  first.Wait(-1);
  ChildProcess second({FRAMETAP_CHILD, server_.url(), kStream, checkpoint, end, "0"});
  ASSERT_EQ(second.Wait(120'000), 0) << second.Output();
  ASSERT_NE(second.Output().find("end OK"), std::string::npos) << second.Output();

  auto handled = [](const std::string& out) {
    std::vector<int64_t> t;
    size_t p = 0;
    while ((p = out.find("frame ", p)) != std::string::npos) {
      t.push_back(std::atoll(out.c_str() + p + 6));
      p += 6;
    }
    return t;
  };
  std::vector<int64_t> a = handled(first.Output());
  std::vector<int64_t> b = handled(second.Output());
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  // The frame whose callback was killed comes first after the restart.
  const std::string out = first.Output();
  EXPECT_EQ(b.front(), std::atoll(out.c_str() + out.find("blocked ") + 8));
  std::vector<int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(both, all);  // in order, none missed, none repeated
}

// streamarcd killed mid-stream and started again on the same port: the consumer reconnects
// and resumes; later the stream goes on live (a second upload) and it follows.
TEST_F(ConsumerTest, ServerRestartIsSurvived) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe a = ProbeVideo(file, kStartUs);
  Probe b = ProbeVideo(file, kSecondStartUs);
  std::vector<int64_t> want = a.times;
  std::vector<int64_t> more = b.Before(b.keys.back());
  want.insert(want.end(), more.begin(), more.end());
  ConsumerOptions o = Options();
  o.end_producer_us = b.keys.back();
  o.queue_frames = 2;
  const std::string port = std::to_string(server_.port());
  size_t n = 0;
  Got got = Collect(o, [&](const FrameInfo&) {
    ++n;
    if (n == 10) {
      server_.Kill();
      Status s = server_.Start(dir_.File("data"), {"--port", port});
      EXPECT_TRUE(s.ok()) << s.ToString() << server_.log();
    }
    if (n == a.times.size()) Upload(file, kSecondStart);
    return true;
  });
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.Times(), want);
  EXPECT_GE(got.stats.reconnects, 1u);
}

// The connection breaks in the middle of a fragment whose first frames were already handed
// out: the consumer reconnects after the last fragment done and skips what it had shown.
TEST_F(ConsumerTest, BrokenConnectionResumesWithoutRepeats) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const std::vector<int64_t> all = probe.Before(probe.keys.back());
  const size_t file_bytes = streamarc::testing::ReadFileOrDie(file).size();
  for (size_t cut : {file_bytes / 3, file_bytes / 2 + 777}) {
    CutProxy proxy(server_.port(), cut);
    ConsumerOptions o = Options();
    o.endpoint = "http://127.0.0.1:" + std::to_string(proxy.port());
    o.end_producer_us = probe.keys.back();
    o.reconnect_backoff_ms = 1;
    Got got = Collect(o);
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    EXPECT_EQ(got.Times(), all) << "cut after " << cut << " bytes";
    EXPECT_EQ(got.stats.reconnects, 1u);
    EXPECT_EQ(proxy.connections(), 2);
  }
}

// Started with NOW, the connection breaks inside the first fragment: the consumer resumes at
// that fragment (by its producer timestamp), not at a new NOW that would skip what came.
TEST_F(ConsumerTest, BrokenFirstFragmentOfNowResumesThere) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Probe probe = ProbeVideo(file, kStartUs);
  CutProxy proxy(server_.port(), 3000);  // the response head and part of the first chunk
  ConsumerOptions o = Options(StartType::kNow);
  o.endpoint = "http://127.0.0.1:" + std::to_string(proxy.port());
  o.end_producer_us = probe.keys.back();
  o.reconnect_backoff_ms = 1;
  Got got = CollectLive(o, file);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.Times(), probe.Before(probe.keys.back()));
  EXPECT_EQ(got.stats.reconnects, 1u);
}

// The Python binding, run by the interpreter CMake found: the same frames and timestamps,
// and the images are arrays cv2 takes.
TEST_F(ConsumerTest, PythonBindingMatchesFfprobe) {
#ifndef STREAMARC_PYTHON3
  GTEST_SKIP() << "the Python module is not built (sanitizer build)";
#else
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  Upload(file);
  Probe probe = ProbeVideo(file, kStartUs);
  const std::string script = dir_.File("detector.py");
  streamarc::testing::WriteFileOrDie(script, R"(
import sys
import cv2
import streamarc
endpoint, stream, end = sys.argv[1], sys.argv[2], float(sys.argv[3])
for image, info in streamarc.frames(endpoint, stream, start="EARLIEST", end=end):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert image.shape == (240, 320, 3) and gray.shape == (240, 320), (image.shape, gray.shape)
    print("frame", info.producer_timestamp_us, int(round(info.producer_timestamp * 1e6)),
          info.fragment_number, int(info.key_frame), int(gray.mean() > 0))
try:
    next(iter(streamarc.frames(endpoint, "no-such-stream", start="EARLIEST")))
except streamarc.Error as e:
    print("error", e.code)
)");
  // The end in seconds as Python reads it: microseconds exactly.
  auto run = streamarc::testing::RunCommand(
      {"env", std::string("PYTHONPATH=") + STREAMARC_PYTHONPATH, STREAMARC_PYTHON3, script,
       server_.url(), kStream,
       std::to_string(probe.keys.back() / 1'000'000) + "." +
           std::to_string(1'000'000 + probe.keys.back() % 1'000'000).substr(1)});
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->exit_code, 0) << run->out;
  std::vector<int64_t> times;
  size_t p = 0;
  while ((p = run->out.find("frame ", p)) != std::string::npos) {
    long long us = 0, rounded = 0, key = 0, lit = 0;
    char fragment[64] = {};
    ASSERT_EQ(std::sscanf(run->out.c_str() + p, "frame %lld %lld %63s %lld %lld", &us, &rounded,
                          fragment, &key, &lit),
              5);
    EXPECT_EQ(us, rounded);
    EXPECT_EQ(key != 0, std::binary_search(probe.keys.begin(), probe.keys.end(), us));
    EXPECT_EQ(lit, 1);
    times.push_back(us);
    p += 6;
  }
  EXPECT_EQ(times, probe.Before(probe.keys.back()));
  EXPECT_NE(run->out.find("error NotFound"), std::string::npos) << run->out;
#endif
}

// Ctrl-C reaches a Python loop waiting for the next frame of a stream that sends none: the
// iterator raises KeyboardInterrupt instead of blocking the interpreter's signal handler.
TEST_F(ConsumerTest, PythonWaitingForAFrameTakesCtrlC) {
#ifndef STREAMARC_PYTHON3
  GTEST_SKIP() << "the Python module is not built (sanitizer build)";
#else
  const std::string script = dir_.File("wait.py");
  streamarc::testing::WriteFileOrDie(script, R"(
import sys
import streamarc
try:
    for image, info in streamarc.frames(sys.argv[1], sys.argv[2], start="NOW"):
        print("frame", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
)");
  ChildProcess python({"env", std::string("PYTHONPATH=") + STREAMARC_PYTHONPATH, STREAMARC_PYTHON3,
                       script, server_.url(), kStream});
  ASSERT_TRUE(ReaderIsLive()) << server_.log();  // Python is in the iterator, waiting
  python.Signal(SIGINT);
  EXPECT_EQ(python.Wait(30'000), 0) << python.Output();
  EXPECT_NE(python.Output().find("interrupted"), std::string::npos) << python.Output();
  EXPECT_EQ(python.Output().find("frame"), std::string::npos) << python.Output();
#endif
}

// WaitReady: false while nothing comes, true at once after Stop.
TEST_F(ConsumerTest, WaitReadyTimesOutThenSeesStop) {
  auto c = Consumer::Open(Options(StartType::kNow));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(ReaderIsLive()) << server_.log();
  EXPECT_FALSE((*c)->WaitReady(50));
  (*c)->Stop();
  EXPECT_TRUE((*c)->WaitReady(0));
  auto next = (*c)->Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(ConsumerTest, UnknownStreamIsResourceNotFound) {
  ConsumerOptions o = Options();
  o.stream_name = "no-such-stream";
  Got got = Collect(o);
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.code(), Code::kNotFound);
  EXPECT_NE(got.status.message().find("ResourceNotFoundException"), std::string::npos)
      << got.status.ToString();
}

TEST(ConsumerErrors, UnreachableEndpointIsUnavailableAfterTheReconnectBudget) {
  // The discard port: nothing listens on it here.
  ConsumerOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.stream_name = kStream;
  o.max_reconnects = 2;
  o.reconnect_backoff_ms = 1;
  auto c = Consumer::Open(o);
  ASSERT_TRUE(c.ok());
  auto next = (*c)->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::kUnavailable) << next.status().ToString();
  EXPECT_EQ((*c)->stats().reconnects, 2u);
}

}  // namespace
}  // namespace streamarc::frametap
