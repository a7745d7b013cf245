// The segment store with a bucket (archive/tiered_segment_store.cc) on a real S3 server
// (s3rver, the s3_server fixture): what moves and when, reads from the bucket, removal,
// orphans, and an unreachable bucket.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "archive/segment.h"
#include "archive/segment_store.h"
#include "common/mutex.h"
#include "tests/archive/test_util.h"
#include "tests/support/subprocess.h"

namespace streamarc::archive {
namespace {

using testing::MakeBytes;

std::string S3Endpoint() {
  const char* file = std::getenv("STREAMARC_TEST_S3");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string endpoint;
  std::getline(in, endpoint);
  return endpoint;
}

// What the store told the archive, for a test to wait on.
struct Heard {
  Mutex mu;
  CondVar cv;
  std::set<SegmentKey> moved GUARDED_BY(mu);
  int failures GUARDED_BY(mu) = 0;

  bool WaitMoved(const SegmentKey& key) EXCLUDES(mu) {
    MutexLock lock(mu);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!moved.count(key)) {
      if (!cv.WaitUntil(mu, deadline)) return moved.count(key) > 0;
    }
    return true;
  }
  bool WaitFailures(int n) EXCLUDES(mu) {
    MutexLock lock(mu);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (failures < n) {
      if (!cv.WaitUntil(mu, deadline)) return failures >= n;
    }
    return true;
  }
};

class TieredStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (S3Endpoint().empty()) GTEST_SKIP() << "needs the s3_server fixture (STREAMARC_TEST_S3)";
    env_ = NewPosixEnv();
    // What OpenLocalArchive makes before the store is used.
    std::filesystem::create_directories(Root() + "/segments");
    config_.endpoint = S3Endpoint();
    config_.bucket = "tiers-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(config_.bucket.begin(), config_.bucket.end(), config_.bucket.begin(),
                   [](unsigned char c) { return std::isalnum(c) ? std::tolower(c) : '-'; });
    config_.bucket = config_.bucket.substr(0, 63);
    config_.access_key_id = "S3RVER";
    config_.secret_access_key = "S3RVER";
    auto client = objectstore::S3Client::Create(config_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    bucket_ = std::move(*client);
    ASSERT_TRUE(bucket_->EnsureBucket().ok());
  }

  std::string Root() const { return dir_.path() + "/archive"; }

  std::unique_ptr<SegmentStore> Store(std::shared_ptr<objectstore::S3Client> bucket,
                                      int64_t warm_after_us = 0) {
    return NewTieredSegmentStore(NewLocalSegmentStore(*env_, Root(), false, logger_),
                                 std::move(bucket), "", Root(), warm_after_us, clock_, logger_);
  }

  void Hooks(SegmentStore& store, std::function<bool(int64_t)> warm) {
    store.SetTierHooks(SegmentStore::TierHooks{
        .warm = std::move(warm),
        .moved =
            [this](const SegmentKey& key, uint64_t) {
              MutexLock lock(heard_.mu);
              heard_.moved.insert(key);
              heard_.cv.NotifyAll();
            },
        .upload_failed =
            [this](const SegmentKey&, const Status&) {
              MutexLock lock(heard_.mu);
              ++heard_.failures;
              heard_.cv.NotifyAll();
            },
    });
  }

  // A sealed segment holding `bytes`.
  void Write(SegmentStore& store, const SegmentKey& key, const std::string& bytes) {
    auto file = store.Create(key);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Append(bytes).ok());
    ASSERT_TRUE((*file)->Sync().ok());
    file->reset();
    ASSERT_TRUE(store.Seal(key).ok());
  }

  bool LocalFile(const SegmentKey& key) const {
    return std::filesystem::exists(SegmentPath(Root(), key.stream_id, key.segment_id));
  }

  streamarc::testing::TempDir dir_;
  std::unique_ptr<Env> env_;
  SystemClock clock_;
  Logger logger_{clock_, LogLevel::kError, [](std::string_view) {}};
  objectstore::S3Config config_;
  std::shared_ptr<objectstore::S3Client> bucket_;
  Heard heard_;
};

TEST_F(TieredStoreTest, WarmSealedSegmentMovesAndReadsBackFromTheBucket) {
  auto store = Store(bucket_);
  Hooks(*store, [](int64_t) { return true; });
  const SegmentKey key{7, 3};
  const std::string bytes = MakeBytes(11, 300'000);
  Write(*store, key, bytes);
  ASSERT_TRUE(heard_.WaitMoved(key));
  EXPECT_FALSE(LocalFile(key));
  EXPECT_FALSE(store->IsLocal(key));
  auto info = bucket_->Head("segments/7/3.seg");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, bytes.size());

  auto reader = store->Open(key);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->fd(), -1);
  std::string got(1000, '\0');
  ASSERT_TRUE((*reader)->Read(123'456, got.size(), got.data()).ok());
  EXPECT_EQ(got, bytes.substr(123'456, 1000));
  EXPECT_EQ((*reader)->Read(bytes.size() - 10, 20, got.data()).code(), Code::kDataLoss);
  auto size = store->Size(key);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, bytes.size());
  EXPECT_EQ(store->PunchHole(key, 100, 100).code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->Truncate(key, 100).code(), Code::kFailedPrecondition);

  ASSERT_TRUE(store->Remove(key).ok());
  EXPECT_EQ(bucket_->Head("segments/7/3.seg").status().code(), Code::kNotFound);
  EXPECT_EQ((*reader)->Read(0, 10, got.data()).code(), Code::kNotFound);
}

TEST_F(TieredStoreTest, HotSegmentsStayUntilTheirStreamTurnsWarm) {
  auto store = Store(bucket_);
  std::atomic<bool> warm{false};
  Hooks(*store, [&warm](int64_t) { return warm.load(); });
  const SegmentKey key{1, 1};
  const std::string bytes = MakeBytes(2, 5000);
  Write(*store, key, bytes);
  // An open segment never moves, WARM or not.
  const SegmentKey open{1, 2};
  auto file = store->Create(open);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(bytes).ok());

  store->TiersChanged();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a pass of the uploader
  EXPECT_TRUE(LocalFile(key));
  EXPECT_TRUE(store->IsLocal(key));
  auto listed = bucket_->List("segments/");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  warm = true;
  store->TiersChanged();
  ASSERT_TRUE(heard_.WaitMoved(key));
  EXPECT_FALSE(LocalFile(key));
  EXPECT_TRUE(LocalFile(open));
  EXPECT_TRUE(store->IsLocal(open));
}

TEST_F(TieredStoreTest, UnreachableBucketKeepsTheSegmentLocalAndReadable) {
  objectstore::S3Config away = config_;
  away.endpoint = "http://127.0.0.1:9";  // discard: nothing listens
  away.connect_timeout_ms = 500;
  auto client = objectstore::S3Client::Create(away);
  ASSERT_TRUE(client.ok());
  auto store = Store(std::move(*client));
  Hooks(*store, [](int64_t) { return true; });
  const SegmentKey key{2, 9};
  const std::string bytes = MakeBytes(5, 4096);
  Write(*store, key, bytes);
  // Tried at once, then again after 1 s.
  ASSERT_TRUE(heard_.WaitFailures(2));
  EXPECT_TRUE(LocalFile(key));
  EXPECT_TRUE(store->IsLocal(key));
  auto reader = store->Open(key);
  ASSERT_TRUE(reader.ok());
  EXPECT_GE((*reader)->fd(), 0);
  std::string got(bytes.size(), '\0');
  ASSERT_TRUE((*reader)->Read(0, got.size(), got.data()).ok());
  EXPECT_EQ(got, bytes);
  // Removed while waiting for its next try: the local file goes, nothing is sent.
  ASSERT_TRUE(store->Remove(key).ok());
  EXPECT_FALSE(LocalFile(key));
}

TEST_F(TieredStoreTest, RecoveryRemovesTheBucketsOrphansAndKeepsWhatTheIndexKnows) {
  for (const char* k :
       {"segments/1/5.seg", "segments/1/6.seg", "segments/99/1.seg", "segments/not-a-segment"}) {
    ASSERT_TRUE(bucket_->PutBytes(k, "x").ok()) << k;
  }
  auto store = Store(bucket_);
  auto removed = store->RemoveOrphans([](int64_t stream) { return stream == 1; },
                                      [](const SegmentKey& key) { return key.segment_id == 6; });
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 3u);
  auto listed = bucket_->List("segments/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "segments/1/6.seg");
  // Kept and not local: it is read from the bucket.
  EXPECT_FALSE(store->IsLocal(SegmentKey{1, 6}));
  auto size = store->Size(SegmentKey{1, 6});
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1u);
}

TEST_F(TieredStoreTest, LocalSegmentsFoundAtRecoveryMoveToo) {
  const SegmentKey key{4, 4};
  const std::string bytes = MakeBytes(4, 10'000);
  {
    auto local = NewLocalSegmentStore(*env_, Root(), false, logger_);
    auto file = local->Create(key);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(bytes).ok());
  }
  auto store = Store(bucket_);
  auto removed =
      store->RemoveOrphans([](int64_t) { return true; }, [](const SegmentKey&) { return true; });
  ASSERT_TRUE(removed.ok());
  Hooks(*store, [](int64_t) { return true; });
  ASSERT_TRUE(heard_.WaitMoved(key));
  std::string got(bytes.size(), '\0');
  auto reader = store->Open(key);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Read(0, got.size(), got.data()).ok());
  EXPECT_EQ(got, bytes);
}

// A segment's age at start counts from its file's last write, not from the restart.
TEST_F(TieredStoreTest, SegmentsFoundAtRecoveryKeepTheirAge) {
  const SegmentKey old_key{5, 1}, new_key{5, 2};
  const std::string bytes = MakeBytes(6, 10'000);
  {
    auto local = NewLocalSegmentStore(*env_, Root(), false, logger_);
    for (const SegmentKey& key : {old_key, new_key}) {
      auto file = local->Create(key);
      ASSERT_TRUE(file.ok());
      ASSERT_TRUE((*file)->Append(bytes).ok());
    }
  }
  // Last written two hours ago; warm after one hour.
  const auto two_hours_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(SegmentPath(Root(), old_key.stream_id, old_key.segment_id),
                                   two_hours_ago);
  auto store = Store(bucket_, 3'600'000'000);
  ASSERT_TRUE(
      store->RemoveOrphans([](int64_t) { return true; }, [](const SegmentKey&) { return true; })
          .ok());
  Hooks(*store, [](int64_t) { return true; });
  ASSERT_TRUE(heard_.WaitMoved(old_key));
  EXPECT_FALSE(LocalFile(old_key));
  EXPECT_TRUE(LocalFile(new_key));
  EXPECT_TRUE(store->IsLocal(new_key));
}

}  // namespace
}  // namespace streamarc::archive
