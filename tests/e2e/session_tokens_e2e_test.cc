// HLS session tokens end to end, with access keys from a config file: a session URL made by
// the AWS CLI with key A plays (curl of the playlists and a segment, ffprobe of the whole
// session); after key A is removed from the config file and streamarcd gets SIGHUP, the same
// URL is refused while key B's session still plays; a segment URL edited to name a fragment
// outside its session's range is refused. A malformed config file on SIGHUP changes nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/access_keys.h"
#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::AccessKeyGrant;
using streamarc::testing::AccessKeysConfig;
using streamarc::testing::AwsKey;
using streamarc::testing::CommandOutput;
using streamarc::testing::CountOf;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::PlaylistUris;
using streamarc::testing::RunAwsAs;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

const AwsKey kViewerA{"AKIDVIEWERA", "viewer-a-secret-0123456789"};
const AwsKey kViewerB{"AKIDVIEWERB", "viewer-b-secret-0123456789"};

// The status line's code and the x-amzn-ErrorType of a GET (curl -i).
struct Reply {
  int status = 0;
  std::string error_type;
  std::string body;
};
Reply Fetch(const std::string& url) {
  const std::string out = CurlGet(url, {"-i"});
  Reply r;
  if (out.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(out.substr(9, 3));
  const std::string tag = "x-amzn-errortype: ";
  if (size_t at = out.find(tag); at != std::string::npos) {
    r.error_type = out.substr(at + tag.size(), out.find('\r', at) - at - tag.size());
  }
  if (size_t at = out.find("\r\n\r\n"); at != std::string::npos) r.body = out.substr(at + 4);
  return r;
}

// A session's master playlist, media playlist and segment URLs.
struct Session {
  std::string master;
  std::string media;
  std::vector<std::string> segments;  // getMP4MediaFragment URLs, in order
};

class SessionTokensE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The recording is made without keys (loopback), then the server restarts with them.
    ServerProcess open;
    ASSERT_TRUE(open.Start(dir_.File("data")).ok()) << open.log();
    auto input = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(input.ok());
    CurlCreateStream(open.url(), "cam-1");
    // RELATIVE timecodes from producer time 1000 s: the fragments start at 1000 s and on.
    const std::string acks = CurlPutMedia(open.url(), {"cam-1", *input, "1000.000", true, {}});
    ASSERT_GE(CountOf(acks, "PERSISTED"), 3u) << acks;
    ASSERT_EQ(open.Stop(), 0) << open.log();

    WriteConfig({kViewerA, kViewerB});
    ASSERT_TRUE(server_.Start(dir_.File("data"), {"--config", config_}).ok()) << server_.log();
  }

  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // The config file with `keys`, each allowed to read only.
  void WriteConfig(const std::vector<AwsKey>& keys) {
    std::vector<AccessKeyGrant> grants;
    grants.reserve(keys.size());
    for (const AwsKey& k : keys) grants.push_back({k, {}, {"read"}});
    WriteFileOrDie(config_, AccessKeysConfig(grants));
  }

  // SIGHUP, then the daemon's log line saying how the reload went.
  void Reload(const std::string& logged) {
    ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
    ASSERT_TRUE(server_.WaitForLog(logged, 20'000)) << server_.log();
  }

  json As(const AwsKey& key, const std::vector<std::string>& args) {
    CommandOutput r = RunAwsAs(key, server_.url(), args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // An ON_DEMAND session over producer time [start_s, end_s], made by the AWS CLI as `key`.
  Session OnDemand(const AwsKey& key, const std::string& start_s, const std::string& end_s) {
    Session s;
    json j = As(
        key, {"kinesis-video-archived-media", "get-hls-streaming-session-url", "--stream-name",
              "cam-1", "--playback-mode", "ON_DEMAND", "--hls-fragment-selector",
              "FragmentSelectorType=PRODUCER_TIMESTAMP,TimestampRange={StartTimestamp=" + start_s +
                  ",EndTimestamp=" + end_s + "}",
              "--expires", "3600"});
    s.master = j.value("HLSStreamingSessionURL", "");
    EXPECT_FALSE(s.master.empty()) << j.dump();
    const Reply master = Fetch(s.master);
    EXPECT_EQ(master.status, 200) << master.body;
    for (const std::string& uri : PlaylistUris(s.master, master.body)) {
      if (uri.find("getHLSMediaPlaylist.m3u8") != std::string::npos) s.media = uri;
    }
    const Reply media = Fetch(s.media);
    EXPECT_EQ(media.status, 200) << s.media << "\n" << media.body;
    for (const std::string& uri : PlaylistUris(s.media, media.body)) {
      if (uri.find("getMP4MediaFragment.mp4") != std::string::npos) s.segments.push_back(uri);
    }
    return s;
  }

  // Every URL of the session answers 200 (true) or 403 NotAuthorizedException (false).
  void ExpectPlays(const Session& s, bool plays) {
    ASSERT_FALSE(s.segments.empty());
    for (const std::string& url : {s.master, s.media, s.segments.front(), s.segments.back()}) {
      const Reply r = Fetch(url);
      if (plays) {
        EXPECT_EQ(r.status, 200) << url << "\n" << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << url << "\n" << r.body;
        EXPECT_EQ(r.error_type, "NotAuthorizedException") << url << "\n" << r.body;
      }
    }
    if (plays) {
      auto probed = streamarc::testing::ProbeTimes(s.master);
      ASSERT_TRUE(probed.ok()) << probed.status().ToString();
      EXPECT_GT(probed->size(), 50u);
    }
  }

  TempDir dir_;
  const std::string config_ = dir_.File("streamarc.json");
  ServerProcess server_;
};

TEST_F(SessionTokensE2eTest, ASessionEndsWithItsKeyAndKeepsToItsRange) {
  const Session a = OnDemand(kViewerA, "900", "1100");
  const Session b = OnDemand(kViewerB, "900", "1100");
  ASSERT_GE(a.segments.size(), 3u);
  ExpectPlays(a, true);
  ExpectPlays(b, true);

  // A session of the first fragment only (fragments start at 1000 s and are about a second or
  // more apart): its segment URL edited to name a later fragment is refused.
  const std::string selector =
      "FragmentSelectorType=PRODUCER_TIMESTAMP,TimestampRange={StartTimestamp=900,"
      "EndTimestamp=1100}";
  json fragments = As(kViewerA, {"kinesis-video-archived-media", "list-fragments", "--stream-name",
                                 "cam-1", "--fragment-selector", selector})["Fragments"];
  std::vector<double> starts;
  // The CLI prints times as ISO 8601; these are all on 1970-01-01 (producer time ~1000 s).
  for (const json& f : fragments) {
    const std::string t = f["ProducerTimestamp"].get<std::string>();
    ASSERT_EQ(t.rfind("1970-01-01T", 0), 0u) << t;
    starts.push_back(std::stod(t.substr(11, 2)) * 3600 + std::stod(t.substr(14, 2)) * 60 +
                     std::stod(t.substr(17)));
  }
  std::sort(starts.begin(), starts.end());
  ASSERT_GE(starts.size(), 3u) << fragments.dump();
  // The CLI sends whole seconds: the first whole second after the first fragment's start.
  const int64_t end_s = static_cast<int64_t>(starts[0]) + 1;
  ASSERT_LT(end_s, starts[1]) << fragments.dump();
  const Session narrow = OnDemand(kViewerA, "900", std::to_string(end_s));
  ASSERT_EQ(narrow.segments.size(), 1u);
  EXPECT_EQ(Fetch(narrow.segments[0]).status, 200);
  auto number_of = [](const std::string& url) {
    const size_t at = url.find("FragmentNumber=") + 15;
    return url.substr(at, url.find('&', at) - at);
  };
  std::string edited = narrow.segments[0];
  const std::string first = number_of(edited);
  edited.replace(edited.find(first), first.size(), number_of(a.segments.back()));
  const Reply outside = Fetch(edited);
  EXPECT_EQ(outside.status, 403) << outside.body;
  EXPECT_EQ(outside.error_type, "NotAuthorizedException");
  EXPECT_NE(outside.body.find("outside the time range"), std::string::npos) << outside.body;

  // A malformed file on SIGHUP: refused, logged, and both keys stay.
  WriteFileOrDie(config_, R"({"access-keys": [)");
  Reload("reload refused");
  ExpectPlays(a, true);

  // Key A removed: its sessions end at once, B's play on; A itself is now unknown.
  WriteConfig({kViewerB});
  Reload("access keys reloaded");
  EXPECT_NE(server_.log().find("removed=AKIDVIEWERA"), std::string::npos) << server_.log();
  ExpectPlays(a, false);
  const Reply gone = Fetch(a.segments.front());
  EXPECT_NE(gone.body.find("no longer has"), std::string::npos) << gone.body;
  ExpectPlays(b, true);
  CommandOutput refused = RunAwsAs(kViewerA, server_.url(),
                                   {"kinesisvideo", "describe-stream", "--stream-name", "cam-1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.out.find("(UnrecognizedClientException)"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace streamarc::e2e
