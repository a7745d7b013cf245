#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> SegmentFiles(const std::string& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root + "/segments")) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AppendBytes(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << data;
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("a");
    h_.Create("b");
    for (int i = 0; i < 5; ++i) {
      a_.push_back(AppendSync(h_.a(), "a", MakeFragment(kStartUs + i, 3000, i))->number);
      b_.push_back(AppendSync(h_.a(), "b", MakeFragment(kStartUs + i, 3000, 100 + i))->number);
    }
    h_.Close();
  }
  void ExpectAllReadable(const std::string& stream, const std::vector<std::string>& numbers,
                         uint64_t seed0) {
    for (size_t i = 0; i < numbers.size(); ++i) {
      Result<std::string> got = h_.a().ReadFragment(StreamRef::Name(stream), numbers[i]);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, MakeBytes(seed0 + i, 3000));
    }
  }
  Harness h_;
  std::vector<std::string> a_, b_;
};

TEST_F(RecoveryTest, TruncatesBytesBeyondTheLastCommittedFragment) {
  std::vector<fs::path> files = SegmentFiles(h_.options.root);
  ASSERT_EQ(files.size(), 2u);
  const auto size = fs::file_size(files[0]);
  AppendBytes(files[0], std::string(777, 'z'));  // a torn, never-committed append
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().Recovery().bytes_truncated, 777u);
  EXPECT_EQ(fs::file_size(files[0]), size);
  ExpectAllReadable("a", a_, 0);
  ExpectAllReadable("b", b_, 100);
  EXPECT_TRUE(h_.a().Verify().ok());
  EXPECT_TRUE(AppendSync(h_.a(), "a", MakeFragment(kStartUs + 9, 10, 9)).ok());
  EXPECT_TRUE(h_.a().Verify().ok());
}

TEST_F(RecoveryTest, RemovesOrphanFiles) {
  const std::string seg = h_.options.root + "/segments";
  const fs::path stream_dir = SegmentFiles(h_.options.root)[0].parent_path();
  AppendBytes(stream_dir / "999.seg", "orphan segment");
  AppendBytes(stream_dir / "junk.tmp", "junk");
  fs::create_directories(seg + "/77");
  AppendBytes(seg + "/77/1.seg", "unknown stream");
  AppendBytes(seg + "/stray", "stray file");
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().Recovery().orphan_files_removed, 4u);
  EXPECT_FALSE(fs::exists(stream_dir / "999.seg"));
  EXPECT_FALSE(fs::exists(seg + "/77"));
  EXPECT_FALSE(fs::exists(seg + "/stray"));
  ExpectAllReadable("a", a_, 0);
  EXPECT_TRUE(h_.a().Verify().ok());
}

TEST_F(RecoveryTest, MissingSegmentIsDataLossWhileOtherStreamsServe) {
  // Stream "a" has id 1: its directory is segments/1.
  for (const fs::path& p : SegmentFiles(h_.options.root)) {
    if (p.parent_path().filename() == "1") fs::remove(p);
  }
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().Recovery().missing_segments, 1u);
  EXPECT_EQ(h_.a().ReadFragment(StreamRef::Name("a"), a_[0]).status().code(), Code::kDataLoss);
  ExpectAllReadable("b", b_, 100);
  EXPECT_EQ(h_.a().Verify().code(), Code::kDataLoss);
  // Ingest continues on the damaged stream, into a new segment.
  Result<FragmentInfo> f = AppendSync(h_.a(), "a", MakeFragment(kStartUs + 9, 10, 9));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(h_.a().ReadFragment(StreamRef::Name("a"), f->number).ok());
}

TEST_F(RecoveryTest, CorruptSegmentBytesAreDetected) {
  fs::path file = SegmentFiles(h_.options.root)[0];
  {
    std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(32 + 24 + 100);  // inside the first fragment's payload
    io.put('\xff');
    io.seekp(32 + 24 + 101);
    io.put('\x00');
  }
  ASSERT_TRUE(h_.Open().ok());
  Result<std::string> bad = h_.a().ReadFragment(StreamRef::Name("a"), a_[0]);
  EXPECT_EQ(bad.status().code(), Code::kDataLoss);
  EXPECT_NE(bad.status().message().find("checksum"), std::string::npos);
  EXPECT_TRUE(h_.a().ReadFragment(StreamRef::Name("a"), a_[1]).ok());
  EXPECT_EQ(h_.a().Verify().code(), Code::kDataLoss);
}

TEST_F(RecoveryTest, CorruptIndexIsDataLoss) {
  const std::string db = h_.options.root + "/index.sqlite";
  fs::remove(db + "-wal");
  fs::remove(db + "-shm");
  streamarc::testing::WriteFileOrDie(db, std::string(8192, 'x'));
  Status s = h_.Open();
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
}

TEST_F(RecoveryTest, DamagedOpenSegmentIsReportedAndTheRestServes) {
  // Pretend stream "a"'s segment was open at a crash, and its header got damaged.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((h_.options.root + "/index.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE segments SET sealed=0 WHERE stream_id=1", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  for (const fs::path& p : SegmentFiles(h_.options.root)) {
    if (p.parent_path().filename() != "1") continue;
    std::fstream io(p, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(9);
    io.put('\x7f');
  }
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().Recovery().corrupt_segments, 1u);
  EXPECT_GT(h_.logs.Count("segment does not match its index"), 0u);
  ExpectAllReadable("b", b_, 100);
  EXPECT_EQ(h_.a().Verify().code(), Code::kDataLoss);
}

TEST_F(RecoveryTest, InterruptedStreamDeletionIsFinished) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((h_.options.root + "/index.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE streams SET status='DELETING' WHERE name='a'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().DescribeStream(StreamRef::Name("a")).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(h_.options.root + "/segments/1"));
  EXPECT_EQ(SegmentFiles(h_.options.root).size(), 1u);
  ExpectAllReadable("b", b_, 100);
  EXPECT_TRUE(h_.a().Verify().ok());
}

}  // namespace
}  // namespace streamarc::archive::testing
