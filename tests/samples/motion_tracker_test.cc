// MotionTracker's hysteresis on made-up per-frame figures at 25 fps.
#include "samples/motion_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace streamarc::samples {
namespace {

constexpr int64_t kFrameUs = 40'000;

// Feeds fraction[i] at frame i; returns the intervals closed, then Finish's.
std::vector<MotionInterval> Feed(MotionTracker& t, const std::vector<double>& fractions) {
  std::vector<MotionInterval> out;
  for (size_t i = 0; i < fractions.size(); ++i) {
    if (auto m = t.Add(static_cast<int64_t>(i) * kFrameUs, fractions[i])) out.push_back(*m);
  }
  if (auto m = t.Finish()) out.push_back(*m);
  return out;
}

std::vector<double> Frames(std::initializer_list<std::pair<int, double>> runs) {
  std::vector<double> v;
  for (auto [n, f] : runs) v.insert(v.end(), n, f);
  return v;
}

TEST(MotionTracker, StillInputGivesNothing) {
  MotionTracker t;
  EXPECT_TRUE(Feed(t, Frames({{100, 0.0005}})).empty());
}

TEST(MotionTracker, OneIntervalFromFirstMovingToFirstStillFrame) {
  MotionTracker t;
  auto got = Feed(t, Frames({{10, 0}, {20, 0.01}, {30, 0}}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].start_us, 10 * kFrameUs);
  EXPECT_EQ(got[0].end_us, 30 * kFrameUs);
  EXPECT_DOUBLE_EQ(got[0].score, 0.01);
}

// Hysteresis: a dip below on_fraction but above off_fraction, or a quiet spell shorter than
// quiet_us (an object pausing), keeps one interval.
TEST(MotionTracker, DipsAndShortPausesDoNotSplit) {
  MotionTracker t;
  auto got =
      Feed(t, Frames({{5, 0}, {5, 0.01}, {5, 0.0015}, {5, 0.02}, {10, 0}, {5, 0.01}, {20, 0}}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].start_us, 5 * kFrameUs);
  EXPECT_EQ(got[0].end_us, 35 * kFrameUs);
  EXPECT_DOUBLE_EQ(got[0].score, 0.02);
}

TEST(MotionTracker, LongQuietSplitsAndBelowOnDoesNotStart) {
  MotionTracker t;
  // 14 still frames are 520 ms: the first interval closes at frame 23.
  auto got = Feed(t, Frames({{5, 0.0015}, {5, 0.01}, {14, 0}, {5, 0.0015}, {5, 0.003}, {14, 0}}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].start_us, 5 * kFrameUs);
  EXPECT_EQ(got[0].end_us, 10 * kFrameUs);
  EXPECT_EQ(got[1].start_us, 29 * kFrameUs);
  EXPECT_EQ(got[1].end_us, 34 * kFrameUs);
}

// The end of the input closes an open interval at its first still frame, or at the last
// frame while still moving.
TEST(MotionTracker, FinishClosesTheOpenInterval) {
  MotionTracker t;
  auto moving = Feed(t, Frames({{3, 0}, {7, 0.01}}));
  ASSERT_EQ(moving.size(), 1u);
  EXPECT_EQ(moving[0].start_us, 3 * kFrameUs);
  EXPECT_EQ(moving[0].end_us, 9 * kFrameUs);
  MotionTracker u;
  auto settling = Feed(u, Frames({{3, 0.01}, {4, 0}}));
  ASSERT_EQ(settling.size(), 1u);
  EXPECT_EQ(settling[0].end_us, 3 * kFrameUs);
  EXPECT_FALSE(u.Finish());  // once
}

}  // namespace
}  // namespace streamarc::samples
