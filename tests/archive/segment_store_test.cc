// The local segment store on its own: range reads, readers that outlive removal, hole
// punching through a fault Env, directory syncs for new segments, and orphan removal.
#include "archive/segment_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/archive/fault_env.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive {
namespace {

using testing::FaultEnv;
using testing::MakeBytes;

// Counts directory syncs and forwards everything else to the POSIX env.
class CountingEnv final : public Env {
 public:
  explicit CountingEnv(Env& base) : base_(base) {}
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& p) override {
    return base_.OpenWritable(p);
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenReadable(const std::string& p) override {
    return base_.OpenReadable(p);
  }
  Result<uint64_t> FileSize(const std::string& p) override { return base_.FileSize(p); }
  Status TruncateFile(const std::string& p, uint64_t n) override {
    return base_.TruncateFile(p, n);
  }
  Status RemoveFile(const std::string& p) override { return base_.RemoveFile(p); }
  Status CreateDirs(const std::string& p) override { return base_.CreateDirs(p); }
  Status RemoveDir(const std::string& p) override { return base_.RemoveDir(p); }
  Status SyncDir(const std::string& p) override {
    synced.insert(p);
    ++syncs;
    return base_.SyncDir(p);
  }
  Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return base_.ListDir(p);
  }
  Result<DiskSpace> GetDiskSpace(const std::string& p) override { return base_.GetDiskSpace(p); }

  std::set<std::string> synced;
  int syncs = 0;

 private:
  Env& base_;
};

class SegmentStoreTest : public ::testing::Test {
 protected:
  std::string Root() const { return dir_.path() + "/archive"; }
  std::unique_ptr<SegmentStore> Store(Env& env, bool sync = true) {
    return NewLocalSegmentStore(env, Root(), sync, logger_);
  }
  // A segment holding `bytes`, synced.
  void Put(SegmentStore& store, const SegmentKey& key, const std::string& bytes) {
    auto w = store.Create(key);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    ASSERT_TRUE((*w)->Sync().ok());
  }
  static std::string ReadAll(const SegmentReader& r, uint64_t offset, size_t n) {
    std::string out(n, '\0');
    Status s = r.Read(offset, n, out.data());
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  streamarc::testing::TempDir dir_;
  ManualClock clock_{testing::kStartUs};
  Logger logger_{clock_, LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<Env> posix_ = NewPosixEnv();
};

TEST_F(SegmentStoreTest, ReadsAnyRangeAndRefusesPastTheEnd) {
  auto store = Store(*posix_);
  const std::string bytes = MakeBytes(1, 10'000);
  Put(*store, {7, 3}, bytes);
  auto r = store->Open({7, 3});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r, 0, 10), bytes.substr(0, 10));
  EXPECT_EQ(ReadAll(**r, 4321, 5000), bytes.substr(4321, 5000));
  EXPECT_EQ(ReadAll(**r, 9999, 1), bytes.substr(9999, 1));
  std::string past(2, '\0');
  EXPECT_EQ((*r)->Read(9999, 2, past.data()).code(), Code::kDataLoss);
  EXPECT_EQ(*store->Size({7, 3}), 10'000u);
  // Local files give sendfile a descriptor of the same bytes.
  ASSERT_GE((*r)->fd(), 0);
  std::string via_fd(100, '\0');
  ASSERT_EQ(::pread((*r)->fd(), via_fd.data(), via_fd.size(), 500), 100);
  EXPECT_EQ(via_fd, bytes.substr(500, 100));
  EXPECT_EQ(store->Open({7, 4}).status().code(), Code::kNotFound);
  EXPECT_EQ(store->Size({8, 3}).status().code(), Code::kNotFound);
}

TEST_F(SegmentStoreTest, ReaderOutlivesRemoval) {
  auto store = Store(*posix_);
  const std::string bytes = MakeBytes(2, 3000);
  Put(*store, {1, 1}, bytes);
  auto r = store->Open({1, 1});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store->Remove({1, 1}).ok());
  EXPECT_EQ(ReadAll(**r, 100, 2000), bytes.substr(100, 2000));
  EXPECT_EQ(store->Open({1, 1}).status().code(), Code::kNotFound);
  EXPECT_EQ(store->Remove({1, 1}).code(), Code::kNotFound);
}

TEST_F(SegmentStoreTest, CreateEmptiesALeftoverAndTruncateCutsIt) {
  auto store = Store(*posix_);
  Put(*store, {1, 5}, MakeBytes(3, 4000));
  auto w = store->Create({1, 5});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Size(), 0u);
  ASSERT_TRUE((*w)->Append("abcdef").ok());
  w->reset();
  EXPECT_EQ(*store->Size({1, 5}), 6u);
  ASSERT_TRUE(store->Truncate({1, 5}, 2).ok());
  auto r = store->Open({1, 5});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*store->Size({1, 5}), 2u);
  EXPECT_EQ(ReadAll(**r, 0, 2), "ab");
}

TEST_F(SegmentStoreTest, PunchedRangeReadsAsZerosAndFreesSpace) {
  FaultEnv env(*posix_);
  env.SetSpaceLimit(1 << 20);
  auto store = Store(env);
  const std::string bytes = MakeBytes(4, 64 << 10);
  Put(*store, {2, 9}, bytes);
  const uint64_t free_before = env.GetDiskSpace(Root())->free_bytes;
  Status punch = store->PunchHole({2, 9}, 4096, 32 << 10);
  if (punch.code() == Code::kFailedPrecondition) GTEST_SKIP() << "no hole punching here";
  ASSERT_TRUE(punch.ok()) << punch.ToString();
  EXPECT_EQ(env.GetDiskSpace(Root())->free_bytes, free_before + (32 << 10));
  auto r = store->Open({2, 9});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*store->Size({2, 9}), bytes.size());  // the size stays
  EXPECT_EQ(ReadAll(**r, 4096, 32 << 10), std::string(32 << 10, '\0'));
  EXPECT_EQ(ReadAll(**r, 0, 4096), bytes.substr(0, 4096));
  EXPECT_EQ(ReadAll(**r, 4096 + (32 << 10), 1000), bytes.substr(4096 + (32 << 10), 1000));
}

TEST_F(SegmentStoreTest, PunchRefusedByTheFileSystemIsFailedPrecondition) {
  FaultEnv env(*posix_);
  env.SetPunchHoleSupported(false);
  auto store = Store(env);
  const std::string bytes = MakeBytes(5, 8192);
  Put(*store, {2, 1}, bytes);
  EXPECT_EQ(store->PunchHole({2, 1}, 0, 4096).code(), Code::kFailedPrecondition);
  auto r = store->Open({2, 1});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(**r, 0, bytes.size()), bytes);  // untouched
}

TEST_F(SegmentStoreTest, SyncCreatedSyncsEachNewDirectoryOnce) {
  CountingEnv env(*posix_);
  auto store = Store(env);
  Put(*store, {1, 1}, "a");
  Put(*store, {1, 2}, "b");
  Put(*store, {2, 3}, "c");
  EXPECT_EQ(env.syncs, 0);  // not before the group commit asks
  ASSERT_TRUE(store->SyncCreated().ok());
  EXPECT_EQ(env.synced, (std::set<std::string>{Root() + "/segments", Root() + "/segments/1",
                                               Root() + "/segments/2"}));
  EXPECT_EQ(env.syncs, 3);
  ASSERT_TRUE(store->SyncCreated().ok());
  EXPECT_EQ(env.syncs, 3);  // nothing new

  CountingEnv unsynced(*posix_);
  auto fast = Store(unsynced, /*sync=*/false);
  Put(*fast, {3, 4}, "d");
  ASSERT_TRUE(fast->SyncCreated().ok());
  EXPECT_EQ(unsynced.syncs, 0);
}

TEST_F(SegmentStoreTest, SyncCreatedSegmentSyncsItsDirectoryAndTheNextSyncCreatedSkipsIt) {
  CountingEnv env(*posix_);
  auto store = Store(env);
  Put(*store, {1, 1}, "a");
  Put(*store, {2, 2}, "b");
  ASSERT_TRUE(store->SyncCreatedSegment({1, 1}).ok());
  EXPECT_EQ(env.synced, (std::set<std::string>{Root() + "/segments/1"}));
  ASSERT_TRUE(store->SyncCreated().ok());
  EXPECT_EQ(env.synced, (std::set<std::string>{Root() + "/segments", Root() + "/segments/1",
                                               Root() + "/segments/2"}));
  EXPECT_EQ(env.syncs, 3);  // segments/1 once

  CountingEnv unsynced(*posix_);
  auto fast = Store(unsynced, /*sync=*/false);
  Put(*fast, {3, 4}, "d");
  ASSERT_TRUE(fast->SyncCreatedSegment({3, 4}).ok());
  EXPECT_EQ(unsynced.syncs, 0);
}

TEST_F(SegmentStoreTest, RemoveOrphansKeepsOnlyWhatTheIndexKnows) {
  auto store = Store(*posix_);
  Put(*store, {1, 1}, "keep");
  Put(*store, {1, 2}, "orphan of a known stream");
  Put(*store, {2, 3}, "segment of an unknown stream");
  std::ofstream(Root() + "/segments/1/notes.txt") << "stray";
  std::ofstream(Root() + "/segments/junk") << "stray plain file";
  auto removed = store->RemoveOrphans([](int64_t stream) { return stream == 1; },
                                      [](const SegmentKey& k) {
                                        return k == SegmentKey{1, 1};
                                      });
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 4u);
  EXPECT_TRUE(store->Open({1, 1}).ok());
  EXPECT_EQ(store->Open({1, 2}).status().code(), Code::kNotFound);
  EXPECT_EQ(store->Open({2, 3}).status().code(), Code::kNotFound);
  auto entries = posix_->ListDir(Root() + "/segments");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, std::vector<std::string>{"1"});  // stream 2's directory went too
  store->RemoveStream(1);                              // not empty: stays
  EXPECT_TRUE(store->Open({1, 1}).ok());
}

}  // namespace
}  // namespace streamarc::archive
