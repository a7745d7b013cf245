#include <gtest/gtest.h>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kHour = kMicrosPerHour;
constexpr int64_t kYear = 8760 * kHour;

// Appends one 2 KB fragment every `step` of server time from `from` for `count` fragments,
// moving the clock along as a live stream would.
std::vector<std::string> Feed(Harness& h, const std::string& stream, int64_t from, int64_t step,
                              int count) {
  std::vector<std::string> numbers;
  for (int i = 0; i < count; ++i) {
    h.clock.Set(from + i * step);
    Result<FragmentInfo> f = AppendSync(h.a(), stream, MakeFragment(from + i * step, 2048, i));
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (f.ok()) numbers.push_back(f->number);
  }
  return numbers;
}

size_t Visible(Harness& h, const std::string& stream, const std::vector<std::string>& numbers) {
  size_t n = 0;
  for (const std::string& num : numbers) n += h.a().GetFragment(StreamRef::Name(stream), num).ok();
  return n;
}

TEST(RetentionTest, ExpiresWholeSegmentsAndHidesExpiredFragments) {
  Harness h;
  h.options.segment_window_us = 10 * kMinute;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam", 1);
  // Three hours of one fragment per minute: 18 ten-minute segments.
  std::vector<std::string> numbers = Feed(h, "cam", kStartUs, kMinute, 180);
  ASSERT_EQ(numbers.size(), 180u);
  h.clock.Set(kStartUs + 180 * kMinute + 5 * kMinute);
  // Before any sweep, fragments older than one hour are already invisible.
  EXPECT_EQ(Visible(h, "cam", numbers), 55u);
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.start_us = 0;
  req.end_us = kStartUs * 2;
  EXPECT_EQ(h.a().ListFragments(req)->fragments.size(), 55u);
  EXPECT_TRUE(h.a().Sweep().ok());
  ArchiveStats st = h.a().Stats();
  // Whole segments whose every fragment expired are gone; the partial one stays.
  EXPECT_EQ(st.segments_deleted, 12u);
  EXPECT_EQ(st.fragments_expired, 120u);
  EXPECT_EQ(h.logs.Count("segment deleted reason=retention"), 12u);
  EXPECT_EQ(Visible(h, "cam", numbers), 55u);
  EXPECT_TRUE(h.a().Verify().ok());
  // Still readable after a reopen, and the sweep is idempotent.
  ASSERT_TRUE(h.Open().ok());
  EXPECT_TRUE(h.a().Sweep().ok());
  EXPECT_EQ(Visible(h, "cam", numbers), 55u);
  EXPECT_EQ(*h.a().ReadFragment(StreamRef::Name("cam"), numbers.back()), MakeBytes(179, 2048));
}

TEST(RetentionTest, IncreaseAndDecreaseTakeEffectOnTheNextSweep) {
  Harness h;
  h.options.segment_window_us = 10 * kMinute;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam", 1);
  std::vector<std::string> numbers = Feed(h, "cam", kStartUs, kMinute, 60);
  h.clock.Set(kStartUs + 2 * kHour);
  EXPECT_EQ(Visible(h, "cam", numbers), 0u);
  // Raising retention before the sweep brings the fragments back.
  ASSERT_TRUE(h.a().UpdateRetention(StreamRef::Name("cam"), "", 3).ok());
  EXPECT_TRUE(h.a().Sweep().ok());
  EXPECT_EQ(Visible(h, "cam", numbers), 60u);
  EXPECT_EQ(h.a().Stats().fragments_expired, 0u);
  // Lowering it deletes them at the next sweep.
  ASSERT_TRUE(h.a().UpdateRetention(StreamRef::Name("cam"), "", 1).ok());
  EXPECT_TRUE(h.a().Sweep().ok());
  EXPECT_EQ(Visible(h, "cam", numbers), 0u);
  EXPECT_EQ(h.a().Stats().fragments_expired, 60u);
}

TEST(RetentionTest, TenYearsInMilliseconds) {
  Harness h;
  h.options.segment_window_us = 30 * 24 * kHour;  // monthly segments
  ASSERT_TRUE(h.Open().ok());
  h.Create("decade", kMaxRetentionHours);
  h.Create("year", 8760);
  // One fragment a week for ten years on both streams.
  std::vector<std::string> decade, year;
  for (int w = 0; w < 520; ++w) {
    const int64_t t = kStartUs + w * 7 * 24 * kHour;
    h.clock.Set(t);
    auto check = [](const Status& s, const FragmentInfo&) { EXPECT_TRUE(s.ok()); };
    decade.push_back(*h.a().Append(StreamRef::Name("decade"), MakeFragment(t, 64, w), check));
    year.push_back(*h.a().Append(StreamRef::Name("year"), MakeFragment(t, 64, w), check));
  }
  h.a().Flush();
  const int64_t end = kStartUs + 520 * 7 * 24 * kHour;  // 3640 days on
  h.clock.Set(end);
  EXPECT_TRUE(h.a().Sweep().ok());
  EXPECT_EQ(Visible(h, "decade", decade), 520u);
  const size_t last_year = Visible(h, "year", year);
  EXPECT_GE(last_year, 52u);
  EXPECT_LE(last_year, 53u);
  EXPECT_GT(h.a().Stats().fragments_expired, 400u);
  h.clock.Set(end + 10 * kYear);
  EXPECT_TRUE(h.a().Sweep().ok());
  EXPECT_EQ(Visible(h, "decade", decade), 0u);
  EXPECT_TRUE(h.a().Verify().ok());
}

TEST(RetentionTest, ByteBudgetEvictsOldestAcrossStreams) {
  Harness h;
  h.options.segment_window_us = 10 * kMinute;
  h.options.max_total_bytes = 200 << 10;  // 200 KB for 2 streams of 2 KB fragments
  ASSERT_TRUE(h.Open().ok());
  h.Create("a", 87600);
  h.Create("b", 87600);
  std::vector<std::string> a, b;
  for (int i = 0; i < 120; ++i) {
    const int64_t t = kStartUs + i * kMinute;
    h.clock.Set(t);
    a.push_back(AppendSync(h.a(), "a", MakeFragment(t, 2048, i))->number);
    b.push_back(AppendSync(h.a(), "b", MakeFragment(t, 2048, 1000 + i))->number);
  }
  EXPECT_GT(h.a().Stats().total_bytes, 400u << 10);
  EXPECT_TRUE(h.a().Sweep().ok());
  ArchiveStats st = h.a().Stats();
  EXPECT_LE(st.total_bytes, 200u << 10);
  EXPECT_GT(st.fragments_evicted, 0u);
  EXPECT_GT(h.logs.Count("reason=budget"), 0u);
  // The newest survive on both streams; the oldest went first on both.
  EXPECT_TRUE(h.a().GetFragment(StreamRef::Name("a"), a.back()).ok());
  EXPECT_TRUE(h.a().GetFragment(StreamRef::Name("b"), b.back()).ok());
  EXPECT_FALSE(h.a().GetFragment(StreamRef::Name("a"), a.front()).ok());
  EXPECT_FALSE(h.a().GetFragment(StreamRef::Name("b"), b.front()).ok());
  EXPECT_TRUE(h.a().Verify().ok());
}

TEST(RetentionTest, BackgroundSweeperRuns) {
  Harness h;
  h.options.segment_window_us = 10 * kMinute;
  h.options.sweep_interval_us = 20'000;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam", 1);
  Feed(h, "cam", kStartUs, kMinute, 30);
  h.clock.Set(kStartUs + 3 * kHour);
  for (int i = 0; i < 200 && h.a().Stats().fragments_expired < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The commit thread seals the idle segment, then the sweeper deletes it.
  EXPECT_EQ(h.a().Stats().fragments_expired, 30u);
}

}  // namespace
}  // namespace streamarc::archive::testing
