// The producer SDK against the real streamarcd: real H.264/H.265/AAC from ffmpeg pushed with
// PutFrame, the archive read back after the server stopped and compared frame by frame with
// ffprobe's view of the input; the content-store policies; refusals the stream survives.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "producer-sdk/http.h"
#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/producer/sdk_test_util.h"
#include "tests/producer/tcp_proxy.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {
namespace {

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
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, frames->size()));
  ASSERT_TRUE((*stream)->Stop(20'000).ok());
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.frames_put, frames->size());
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_EQ(st.fragments_started, 6u);
  EXPECT_EQ(st.fragments_persisted, 6u);
  EXPECT_EQ(st.store_bytes, 0u);
  EXPECT_EQ(rec.Acks(AckType::kPersisted), 6);
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-h264");
  EXPECT_EQ(got.fragments.size(), 6u);
  ExpectSameVideo(*frames, got);
  // The archived fragment is a valid H.264 Matroska file: ffprobe decodes its video.
  std::string file = work_.File("frag.mkv");
  streamarc::testing::WriteFileOrDie(file, got.first_fragment_file);
  auto probe = RunCommand({"ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_name,width,height", "-of", "csv=p=0", file});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->out, "h264,320,240\n");
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
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-h265-aac");
  EXPECT_EQ(got.fragments.size(), 4u);
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
  auto probe =
      RunCommand({"ffprobe", "-v", "error", "-show_entries",
                  "stream=codec_name,width,height,sample_rate,channels", "-of", "csv=p=0", file});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->out, "hevc,320,240\naac,48000,2\n");
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
  ASSERT_TRUE(PutFrames(**stream, *frames, join, frames->size()));
  ASSERT_TRUE((*stream)->Stop(20'000).ok());
  EXPECT_EQ((*stream)->stats().frames_dropped, 20u);
  EXPECT_EQ(rec.dropped_frames.load(), 20);
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-mid-gop");
  std::vector<InputFrame> expected(frames->begin() + 30, frames->end());
  ExpectSameVideo(expected, got);
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

// A CA file that cannot be read is refused up front, named, whether it comes from
// ClientOptions::ca_cert or from AWS_CA_BUNDLE; an empty AWS_CA_BUNDLE means the system's CAs.
TEST(ProducerClientTest, UnreadableCaCertIsRefusedByName) {
  ClientOptions o;
  o.endpoint = "https://127.0.0.1:1";
  o.credentials = {"a", "b", ""};
  o.ca_cert = "/nonexistent/ca.pem";
  auto c = Client::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("/nonexistent/ca.pem"), std::string::npos);
  o.ca_cert.clear();
  setenv("AWS_CA_BUNDLE", "/nonexistent/bundle.pem", 1);
  c = Client::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("AWS_CA_BUNDLE /nonexistent/bundle.pem"), std::string::npos)
      << c.status().ToString();
  setenv("AWS_CA_BUNDLE", "", 1);
  EXPECT_TRUE(Client::Create(o).ok());
  unsetenv("AWS_CA_BUNDLE");
}

// A second producer on a busy stream is refused with ConnectionLimitExceeded (400): that is
// a wait-and-retry, not a failure; it gets through once the first producer stops.
TEST_F(ProducerSdkTest, SecondProducerWaitsForTheFirst) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  StreamOptions so = FastRetryOptions("cam-shared", 1'000);
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
  WaitPersisted(**a, 1, 200);
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

// A non-retriable ERROR ack (4002: the server takes fragments of at most 1.5 s, ours last
// 3 s) drops that fragment, reports it, and the stream goes on: no endless resend, no hang.
// Key frames come every 3 s: the ack may come while its fragment is still open (the producer
// then drops frames up to the next key frame), and the counts must not depend on that race.
TEST_F(ProducerSdkTest, NonRetriableErrorAckDropsTheFragment) {
  const int port = server_.port();
  server_.Stop();
  ASSERT_TRUE(server_
                  .Start(data_.path(),
                         {"--port", std::to_string(port), "--max-fragment-duration-ms", "1500"})
                  .ok());
  MediaSpec spec;
  spec.gop = 90;
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so = FastRetryOptions("cam-too-long", 3'000);
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, frames->size()));
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

// The content store fills while the server is down. Each policy does what it says, the
// store never holds more than its bound, every drop is reported, and what reaches the
// archive is the input minus exactly the reported drops, with no frame twice.
class OverflowTest : public ProducerSdkTest,
                     public ::testing::WithParamInterface<OverflowPolicy> {};

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
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, first));
  WaitPersisted(**stream, 1);
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
  std::printf(
      "frames=%zu dropped_frames=%llu dropped_fragments=%llu failed_puts=%zu max_store=%zu\n",
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
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-overflow");
  size_t missing = ExpectNoDuplicates(*frames, got);
  EXPECT_EQ(missing, st.frames_dropped);
}

INSTANTIATE_TEST_SUITE_P(Policies, OverflowTest,
                         ::testing::Values(OverflowPolicy::kDropOldest, OverflowPolicy::kFail,
                                           OverflowPolicy::kBlock));

}  // namespace
}  // namespace streamarc::producer_test
