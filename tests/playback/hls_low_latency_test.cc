// LL-HLS pure logic: parts cut from a fragment's frames (durations within the part target,
// boundaries on frames, INDEPENDENT on key frames, audio riding along), the blocking reload
// directives and their verdicts (msn/part arithmetic, the spec's 400), the LL playlist text,
// and a window extended with the live edge.
#include "playback/hls_low_latency.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mkv.h"
#include "playback/hls_playlist.h"
#include "playback/hls_window.h"
#include "playback/live_edge.h"
#include "playback/part_cutter.h"
#include "playback/part_hub.h"

namespace streamarc::playback {
namespace {

constexpr int64_t kSec = 1'000'000;
const std::vector<uint8_t> kPayload(100, 0x42);

// Frames at 30 fps (ms ticks, as Matroska's default scale): video on track 1 with a key
// frame every `gop` frames, from timecode `t0`; `audio`: an AAC-like frame on track 2 after
// every video frame.
std::vector<CutFrame> Video(int frames, int gop, int64_t t0 = 1000, bool audio = false) {
  std::vector<CutFrame> out;
  for (int i = 0; i < frames; ++i) {
    const int64_t t = t0 + i * 1000 / 30;  // 33, 66, 100, ... ms: what ffmpeg writes at 30 fps
    out.push_back({1, t, i % gop == 0, true, kPayload});
    if (audio) out.push_back({2, t + 5, true, false, kPayload});
  }
  return out;
}

std::vector<CutPart> Cut(const std::vector<CutFrame>& frames, int64_t target_us,
                         int64_t duration_us) {
  PartCutter cutter(target_us, 1'000'000);
  std::vector<CutPart> parts;
  for (const CutFrame& f : frames) {
    if (auto p = cutter.Add(f)) parts.push_back(std::move(*p));
  }
  if (auto p = cutter.Finish(duration_us)) parts.push_back(std::move(*p));
  return parts;
}

// The frames of a part's cluster, read back by the project's Matroska reader.
struct ClusterFrames : mkv::ReaderHandler {
  std::vector<mkv::Frame> frames;
  Status OnFrame(const mkv::Frame& f) override {
    frames.push_back(f);
    frames.back().data = {};
    return Status::Ok();
  }
};

std::vector<mkv::Frame> ReadCluster(const std::string& cluster) {
  // A minimal header makes it a stream the reader accepts.
  mkv::Bytes bytes;
  mkv::Writer w(bytes);
  w.WriteEbmlHeader();
  w.BeginSegment();
  w.WriteInfo({});
  mkv::TrackInfo v;
  v.number = 1;
  v.uid = 1;
  v.type = mkv::TrackType::kVideo;
  v.codec_id = "V_MPEG4/ISO/AVC";
  mkv::TrackInfo a = v;
  a.number = 2;
  a.uid = 2;
  a.type = mkv::TrackType::kAudio;
  a.codec_id = "A_AAC";
  std::vector<mkv::TrackInfo> tracks{v, a};
  w.WriteTracks(tracks);
  bytes.insert(bytes.end(), cluster.begin(), cluster.end());
  ClusterFrames h;
  mkv::Reader r(h);
  EXPECT_TRUE(r.Feed(bytes).ok());
  EXPECT_TRUE(r.Finish().ok());
  return h.frames;
}

TEST(PartCutter, PartsStayWithinTheTargetAndCoverTheFragment) {
  // 2 s of 30 fps video, one GOP.
  const auto frames = Video(60, 60);
  for (int64_t target : {200'000, 250'000, 333'000}) {
    SCOPED_TRACE(target);
    const auto parts = Cut(frames, target, 2 * kSec);
    ASSERT_GE(parts.size(), static_cast<size_t>(2 * kSec / target));
    int64_t sum = 0;
    uint32_t frames_in = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      EXPECT_EQ(parts[i].index, i);
      EXPECT_LE(parts[i].duration_us, target) << "part " << i;
      EXPECT_GT(parts[i].duration_us, 0);
      // Contiguous: each part starts where the previous one ended.
      EXPECT_EQ(parts[i].offset_us, sum);
      sum += parts[i].duration_us;
      frames_in += parts[i].frames;
    }
    EXPECT_EQ(sum, 2 * kSec);
    EXPECT_EQ(frames_in, 60u);
  }
}

TEST(PartCutter, BoundariesFallOnFramesAndClustersHoldThem) {
  const auto frames = Video(60, 60);
  const auto parts = Cut(frames, 333'000, 2 * kSec);
  size_t next = 0;
  for (const CutPart& p : parts) {
    const auto read = ReadCluster(*p.cluster);
    ASSERT_EQ(read.size(), p.frames);
    // The part starts at a frame, and holds exactly the frames that follow, in order.
    EXPECT_EQ(p.start_ns, frames[next].timecode * 1'000'000);
    for (const mkv::Frame& f : read) {
      EXPECT_EQ(f.timecode, frames[next].timecode);
      EXPECT_EQ(f.key, frames[next].key);
      ++next;
    }
  }
  EXPECT_EQ(next, frames.size());
}

TEST(PartCutter, KeyFramesStartIndependentParts) {
  // A key frame every 15 frames (0.5 s) with a 333 ms target: each key frame opens a part.
  const auto frames = Video(60, 15);
  const auto parts = Cut(frames, 333'000, 2 * kSec);
  int independent = 0;
  for (const CutPart& p : parts) {
    const bool starts_at_key = (p.start_ns / 1'000'000 - 1000) % 500 == 0;
    EXPECT_EQ(p.independent, starts_at_key) << "part " << p.index;
    independent += p.independent;
  }
  EXPECT_EQ(independent, 4);
  EXPECT_TRUE(parts.front().independent);
}

TEST(PartCutter, AudioRidesAlongWithoutCutting) {
  const auto with_audio = Cut(Video(60, 60, 1000, true), 333'000, 2 * kSec);
  const auto video_only = Cut(Video(60, 60), 333'000, 2 * kSec);
  ASSERT_EQ(with_audio.size(), video_only.size());
  uint32_t frames = 0;
  for (size_t i = 0; i < with_audio.size(); ++i) {
    EXPECT_EQ(with_audio[i].start_ns, video_only[i].start_ns);
    EXPECT_EQ(with_audio[i].frames, 2 * video_only[i].frames);
    frames += with_audio[i].frames;
  }
  EXPECT_EQ(frames, 120u);
}

TEST(PartCutter, NothingAddedNothingCut) {
  PartCutter cutter(333'000, 1'000'000);
  EXPECT_FALSE(cutter.Finish(2 * kSec).has_value());
  EXPECT_EQ(cutter.parts(), 0u);
}

TEST(PartCutter, AFragmentEndingAtItsLastFrameLendsItAGap) {
  // Duration 0 (unknown): the last part still lasts about one frame.
  const auto parts = Cut(Video(5, 5), 333'000, 0);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_GT(parts[0].duration_us, 0);
}

TEST(BlockingRequest, ParsesAndRefuses) {
  auto r = ParseBlockingRequest("SessionToken=x~&_HLS_msn=12&_HLS_part=3&TrackNumber=1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_msn && r->has_part);
  EXPECT_EQ(r->msn, 12u);
  EXPECT_EQ(r->part, 3u);
  auto none = ParseBlockingRequest("SessionToken=x~");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_msn);
  for (const char* bad : {"_HLS_part=1", "_HLS_msn=", "_HLS_msn=-1", "_HLS_msn=1x", "_HLS_msn=0x10",
                          "_HLS_msn=99999999999999999999999", "_HLS_msn=1&_HLS_part=4294967296",
                          "_HLS_msn=1&_HLS_msn=2", "_HLS_msn=1&_HLS_part= 1"}) {
    EXPECT_FALSE(ParseBlockingRequest(bad).ok()) << bad;
  }
}

TEST(PartAddress, ParsesAndRefuses) {
  auto a = ParsePartAddress("SessionToken=x~&LiveFragment=1700000000000000&Part=2");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->fragment_id, 1700000000000000u);
  EXPECT_EQ(a->part, 2u);
  for (const char* bad : {"LiveFragment=1", "Part=1", "LiveFragment=a&Part=1",
                          "LiveFragment=1&Part=-1", "LiveFragment=&Part="}) {
    EXPECT_FALSE(ParsePartAddress(bad).ok()) << bad;
  }
}

TEST(AdvancePartLimit, ThreeSecondsOfPartsAtLeastThree) {
  EXPECT_EQ(AdvancePartLimit(333'000), 10u);
  EXPECT_EQ(AdvancePartLimit(200'000), 15u);
  EXPECT_EQ(AdvancePartLimit(1'000'000), 3u);
  EXPECT_EQ(AdvancePartLimit(2'000'000), 3u);
}

BlockingRequest Msn(uint64_t msn, std::optional<uint32_t> part = std::nullopt) {
  BlockingRequest r;
  r.has_msn = true;
  r.msn = msn;
  if (part) {
    r.has_part = true;
    r.part = *part;
  }
  return r;
}

TEST(Decide, MsnAndPartArithmetic) {
  // The playlist ends with segment 10, still arriving, 3 parts listed; its edge id is 500.
  const LiveEnd open{10, 3, true, 500};
  const int64_t pt = 333'000;
  EXPECT_EQ(Decide(BlockingRequest{}, open, pt, 6).verdict, Verdict::kNow);
  EXPECT_EQ(Decide(Msn(9), open, pt, 6).verdict, Verdict::kNow);
  EXPECT_EQ(Decide(Msn(10, 2), open, pt, 6).verdict, Verdict::kNow);  // listed
  Decision d = Decide(Msn(10, 3), open, pt, 6);                       // the next part
  EXPECT_EQ(d.verdict, Verdict::kWait);
  EXPECT_EQ(d.want.fragment_id, 500u);
  EXPECT_EQ(d.want.part, 3u);
  d = Decide(Msn(10), open, pt, 6);  // the whole segment
  EXPECT_EQ(d.verdict, Verdict::kWait);
  EXPECT_FALSE(d.want.part.has_value());
  d = Decide(Msn(11, 0), open, pt, 6);  // the next segment's first part
  EXPECT_EQ(d.verdict, Verdict::kWait);
  EXPECT_EQ(d.want.fragment_id, 501u);
  EXPECT_EQ(d.want.part, 0u);
  // Too far: more than two segments ahead, or parts beyond the Advance Part Limit (10).
  EXPECT_EQ(Decide(Msn(13), open, pt, 6).verdict, Verdict::kTooFar);
  EXPECT_EQ(Decide(Msn(10, 12), open, pt, 6).verdict, Verdict::kWait);    // 10 ahead
  EXPECT_EQ(Decide(Msn(10, 13), open, pt, 6).verdict, Verdict::kTooFar);  // 11 ahead
  EXPECT_EQ(Decide(Msn(12, 0), open, pt, 6).verdict, Verdict::kWait);     // 3 + 6 + 1
  EXPECT_EQ(Decide(Msn(12, 1), open, pt, 6).verdict, Verdict::kTooFar);   // 11 ahead
  EXPECT_EQ(Decide(Msn(12), open, pt, 6).verdict, Verdict::kWait);
}

TEST(Decide, CompleteLastSegment) {
  // Segment 10 complete (not open): every part of it is listed; the next one is edge id 501.
  const LiveEnd done{10, 6, false, 500};
  EXPECT_EQ(Decide(Msn(10), done, 333'000, 6).verdict, Verdict::kNow);
  EXPECT_EQ(Decide(Msn(10, 9), done, 333'000, 6).verdict, Verdict::kNow);
  Decision d = Decide(Msn(11, 0), done, 333'000, 6);
  EXPECT_EQ(d.verdict, Verdict::kWait);
  EXPECT_EQ(d.want.fragment_id, 501u);
}

TEST(Reached, PartsFragmentsAndLaterStarts) {
  auto frag = [](uint64_t id, size_t parts, bool complete) {
    auto f = std::make_shared<EdgeFragment>();
    f->id = id;
    f->parts.resize(parts);
    f->complete = complete;
    return EdgeFragmentPtr(f);
  };
  EdgeView v{{frag(7, 6, true), frag(8, 2, false)}, 9};
  EXPECT_TRUE(Reached(v, {8, 1}));
  EXPECT_FALSE(Reached(v, {8, 2}));
  EXPECT_FALSE(Reached(v, {8, std::nullopt}));
  EXPECT_TRUE(Reached(v, {7, std::nullopt}));  // a later fragment started
  EXPECT_TRUE(Reached(v, {7, 9}));             // ... so that part will never come
  EXPECT_FALSE(Reached(v, {9, 0}));
  v.fragments.back() = frag(8, 3, true);
  EXPECT_TRUE(Reached(v, {8, 5}));  // complete with fewer parts: answer now
}

TEST(LowLatencyPlaylist, TagsPartsAndHint) {
  SessionParams s;
  s.display_timestamp = true;
  std::vector<PlaylistFragment> f = {{"11", 0, 2 * kSec, "H", "aa"},
                                     {"12", 2 * kSec, 2 * kSec, "H", "aa"},
                                     {"~77", 4 * kSec, 666'000, "H", "aa"}};
  auto entries = BuildEntries(f, nullptr, DiscontinuityMode::kNever);
  LowLatencyOptions ll;
  ll.part_target_us = 333'000;
  ll.parts.resize(3);
  for (uint32_t i = 0; i < 6; ++i) ll.parts[1].push_back({76, i, 333'000, i == 0});
  ll.parts[2] = {{77, 0, 333'000, true}, {77, 1, 333'000, false}};
  ll.last_open = true;
  ll.hint = {77, 2, 0, false};
  MediaPlaylistOptions mo;
  mo.track = 1;
  mo.media_sequence = 40;
  mo.low_latency = &ll;
  const std::string m = MediaPlaylist(s, "tok~", mo, entries);
  EXPECT_NE(m.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("#EXT-X-PART-INF:PART-TARGET=0.333\n"), std::string::npos);
  EXPECT_NE(m.find("#EXT-X-PART:DURATION=0.333,URI=\"getMP4PartFragment.mp4?SessionToken=tok~"
                   "&TrackNumber=1&LiveFragment=76&Part=0\",INDEPENDENT=YES\n"),
            std::string::npos);
  EXPECT_NE(m.find("LiveFragment=77&Part=1\"\n"), std::string::npos);
  // The open segment: parts and its program date time, no EXTINF or URI.
  EXPECT_EQ(m.find("FragmentNumber=~77"), std::string::npos);
  size_t extinf = 0;
  for (size_t p = 0; (p = m.find("#EXTINF:", p)) != std::string::npos; ++p) ++extinf;
  EXPECT_EQ(extinf, 2u);
  size_t pdt = 0;
  for (size_t p = 0; (p = m.find("#EXT-X-PROGRAM-DATE-TIME:", p)) != std::string::npos; ++p) ++pdt;
  EXPECT_EQ(pdt, 3u);
  // Last line: the hint for the next part.
  EXPECT_NE(m.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"getMP4PartFragment.mp4?SessionToken="
                   "tok~&TrackNumber=1&LiveFragment=77&Part=2\"\n"),
            std::string::npos);
  EXPECT_EQ(m.substr(m.rfind('#')).rfind("#EXT-X-PRELOAD-HINT", 0), 0u);
  // Segment 12's parts come before its EXTINF.
  EXPECT_LT(m.find("LiveFragment=76&Part=5"), m.find("FragmentNumber=12"));
  // Without the options, the same entries make the plain playlist.
  mo.low_latency = nullptr;
  const std::string plain = MediaPlaylist(s, "tok~", mo, entries);
  EXPECT_EQ(plain.find("EXT-X-PART"), std::string::npos);
  EXPECT_EQ(plain.find("PRELOAD-HINT"), std::string::npos);
}

archive::FragmentInfo Stored(const std::string& number, int64_t t) {
  archive::FragmentInfo f;
  f.number = number;
  f.server_timestamp_us = f.producer_timestamp_us = t;
  f.duration_us = 2 * kSec;
  f.track_info = "H";
  return f;
}

EdgeFragmentPtr Edge(uint64_t id, int64_t t, size_t parts, const std::string& number = "") {
  auto f = std::make_shared<EdgeFragment>();
  f->id = id;
  f->server_timestamp_us = f->producer_timestamp_us = t;
  f->header = std::make_shared<const std::string>("H");
  for (size_t i = 0; i < parts; ++i) {
    CutPart p;
    p.index = static_cast<uint32_t>(i);
    p.duration_us = 333'000;
    f->parts.push_back(p);
  }
  if (!number.empty()) {
    f->complete = true;
    f->number = number;
    f->duration_us = 2 * kSec;
  }
  return f;
}

TEST(MergeEdge, AppendsWhatTheArchiveHasNotPersisted) {
  Window w;
  w.fragments = {Stored("1", 0), Stored("2", 2 * kSec), Stored("3", 4 * kSec)};
  // The edge: 3 (persisted), 4 (complete, not yet persisted), 5 (arriving, 2 parts).
  EdgeView v{{Edge(10, 4 * kSec, 6, "3"), Edge(11, 6 * kSec, 6, "4"), Edge(12, 8 * kSec, 2)}, 13};
  LiveWindow lw = MergeEdge(w, v, SelectorType::kServerTimestamp, 3);
  ASSERT_EQ(lw.window.fragments.size(), 4u);  // 2, 3, 4 complete + the open one
  EXPECT_EQ(lw.window.fragments[0].number, "2");
  EXPECT_EQ(lw.window.previous->number, "1");
  EXPECT_EQ(lw.window.fragments[2].number, "4");
  EXPECT_EQ(lw.window.fragments[3].number, "~12");
  EXPECT_EQ(lw.window.fragments[3].duration_us, 666'000);
  EXPECT_EQ(lw.edge[0], nullptr);
  EXPECT_EQ(lw.edge[1]->id, 10u);
  EXPECT_TRUE(lw.last_open);
  EXPECT_EQ(lw.hint->fragment_id, 12u);
  EXPECT_EQ(lw.hint->part, 2u);
  EXPECT_EQ(lw.end_fragment_id, 12u);
}

TEST(MergeEdge, AnOpenFragmentWithoutPartsIsHintedNotListed) {
  Window w;
  w.fragments = {Stored("1", 0)};
  EdgeView v{{Edge(10, 0, 6, "1"), Edge(11, 2 * kSec, 0)}, 12};
  LiveWindow lw = MergeEdge(w, v, SelectorType::kServerTimestamp, 5);
  ASSERT_EQ(lw.window.fragments.size(), 1u);
  EXPECT_FALSE(lw.last_open);
  EXPECT_EQ(lw.hint->fragment_id, 11u);
  EXPECT_EQ(lw.hint->part, 0u);
  EXPECT_EQ(lw.end_fragment_id, 10u);
  // Nothing on the edge yet: no hint (a fragment may be under way that it cannot serve).
  LiveWindow bare = MergeEdge(w, EdgeView{{}, 40}, SelectorType::kServerTimestamp, 5);
  EXPECT_FALSE(bare.hint.has_value());
  EXPECT_EQ(bare.end_fragment_id, 39u);
}

// The edge began to follow a stream halfway through a fragment: ingest tells it of that
// fragment only when it ends. It is then complete (no parts) with the next id, so that ids
// keep step with the archive's fragments and a wait for it is answered; before that, no
// part is hinted (the edge cannot tell whether one is under way).
TEST(LiveEdge, AFragmentUnderWayWhenFollowingBeganTakesTheNextIdWhenItEnds) {
  PartHub hub;
  ManualClock clock(1'700'000'000'000'000);
  auto edge = std::make_shared<LiveEdge>(hub, clock, LiveEdgeOptions{}, nullptr);
  const uint64_t x = edge->Follow("cam").next_id;
  auto publish = [&](PartEvent::Type type, const char* number) {
    PartEvent e;
    e.type = type;
    e.stream_name = "cam";
    e.header = std::make_shared<const std::string>("header");
    e.server_timestamp_us = 2 * kSec;
    e.fragment_number = number;
    e.duration_us = 2 * kSec;
    e.cluster = std::make_shared<const std::string>("cluster");
    hub.Publish(e);
  };
  Window w;
  w.fragments = {Stored("90", 0)};
  LiveWindow lw = MergeEdge(w, edge->Follow("cam"), SelectorType::kServerTimestamp, 5);
  EXPECT_FALSE(lw.hint.has_value());
  EXPECT_EQ(lw.end_fragment_id, x - 1);  // the archive's 90; 91, under way, will be x

  bool answered = false;
  edge->Park("cam", EdgeWant{x, std::nullopt},
             std::make_shared<EdgeWaiter>([&] { answered = true; }, nullptr));
  EXPECT_FALSE(answered);
  publish(PartEvent::Type::kFragmentEnd, "91");
  EXPECT_TRUE(answered);
  EdgeView v = edge->Follow("cam");
  ASSERT_EQ(v.fragments.size(), 1u);
  EXPECT_EQ(v.fragments[0]->id, x);
  EXPECT_TRUE(v.fragments[0]->complete);
  EXPECT_TRUE(v.fragments[0]->parts.empty());
  EXPECT_EQ(v.next_id, x + 1);
  // Listed before the archive has it, hinting the next one's first part.
  lw = MergeEdge(w, v, SelectorType::kServerTimestamp, 5);
  ASSERT_EQ(lw.window.fragments.size(), 2u);
  EXPECT_EQ(lw.window.fragments[1].number, "91");
  ASSERT_TRUE(lw.hint.has_value());
  EXPECT_EQ(lw.hint->fragment_id, x + 1);
  EXPECT_EQ(lw.end_fragment_id, x);

  publish(PartEvent::Type::kFragmentStart, "");
  v = edge->Follow("cam");
  ASSERT_EQ(v.fragments.size(), 2u);
  EXPECT_EQ(v.fragments[1]->id, x + 1);
  edge->Shutdown();
}

}  // namespace
}  // namespace streamarc::playback
