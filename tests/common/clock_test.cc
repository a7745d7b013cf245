#include "common/clock.h"

#include <gtest/gtest.h>

namespace streamarc {
namespace {

TEST(Clock, SystemClockIsNearNowAndMonotonicDoesNotGoBack) {
  SystemClock c;
  int64_t now = c.NowMicros();
  EXPECT_GT(now, 1'700'000'000'000'000);  // after 2023
  int64_t a = c.MonotonicMicros();
  int64_t b = c.MonotonicMicros();
  EXPECT_LE(a, b);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(1'000);
  EXPECT_EQ(c.NowMicros(), 1'000);
  c.Advance(87600LL * 3600 * 1'000'000);  // ten years
  EXPECT_EQ(c.NowMicros(), 1'000 + 87600LL * 3600 * 1'000'000);
  EXPECT_EQ(c.MonotonicMicros(), 87600LL * 3600 * 1'000'000);
  c.Set(5);
  EXPECT_EQ(c.NowMicros(), 5);
}

TEST(Clock, FormatIso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1'511'852'109'126'000), "2017-11-28T06:55:09.126Z");
  EXPECT_EQ(FormatIso8601(-1'000), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace streamarc
