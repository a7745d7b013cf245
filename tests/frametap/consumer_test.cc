// The frame-tap consumer against the real streamarcd over loopback: media made by ffmpeg,
// pushed with curl's PutMedia, read back through GetMedia by the Consumer, every frame's
// timestamps compared with ffprobe's view of the input and with ListFragments.
#include <gtest/gtest.h>

#include <thread>

#include "frametap/frametap.h"
#include "tests/frametap/consumer_fixture.h"
#include "tests/frametap/cut_proxy.h"
#include "tests/support/test_certs.h"

namespace streamarc::frametap {
namespace {

using namespace consumer_test;  // the fixture's names

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

// The consumer reads GetMedia from a streamarcd that speaks HTTPS, trusting the CA in
// ca_cert; without it, the server's certificate is refused.
class TlsConsumerTest : public ConsumerTest {
 protected:
  void SetUp() override {
    certs_ = streamarc::testing::MakeTestCerts(dir_.path());
    ASSERT_FALSE(certs_.cert.empty());
    ASSERT_TRUE(
        server_.Start(dir_.File("data"), {"--tls-cert", certs_.cert, "--tls-key", certs_.key}).ok())
        << server_.log();
    url_ = "https://127.0.0.1:" + std::to_string(server_.port());
    streamarc::testing::CurlCreateStream(url_, kStream, 24, {"--cacert", certs_.ca});
  }
  streamarc::testing::TestCerts certs_;
  std::string url_;
};

TEST_F(TlsConsumerTest, ReadsOverHttpsTrustingItsCaCert) {
  const std::string file = Media(streamarc::testing::kH264AacMkv);
  const std::string acks = streamarc::testing::CurlPutMedia(
      url_, {kStream, file, kStart, true, {"--cacert", certs_.ca}});
  ASSERT_GT(CountOf(acks, "\"PERSISTED\""), 0u) << acks.substr(0, 500);
  Probe probe = ProbeVideo(file, kStartUs);
  ConsumerOptions o = Options();
  o.endpoint = url_;
  o.ca_cert = certs_.ca;
  o.end_producer_us = probe.keys.back();
  Got got = Collect(o);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.Times(), probe.Before(probe.keys.back()));

  o.ca_cert.clear();
  o.max_reconnects = 0;
  Got refused = Collect(o);
  EXPECT_FALSE(refused.status.ok());
  EXPECT_TRUE(refused.frames.empty());
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
