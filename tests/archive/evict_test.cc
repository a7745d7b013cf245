// Reclaiming space (issue 10): a full disk takes the oldest data across streams a little at
// a time, never what was just acknowledged; when only that is left, new fragments are
// refused and recording resumes once space comes back. Runs over FaultEnv's space limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "tests/archive/fault_env.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

constexpr int64_t kFragmentUs = 2'000'000;  // MakeFragment's duration
constexpr size_t kKept = 5;                 // 10 s of 2 s fragments (Options defaults)

struct Acked {
  std::string stream, number;
  uint64_t seed;
  size_t size;
  int64_t server_us;
};

class EvictTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSpace = 4 << 20;

  EvictTest() : env_(*h_.posix) {
    env_.SetSpaceLimit(kSpace);
    h_.options.sync = false;  // what is evicted does not depend on it; it is 10x faster
  }

  // One round: a fragment of `size` bytes for each stream, then waits for every ack.
  // Returns the statuses of the round's fragments.
  std::vector<Status> Round(const std::vector<std::string>& streams, size_t size) {
    std::vector<Status> out(streams.size());
    std::vector<Acked> round(streams.size());
    for (size_t i = 0; i < streams.size(); ++i) {
      now_ += kFragmentUs;
      h_.clock.Set(now_);
      const uint64_t seed = next_seed_++;
      round[i] = {streams[i], "", seed, size, now_};
      Result<std::string> n =
          h_.a().Append(StreamRef::Name(streams[i]), MakeFragment(now_, size, seed),
                        [&out, &round, i](const Status& s, const FragmentInfo& info) {
                          out[i] = s;
                          round[i].number = info.number;
                        });
      EXPECT_TRUE(n.ok()) << n.status().ToString();
    }
    h_.a().Flush();
    for (size_t i = 0; i < streams.size(); ++i) {
      if (out[i].ok()) acked_.push_back(round[i]);
    }
    return out;
  }

  bool Readable(const Acked& x) {
    Result<std::string> got = h_.a().ReadFragment(StreamRef::Name(x.stream), x.number);
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().ToString();
      return false;
    }
    EXPECT_EQ(*got, MakeBytes(x.seed, x.size));
    return true;
  }

  // The newest `n` acked fragments of `stream` are all readable.
  void ExpectNewestKept(const std::string& stream, size_t n) {
    size_t seen = 0;
    for (auto it = acked_.rbegin(); it != acked_.rend() && seen < n; ++it) {
      if (it->stream != stream) continue;
      ++seen;
      EXPECT_TRUE(Readable(*it)) << stream << " lost a fragment acked " << seen << " ago";
    }
  }

  // Every stream keeps a suffix of what it acked: no hole in the middle of its history.
  void ExpectOldestWentFirst() {
    std::map<std::string, bool> seen_kept;
    for (const Acked& x : acked_) {
      const bool kept = Readable(x);
      if (seen_kept[x.stream]) {
        EXPECT_TRUE(kept) << x.stream << " has a gap at " << x.number;
      }
      seen_kept[x.stream] = seen_kept[x.stream] || kept;
    }
  }

  double KeptShare() {
    return static_cast<double>(h_.a().Stats().total_bytes) / static_cast<double>(kSpace);
  }

  Harness h_;
  FaultEnv env_;
  int64_t now_ = kStartUs;
  uint64_t next_seed_ = 1;
  std::vector<Acked> acked_;
};

// The issue: with the default 1 h / 1 GiB segments, the first eviction deleted the only
// segment, and with it the whole history and what had just been acknowledged.
TEST_F(EvictTest, OneStreamOnAFullDiskLosesOnlyItsOldestFragments) {
  ASSERT_TRUE(h_.Open(&env_).ok());
  h_.Create("cam", 87600);
  bool filled = false;
  for (int i = 0; i < 400; ++i) {  // 12.8 MB through 4 MB
    for (const Status& s : Round({"cam"}, 32 << 10)) ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectNewestKept("cam", kKept);
    filled = filled || h_.a().Stats().fragments_evicted > 0;
    if (filled) {
      ASSERT_GT(KeptShare(), 0.4) << "after fragment " << i;
    }
  }
  EXPECT_TRUE(filled);
  // A little at a time: no eviction step took more than 1/16 of the space.
  for (const std::string& line : h_.logs.Lines()) {
    if (line.find("reason=budget") == std::string::npos) continue;
    size_t at = line.find(" bytes=");
    ASSERT_NE(at, std::string::npos) << line;
    EXPECT_LE(std::stoull(line.substr(at + 7)), kSpace / 16) << line;
  }
  ExpectOldestWentFirst();
  EXPECT_TRUE(h_.a().Verify().ok());
}

// The issue: with two streams, half of the fragments acknowledged moments earlier were gone.
TEST_F(EvictTest, TwoStreamsKeepWhatWasJustAcknowledgedAndLoseTheOldestOverall) {
  ASSERT_TRUE(h_.Open(&env_).ok());
  h_.Create("a", 87600);
  h_.Create("b", 87600);
  for (int i = 0; i < 200; ++i) {
    for (const Status& s : Round({"a", "b"}, 32 << 10)) ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectNewestKept("a", kKept);
    ExpectNewestKept("b", kKept);
    if (h_.a().Stats().fragments_evicted > 0) {
      ASSERT_GT(KeptShare(), 0.4);
    }
  }
  ExpectOldestWentFirst();
  // Across streams the oldest went first: both streams reach back about as far.
  int64_t oldest_a = 0, oldest_b = 0;
  for (const Acked& x : acked_) {
    int64_t& oldest = x.stream == "a" ? oldest_a : oldest_b;
    if (oldest == 0 && Readable(x)) oldest = x.server_us;
  }
  EXPECT_LT(std::abs(oldest_a - oldest_b), 10 * kFragmentUs);
  EXPECT_EQ(h_.a().Stats().fragments_failed, 0u);
}

// A quiet stream's whole history sits in its open segment: eviction takes the older part
// of it, punching the bytes out, and keeps appending to the same file.
TEST_F(EvictTest, EvictsPartOfAnOpenSegmentAndPunchesItsBytes) {
  ASSERT_TRUE(h_.Open(&env_).ok());
  h_.Create("quiet", 87600);
  h_.Create("busy", 87600);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Round({"quiet"}, 8 << 10)[0].ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Round({"busy"}, 32 << 10)[0].ok());
  ArchiveStats st = h_.a().Stats();
  EXPECT_GT(st.bytes_punched, 0u);
  EXPECT_EQ(st.punch_unsupported, 0u);
  EXPECT_GT(h_.logs.Count("fragments evicted"), 0u);
  ExpectNewestKept("quiet", kKept);
  size_t quiet_kept = 0;
  for (const Acked& x : acked_) quiet_kept += x.stream == "quiet" && Readable(x);
  EXPECT_EQ(quiet_kept, kKept);  // the rest of its open segment went, oldest data first
  EXPECT_TRUE(h_.a().Verify().ok());
  ASSERT_TRUE(Round({"quiet"}, 8 << 10)[0].ok());
  // Reopened: the punched segment checks out and its stored size is counted as punched.
  const uint64_t stored = h_.a().Stats().total_bytes;
  h_.Close();
  ASSERT_TRUE(h_.Open(&env_).ok());
  EXPECT_EQ(h_.a().Stats().total_bytes, stored);
  EXPECT_TRUE(h_.a().Verify().ok());
  ExpectNewestKept("quiet", kKept + 1);
  ExpectOldestWentFirst();
}

// When only each stream's newest fragments are left, new ones are refused and nothing
// acknowledged is deleted; recording resumes when space comes back.
TEST_F(EvictTest, RefusesNewFragmentsWhenOnlyProtectedDataIsLeft) {
  env_.SetSpaceLimit(1 << 20);
  ASSERT_TRUE(h_.Open(&env_).ok());
  const std::vector<std::string> streams = {"a", "b", "c", "d"};
  for (const std::string& s : streams) h_.Create(s, 87600);
  size_t refused = 0;
  for (int i = 0; i < 10; ++i) {
    for (const Status& s : Round(streams, 64 << 10)) {
      if (s.ok()) continue;
      EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(h_.a().Stats().fragments_refused_full, refused);
  // Nothing protected was evicted to make room: each stream still has its newest acked
  // ones, up to what it protects.
  for (const std::string& s : streams) ExpectNewestKept(s, kKept);
  ExpectOldestWentFirst();
  env_.SetSpaceLimit(8 << 20);
  for (const Status& s : Round(streams, 64 << 10)) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(h_.a().Verify().ok());
}

TEST_F(EvictTest, WithoutHolePunchingWholeSegmentsAreFreed) {
  env_.SetPunchHoleSupported(false);
  ASSERT_TRUE(h_.Open(&env_).ok());
  h_.Create("quiet", 87600);
  h_.Create("busy", 87600);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Round({"quiet"}, 8 << 10)[0].ok());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(Round({"busy"}, 32 << 10)[0].ok());
    ExpectNewestKept("busy", kKept);
  }
  ArchiveStats st = h_.a().Stats();
  EXPECT_EQ(st.punch_unsupported, 1u);  // tried once, then whole segments only
  EXPECT_EQ(st.bytes_punched, 0u);
  EXPECT_GT(st.segments_deleted, 10u);
  EXPECT_EQ(st.fragments_failed, 0u);
  ExpectNewestKept("quiet", kKept);
  EXPECT_TRUE(h_.a().Verify().ok());
}

TEST_F(EvictTest, FreeSpaceFloorIsKeptBeforeTheDiskFills) {
  h_.options.min_free_bytes = 1 << 20;
  ASSERT_TRUE(h_.Open(&env_).ok());
  h_.Create("cam", 87600);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(Round({"cam"}, 32 << 10)[0].ok());
    Result<DiskSpace> d = env_.GetDiskSpace(h_.options.root);
    ASSERT_TRUE(d.ok());
    EXPECT_GE(d->free_bytes, 1u << 20);
  }
  EXPECT_EQ(env_.writes_failed(), 0);  // never ran into ENOSPC
  EXPECT_GT(h_.a().Stats().fragments_evicted, 100u);
  ExpectNewestKept("cam", kKept);
}

TEST_F(EvictTest, AutomaticFloorAndSegmentSizeFollowTheDisk) {
  h_.options.min_free_bytes = kAutoMinFreeBytes;
  ASSERT_TRUE(h_.Open(&env_).ok());
  // 4 MiB: 5% of it as the floor, segments of 1/32 of it.
  EXPECT_EQ(h_.logs.Count("min_free_bytes=209715 max_segment_bytes=131072"), 1u)
      << ::testing::PrintToString(h_.logs.Lines());
}

}  // namespace
}  // namespace streamarc::archive::testing
