// The producer SDK against the real streamarcd: real H.264/H.265/AAC from ffmpeg pushed with
// PutFrame, the archive read back after the server stopped and compared frame by frame with
// ffprobe's view of the input; faults (server killed and restarted, stream deleted, server
// unreachable, a full content store) give the documented outcome and never a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "producer-sdk/http.h"
#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/producer/tcp_proxy.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {
namespace {

using namespace streamarc::producer;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

// Counts every callback; thread-safe (callbacks come from the upload thread).
class Recorder : public StreamCallbacks {
 public:
  void OnFragmentAck(const FragmentAck& a) override {
    std::lock_guard<std::mutex> l(mu);
    ++acks[a.type];
    if (a.type == AckType::kError) error_ids.push_back(a.error_id);
  }
  void OnDroppedFrame(int64_t) override { ++dropped_frames; }
  void OnDroppedFragment(int64_t) override { ++dropped_fragments; }
  void OnStorageOverflowPressure(size_t) override { ++overflow_pressure; }
  void OnLatencyPressure(int64_t) override { ++latency_pressure; }
  void OnConnectionState(ConnectionState s, const Status&) override {
    std::lock_guard<std::mutex> l(mu);
    ++states[s];
  }
  void OnStreamError(const Status& s) override {
    std::lock_guard<std::mutex> l(mu);
    errors.push_back(s);
  }
  int Acks(AckType t) {
    std::lock_guard<std::mutex> l(mu);
    return acks[t];
  }
  std::mutex mu;
  std::map<AckType, int> acks;
  std::map<ConnectionState, int> states;
  std::vector<int> error_ids;
  std::vector<Status> errors;
  std::atomic<int> dropped_frames{0}, dropped_fragments{0}, overflow_pressure{0},
      latency_pressure{0};
};

ClientOptions Options(const ServerProcess& server) {
  ClientOptions o;
  o.endpoint = server.url();
  o.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  o.connect_timeout_ms = 1'000;
  return o;
}

Frame ToFrame(const InputFrame& f, uint64_t track = 1) {
  Frame fr;
  fr.track = track;
  fr.pts_us = f.pts_ms * 1000;
  fr.dts_us = f.dts_ms * 1000;
  fr.duration_us = f.duration_ms * 1000;
  fr.key_frame = f.key;
  fr.data = f.annexb;
  return fr;
}

// The archive's video frames must be the input's, once each, in order: same key flags, same
// presentation times (relative to the first), and for delta frames the same size as ffmpeg's
// own length-prefixed packets.
void ExpectSameVideo(const std::vector<InputFrame>& in, const Stored& got) {
  std::vector<StoredFrame> video;
  for (const auto& f : got.frames) {
    if (f.track == 1) video.push_back(f);
  }
  ASSERT_EQ(video.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(video[i].key, in[i].key);
    EXPECT_EQ(video[i].timecode - video[0].timecode, in[i].pts_ms - in[0].pts_ms);
    if (!in[i].key) {
      EXPECT_EQ(static_cast<int64_t>(video[i].size), in[i].mkv_size);
    }
  }
}

class ProducerSdkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(data_.path()).ok()); }
  TempDir data_, work_;
  ServerProcess server_;
};

TEST_F(ProducerSdkTest, StreamsH264EveryFrameOnce) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Recorder rec;
  StreamOptions so;
  so.name = "cam-h264";
  so.fragment_duration_ms = 1'000;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  for (const auto& f : *frames) ASSERT_TRUE((*stream)->PutFrame(ToFrame(f)).ok());
  ASSERT_TRUE((*stream)->Stop(20'000).ok());
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.frames_put, frames->size());
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_EQ(st.fragments_started, 6u);
  EXPECT_EQ(st.fragments_persisted, 6u);
  EXPECT_EQ(st.store_bytes, 0u);
  EXPECT_EQ(rec.Acks(AckType::kPersisted), 6);
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-h264");
  EXPECT_EQ(got.fragments, 6u);
  ExpectSameVideo(*frames, got);
  // The archived fragment is a valid H.264 Matroska file: ffprobe decodes its video.
  std::string file = work_.File("frag.mkv");
  streamarc::testing::WriteFileOrDie(file, got.first_fragment_file);
  auto probe = RunCommand({"ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_name,width,height", "-of", "csv=p=0", file});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->out, "h264,320,240\n");
}


// Every archived frame is an input frame, none twice; returns how many input frames are
// missing (dropped by the policy).
size_t ExpectNoDuplicates(const std::vector<InputFrame>& in, const Stored& got) {
  std::map<int64_t, int> seen;
  for (const auto& f : got.frames) {
    if (f.track == 1) ++seen[f.timecode];
  }
  for (const auto& [tc, n] : seen) EXPECT_EQ(n, 1) << "frame at " << tc << " stored " << n << " times";
  EXPECT_LE(seen.size(), in.size());
  return in.size() - std::min(in.size(), seen.size());
}

// The server is killed (SIGKILL) and restarted on the same port three times while frames
// flow; afterwards the archive holds every frame exactly once.
TEST_F(ProducerSdkTest, ServerKilledAndRestartedKeepsEveryFrameOnce) {
  MediaSpec spec;
  spec.seconds = 10;
  spec.gop = 15;
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-kill";
  so.fragment_duration_ms = 500;
  so.retry_min_ms = 50;
  so.retry_max_ms = 500;
  so.storage_bytes = 16u << 20;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const int port = server_.port();
  std::atomic<size_t> pushed{0};
  std::thread producer([&] {
    for (const auto& f : *frames) {
      EXPECT_TRUE((*stream)->PutFrame(ToFrame(f)).ok());
      ++pushed;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  size_t max_store = 0, max_fragments = 0;
  for (int kill = 0; kill < 3; ++kill) {
    // Let a few fragments through, then kill while the connection is busy.
    size_t target = (kill + 1) * frames->size() / 4;
    while (pushed < target) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_.Kill();
    // The second outage is long enough for a dozen fragments to pile up in the store.
    std::this_thread::sleep_for(std::chrono::milliseconds(kill == 1 ? 1'500 : 150));
    StreamStats during = (*stream)->stats();
    max_store = std::max(max_store, during.store_bytes);
    max_fragments = std::max<size_t>(max_fragments, during.fragments_started - during.fragments_persisted -
                                                        during.fragments_dropped);
    ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok());
  }
  producer.join();
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_GE(st.reconnects, 3u);
  std::printf("reconnects=%llu resent=%llu confirmed=%llu persisted=%llu max_store=%zu max_fragments=%zu\n",
              static_cast<unsigned long long>(st.reconnects),
              static_cast<unsigned long long>(st.fragments_resent),
              static_cast<unsigned long long>(st.fragments_confirmed),
              static_cast<unsigned long long>(st.fragments_persisted), max_store, max_fragments);
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_LE(max_store, so.storage_bytes);
  EXPECT_GE(max_fragments, 9u);  // more than one deque block of them
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-kill");
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// A stream deleted while streaming: a clear NotFound through OnStreamError, PutFrame and
// Stop return it, nothing hangs.
TEST_F(ProducerSdkTest, DeletedStreamFailsClearly) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-deleted";
  so.fragment_duration_ms = 1'000;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  for (size_t i = 0; i < 60; ++i) ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  const std::string aws_env = "AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x "
                              "AWS_DEFAULT_REGION=us-west-2 ";
  // The ARN from DescribeStream (a plain signed POST), then the AWS CLI deletes the stream.
  SignContext sign{"us-west-2", {"AKIDEXAMPLE", "x", ""}, "test"};
  auto described = PostJson(server_.url(), "/describeStream", R"({"StreamName":"cam-deleted"})",
                            sign, 1'000, 10'000, streamarc::SystemClock().NowMicros());
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->status, 200) << described->body;
  auto info = nlohmann::json::parse(described->body, nullptr, false);
  ASSERT_FALSE(info.is_discarded());
  std::string a = info["StreamInfo"]["StreamARN"].template get<std::string>();
  auto del = RunCommand({"sh", "-c", aws_env + "/usr/bin/aws --endpoint-url " + server_.url() +
                                         " kinesisvideo delete-stream --stream-arn " + a});
  ASSERT_TRUE(del.ok());
  ASSERT_EQ(del->exit_code, 0) << del->out;
  // The live connection may go on until the server notices; the next one gets a 404.
  Status last;
  for (size_t i = 60; i < frames->size() && last.ok(); ++i) {
    last = (*stream)->PutFrame(ToFrame((*frames)[i]));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Status stop = (*stream)->Stop(10'000);
  EXPECT_FALSE(stop.ok());
  EXPECT_EQ(stop.code(), Code::kNotFound) << stop.ToString();
  std::lock_guard<std::mutex> l(rec.mu);
  ASSERT_FALSE(rec.errors.empty());
  EXPECT_EQ(rec.errors[0].code(), Code::kNotFound) << rec.errors[0].ToString();
}

// No server: OpenStream says so at once; a server that goes away for good makes Stop give up
// after its timeout with kUnavailable, holding the un-PERSISTED fragments.
TEST_F(ProducerSdkTest, UnreachableServerGivesClearErrors) {
  ClientOptions o = Options(server_);
  int port = server_.port();
  server_.Stop();
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  StreamOptions so;
  so.name = "cam-gone";
  auto none = (*client)->OpenStream(so, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable) << none.status().ToString();

  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok());
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok());
  Recorder rec;
  so.retry_min_ms = 20;
  so.retry_max_ms = 100;
  so.max_latency_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  server_.Kill();
  for (const auto& f : *frames) ASSERT_TRUE((*stream)->PutFrame(ToFrame(f)).ok());
  Status stop = (*stream)->Stop(1'000);
  EXPECT_EQ(stop.code(), Code::kUnavailable) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.fragments_persisted, 0u);
  EXPECT_GT(st.store_bytes, 0u);
  EXPECT_GE(rec.latency_pressure.load(), 1);  // the oldest fragment waited past max_latency_ms
  std::lock_guard<std::mutex> l(rec.mu);
  EXPECT_GE(rec.states[ConnectionState::kDisconnected], 1);
}

// Missing credentials are refused up front.
TEST(ProducerClientTest, NoCredentialsIsPermissionDenied) {
  ClientOptions o;
  o.endpoint = "http://127.0.0.1:1";
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  auto c = Client::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kPermissionDenied);
  o.endpoint = "ftp://x";
  o.credentials = {"a", "b", ""};
  EXPECT_EQ(Client::Create(o).status().code(), Code::kInvalidArgument);
}

// The ACKs of a live connection are lost (a proxy swallows them) while the server keeps
// persisting; the connection is then cut. The SDK must not resend what the archive already
// has: it asks ListFragments, skips those fragments, and the archive holds every frame once.
TEST_F(ProducerSdkTest, LostAcksAreCheckedNotResent) {
  MediaSpec spec;
  spec.seconds = 8;
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  const int port = server_.port();
  server_.Stop();
  TcpProxy proxy(port);
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port), "--public-url", proxy_url}).ok());
  ClientOptions o = Options(server_);
  o.endpoint = proxy_url;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-lost-acks";
  so.fragment_duration_ms = 1'000;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto put = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  };
  auto wait_persisted = [&](uint64_t n) {
    for (int i = 0; i < 500 && (*stream)->stats().fragments_persisted < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return (*stream)->stats().fragments_persisted;
  };
  put(0, 100);  // fragments 0-2 complete, 3 open
  ASSERT_EQ(wait_persisted(3), 3u);
  proxy.set_drop_replies(true);
  put(100, 190);  // fragments 3-5 complete (the server persists them, its ACKs vanish), 6 open
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_EQ((*stream)->stats().fragments_persisted, 3u);
  proxy.CutAll();
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> l(rec.mu);
      if (rec.states[ConnectionState::kDisconnected] > 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  proxy.set_drop_replies(false);
  put(190, frames->size());
  Status stop = (*stream)->Stop(20'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.fragments_confirmed, 3u);
  EXPECT_EQ(st.fragments_persisted, 8u);
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-lost-acks");
  EXPECT_EQ(got.fragments, 8u);
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// H.265 video and AAC audio as two tracks: hvcC built from the first key frame's
// VPS/SPS/PPS, the AudioSpecificConfig as given; both tracks archived frame for frame, and
// ffprobe reads both streams of an archived fragment.
TEST_F(ProducerSdkTest, StreamsH265WithAac) {
  MediaSpec spec;
  spec.codec = "libx265";
  spec.seconds = 4;
  auto video = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(video.ok()) << video.status().ToString();
  auto audio = MakeAacFrames(work_.path(), 4);
  ASSERT_TRUE(audio.ok()) << audio.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  StreamOptions so;
  so.name = "cam-h265-aac";
  so.media_type = "video/h265,audio/aac";
  so.fragment_duration_ms = 1'000;
  TrackConfig v;
  v.number = 1;
  v.codec = Codec::kH265;
  TrackConfig a;
  a.number = 2;
  a.codec = Codec::kAac;
  a.name = "audio";
  a.codec_private = audio->asc;
  a.sample_rate = audio->sample_rate;
  a.channels = audio->channels;
  so.tracks = {v, a};
  Recorder rec;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  // Interleaved as a muxer would: audio up to the latest video time seen.
  size_t ai = 0;
  int64_t video_time = 0;
  const int64_t sr = audio->sample_rate;
  auto audio_pts_ms = [&](size_t i) { return static_cast<int64_t>(i) * 1024 * 1000 / sr; };
  for (const auto& f : *video) {
    ASSERT_TRUE((*stream)->PutFrame(ToFrame(f, 1)).ok());
    video_time = std::max(video_time, f.pts_ms);
    while (ai < audio->frames.size() && audio_pts_ms(ai) <= video_time) {
      Frame af;
      af.track = 2;
      af.pts_us = audio_pts_ms(ai) * 1000;
      af.dts_us = af.pts_us;
      af.key_frame = true;
      af.data = audio->frames[ai];
      ASSERT_TRUE((*stream)->PutFrame(af).ok());
      ++ai;
    }
  }
  Status stop = (*stream)->Stop(20'000);
  ASSERT_TRUE(stop.ok()) << stop.ToString();
  EXPECT_EQ((*stream)->stats().frames_dropped, 0u);
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-h265-aac");
  EXPECT_EQ(got.fragments, 4u);
  ExpectSameVideo(*video, got);
  std::vector<StoredFrame> aac;
  for (const auto& f : got.frames) {
    if (f.track == 2) aac.push_back(f);
  }
  ASSERT_EQ(aac.size(), ai);
  for (size_t i = 0; i < aac.size(); ++i) {
    EXPECT_EQ(aac[i].timecode - aac[0].timecode, audio_pts_ms(i) - audio_pts_ms(0));
    EXPECT_EQ(aac[i].size, audio->frames[i].size());
  }
  std::string file = work_.File("frag265.mkv");
  streamarc::testing::WriteFileOrDie(file, got.first_fragment_file);
  auto probe = RunCommand({"ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_name,width,height,sample_rate,channels", "-of", "csv=p=0",
                           file});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->out, "hevc,320,240\naac,48000,2\n");
}

// The content store fills while the server is down. Each policy does what it says, the
// store never holds more than its bound, every drop is reported, and what reaches the
// archive is the input minus exactly the reported drops, with no frame twice.
class OverflowTest : public ProducerSdkTest, public ::testing::WithParamInterface<OverflowPolicy> {};

TEST_P(OverflowTest, FullStoreFollowsPolicy) {
  const OverflowPolicy policy = GetParam();
  MediaSpec spec;
  spec.seconds = 6;
  spec.gop = 15;
  spec.bitrate = "3M";
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-overflow";
  so.fragment_duration_ms = 500;
  so.storage_bytes = 1u << 20;
  so.overflow = policy;
  so.retry_min_ms = 20;
  so.retry_max_ms = 100;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const int port = server_.port();
  const size_t first = 30;
  for (size_t i = 0; i < first; ++i) ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  for (int i = 0; i < 500 && (*stream)->stats().fragments_persisted < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_.Kill();
  std::atomic<size_t> pushed{first};
  size_t failed = 0, max_store = 0;
  std::thread producer([&] {
    for (size_t i = first; i < frames->size(); ++i) {
      Status s = (*stream)->PutFrame(ToFrame((*frames)[i]));
      if (!s.ok()) {
        EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
        ++failed;
      }
      max_store = std::max(max_store, (*stream)->stats().store_bytes);
      ++pushed;
    }
  });
  if (policy == OverflowPolicy::kBlock) {
    // The producer stops inside PutFrame until the server is back and room is made.
    size_t before = 0;
    do {
      before = pushed;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    } while (pushed != before);
    EXPECT_LT(pushed.load(), frames->size());
  } else {
    producer.join();
  }
  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok());
  if (producer.joinable()) producer.join();
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_LE(max_store, so.storage_bytes);
  std::printf("frames=%zu dropped_frames=%llu dropped_fragments=%llu failed_puts=%zu max_store=%zu\n",
              frames->size(), static_cast<unsigned long long>(st.frames_dropped),
              static_cast<unsigned long long>(st.fragments_dropped), failed, max_store);
  EXPECT_EQ(static_cast<uint64_t>(rec.dropped_fragments.load()), st.fragments_dropped);
  if (policy == OverflowPolicy::kBlock) {
    EXPECT_EQ(st.frames_dropped, 0u);
    EXPECT_EQ(failed, 0u);
  } else {
    EXPECT_GT(st.frames_dropped, 0u);
    EXPECT_GE(rec.overflow_pressure.load(), 1);
  }
  if (policy == OverflowPolicy::kDropOldest) {
    EXPECT_GT(st.fragments_dropped, 0u);
    EXPECT_EQ(failed, 0u);
  }
  if (policy == OverflowPolicy::kFail) {
    EXPECT_GT(failed, 0u);
  }
  EXPECT_LE(static_cast<uint64_t>(rec.dropped_frames.load()), st.frames_dropped);
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-overflow");
  size_t missing = ExpectNoDuplicates(*frames, got);
  EXPECT_EQ(missing, st.frames_dropped);
}

INSTANTIATE_TEST_SUITE_P(Policies, OverflowTest,
                         ::testing::Values(OverflowPolicy::kDropOldest, OverflowPolicy::kFail,
                                           OverflowPolicy::kBlock));

// A second producer on a busy stream is refused with ConnectionLimitExceeded (400): that is
// a wait-and-retry, not a failure; it gets through once the first producer stops.
TEST_F(ProducerSdkTest, SecondProducerWaitsForTheFirst) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  StreamOptions so;
  so.name = "cam-shared";
  so.fragment_duration_ms = 1'000;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  Recorder rec_a, rec_b;
  auto a = (*client)->OpenStream(so, &rec_a);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = (*client)->OpenStream(so, &rec_b);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const int64_t base_us = 1'700'000'000'000'000;  // absolute: both share one timeline
  std::thread first([&] {
    for (const auto& f : *frames) {
      Frame fr = ToFrame(f);
      fr.pts_us += base_us;
      EXPECT_TRUE((*a)->PutFrame(fr).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  // B's frames come 100 s later on the same timeline; it is refused while A streams.
  for (int i = 0; i < 200 && (*a)->stats().fragments_persisted < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const auto& f : *frames) {
    Frame fr = ToFrame(f);
    fr.pts_us += base_us + 100'000'000;
    ASSERT_TRUE((*b)->PutFrame(fr).ok());
  }
  first.join();
  ASSERT_TRUE((*a)->Stop(20'000).ok());
  Status stop_b = (*b)->Stop(20'000);
  EXPECT_TRUE(stop_b.ok()) << stop_b.ToString();
  EXPECT_GE((*b)->stats().reconnects, 1u);
  EXPECT_EQ((*b)->stats().fragments_persisted, 6u);
  std::lock_guard<std::mutex> l(rec_b.mu);
  EXPECT_TRUE(rec_b.errors.empty());
}

// A connection that stops acknowledging (the server's replies vanish) is declared stale
// after connection_staleness_ms and replaced; nothing is lost or doubled.
TEST_F(ProducerSdkTest, StaleConnectionIsReplaced) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  const int port = server_.port();
  server_.Stop();
  TcpProxy proxy(port);
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port), "--public-url", proxy_url}).ok());
  ClientOptions o = Options(server_);
  o.endpoint = proxy_url;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-stale";
  so.fragment_duration_ms = 1'000;
  so.connection_staleness_ms = 500;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  for (size_t i = 0; i < 70; ++i) ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  for (int i = 0; i < 500 && (*stream)->stats().fragments_persisted < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  proxy.set_drop_replies(true);
  for (size_t i = 70; i < 100; ++i) ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  bool replaced = false;
  for (int i = 0; i < 500 && !replaced; ++i) {
    {
      std::lock_guard<std::mutex> l(rec.mu);
      replaced = rec.states[ConnectionState::kDisconnected] > 0;
    }
    if (!replaced) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  proxy.set_drop_replies(false);
  EXPECT_TRUE(replaced);
  for (size_t i = 100; i < frames->size(); ++i) {
    ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok());
  }
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-stale");
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// A non-retriable ERROR ack (4002: the server takes fragments of at most 1.5 s, ours last
// 3 s) drops that fragment, reports it, and the stream goes on: no endless resend, no hang.
TEST_F(ProducerSdkTest, NonRetriableErrorAckDropsTheFragment) {
  const int port = server_.port();
  server_.Stop();
  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port),
                                           "--max-fragment-duration-ms", "1500"}).ok());
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-too-long";
  so.fragment_duration_ms = 3'000;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  for (const auto& f : *frames) ASSERT_TRUE((*stream)->PutFrame(ToFrame(f)).ok());
  Status stop = (*stream)->Stop(20'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.fragments_started, 2u);
  EXPECT_EQ(st.fragments_dropped, 2u);
  EXPECT_EQ(st.fragments_persisted, 0u);
  EXPECT_EQ(st.frames_dropped, frames->size());
  EXPECT_EQ(rec.dropped_fragments.load(), 2);
  std::lock_guard<std::mutex> l(rec.mu);
  ASSERT_EQ(rec.error_ids.size(), 2u);
  EXPECT_EQ(rec.error_ids[0], 4002);
  ASSERT_EQ(rec.errors.size(), 2u);
  EXPECT_EQ(rec.errors[0].code(), Code::kInvalidArgument) << rec.errors[0].ToString();
}

// A source joined mid-GOP (as an RTSP camera is): the frames before the first key frame are
// dropped and reported, PutFrame still succeeds, and everything from the key frame on is
// archived.
TEST_F(ProducerSdkTest, JoinsMidGop) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-mid-gop";
  so.fragment_duration_ms = 1'000;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const size_t join = 10;  // the next key frame is frame 30
  for (size_t i = join; i < frames->size(); ++i) {
    ASSERT_TRUE((*stream)->PutFrame(ToFrame((*frames)[i])).ok()) << i;
  }
  ASSERT_TRUE((*stream)->Stop(20'000).ok());
  EXPECT_EQ((*stream)->stats().frames_dropped, 20u);
  EXPECT_EQ(rec.dropped_frames.load(), 20);
  server_.Stop();
  Stored got = ReadArchive(data_.path(), "cam-mid-gop");
  std::vector<InputFrame> expected(frames->begin() + 30, frames->end());
  ExpectSameVideo(expected, got);
}

}  // namespace
}  // namespace streamarc::producer_test
