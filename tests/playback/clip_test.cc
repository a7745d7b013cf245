// playback's GetClip without a server: which fragments a clip takes (KVS's limits of 200
// fragments and 100 MB), and MakeClip's answers, on a real archive in a temp dir.
#include "playback/clip.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/playback/test_archive.h"

namespace streamarc::playback {
namespace {

using archive::StreamRef;
using archive::TimestampType;
using testing::kSec;
using testing::kT0;
using testing::TestArchive;

class ClipTest : public ::testing::Test {
 protected:
  void SetUp() override { a_.CreateStream("cam"); }

  // `count` fragments of real media, back to back on the producer's timeline from `base_`
  // (their real durations, so the clip's frames never overlap): their numbers.
  std::vector<std::string> AppendReal(int count) {
    const auto& media = testing::RealMedia();
    std::vector<std::string> numbers;
    int64_t at = next_us_;
    for (int i = 0; i < count; ++i) {
      const int64_t d =
          media.durations_us.empty()
              ? 2 * kSec
              : media.durations_us[static_cast<size_t>(i) % media.durations_us.size()];
      numbers.push_back(a_.Append("cam", at, d));
      starts_.push_back(at);
      at += d;
    }
    next_us_ = at;
    return numbers;
  }

  std::vector<std::string> Select(int64_t start, int64_t end, const ClipLimits& limits) {
    auto got = SelectClipFragments(a_.archive(), StreamRef::Name("cam"), TimestampType::kServer,
                                   start, end, limits);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<std::string> numbers;
    if (got.ok()) {
      for (const auto& f : *got) numbers.push_back(f.number);
    }
    return numbers;
  }

  uint64_t SizeOf(const std::string& number) {
    auto f = a_.archive().GetFragment(StreamRef::Name("cam"), number);
    EXPECT_TRUE(f.ok());
    return f.ok() ? f->size_bytes : 0;
  }

  TestArchive a_;
  const int64_t base_ = kT0 - 3600 * kSec;
  int64_t next_us_ = base_;
  std::vector<int64_t> starts_;  // of the fragments appended, in order
};

std::vector<std::string> Slice(const std::vector<std::string>& v, size_t from, size_t to) {
  return {v.begin() + static_cast<ptrdiff_t>(from), v.begin() + static_cast<ptrdiff_t>(to)};
}

TEST_F(ClipTest, TakesTheFragmentsThatStartInTheRange) {
  const auto n = AppendReal(8);
  // Inclusive at both ends, by start time.
  EXPECT_EQ(Select(starts_[2], starts_[5], {}), Slice(n, 2, 6));
  EXPECT_EQ(Select(starts_[2] + 1, starts_[5] - 1, {}), Slice(n, 3, 5));
  EXPECT_TRUE(Select(next_us_ + 1, next_us_ + 60 * kSec, {}).empty());
}

TEST_F(ClipTest, StopsAtTheFragmentLimit) {
  const auto n = AppendReal(205);
  // KVS's default: the first 200 of the range.
  EXPECT_EQ(Select(base_, next_us_, {}), Slice(n, 0, 200));
  ClipLimits three;
  three.max_fragments = 3;
  EXPECT_EQ(Select(starts_[10], next_us_, three), Slice(n, 10, 13));
}

TEST_F(ClipTest, StopsBeforeTheByteLimit) {
  const auto n = AppendReal(6);
  ClipLimits limits;
  limits.max_bytes = SizeOf(n[0]) + SizeOf(n[1]);
  EXPECT_EQ(Select(base_, next_us_, limits), Slice(n, 0, 2));
  limits.max_bytes -= 1;
  EXPECT_EQ(Select(base_, next_us_, limits), Slice(n, 0, 1));
  // The first fragment is always taken, however large: a clip is never empty for its size.
  limits.max_bytes = 1;
  EXPECT_EQ(Select(base_, next_us_, limits), Slice(n, 0, 1));
}

TEST_F(ClipTest, MakeClipAnswers) {
  a_.CreateStream("noretention", /*retention_hours=*/0);
  AppendReal(4);
  auto make = [&](const std::string& stream, int64_t start, int64_t end) {
    ClipRequest r;
    r.stream = StreamRef::Name(stream);
    r.type = TimestampType::kServer;
    r.start_us = start;
    r.end_us = end;
    return MakeClip(a_.archive(), r, ClipLimits{}, a_.log());
  };
  Result<std::string, KvsError> clip = make("cam", base_, next_us_);
  ASSERT_TRUE(clip.ok()) << clip.error().status.ToString();
  EXPECT_NE(clip->find("ftyp"), std::string::npos);
  EXPECT_NE(clip->find("moov"), std::string::npos);

  Result<std::string, KvsError> empty = make("cam", next_us_ + 1, next_us_ + 60 * kSec);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().type, KvsErrorType::kResourceNotFound);
  Result<std::string, KvsError> no_stream = make("nosuch", base_, next_us_);
  ASSERT_FALSE(no_stream.ok());
  EXPECT_EQ(no_stream.error().type, KvsErrorType::kResourceNotFound);
  Result<std::string, KvsError> no_data = make("noretention", base_, next_us_);
  ASSERT_FALSE(no_data.ok());
  EXPECT_EQ(no_data.error().type, KvsErrorType::kNoDataRetention);
}

}  // namespace
}  // namespace streamarc::playback
