// Timelines for any upload pattern: a burst (a producer resending its backlog, so server
// timestamps milliseconds apart on fragments seconds long), equal timestamps, producer
// clocks that jump back, gaps. The DASH SegmentTimeline, HLS program date times and the
// placements a session remembers must be unique, strictly increasing and without overlaps.
#include <gtest/gtest.h>

#include <random>

#include "playback/hls_playlist.h"

namespace streamarc::playback {
namespace {

constexpr int64_t kSec = 1'000'000;
// The stream: a burst that arrived at ...894 ms.
constexpr int64_t kBurstAt = 1'700'000'000 * kSec + 894'000;

PlaylistFragment Frag(int n, int64_t start_us, int64_t duration_us) {
  return {std::to_string(n), start_us, duration_us, "H1", "aa", std::nullopt};
}

// `count` fragments of `duration_us` that all arrived within `spread_us` of kBurstAt.
std::vector<PlaylistFragment> Burst(int first, int count, int64_t duration_us,
                                    int64_t spread_us = 0) {
  std::vector<PlaylistFragment> f;
  for (int i = 0; i < count; ++i) {
    f.push_back(Frag(first + i, kBurstAt + spread_us * i / std::max(count - 1, 1), duration_us));
  }
  return f;
}

struct S {
  int64_t t = 0, d = 0;
};
// The <S t d/> elements of the first SegmentTimeline in `mpd`.
std::vector<S> Timeline(const std::string& mpd) {
  // A plain scan: std::regex trips GCC 12's -Wmaybe-uninitialized in the sanitizer build.
  const size_t end = mpd.find("</SegmentTimeline>");
  std::vector<S> out;
  for (size_t p = mpd.find("<S t=\""); p < end; p = mpd.find("<S t=\"", p + 1)) {
    S s;
    size_t d = mpd.find("\" d=\"", p);
    if (d == std::string::npos || d > end) break;
    s.t = std::stoll(mpd.substr(p + 6));
    s.d = std::stoll(mpd.substr(d + 5));
    out.push_back(s);
  }
  return out;
}

// Every segment starts where or after the one before it ends, and after it starts.
void ExpectIncreasingWithoutOverlaps(const std::vector<S>& tl) {
  for (size_t i = 1; i < tl.size(); ++i) {
    EXPECT_GT(tl[i].t, tl[i - 1].t) << "segment " << i;
    EXPECT_GE(tl[i].t, tl[i - 1].t + tl[i - 1].d) << "segment " << i;
  }
}

void ExpectIncreasingWithoutOverlaps(const std::vector<PlaylistEntry>& e) {
  for (size_t i = 1; i < e.size(); ++i) {
    EXPECT_GT(e[i].start_us, e[i - 1].start_us) << "entry " << i;
    EXPECT_GE(e[i].start_us, e[i - 1].start_us + e[i - 1].duration_us) << "entry " << i;
  }
}

SessionParams DashOnDemand() {
  SessionParams s;
  s.kind = SessionKind::kDash;
  s.stream_name = "cam1";
  s.mode = PlaybackMode::kOnDemand;
  return s;
}

StreamShape Video() {
  StreamShape shape;
  TrackDescription v;
  v.number = 1;
  v.kind = TrackKind::kVideo;
  v.codecs = "avc1.64001f";
  shape.tracks = {v};
  shape.bandwidth = 1'000'000;
  return shape;
}

TEST(Timeline, BurstIsPlacedEndToEnd) {
  auto f = Burst(1, 5, 2 * kSec);
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kOnDiscontinuity);
  ASSERT_EQ(e.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(e[i].start_us, kBurstAt + i * 2 * kSec);
    EXPECT_EQ(e[i].recorded_us, kBurstAt);
  }
  // Judged on the fragments' own times: each overlaps the one before by 2 s.
  EXPECT_FALSE(e[0].discontinuity);
  for (int i = 1; i < 5; ++i) EXPECT_TRUE(e[i].discontinuity);
}

TEST(Timeline, DashManifestOfABurstHasUniqueIncreasingTimes) {
  SessionParams s = DashOnDemand();
  s.display_timestamp = true;
  auto e = BuildEntries(Burst(1, 5, 2 * kSec, 3'000), nullptr, DiscontinuityMode::kAlways);
  const std::string m = DashManifest(s, "T~", Video(), {}, e);
  auto tl = Timeline(m);
  ASSERT_EQ(tl.size(), 5u) << m;
  ExpectIncreasingWithoutOverlaps(tl);
  EXPECT_EQ(tl.front().t, kBurstAt / 1000);
  EXPECT_EQ(tl.back().t, kBurstAt / 1000 + 8000) << m;
  // Contiguous: a player walks from one to the next.
  for (size_t i = 1; i < tl.size(); ++i) EXPECT_EQ(tl[i].t, tl[i - 1].t + tl[i - 1].d);
  EXPECT_NE(m.find("mediaPresentationDuration=\"PT10.000S\""), std::string::npos) << m;
  // kvs:ts still tells when each fragment arrived.
  EXPECT_NE(m.find(" kvs:ts=\"" + std::to_string(kBurstAt / 1000) + "\""), std::string::npos);
}

TEST(Timeline, EqualTimesAndZeroDurationsStillAdvance) {
  std::vector<PlaylistFragment> f = {Frag(1, 5 * kSec, 0), Frag(2, 5 * kSec, 0),
                                     Frag(3, 5 * kSec, 400), Frag(4, 5 * kSec, kSec)};
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kNever);
  ExpectIncreasingWithoutOverlaps(e);
  auto tl = Timeline(DashManifest(DashOnDemand(), "T~", Video(), {}, e));
  ASSERT_EQ(tl.size(), 4u);
  ExpectIncreasingWithoutOverlaps(tl);
  EXPECT_EQ(tl[0].t, 5000);
  EXPECT_EQ(tl[3].t, 5003);
}

TEST(Timeline, ProducerClockJumpingBackIsPushedForwardAndGapsStay) {
  // Ascending by their own time, but 2 overlaps 1 by 1.5 s; 3 starts before 2 ends; then a
  // 10 s gap; 5 arrives out of order (the caller lists what the archive gives).
  std::vector<PlaylistFragment> f = {Frag(1, 0, 2 * kSec), Frag(2, kSec / 2, 2 * kSec),
                                     Frag(3, 2 * kSec, 2 * kSec), Frag(4, 14 * kSec, 2 * kSec),
                                     Frag(5, 13 * kSec, 2 * kSec)};
  auto e = BuildEntries(f, nullptr, DiscontinuityMode::kOnDiscontinuity);
  ExpectIncreasingWithoutOverlaps(e);
  EXPECT_EQ(e[1].start_us, 2 * kSec);
  EXPECT_EQ(e[2].start_us, 4 * kSec);
  EXPECT_EQ(e[3].start_us, 14 * kSec);  // the gap is kept, and marked
  EXPECT_TRUE(e[3].discontinuity);
  EXPECT_EQ(e[4].start_us, 16 * kSec);
}

TEST(Timeline, PreviousFragmentPushesTheFirstEntry) {
  PlaylistFragment prev = Frag(0, kBurstAt, 2 * kSec);
  prev.placed_us = kBurstAt + 6 * kSec;  // where an earlier listing put it
  auto f = Burst(1, 2, 2 * kSec);
  auto e = BuildEntries(f, &prev, DiscontinuityMode::kNever);
  EXPECT_EQ(e[0].start_us, kBurstAt + 8 * kSec);
  EXPECT_EQ(e[1].start_us, kBurstAt + 10 * kSec);
}

TEST(Timeline, HlsProgramDateTimesOfABurstIncrease) {
  SessionParams s;
  s.mode = PlaybackMode::kOnDemand;
  s.display_timestamp = true;
  auto e = BuildEntries(Burst(1, 3, 2 * kSec), nullptr, DiscontinuityMode::kOnDiscontinuity);
  MediaPlaylistOptions o;
  o.track = 1;
  o.ended = true;
  const std::string m = MediaPlaylist(s, "T~", o, e);
  for (const char* when :
       {"2023-11-14T22:13:20.894Z", "2023-11-14T22:13:22.894Z", "2023-11-14T22:13:24.894Z"}) {
    EXPECT_NE(m.find(std::string("#EXT-X-PROGRAM-DATE-TIME:") + when + "\n"), std::string::npos)
        << m;
  }
}

TEST(Timeline, SlidingWindowOverABurstKeepsItsTimes) {
  // A live window of 3 over a burst of 8: refreshing must not move a segment.
  const auto burst = Burst(1, 8, 2 * kSec, 5'000);
  SessionTimeline timeline;
  std::map<std::string, int64_t> first_seen;
  for (int first = 0; first + 3 <= 8; ++first) {
    std::vector<PlaylistFragment> window(burst.begin() + first, burst.begin() + first + 3);
    std::optional<PlaylistFragment> prev;
    if (first > 0) prev = burst[first - 1];
    timeline.Recall("s", window, prev ? &*prev : nullptr);
    auto e = BuildEntries(window, prev ? &*prev : nullptr, DiscontinuityMode::kAlways);
    timeline.Remember("s", e);
    ExpectIncreasingWithoutOverlaps(e);
    for (const PlaylistEntry& x : e) {
      auto [it, fresh] = first_seen.emplace(x.number, x.start_us);
      EXPECT_EQ(it->second, x.start_us) << "fragment " << x.number << " moved";
      if (fresh && x.number != "1") {
        // Each new one follows the one before, across refreshes.
        EXPECT_EQ(x.start_us, first_seen[std::to_string(std::stoi(x.number) - 1)] + 2 * kSec);
      }
    }
  }
  EXPECT_EQ(first_seen.size(), 8u);
  EXPECT_EQ(first_seen["8"], kBurstAt + 14 * kSec);
}

TEST(SessionTimeline, FindsSegmentsByNumberAndByMillisecond) {
  SessionTimeline timeline;
  auto e = BuildEntries(Burst(1, 3, 2 * kSec), nullptr, DiscontinuityMode::kAlways);
  timeline.Remember("s", e);
  EXPECT_EQ(timeline.StartOf("s", "2"), kBurstAt + 2 * kSec);
  EXPECT_FALSE(timeline.StartOf("s", "9"));
  EXPECT_FALSE(timeline.StartOf("other", "2"));
  auto at = timeline.At("s", (kBurstAt + 4 * kSec) / 1000);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->number, "3");
  EXPECT_EQ(at->start_us, kBurstAt + 4 * kSec);
  EXPECT_FALSE(timeline.At("s", kBurstAt / 1000 + 1));
  EXPECT_FALSE(timeline.At("s", INT64_MAX));
  EXPECT_FALSE(timeline.At("s", -1));
}

TEST(SessionTimeline, KeepsAboutTwoListingsAndFewSessions) {
  SessionTimeline timeline(2);
  for (int first = 1; first <= 100; first += 5) {
    std::vector<PlaylistEntry> e(5);
    for (int i = 0; i < 5; ++i) {
      e[i].number = std::to_string(first + i);
      e[i].start_us = (first + i) * kSec;
    }
    timeline.Remember("s", e);
  }
  EXPECT_TRUE(timeline.StartOf("s", "100"));
  EXPECT_TRUE(timeline.StartOf("s", "75"));
  EXPECT_FALSE(timeline.StartOf("s", "1"));
  timeline.Remember("a", std::vector<PlaylistEntry>(1));
  timeline.Remember("b", std::vector<PlaylistEntry>(1));  // evicts s
  EXPECT_FALSE(timeline.StartOf("s", "100"));
}

// Any mix of bursts, equal times, jumps back, gaps and odd durations.
TEST(Timeline, AnyUploadPatternGivesAStrictlyIncreasingDashTimeline) {
  std::mt19937_64 rng(20261201);
  for (int round = 0; round < 200; ++round) {
    std::vector<PlaylistFragment> f;
    int64_t t = kBurstAt;
    for (int i = 0; i < 40; ++i) {
      const int64_t d =
          static_cast<int64_t>(rng() % 4) * kSec / 2 + static_cast<int64_t>(rng() % 3);
      f.push_back(Frag(i + 1, t, d));
      switch (rng() % 5) {
        case 0:
          break;  // equal
        case 1:
          t += static_cast<int64_t>(rng() % 2000);
          break;  // burst
        case 2:
          t -= static_cast<int64_t>(rng() % (3 * kSec));
          break;  // jump back
        case 3:
          t += d + static_cast<int64_t>(rng() % (20 * kSec));
          break;  // gap
        default:
          t += d;  // steady
      }
    }
    auto e = BuildEntries(f, nullptr, DiscontinuityMode::kOnDiscontinuity);
    ExpectIncreasingWithoutOverlaps(e);
    auto tl = Timeline(DashManifest(DashOnDemand(), "T~", Video(), {}, e));
    ASSERT_EQ(tl.size(), f.size());
    ExpectIncreasingWithoutOverlaps(tl);
    if (HasFailure()) {
      ADD_FAILURE() << "round " << round;
      return;
    }
  }
}

}  // namespace
}  // namespace streamarc::playback
