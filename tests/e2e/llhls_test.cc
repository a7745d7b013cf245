// Low-Latency HLS end to end: a producer pushing in real time (ffmpeg -re, small clusters,
// piped into curl's chunked PutMedia) into the real streamarcd; the LL playlist read over
// HTTP and checked against the specification's rules; a blocking reload that returns once
// its part exists, and one too far ahead refused; parts served while their fragment is still
// arriving (so before it is PERSISTED); ffprobe reading the same playlist as plain HLS; and
// a whole segment whose packets are its parts' packets.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/kvs_curl.h"
#include "tests/support/ll_playlist.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CheckLlRules;
using streamarc::testing::ChildProcess;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::LlPlaylist;
using streamarc::testing::ParseLlPlaylist;
using streamarc::testing::Resolve;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::ShellQuote;
using streamarc::testing::TempDir;

// 25 fps, a key frame every 2 s (2-s fragments), no B-frames (a live encoder), clusters of
// at most 40 ms so frames leave ffmpeg as they are made; RELATIVE timecodes from now. curl -T
// streams stdin as it comes (--data-binary @- would read it all first).
std::string ProducerCommand(const std::string& url, const std::string& stream, int seconds) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  char start[32];
  std::snprintf(start, sizeof start, "%lld.%03lld", ms / 1000, ms % 1000);
  return "ffmpeg -v error -nostdin -re -f lavfi -i testsrc2=size=320x240:rate=25 -t " +
         std::to_string(seconds) +
         " -c:v libx264 -preset veryfast -tune zerolatency -g 50 -bf 0 -pix_fmt yuv420p"
         " -cluster_time_limit 40 -flush_packets 1 -f matroska pipe:1 | curl -sS -N -X POST"
         " -H 'x-amzn-stream-name: " +
         stream +
         "' -H 'x-amzn-fragment-timecode-type: RELATIVE'"
         " -H 'x-amzn-producer-start-timestamp: " +
         start + "' -H 'Transfer-Encoding: chunked' -T - " + ShellQuote(url + "/putMedia");
}

class LlHlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    CurlCreateStream(server_.url(), "cam");
    producer_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"sh", "-c", ProducerCommand(server_.url(), "cam", 40)});
    // The first fragment persisted: a LIVE session has something to show.
    ASSERT_TRUE(producer_->WaitForOutput("PERSISTED", 30'000)) << producer_->Output();
    auto r = CurlPost(
        server_.url() + "/getHLSStreamingSessionURL",
        json{
            {"StreamName", "cam"}, {"PlaybackMode", "LIVE"}, {"DisplayFragmentTimestamp", "ALWAYS"}}
            .dump());
    ASSERT_EQ(r.status, 200) << r.body;
    master_ = json::parse(r.body)["HLSStreamingSessionURL"];
    const std::string master = CurlGet(master_);
    const size_t inf = master.find("#EXT-X-STREAM-INF");
    ASSERT_NE(inf, std::string::npos) << master;
    const size_t from = master.find('\n', inf) + 1;
    media_ = Resolve(master_, master.substr(from, master.find('\n', from) - from));
  }

  void TearDown() override {
    producer_.reset();
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // The playlist with a blocking reload for (msn, part); part < 0: the whole segment.
  LlPlaylist Reload(uint64_t msn, int part) {
    std::string url = media_ + "&_HLS_msn=" + std::to_string(msn);
    if (part >= 0) url += "&_HLS_part=" + std::to_string(part);
    return ParseLlPlaylist(CurlGet(url, {"-m", "20"}));
  }

  // Waits (by blocking reloads) until the playlist has a complete segment with parts.
  LlPlaylist WithCompleteSegmentParts() {
    LlPlaylist p = ParseLlPlaylist(CurlGet(media_));
    for (int i = 0; i < 10; ++i) {
      for (const auto& s : p.segments) {
        if (s.complete && !s.parts.empty() && &s != &p.segments.back()) return p;
      }
      const auto& last = p.segments.back();
      p = last.complete ? Reload(last.msn + 1, 0) : Reload(last.msn + 1, -1);
    }
    return p;
  }

  TempDir dir_;
  ServerProcess server_;
  std::unique_ptr<ChildProcess> producer_;
  std::string master_, media_;
};

TEST_F(LlHlsTest, PlaylistFollowsTheRulesAndBlockingReloadsWait) {
  LlPlaylist p = WithCompleteSegmentParts();
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto problems = CheckLlRules(p);
    EXPECT_TRUE(problems.empty()) << problems.front();
    EXPECT_NEAR(p.part_target_s, 0.333, 1e-9);
    ASSERT_FALSE(p.segments.empty());
    for (const auto& s : p.segments) EXPECT_FALSE(s.program_date_time.empty()) << s.msn;
    // Ask for the next part: the answer lists it.
    const auto& last = p.segments.back();
    const uint64_t msn = last.complete ? last.msn + 1 : last.msn;
    const int part = last.complete ? 0 : static_cast<int>(last.parts.size());
    p = Reload(msn, part);
    bool found = false;
    for (const auto& s : p.segments) {
      if (s.msn == msn) found = s.parts.size() > static_cast<size_t>(part);
      if (s.msn > msn) found = true;
    }
    EXPECT_TRUE(found) << "msn " << msn << " part " << part;
  }
  // Too far ahead: 400, in KVS's error shape.
  const auto far =
      CurlGet(media_ + "&_HLS_msn=" + std::to_string(p.segments.back().msn + 3), {"-i"});
  EXPECT_NE(far.find("400"), std::string::npos) << far;
  EXPECT_NE(far.find("InvalidArgumentException"), std::string::npos) << far;
}

TEST_F(LlHlsTest, PartsAreServedWhileTheirFragmentIsStillArriving) {
  // Wait for the first part of a new segment: its fragment has barely started. (A fragment
  // under way when the edge began to follow the stream is listed only once complete.)
  LlPlaylist p = ParseLlPlaylist(CurlGet(media_));
  for (int i = 0; i < 3 && p.segments.back().complete; ++i) {
    p = Reload(p.segments.back().msn + 1, 0);
  }
  const auto& open = p.segments.back();
  ASSERT_FALSE(open.complete) << "the newest segment should still be arriving";
  ASSERT_FALSE(open.parts.empty());
  const std::string part = CurlGet(Resolve(media_, open.parts[0].uri), {"-w", "\n%{http_code}"});
  EXPECT_EQ(part.substr(part.rfind('\n') + 1), "200");
  EXPECT_NE(part.find("moof"), std::string::npos);
  EXPECT_NE(part.find("mdat"), std::string::npos);
  // No fragment the archive has (PERSISTED) starts at or after the open segment's time.
  auto listed = streamarc::testing::ListAllFragments(server_.url(), "cam");
  ASSERT_FALSE(listed.empty());
  const std::string pdt = open.program_date_time;  // "2026-12-02T10:00:00.123Z"
  EXPECT_LT(listed.size(), 40u);
  // The open segment is the one after the newest persisted fragment.
  uint64_t newest_ms = 0;
  for (const auto& f : listed) {
    newest_ms = std::max<uint64_t>(
        newest_ms, static_cast<uint64_t>(f["ServerTimestamp"].get<double>() * 1000));
  }
  auto parsed = RunCommand({"date", "-u", "-d", pdt, "+%s%3N"});
  ASSERT_TRUE(parsed.ok());
  const uint64_t open_ms = std::stoull(parsed->out);
  EXPECT_GT(open_ms, newest_ms) << "the open segment's fragment is already persisted";
}

TEST_F(LlHlsTest, FfprobeReadsItAsPlainHlsAndASegmentIsItsParts) {
  const LlPlaylist p = WithCompleteSegmentParts();
  // ffprobe has no LL-HLS: it plays the same playlist's whole segments.
  auto probe = RunCommand({"ffprobe", "-v", "error", "-read_intervals", "%+#60", "-select_streams",
                           "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0", master_});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->exit_code, 0) << probe->out;
  EXPECT_GE(std::count(probe->out.begin(), probe->out.end(), '\n'), 50) << probe->out;

  // A complete segment with its parts: init + segment and init + parts hold the same packets.
  const streamarc::testing::LlSegment* seg = nullptr;
  for (const auto& s : p.segments) {
    if (s.complete && !s.parts.empty() && &s != &p.segments.back()) seg = &s;
  }
  ASSERT_NE(seg, nullptr);
  const std::string text = CurlGet(media_);
  const size_t map = text.rfind("#EXT-X-MAP:URI=\"");
  ASSERT_NE(map, std::string::npos);
  const std::string init_uri = text.substr(map + 16, text.find('"', map + 16) - map - 16);
  auto fetch = [&](const std::string& uri, const std::string& file) {
    auto r = RunCommand({"curl", "-sS", "-f", "-o", file, Resolve(media_, uri)});
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->exit_code, 0) << r->out;
  };
  fetch(init_uri, dir_.File("init.mp4"));
  fetch(seg->uri, dir_.File("segment.m4s"));
  std::string parts;
  for (size_t i = 0; i < seg->parts.size(); ++i) {
    const std::string f = dir_.File("part" + std::to_string(i) + ".m4s");
    fetch(seg->parts[i].uri, f);
    parts += streamarc::testing::ReadFileOrDie(f);
  }
  const std::string init = streamarc::testing::ReadFileOrDie(dir_.File("init.mp4"));
  streamarc::testing::WriteFileOrDie(
      dir_.File("whole.mp4"), init + streamarc::testing::ReadFileOrDie(dir_.File("segment.m4s")));
  streamarc::testing::WriteFileOrDie(dir_.File("parts.mp4"), init + parts);
  auto whole = streamarc::testing::ProbePackets(dir_.File("whole.mp4"));
  auto pieces = streamarc::testing::ProbePackets(dir_.File("parts.mp4"));
  ASSERT_TRUE(whole.ok() && pieces.ok());
  ASSERT_GE(whole->size(), 40u);  // 2 s at 25 fps
  ASSERT_EQ(whole->size(), pieces->size());
  for (size_t i = 0; i < whole->size(); ++i) {
    EXPECT_EQ((*whole)[i].pts, (*pieces)[i].pts) << i;
    EXPECT_EQ((*whole)[i].size, (*pieces)[i].size) << i;
    EXPECT_EQ((*whole)[i].key, (*pieces)[i].key) << i;
  }
}

}  // namespace
}  // namespace streamarc::e2e
