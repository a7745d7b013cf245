// HLS and DASH end to end: real media pushed into the real streamarcd with curl and ffmpeg,
// sessions made with curl and the AWS CLI, and every variant read back by ffprobe/ffmpeg
// through the session URL: frame counts and first/last timestamps equal the input's.
#include "playback/hls.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::CountOf;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

// What ffprobe sees of one kind of stream: packet count and the earliest and latest pts.
struct Seen {
  int packets = 0;
  double min_pts = 1e300;
  double max_pts = -1e300;
};
using Probe = std::map<std::string, Seen>;  // by codec_type: "video", "audio"

Probe ProbeUrl(const std::string& url, std::vector<std::string> extra = {}) {
  auto probed = streamarc::testing::ProbeTimes(url, extra);
  EXPECT_TRUE(probed.ok()) << probed.status().ToString();
  Probe p;
  if (!probed.ok()) return p;
  for (const auto& t : *probed) {
    Seen& s = p[t.type];
    ++s.packets;
    s.min_pts = std::min(s.min_pts, t.pts_s);
    s.max_pts = std::max(s.max_pts, t.pts_s);
  }
  return p;
}

// Same frames, same first and last timestamps (to the millisecond both containers keep).
// `dash`: FFmpeg 5.1's DASH demuxer drops the very last audio frame of a static
// presentation (it does so on a DASH made by `ffmpeg -f dash` from the same input too:
// 282 of 283 AAC frames), so there the last audio frame may be missing.
void ExpectSameMedia(const Probe& got, const Probe& want, double offset_s, bool dash = false) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [type, w] : want) {
    auto it = got.find(type);
    ASSERT_NE(it, got.end()) << type;
    const bool lenient = dash && type == "audio";
    if (lenient && it->second.packets == w.packets - 1) {
      EXPECT_NEAR(it->second.max_pts, w.max_pts + offset_s, 0.025) << type;  // one AAC frame
    } else {
      EXPECT_EQ(it->second.packets, w.packets) << type;
      EXPECT_NEAR(it->second.max_pts, w.max_pts + offset_s, 0.0015) << type;
    }
    EXPECT_NEAR(it->second.min_pts, w.min_pts + offset_s, 0.0015) << type;
  }
}

std::string Get(const std::string& url, bool headers = false) {
  return CurlGet(url, headers ? std::vector<std::string>{"-i"} : std::vector<std::string>{});
}

// The relative URL of the first line after `after` (master → media playlist).
std::string LineAfter(const std::string& text, const std::string& after) {
  size_t p = text.find(after);
  if (p == std::string::npos) return "";
  p = text.find('\n', p) + 1;
  return text.substr(p, text.find('\n', p) - p);
}

class HlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    auto input = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(input.ok());
    input_ = *input;
  }

  // A clean shutdown (exit code 0: under ASan, no leak and no error in the server).
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  void CreateStream(const std::string& name, int hours = 24) {
    CurlCreateStream(server_.url(), name, hours);
  }

  // Pushes the input with curl. `start` set: RELATIVE timecodes from that producer time.
  void Push(const std::string& stream, const std::string& start = "") {
    const std::string out = CurlPutMedia(server_.url(), {stream, input_, start, true, {}});
    ASSERT_GE(CountOf(out, "PERSISTED"), 5u) << out;
  }

  // POSTs a session request; returns the HTTP status and the body.
  std::pair<int, std::string> Post(const std::string& op, const json& body) {
    auto r = CurlPost(server_.url() + "/" + op, body.dump());
    return {r.status, r.body};
  }

  std::string Session(const std::string& op, const json& body) {
    auto [status, text] = Post(op, body);
    EXPECT_EQ(status, 200) << text;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return "";
    std::string key =
        op == "getHLSStreamingSessionURL" ? "HLSStreamingSessionURL" : "DASHStreamingSessionURL";
    return j.value(key, "");
  }

  // ON_DEMAND over the producer time of a Push(stream, kStart).
  json OnDemand(const std::string& stream, const std::string& selector_key) {
    return {{"StreamName", stream},
            {"PlaybackMode", "ON_DEMAND"},
            {selector_key,
             {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", 900}, {"EndTimestamp", 1100}}}}}};
  }

  // Pushes start here in producer time: B-frames decode before they present, and fMP4 cannot
  // write a negative decode time, so a timeline starting at 0 s would be shifted.
  static constexpr const char* kStart = "1000.000";
  static constexpr double kStartSeconds = 1000;

  std::string Base(const std::string& url) { return url.substr(0, url.rfind('/') + 1); }

  TempDir dir_;
  ServerProcess server_;
  std::string input_;
};

TEST_F(HlsTest, OnDemandFmp4TsAndDashMatchTheInput) {
  CreateStream("cam1");
  Push("cam1", kStart);
  const Probe want = ProbeUrl(input_);
  ASSERT_EQ(want.size(), 2u);

  json req = OnDemand("cam1", "HLSFragmentSelector");
  std::string fmp4 = Session("getHLSStreamingSessionURL", req);
  ASSERT_EQ(fmp4.rfind(server_.url() + "/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=", 0), 0u)
      << fmp4;
  EXPECT_EQ(fmp4.back(), '~');
  std::string master = Get(fmp4);
  EXPECT_NE(master.find("CODECS=\"avc1."), std::string::npos) << master;
  EXPECT_NE(master.find("RESOLUTION=320x240"), std::string::npos) << master;
  std::string media = Get(Base(fmp4) + LineAfter(master, "#EXT-X-STREAM-INF"));
  EXPECT_NE(media.find("#EXT-X-MAP:URI="), std::string::npos) << media;
  EXPECT_NE(media.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_EQ(CountOf(media, "#EXT-X-DISCONTINUITY"), 0u) << media;  // PRODUCER: NEVER
  {
    SCOPED_TRACE("fMP4");
    ExpectSameMedia(ProbeUrl(fmp4), want, kStartSeconds);
  }

  req["ContainerFormat"] = "MPEG_TS";
  std::string ts = Session("getHLSStreamingSessionURL", req);
  {
    SCOPED_TRACE("MPEG-TS");
    ExpectSameMedia(ProbeUrl(ts), want, kStartSeconds);
  }

  std::string dash =
      Session("getDASHStreamingSessionURL", OnDemand("cam1", "DASHFragmentSelector"));
  ASSERT_EQ(dash.rfind(server_.url() + "/dash/v1/getDASHManifest.mpd?SessionToken=", 0), 0u);
  std::string mpd = Get(dash);
  EXPECT_NE(mpd.find("type=\"static\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("<SegmentTimeline>"), std::string::npos);
  {
    SCOPED_TRACE("DASH");
    ExpectSameMedia(ProbeUrl(dash), want, kStartSeconds, /*dash=*/true);
  }
}

TEST_F(HlsTest, LiveReplayPlaysToItsEnd) {
  CreateStream("cam1");
  Push("cam1", kStart);
  const Probe want = ProbeUrl(input_);
  json req = {{"StreamName", "cam1"},
              {"PlaybackMode", "LIVE_REPLAY"},
              {"MaxMediaPlaylistFragmentResults", 10},
              {"HLSFragmentSelector",
               {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                {"TimestampRange", {{"StartTimestamp", 900}, {"EndTimestamp", 1006}}}}}};
  std::string url = Session("getHLSStreamingSessionURL", req);
  std::string media = Get(Base(url) + LineAfter(Get(url), "#EXT-X-STREAM-INF"));
  // Just made: the first fragment only, and the replay goes on.
  EXPECT_EQ(CountOf(media, "#EXTINF:"), 1u) << media;
  EXPECT_EQ(media.find("#EXT-X-ENDLIST"), std::string::npos);
  // ffmpeg follows the growing playlist from its start until the replay ends.
  ExpectSameMedia(ProbeUrl(url, {"-live_start_index", "0"}), want, kStartSeconds);
}

TEST_F(HlsTest, LivePlaylistAdvancesWhileFfmpegPushes) {
  CreateStream("cam1");
  std::thread pusher([this] {
    auto r =
        RunCommand({"ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", input_, "-c", "copy",
                    "-f", "matroska", "-method", "POST", "-headers",
                    "x-amzn-stream-name: cam1\r\nx-amzn-fragment-acknowledgment-required: 0\r\n",
                    server_.url() + "/putMedia"});
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 0) << r->out;
  });
  // The session needs a first fragment.
  std::string url;
  for (int i = 0; i < 100 && url.empty(); ++i) {
    auto [status, text] = Post("getHLSStreamingSessionURL", {{"StreamName", "cam1"}});
    if (status == 200) url = json::parse(text).value("HLSStreamingSessionURL", "");
    if (url.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(url.empty());
  const std::string media_url = Base(url) + LineAfter(Get(url), "#EXT-X-STREAM-INF");
  std::set<std::string> last_segments;
  int64_t last_sequence = -1;
  for (int i = 0; i < 40; ++i) {
    std::string media = Get(media_url);
    size_t p = media.find("#EXT-X-MEDIA-SEQUENCE:");
    ASSERT_NE(p, std::string::npos) << media;
    int64_t seq = std::atoll(media.c_str() + p + 22);
    EXPECT_GE(seq, last_sequence);
    last_sequence = seq;
    size_t q = media.rfind("FragmentNumber=");
    if (q != std::string::npos) last_segments.insert(media.substr(q + 15, 47));
    if (last_segments.size() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_GE(last_segments.size(), 3u) << "the live edge did not move";
  // A player reads live media while the push goes on.
  auto play =
      RunCommand({"ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", "1", "-f", "null", "-"});
  EXPECT_EQ(play->exit_code, 0) << play->out;
  pusher.join();
}

TEST_F(HlsTest, AGapInTheRecordingIsADiscontinuity) {
  CreateStream("cam1");
  Push("cam1", "1000.000");  // producer time 1000-1006 s
  Push("cam1", "1020.000");  // 1020-1026 s: a 14 s gap
  json req = {{"StreamName", "cam1"},
              {"PlaybackMode", "ON_DEMAND"},
              {"DiscontinuityMode", "ON_DISCONTINUITY"},
              {"HLSFragmentSelector",
               {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                {"TimestampRange", {{"StartTimestamp", 900}, {"EndTimestamp", 1100}}}}}};
  std::string url = Session("getHLSStreamingSessionURL", req);
  std::string media = Get(Base(url) + LineAfter(Get(url), "#EXT-X-STREAM-INF"));
  EXPECT_EQ(CountOf(media, "#EXT-X-DISCONTINUITY\n"), 1u) << media;
  size_t extinf = CountOf(media, "#EXTINF:");
  EXPECT_GE(extinf, 10u);
  req["DiscontinuityMode"] = "ALWAYS";
  media = Get(Base(url) +
              LineAfter(Get(Session("getHLSStreamingSessionURL", req)), "#EXT-X-STREAM-INF"));
  EXPECT_EQ(CountOf(media, "#EXT-X-DISCONTINUITY\n"), extinf);
  req["DisplayFragmentTimestamp"] = "ALWAYS";
  media = Get(Base(url) +
              LineAfter(Get(Session("getHLSStreamingSessionURL", req)), "#EXT-X-STREAM-INF"));
  // A fragment's time is its first frame's (the video's first frame is at 21 ms).
  EXPECT_NE(media.find("#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:16:40.021Z"), std::string::npos)
      << media;
}

TEST_F(HlsTest, AwsCliGetsSessionUrls) {
  CreateStream("cam1");
  Push("cam1", kStart);
  auto aws = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "kinesis-video-archived-media");
    CommandOutput r = RunAws(server_.url(), args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return json::parse(r.out, nullptr, false);
  };
  json hls = aws({"get-hls-streaming-session-url", "--stream-name", "cam1", "--playback-mode",
                  "ON_DEMAND", "--container-format", "MPEG_TS", "--hls-fragment-selector",
                  "FragmentSelectorType=PRODUCER_TIMESTAMP,TimestampRange={StartTimestamp=900,"
                  "EndTimestamp=1100}",
                  "--expires", "600"});
  std::string url = hls.value("HLSStreamingSessionURL", "");
  ASSERT_FALSE(url.empty()) << hls.dump();
  EXPECT_EQ(Get(url).rfind("#EXTM3U", 0), 0u);
  json dash = aws({"get-dash-streaming-session-url", "--stream-name", "cam1"});
  std::string mpd = dash.value("DASHStreamingSessionURL", "");
  ASSERT_FALSE(mpd.empty()) << dash.dump();
  EXPECT_NE(Get(mpd).find("type=\"dynamic\""), std::string::npos);
}

TEST_F(HlsTest, BadRequestsGetKvsErrors) {
  CreateStream("cam1");
  CreateStream("empty");
  auto [missing, m_body] = Post("getHLSStreamingSessionURL", {{"StreamName", "nope"}});
  EXPECT_EQ(missing, 404) << m_body;
  EXPECT_NE(m_body.find("\"Message\""), std::string::npos);
  auto [no_data, n_body] = Post("getHLSStreamingSessionURL", {{"StreamName", "empty"}});
  EXPECT_EQ(no_data, 404) << n_body;
  auto [bad_mode, b_body] =
      Post("getHLSStreamingSessionURL", {{"StreamName", "cam1"}, {"PlaybackMode", "LATER"}});
  EXPECT_EQ(bad_mode, 400) << b_body;
  auto [bad_expiry, e_body] =
      Post("getDASHStreamingSessionURL", {{"StreamName", "cam1"}, {"Expires", 10}});
  EXPECT_EQ(bad_expiry, 400) << e_body;
  Push("cam1");
  auto [range, r_body] =
      Post("getHLSStreamingSessionURL",
           {{"StreamName", "cam1"},
            {"PlaybackMode", "ON_DEMAND"},
            {"HLSFragmentSelector",
             {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", 5000}, {"EndTimestamp", 6000}}}}}});
  EXPECT_EQ(range, 404) << r_body;
}

TEST_F(HlsTest, ForgedAndExpiredTokensAreRefused) {
  CreateStream("cam1");
  Push("cam1", kStart);
  std::string url = Session("getHLSStreamingSessionURL", OnDemand("cam1", "HLSFragmentSelector"));
  std::string ok = Get(url, true);
  EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos) << ok;
  EXPECT_NE(ok.find("access-control-allow-origin: *"), std::string::npos) << ok;

  std::string forged = url;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  std::string r = Get(forged, true);
  EXPECT_NE(r.find("HTTP/1.1 403"), std::string::npos) << r;
  EXPECT_NE(r.find("x-amzn-errortype: NotAuthorizedException"), std::string::npos) << r;
  EXPECT_NE(r.find("access-control-allow-origin: *"), std::string::npos) << r;

  r = Get(server_.url() + "/hls/v1/getHLSMasterPlaylist.m3u8", true);
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;

  // An expired token signed with the server's own key (read from its data directory):
  // the signature holds, so only the expiry can refuse it.
  const std::string key_path = dir_.File("data") + "/session-token.key";
  std::ifstream key_file(key_path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(key_file)), std::istreambuf_iterator<char>());
  ASSERT_EQ(key.size(), 32u);
  // The owner's only, from its creation (common/files.h).
  EXPECT_EQ(std::filesystem::status(key_path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  playback::SessionParams p;
  p.stream_name = "cam1";
  p.mode = playback::PlaybackMode::kOnDemand;
  p.selector = playback::SelectorType::kProducerTimestamp;
  p.has_start = p.has_end = true;
  p.start_us = 900'000'000;
  p.end_us = 1'100'000'000;
  p.max_results = 1000;
  p.created_us = 1'000'000;
  p.expires_at_us = 301'000'000;  // 1970
  std::string base = server_.url() + "/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=";
  r = Get(base + playback::EncodeSessionToken(p, key), true);
  EXPECT_NE(r.find("HTTP/1.1 403"), std::string::npos) << r;
  EXPECT_NE(r.find("expired"), std::string::npos) << r;
  // The same session with a future expiry plays: the key and the format are right.
  p.expires_at_us = int64_t{4'000'000'000} * 1'000'000;
  r = Get(base + playback::EncodeSessionToken(p, key), true);
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  // An HLS token on a DASH path.
  r = Get(server_.url() +
              "/dash/v1/getDASHManifest.mpd?SessionToken=" + playback::EncodeSessionToken(p, key),
          true);
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
}

TEST_F(HlsTest, TracksThePackagersCannotCarryAreLeftOut) {
  // H.264 with Opus: HLS plays the video; the Opus track is not offered.
  auto input = MakeMedia(streamarc::testing::kGstX264OpusMkv);
  ASSERT_TRUE(input.ok());
  input_ = *input;
  CreateStream("cam1");
  Push("cam1", kStart);
  std::string url = Session("getHLSStreamingSessionURL", OnDemand("cam1", "HLSFragmentSelector"));
  std::string master = Get(url);
  EXPECT_EQ(master.find("EXT-X-MEDIA:"), std::string::npos) << master;
  EXPECT_EQ(master.find("opus"), std::string::npos) << master;
  Probe want = ProbeUrl(input_);
  want.erase("audio");
  Probe got = ProbeUrl(url);
  ASSERT_EQ(got.count("video"), 1u);
  EXPECT_EQ(got.count("audio"), 0u);
  EXPECT_EQ(got["video"].packets, want["video"].packets);
}

TEST_F(HlsTest, SegmentsServeRangesAndCorsPreflight) {
  CreateStream("cam1");
  Push("cam1", kStart);
  std::string url = Session("getHLSStreamingSessionURL", OnDemand("cam1", "HLSFragmentSelector"));
  std::string media = Get(Base(url) + LineAfter(Get(url), "#EXT-X-STREAM-INF"));
  std::string segment = Base(url) + LineAfter(media, "#EXTINF:");
  std::string whole = Get(segment, true);
  EXPECT_NE(whole.find("HTTP/1.1 200"), std::string::npos) << whole.substr(0, 500);
  EXPECT_NE(whole.find("content-type: video/mp4"), std::string::npos);
  EXPECT_NE(whole.find("access-control-allow-origin: *"), std::string::npos);
  auto part = RunCommand({"curl", "-sS", "-i", "-r", "0-99", segment});
  EXPECT_NE(part->out.find("HTTP/1.1 206"), std::string::npos) << part->out.substr(0, 500);
  auto preflight = RunCommand({"curl", "-sS", "-i", "-X", "OPTIONS", "-H", "Origin: http://x", "-H",
                               "Access-Control-Request-Method: GET", segment});
  EXPECT_NE(preflight->out.find("HTTP/1.1 204"), std::string::npos) << preflight->out;
  EXPECT_NE(preflight->out.find("access-control-allow-methods"), std::string::npos);
}

}  // namespace
}  // namespace streamarc::e2e
