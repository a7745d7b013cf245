// Playlist and manifest text: discontinuities for gaps, overlaps and header changes per
// DiscontinuityMode, the per-mode tags, LIVE numbering across refreshes, and the shared
// segment cache.
#include "playback/hls_playlist.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "playback/hls_cache.h"

namespace streamarc::playback {
namespace {

constexpr int64_t kSec = 1'000'000;

PlaylistFragment Frag(int n, int64_t start_us, int64_t duration_us,
                      std::string_view header = "H1") {
  return {
      std::to_string(n), start_us, duration_us, header, std::string(header == "H1" ? "aa" : "bb"),
      std::nullopt};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(what, p)) != std::string::npos; p += what.size()) ++n;
  return n;
}

std::vector<bool> Marks(const std::vector<PlaylistEntry>& e) {
  std::vector<bool> m;
  for (const auto& x : e) m.push_back(x.discontinuity);
  return m;
}

// 0-2 s, 2-4 s, then a 10 s gap, 14-16 s, then a 30 ms overlap (tolerated), then 1 s overlap.
std::vector<PlaylistFragment> GapsAndOverlaps() {
  return {Frag(1, 0, 2 * kSec), Frag(2, 2 * kSec, 2 * kSec), Frag(3, 14 * kSec, 2 * kSec),
          Frag(4, 16 * kSec - 30'000, 2 * kSec), Frag(5, 17 * kSec, 2 * kSec)};
}

TEST(BuildEntries, OnDiscontinuityMarksGapsAndOverlapsBeyond50ms) {
  auto f = GapsAndOverlaps();
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kOnDiscontinuity);
  EXPECT_EQ(Marks(e), (std::vector<bool>{false, false, true, false, true}));
}

TEST(BuildEntries, AlwaysAndNever) {
  auto f = GapsAndOverlaps();
  EXPECT_EQ(Marks(BuildEntries(f, nullptr, DiscontinuityMode::kAlways)),
            (std::vector<bool>{true, true, true, true, true}));
  EXPECT_EQ(Marks(BuildEntries(f, nullptr, DiscontinuityMode::kNever)),
            (std::vector<bool>{false, false, false, false, false}));
}

TEST(BuildEntries, HeaderChangeIsAlwaysADiscontinuityWithANewMap) {
  std::vector<PlaylistFragment> f = {Frag(1, 0, kSec), Frag(2, kSec, kSec, "H2"),
                                     Frag(3, 2 * kSec, kSec, "H2")};
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kNever);
  EXPECT_EQ(Marks(e), (std::vector<bool>{false, true, false}));
  EXPECT_TRUE(e[0].new_header);
  EXPECT_TRUE(e[1].new_header);
  EXPECT_FALSE(e[2].new_header);
  EXPECT_EQ(e[0].init_id, "aa");
  EXPECT_EQ(e[2].init_id, "bb");
}

TEST(BuildEntries, PreviousFragmentDecidesTheFirstMark) {
  PlaylistFragment prev = Frag(0, 0, kSec);
  std::vector<PlaylistFragment> touching = {Frag(1, kSec, kSec)};
  std::vector<PlaylistFragment> gap = {Frag(1, 5 * kSec, kSec)};
  EXPECT_FALSE(BuildEntries(touching, &prev, DiscontinuityMode::kOnDiscontinuity)[0].discontinuity);
  EXPECT_TRUE(BuildEntries(gap, &prev, DiscontinuityMode::kOnDiscontinuity)[0].discontinuity);
}

SessionParams Session(PlaybackMode mode,
                      ContainerFormat container = ContainerFormat::kFragmentedMp4) {
  SessionParams s;
  s.stream_name = "cam1";
  s.mode = mode;
  s.container = container;
  return s;
}

TEST(MediaPlaylist, OnDemandFmp4) {
  SessionParams s = Session(PlaybackMode::kOnDemand);
  s.display_timestamp = true;
  auto f = GapsAndOverlaps();
  for (auto& x : f) x.start_us += 1'700'000'000 * kSec;  // a real date for PROGRAM-DATE-TIME
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kOnDiscontinuity);
  MediaPlaylistOptions o;
  o.track = 1;
  o.ended = true;
  std::string m = MediaPlaylist(s, "TOK~", o, e);
  EXPECT_EQ(
      m.rfind("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n", 0),
      0u)
      << m;
  EXPECT_NE(m.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos);
  EXPECT_EQ(
      Count(m,
            "#EXT-X-MAP:URI=\"getMP4InitFragment.mp4?SessionToken=TOK~&TrackNumber=1&InitId=aa\""),
      1u)
      << m;
  EXPECT_EQ(Count(m, "#EXTINF:2.000,\n"), 5u);
  EXPECT_EQ(Count(m, "getMP4MediaFragment.mp4?FragmentNumber="), 5u);
  EXPECT_NE(m.find("getMP4MediaFragment.mp4?FragmentNumber=3&SessionToken=TOK~&TrackNumber=1\n"),
            std::string::npos);
  EXPECT_EQ(Count(m, "#EXT-X-DISCONTINUITY\n"), 2u);  // the gap and the 1 s overlap
  EXPECT_EQ(Count(m, "#EXT-X-PROGRAM-DATE-TIME:"), 5u);
  EXPECT_NE(m.find("#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z"), std::string::npos) << m;
  EXPECT_EQ(m.substr(m.size() - 15), "#EXT-X-ENDLIST\n");
}

TEST(MediaPlaylist, LiveTsHasSequencesNoMapNoEndlist) {
  SessionParams s = Session(PlaybackMode::kLive, ContainerFormat::kMpegTs);
  std::vector<PlaylistFragment> f = {Frag(7, 0, 2'500'000), Frag(8, 2'500'000, 1'000'000)};
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kAlways);
  MediaPlaylistOptions o;
  o.media_sequence = 41;
  o.discontinuity_sequence = 3;
  std::string m = MediaPlaylist(s, "T~", o, e);
  EXPECT_NE(m.find("#EXT-X-VERSION:3\n"), std::string::npos);
  EXPECT_NE(m.find("#EXT-X-TARGETDURATION:3\n"), std::string::npos);
  EXPECT_NE(m.find("#EXT-X-MEDIA-SEQUENCE:41\n"), std::string::npos);
  EXPECT_NE(m.find("#EXT-X-DISCONTINUITY-SEQUENCE:3\n"), std::string::npos);
  EXPECT_EQ(m.find("EXT-X-MAP"), std::string::npos);
  EXPECT_EQ(m.find("ENDLIST"), std::string::npos);
  EXPECT_EQ(m.find("PLAYLIST-TYPE"), std::string::npos);
  EXPECT_EQ(m.find("PROGRAM-DATE-TIME"), std::string::npos);
  EXPECT_NE(m.find("#EXTINF:2.500,\ngetTSFragment.ts?FragmentNumber=7&SessionToken=T~\n"),
            std::string::npos)
      << m;
}

StreamShape VideoAndAudio() {
  StreamShape shape;
  TrackDescription v;
  v.number = 1;
  v.kind = TrackKind::kVideo;
  v.codec_id = "V_MPEG4/ISO/AVC";
  v.codecs = "avc1.64001f";
  v.width = 1280;
  v.height = 720;
  TrackDescription a;
  a.number = 2;
  a.kind = TrackKind::kAudio;
  a.codec_id = "A_AAC";
  a.codecs = "mp4a.40.2";
  a.sample_rate = 48000;
  shape.tracks = {v, a};
  shape.bandwidth = 2'000'000;
  return shape;
}

TEST(MasterPlaylist, Fmp4HasAnAudioRendition) {
  std::string m = MasterPlaylist(Session(PlaybackMode::kLive), "T~", VideoAndAudio());
  EXPECT_NE(m.find("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\""), std::string::npos) << m;
  EXPECT_NE(m.find("URI=\"getHLSMediaPlaylist.m3u8?SessionToken=T~&TrackNumber=2\""),
            std::string::npos);
  EXPECT_NE(m.find("#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.64001f,mp4a.40.2\","
                   "RESOLUTION=1280x720,AUDIO=\"audio\"\n"
                   "getHLSMediaPlaylist.m3u8?SessionToken=T~&TrackNumber=1\n"),
            std::string::npos)
      << m;
}

TEST(MasterPlaylist, TsCarriesEveryTrackInOnePlaylist) {
  std::string m =
      MasterPlaylist(Session(PlaybackMode::kLive, ContainerFormat::kMpegTs), "T~", VideoAndAudio());
  EXPECT_EQ(m.find("EXT-X-MEDIA:"), std::string::npos);
  EXPECT_NE(m.find("CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720\n"
                   "getHLSMediaPlaylist.m3u8?SessionToken=T~\n"),
            std::string::npos)
      << m;
}

TEST(DashManifest, StaticAndDynamic) {
  SessionParams s = Session(PlaybackMode::kOnDemand);
  s.kind = SessionKind::kDash;
  s.display_fragment_number = true;
  auto f = GapsAndOverlaps();
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kNever);
  std::string m = DashManifest(s, "T~", VideoAndAudio(), {false, 0}, e);
  // The two overlaps are pushed later (placement), so 0-20 s: 4 at 16 s, 5 at 18 s.
  EXPECT_NE(m.find("type=\"static\" mediaPresentationDuration=\"PT20.000S\""), std::string::npos)
      << m;
  EXPECT_NE(m.find("<S t=\"18000\" d=\"2000\" kvs:fn=\"5\"/>"), std::string::npos) << m;
  EXPECT_EQ(Count(m, "<AdaptationSet"), 2u);
  EXPECT_EQ(Count(m, "<S t="), 10u);
  EXPECT_NE(m.find("<S t=\"14000\" d=\"2000\" kvs:fn=\"3\"/>"), std::string::npos) << m;
  EXPECT_NE(m.find("media=\"getMP4MediaFragment.mp4?SessionToken=T~&amp;TrackNumber=2&amp;"
                   "Time=$Time$\""),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("width=\"1280\" height=\"720\""), std::string::npos);
  EXPECT_EQ(m.find(" & "), std::string::npos);
  std::string live = DashManifest(s, "T~", VideoAndAudio(), {true, 1'700'000'000 * kSec}, e);
  EXPECT_NE(live.find("type=\"dynamic\""), std::string::npos);
  EXPECT_NE(live.find("publishTime=\"2023-11-14T22:13:20.000Z\""), std::string::npos);
  EXPECT_NE(live.find("availabilityStartTime=\"1970-01-01T00:00:00.000Z\""), std::string::npos);
  EXPECT_EQ(live.find("mediaPresentationDuration"), std::string::npos);
  std::string shifted =
      DashManifest(s, "T~", VideoAndAudio(), {true, 1'700'000'000 * kSec, 3 * kSec}, e);
  EXPECT_NE(shifted.find("availabilityStartTime=\"1970-01-01T00:00:03.000Z\""), std::string::npos);
}

std::vector<PlaylistEntry> Window(int first, int last, std::set<int> marked = {}) {
  std::vector<PlaylistEntry> w;
  for (int i = first; i <= last; ++i) {
    PlaylistEntry e;
    e.number = std::to_string(i);
    e.discontinuity = marked.count(i) > 0;
    w.push_back(e);
  }
  return w;
}

TEST(LiveSequencer, SlidingWindowKeepsNumbers) {
  LiveSequencer seq;
  auto a = seq.Assign("s", Window(10, 14), 100);
  EXPECT_EQ(a.media_sequence, 100u);
  auto b = seq.Assign("s", Window(12, 16), 100);
  EXPECT_EQ(b.media_sequence, 102u);
  auto same = seq.Assign("s", Window(12, 16), 100);
  EXPECT_EQ(same.media_sequence, 102u);
  // No overlap (the player paused): continue after the last number, or the floor.
  auto c = seq.Assign("s", Window(30, 34), 0);
  EXPECT_EQ(c.media_sequence, 107u);
  auto d = seq.Assign("s", Window(40, 44), 500);
  EXPECT_EQ(d.media_sequence, 500u);
  // Another session is numbered on its own.
  EXPECT_EQ(seq.Assign("t", Window(12, 16), 7).media_sequence, 7u);
}

TEST(LiveSequencer, DiscontinuitySequenceCountsMarkersThatLeftTheWindow) {
  LiveSequencer seq;
  auto a = seq.Assign("s", Window(1, 5, {3}), 0);
  EXPECT_EQ(a.discontinuity_sequence, 0u);
  auto b = seq.Assign("s", Window(2, 6, {3}), 0);
  EXPECT_EQ(b.discontinuity_sequence, 0u);
  auto c = seq.Assign("s", Window(3, 7, {3}), 0);  // the marker is on the first entry
  EXPECT_EQ(c.discontinuity_sequence, 0u);
  auto d = seq.Assign("s", Window(4, 8, {}), 0);  // it left the window
  EXPECT_EQ(d.discontinuity_sequence, 1u);
}

TEST(LiveSequencer, ForgetsLeastRecentlyUsedSessions) {
  LiveSequencer seq(2);
  seq.Assign("a", Window(1, 3), 0);
  seq.Assign("b", Window(1, 3), 0);
  seq.Assign("c", Window(1, 3), 0);  // evicts a
  EXPECT_EQ(seq.Assign("a", Window(2, 4), 50).media_sequence, 50u);
  EXPECT_EQ(seq.Assign("c", Window(2, 4), 50).media_sequence, 1u);
}

TEST(SegmentCache, MakesOnceAndEvictsLeastRecent) {
  SegmentCache cache(2, 1 << 20);
  int made = 0;
  auto make = [&](std::string v) {
    return [&made, v]() -> Result<std::string> {
      ++made;
      return v;
    };
  };
  EXPECT_EQ(**cache.GetOrMake("a", make("A")), "A");
  EXPECT_EQ(**cache.GetOrMake("a", make("X")), "A");
  EXPECT_EQ(made, 1);
  ASSERT_TRUE(cache.GetOrMake("b", make("B")).ok());
  ASSERT_TRUE(cache.GetOrMake("a", make("X")).ok());  // a is now the most recent
  ASSERT_TRUE(cache.GetOrMake("c", make("C")).ok());  // evicts b
  EXPECT_EQ(**cache.GetOrMake("a", make("X")), "A");
  EXPECT_EQ(**cache.GetOrMake("b", make("B2")), "B2");
  auto st = cache.Stats();
  EXPECT_EQ(st.entries, 2u);
  EXPECT_GE(st.evictions, 2u);
}

TEST(SegmentCache, ErrorsAreNotCachedAndBytesAreBounded) {
  SegmentCache cache(10, 10);
  auto fail = cache.GetOrMake("k", [] { return Result<std::string>(Internal("boom")); });
  EXPECT_FALSE(fail.ok());
  EXPECT_TRUE(cache.GetOrMake("k", [] { return Result<std::string>(std::string("ok")); }).ok());
  ASSERT_TRUE(
      cache.GetOrMake("big", [] { return Result<std::string>(std::string(11, 'x')); }).ok());
  EXPECT_EQ(cache.Stats().entries, 1u);  // too big to keep
  ASSERT_TRUE(cache.GetOrMake("m", [] { return Result<std::string>(std::string(9, 'x')); }).ok());
  EXPECT_LE(cache.Stats().bytes, 10u);
}

// A remux reserves its output up front; what the cache keeps is no larger than what it counts
// (the soak saw 512 small segments hold 32 MiB of spare room).
TEST(SegmentCache, KeepsNoSpareRoom) {
  SegmentCache cache(10, 1 << 20);
  auto v = cache.GetOrMake("seg", [] {
    std::string out;
    out.reserve(1 << 20);
    out.assign(1000, 'x');
    return Result<std::string>(std::move(out));
  });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)->size(), 1000u);
  EXPECT_LT((*v)->capacity(), 8192u);
}

TEST(SegmentCache, ConcurrentRequestsForOneKeyRemuxOnce) {
  SegmentCache cache(8, 1 << 20);
  std::atomic<int> made{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> viewers;
  for (int i = 0; i < 16; ++i) {
    viewers.emplace_back([&] {
      while (!go) std::this_thread::yield();
      auto v = cache.GetOrMake("seg", [&]() -> Result<std::string> {
        ++made;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return std::string("bytes");
      });
      EXPECT_TRUE(v.ok());
      EXPECT_EQ(**v, "bytes");
    });
  }
  go = true;
  for (auto& t : viewers) t.join();
  EXPECT_EQ(made.load(), 1);
  auto st = cache.Stats();
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits + st.waits, 15u);
}

}  // namespace
}  // namespace streamarc::playback
