// Faults injected through the file layer: failed and short writes, failed fdatasync,
// disk full, refused opens. Whatever happens, every fragment reported durable stays
// readable and byte-identical, including after dropping all unsynced data ("power loss").
#include <gtest/gtest.h>

#include <random>

#include "tests/archive/fault_env.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

struct Acked {
  std::string stream, number;
  uint64_t seed;
  size_t size;
};

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.options.max_segment_bytes = 64 << 10;
    h_.options.reserve_bytes = 0;  // the space limits below are for segment files only
    ASSERT_TRUE(h_.Open(&env_).ok());
    for (const char* s : {"a", "b", "c"}) h_.Create(s);
  }
  // Appends asynchronously; returns the statuses in order and records the acked ones.
  std::vector<Status> Burst(int n, uint64_t seed0, size_t size) {
    std::vector<Status> out(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const std::string stream(1, static_cast<char>('a' + i % 3));
      const uint64_t seed = seed0 + static_cast<uint64_t>(i);
      Result<std::string> num = h_.a().Append(
          StreamRef::Name(stream), MakeFragment(kStartUs + i, size, seed),
          [this, &out, i, stream, seed, size](const Status& s, const FragmentInfo& info) {
            out[static_cast<size_t>(i)] = s;
            if (s.ok()) {
              std::lock_guard<std::mutex> lock(mu_);
              acked_.push_back({stream, info.number, seed, size});
            }
          });
      EXPECT_TRUE(num.ok());
    }
    h_.a().Flush();
    return out;
  }
  void ExpectAckedIntact() {
    for (const Acked& a : acked_) {
      Result<std::string> got = h_.a().ReadFragment(StreamRef::Name(a.stream), a.number);
      ASSERT_TRUE(got.ok()) << a.number << ": " << got.status().ToString();
      EXPECT_EQ(*got, MakeBytes(a.seed, a.size));
    }
    Status v = h_.a().Verify();
    EXPECT_TRUE(v.ok()) << v.ToString();
  }
  // Closes, drops whatever was not synced, reopens over the same faulty env.
  void PowerLoss() {
    h_.Close();
    env_.DropUnsyncedData();
    ASSERT_TRUE(h_.Open(&env_).ok());
  }

  Harness h_;
  FaultEnv env_{*h_.posix};
  std::mutex mu_;
  std::vector<Acked> acked_;
};

TEST_F(FaultInjectionTest, FailedWriteFailsOnlyItsFragments) {
  Burst(9, 0, 1000);
  env_.FailWriteAfter(1, /*short_write=*/false);
  std::vector<Status> st = Burst(1, 100, 1000);
  EXPECT_EQ(st[0].code(), Code::kIoError);
  std::vector<Status> after = Burst(6, 200, 1000);
  for (const Status& s : after) EXPECT_TRUE(s.ok()) << s.ToString();
  ExpectAckedIntact();
  PowerLoss();
  ExpectAckedIntact();
  EXPECT_EQ(h_.a().Stats().fragments_failed, 0u);  // fresh stats after reopen
}

TEST_F(FaultInjectionTest, ShortWriteIsCutBack) {
  Burst(3, 0, 5000);
  env_.FailWriteAfter(2, /*short_write=*/true);  // record header ok, payload half written
  std::vector<Status> st = Burst(1, 100, 5000);
  EXPECT_EQ(st[0].code(), Code::kIoError);
  Burst(3, 200, 5000);
  ExpectAckedIntact();
  PowerLoss();
  EXPECT_EQ(h_.a().Recovery().bytes_truncated, 0u);  // the archive cut it back itself
  ExpectAckedIntact();
}

TEST_F(FaultInjectionTest, FailedSyncNeverReportsDurable) {
  Burst(6, 0, 2000);
  env_.FailSyncAfter(1);
  std::vector<Status> st = Burst(30, 100, 2000);
  int failed = 0;
  for (const Status& s : st) failed += !s.ok();
  EXPECT_GE(failed, 1);
  EXPECT_GE(env_.syncs_failed(), 1);
  PowerLoss();
  ExpectAckedIntact();
}

TEST_F(FaultInjectionTest, RandomFaultsNeverLoseAckedFragments) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; ++round) {
    switch (rng() % 4) {
      case 0:
        env_.FailWriteAfter(1 + static_cast<int>(rng() % 20), rng() % 2);
        break;
      case 1:
        env_.FailSyncAfter(1 + static_cast<int>(rng() % 5));
        break;
      default:
        break;
    }
    Burst(15, static_cast<uint64_t>(round) * 1000, 500 + rng() % 8000);
    if (round % 5 == 4) PowerLoss();
  }
  EXPECT_GT(acked_.size(), 200u);
  PowerLoss();
  ExpectAckedIntact();
}

TEST_F(FaultInjectionTest, DiskFullIsReportedAndNothingDurableIsHurt) {
  h_.options.evict_when_full = false;
  ASSERT_TRUE(h_.Open(&env_).ok());
  env_.SetSpaceLimit(300 << 10);
  int full = 0;
  for (int round = 0; round < 10; ++round) {
    for (const Status& s : Burst(9, static_cast<uint64_t>(round) * 100, 8000)) {
      if (!s.ok()) {
        EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
        ++full;
      }
    }
  }
  EXPECT_GT(full, 0);
  EXPECT_GT(acked_.size(), 20u);
  ExpectAckedIntact();  // reads keep working on a full disk
  // Space comes back (a stream is deleted): ingest resumes.
  ASSERT_TRUE(h_.a().DeleteStream(StreamRef::Name("c"), "").ok());
  std::erase_if(acked_, [](const Acked& a) { return a.stream == "c"; });
  Result<FragmentInfo> f = AppendSync(h_.a(), "a", MakeFragment(kStartUs, 8000, 5));
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  PowerLoss();
  ExpectAckedIntact();
}

TEST_F(FaultInjectionTest, DiskFullEvictsTheOldestAndIngestContinues) {
  env_.SetSpaceLimit(400 << 10);
  for (int round = 0; round < 20; ++round) {
    for (const Status& s : Burst(9, static_cast<uint64_t>(round) * 100, 8000)) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  ArchiveStats st = h_.a().Stats();
  EXPECT_GT(st.fragments_evicted, 0u);
  EXPECT_GT(h_.logs.Count("reason=budget"), 0u);
  // The newest fragment of each stream survived; the evicted ones are gone, not damaged.
  size_t readable = 0;
  for (const Acked& a : acked_) {
    Result<std::string> got = h_.a().ReadFragment(StreamRef::Name(a.stream), a.number);
    if (got.ok()) {
      EXPECT_EQ(*got, MakeBytes(a.seed, a.size));
      ++readable;
    } else {
      EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().ToString();
    }
  }
  EXPECT_GT(readable, 9u);
  EXPECT_EQ(readable + st.fragments_evicted, acked_.size());
  EXPECT_TRUE(h_.a().Verify().ok());
}

TEST_F(FaultInjectionTest, PermissionDeniedOnANewSegment) {
  Burst(3, 0, 100);
  h_.Create("d");
  env_.RefuseOpens(true);
  Result<FragmentInfo> f = AppendSync(h_.a(), "d", MakeFragment(kStartUs, 100, 1));
  EXPECT_EQ(f.status().code(), Code::kPermissionDenied) << f.status().ToString();
  ExpectAckedIntact();
  env_.RefuseOpens(false);
  EXPECT_TRUE(AppendSync(h_.a(), "d", MakeFragment(kStartUs, 100, 1)).ok());
}

// Opening on a read-only file system is refused with a message that says so (SQLite alone
// would say only that it cannot open the database file); writable again, it opens with
// everything acknowledged intact.
TEST_F(FaultInjectionTest, ReadOnlyFileSystemIsRefusedPlainlyAtOpen) {
  Burst(3, 0, 100);
  h_.Close();
  env_.SetReadOnly(true);
  Status s = h_.Open(&env_);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.ToString().find("read-only file system"), std::string::npos) << s.ToString();
  env_.SetReadOnly(false);
  ASSERT_TRUE(h_.Open(&env_).ok());
  ExpectAckedIntact();
}

}  // namespace
}  // namespace streamarc::archive::testing
