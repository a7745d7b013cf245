// Retention during HLS playback. Expiry needs hours to pass, so this test runs the daemon in
// process (the same Daemon streamarcd's main builds) on a clock that follows real time and
// jumps forward when told; clients still speak HTTP to it over loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/support/jumping_daemon.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CountOf;
using streamarc::testing::Curl;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::JumpingClock;
using streamarc::testing::JumpingDaemon;
using streamarc::testing::MakeMedia;
using streamarc::testing::TempDir;

constexpr int64_t kMinute = 60'000'000;

class HlsRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = server_.Start(dir_.File("data"));
    ASSERT_TRUE(s.ok()) << s.ToString();
    url_ = server_.url();
    auto input = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(input.ok());
    input_ = *input;
  }
  void TearDown() override { server_.Stop(); }

  std::string Post(const std::string& op, const json& body) {
    return CurlPost(url_ + "/" + op, body.dump()).body;
  }
  void Push(const std::string& start) {
    std::string out = CurlPutMedia(url_, {"cam1", input_, start, true, {}});
    ASSERT_GE(CountOf(out, "PERSISTED"), 5u) << out;
  }
  // The media playlist URL of a session (master → first variant). Players read the master
  // once and then refresh the media playlist.
  std::string MediaUrl(const std::string& session_url) {
    std::string master = Curl({session_url});
    size_t p = master.find("#EXT-X-STREAM-INF");
    EXPECT_NE(p, std::string::npos) << master;
    if (p == std::string::npos) return "";
    p = master.find('\n', p) + 1;
    std::string base = session_url.substr(0, session_url.rfind('/') + 1);
    return base + master.substr(p, master.find('\n', p) - p);
  }

  TempDir dir_;
  JumpingDaemon server_;
  JumpingClock& clock_ = server_.clock();
  std::string url_;
  std::string input_;
};

TEST_F(HlsRetentionTest, ExpiredFragmentsLeaveThePlaylistsCleanly) {
  Post("createStream", {{"StreamName", "cam1"}, {"DataRetentionInHours", 1}});
  Push("1000.000");
  const int64_t first_push_us = clock_.clock().NowMicros();
  json live = json::parse(
      Post("getHLSStreamingSessionURL",
           {{"StreamName", "cam1"}, {"Expires", 43200}, {"MaxMediaPlaylistFragmentResults", 20}}));
  const std::string live_url = live.value("HLSStreamingSessionURL", "");
  ASSERT_FALSE(live_url.empty()) << live.dump();
  const std::string live_media = MediaUrl(live_url);
  std::string before = Curl({live_media});
  const size_t first_batch = CountOf(before, "#EXTINF:");
  EXPECT_GE(first_batch, 5u) << before;
  std::string old_segment;
  {
    size_t p = before.find("getMP4MediaFragment.mp4");
    ASSERT_NE(p, std::string::npos);
    old_segment =
        live_url.substr(0, live_url.rfind('/') + 1) + before.substr(p, before.find('\n', p) - p);
  }

  // 50 minutes later a second recording arrives; 15 minutes after that the first one is past
  // the stream's one-hour retention and the second one is not.
  clock_.Jump(50 * kMinute);
  Push("5000.000");
  clock_.Jump(15 * kMinute);
  std::string after = Curl({live_media});
  EXPECT_EQ(CountOf(after, "#EXTINF:"), first_batch) << after;  // the second batch only
  EXPECT_EQ(after.find("FragmentNumber=" + before.substr(before.find("FragmentNumber=") + 15, 47)),
            std::string::npos)
      << "an expired fragment is still listed";
  auto seq = [](const std::string& m) {
    size_t p = m.find("#EXT-X-MEDIA-SEQUENCE:");
    return p == std::string::npos ? -1 : std::atoll(m.c_str() + p + 22);
  };
  EXPECT_GT(seq(after), seq(before));  // the window moved on; numbers never go back

  // A player still holding the old playlist gets a clean 404 for the expired segment.
  std::string gone = Curl({"-i", old_segment});
  EXPECT_NE(gone.find("HTTP/1.1 404"), std::string::npos) << gone.substr(0, 400);
  EXPECT_NE(gone.find("ResourceNotFoundException"), std::string::npos);

  // An ON_DEMAND session over the whole time: only what is still retained.
  const double now_s = static_cast<double>(clock_.clock().NowMicros()) / 1e6;
  json od = json::parse(Post("getHLSStreamingSessionURL",
                             {{"StreamName", "cam1"},
                              {"PlaybackMode", "ON_DEMAND"},
                              {"Expires", 43200},
                              {"HLSFragmentSelector",
                               {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
                                {"TimestampRange",
                                 {{"StartTimestamp", static_cast<double>(first_push_us) / 1e6 - 60},
                                  {"EndTimestamp", now_s}}}}}}));
  std::string od_playlist = Curl({MediaUrl(od.value("HLSStreamingSessionURL", ""))});
  EXPECT_EQ(CountOf(od_playlist, "#EXTINF:"), first_batch) << od_playlist;
  EXPECT_NE(od_playlist.find("#EXT-X-ENDLIST"), std::string::npos);

  // Everything expires: the live playlist is empty but well formed, never an error.
  clock_.Jump(2 * 60 * kMinute);
  std::string empty = Curl({live_media});
  EXPECT_EQ(empty.rfind("#EXTM3U\n", 0), 0u) << empty;
  EXPECT_EQ(CountOf(empty, "#EXTINF:"), 0u) << empty;
  EXPECT_GE(seq(empty), seq(after));
}

TEST_F(HlsRetentionTest, LiveReplaySkipsGapsInTheRecording) {
  Post("createStream", {{"StreamName", "cam1"}, {"DataRetentionInHours", 24}});
  Push("1000.000");  // 1000-1006 s, six 1 s fragments
  Push("1020.000");  // 1020-1026 s: a 14 s gap
  clock_.Freeze();
  json replay = json::parse(
      Post("getHLSStreamingSessionURL",
           {{"StreamName", "cam1"},
            {"PlaybackMode", "LIVE_REPLAY"},
            {"MaxMediaPlaylistFragmentResults", 20},
            {"HLSFragmentSelector",
             {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", 900}, {"EndTimestamp", 1030}}}}}}));
  const std::string media = MediaUrl(replay.value("HLSStreamingSessionURL", ""));
  std::string now = Curl({media});
  EXPECT_EQ(CountOf(now, "#EXTINF:"), 1u) << now;
  // 6.5 s on, the six fragments of the first recording have played and the second
  // recording's first fragment is due: the replay does not wait out the gap.
  clock_.Jump(6'500'000);
  now = Curl({media});
  EXPECT_EQ(CountOf(now, "#EXTINF:"), 7u) << now;
  EXPECT_EQ(now.find("#EXT-X-ENDLIST"), std::string::npos);
  clock_.Jump(10'000'000);
  now = Curl({media});
  EXPECT_EQ(CountOf(now, "#EXTINF:"), 12u) << now;
  EXPECT_NE(now.find("#EXT-X-ENDLIST"), std::string::npos) << now;
}

}  // namespace
}  // namespace streamarc::e2e
