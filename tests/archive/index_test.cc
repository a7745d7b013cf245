// The fragment index and stream registry on their own, without the commit pipeline: query
// boundaries, what retention and eviction select and delete, and the registry's rows and
// deletion events. On SQLite, and on PostgreSQL in the "pg." run (STREAMARC_TEST_PG).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

#include "archive/pg.h"
#include "archive/sqlite.h"
#include "archive/sqlite_backend.h"
#include "tests/archive/test_util.h"
#include "tests/support/pg_database.h"

namespace streamarc::archive {
namespace {

constexpr int64_t kStream = 1;
constexpr int64_t kNoCutoff = INT64_MIN;

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SqlBackend> b = pg_ ? OpenPgBackend(pg_->url(), /*read_only=*/false)
                               : OpenSqliteBackend(Path(), /*sync=*/false);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(*b);
  }
  std::string Path() const { return dir_.path() + "/index.sqlite"; }
  FragmentIndex& index() { return *backend_.index; }
  StreamRegistry& registry() { return *backend_.registry; }

  // Fragment `seq` of kStream in segment `segment`: 100 bytes at offset 56 + 124 * i.
  FragmentInput& Input(int64_t server_us, int64_t producer_us, std::string track = "") {
    inputs_.push_back(std::make_unique<FragmentInput>());
    FragmentInput& in = *inputs_.back();
    in.bytes.assign(100, 'x');
    in.server_timestamp_us = server_us;
    in.producer_timestamp_us = producer_us;
    in.duration_us = 1000;
    in.track_info = std::move(track);
    return in;
  }
  // Commits fragments seq first..first+n-1 into one segment, server times `server_us[i]`.
  Status CommitRun(int64_t segment, uint64_t first, const std::vector<int64_t>& server_us,
                   const std::string& track = "", bool sealed = false) {
    std::vector<NewFragmentRow> rows;
    SegmentRow seg;
    seg.id = segment;
    seg.stream_id = kStream;
    seg.first_seq = first;
    seg.min_server_us = server_us.front();
    seg.max_server_us = server_us.back();
    for (size_t i = 0; i < server_us.size(); ++i) {
      const uint64_t offset = 56 + 124 * i;
      rows.push_back(NewFragmentRow{first + i, kStream, segment, offset,
                                    &Input(server_us[i], 10 * server_us[i], track)});
      seg.last_seq = first + i;
      seg.committed_end = offset + 100;
    }
    RETURN_IF_ERROR(index().Commit(rows, {seg}));
    if (sealed) RETURN_IF_ERROR(index().SealSegment(segment));
    return Status::Ok();
  }
  static std::vector<uint64_t> Seqs(const std::vector<IndexedFragment>& fs) {
    std::vector<uint64_t> out;
    for (const IndexedFragment& f : fs) out.push_back(f.seq);
    return out;
  }
  int64_t CountRows(const std::string& table) {
    if (pg_) {
      Result<int64_t> n = pg_->QueryInt("SELECT COUNT(*) FROM " + table);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      return n.ok() ? *n : -1;
    }
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT COUNT(*) FROM " + table;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }

  streamarc::testing::TempDir dir_;
  std::unique_ptr<streamarc::testing::PgTestDatabase> pg_ =
      streamarc::testing::PgTestDatabase::FromEnvironment();
  SqlBackend backend_;
  std::vector<std::unique_ptr<FragmentInput>> inputs_;
};

TEST_F(IndexTest, ListIsStrictlyAfterTheCursorAndInclusiveAtTheEnd) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200, 200, 300}).ok());
  // From the start: after (200, -1) takes both fragments at 200.
  auto r = index().List(kStream, IndexTime::kServer, 200, -1, 200, kNoCutoff, 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Seqs(*r), (std::vector<uint64_t>{2, 3}));
  // Continuing after (200, 2): the tie is broken by seq.
  EXPECT_EQ(Seqs(*index().List(kStream, IndexTime::kServer, 200, 2, 300, kNoCutoff, 10)),
            (std::vector<uint64_t>{3, 4}));
  // The limit, and the producer clock (10x the server times here).
  EXPECT_EQ(Seqs(*index().List(kStream, IndexTime::kServer, 0, -1, 1000, kNoCutoff, 2)),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Seqs(*index().List(kStream, IndexTime::kProducer, 1000, -1, 2000, kNoCutoff, 10)),
            (std::vector<uint64_t>{1, 2, 3}));
  // A cutoff equal to a server time keeps it; one above hides it.
  EXPECT_EQ(Seqs(*index().List(kStream, IndexTime::kServer, 0, -1, 1000, 200, 10)),
            (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(Seqs(*index().List(kStream, IndexTime::kServer, 0, -1, 1000, 201, 10)),
            (std::vector<uint64_t>{4}));
  EXPECT_TRUE(index().List(kStream + 1, IndexTime::kServer, 0, -1, 1000, kNoCutoff, 10)->empty());
}

TEST_F(IndexTest, PointQueriesHonourTheCutoff) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200, 300}).ok());
  auto got = index().Get(kStream, 2, 200);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->server_us, 200);
  EXPECT_EQ((*got)->producer_us, 2000);
  EXPECT_EQ((*got)->size_bytes, 100u);
  EXPECT_FALSE(index().Get(kStream, 2, 201)->has_value());
  EXPECT_FALSE(index().Get(kStream + 1, 2, kNoCutoff)->has_value());

  auto loc = index().Locate(kStream, 3, kNoCutoff);
  ASSERT_TRUE(loc.ok() && loc->has_value());
  EXPECT_EQ((*loc)->segment_id, 1);
  EXPECT_EQ((*loc)->offset, 56u + 2 * 124);
  EXPECT_EQ((*loc)->length, 100u);
  EXPECT_FALSE(index().Locate(kStream, 3, 301)->has_value());

  EXPECT_EQ((*index().FirstAtOrAfter(kStream, IndexTime::kServer, 200, kNoCutoff))->seq, 2u);
  EXPECT_EQ((*index().FirstAtOrAfter(kStream, IndexTime::kServer, 201, kNoCutoff))->seq, 3u);
  EXPECT_FALSE(index().FirstAtOrAfter(kStream, IndexTime::kServer, 301, kNoCutoff)->has_value());
  EXPECT_EQ((*index().Latest(kStream, kNoCutoff))->seq, 3u);
  EXPECT_FALSE(index().Latest(kStream, 301)->has_value());
  EXPECT_EQ(Seqs(*index().After(kStream, 1, kNoCutoff, 10)), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Seqs(*index().After(kStream, 0, kNoCutoff, 1)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(index().After(kStream, 3, kNoCutoff, 10)->empty());
}

TEST_F(IndexTest, TrackInfosAreSharedAndAFailedCommitForgetsItsOwn) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200}, "tracks-A").ok());
  ASSERT_TRUE(CommitRun(1, 3, {300}, "tracks-A").ok());
  EXPECT_EQ(CountRows("track_infos"), 1);
  // seq 3 exists: this commit fails and rolls back, its new track info with it.
  EXPECT_FALSE(CommitRun(1, 3, {400}, "tracks-B").ok());
  EXPECT_EQ(CountRows("track_infos"), 1);
  EXPECT_EQ(CountRows("fragments"), 3);
  // So the next commit must store tracks-B again rather than point at the lost row.
  ASSERT_TRUE(CommitRun(1, 4, {400}, "tracks-B").ok());
  auto got = index().Get(kStream, 4, kNoCutoff);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->track_info, "tracks-B");
  EXPECT_EQ((*index().Get(kStream, 1, kNoCutoff))->track_info, "tracks-A");
}

TEST_F(IndexTest, EvictPrefixMovesTheSegmentForward) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200, 300, 400}).ok());
  auto ev = index().EvictPrefix(1, kStream, 3);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->fragments, 2u);
  EXPECT_EQ(ev->payload_bytes, 200u);
  EXPECT_EQ(ev->end, 56u + 124 + 100);  // the end of seq 2's payload
  EXPECT_EQ(ev->first_seq, 3u);
  EXPECT_EQ(ev->min_server_us, 300);
  EXPECT_FALSE(index().Get(kStream, 2, kNoCutoff)->has_value());
  EXPECT_TRUE(index().Get(kStream, 3, kNoCutoff)->has_value());
  // Nothing left below 3: a second eviction takes nothing.
  EXPECT_EQ(index().EvictPrefix(1, kStream, 3)->fragments, 0u);
  auto segs = index().SegmentsByAge(INT64_MIN, -1, 10);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_EQ((*segs)[0].first_seq, 3u);
  EXPECT_EQ((*segs)[0].min_server_us, 300);
  // Stored bytes count from the first kept record on (the prefix is punched out).
  const uint64_t committed_end = 56 + 3 * 124 + 100;
  EXPECT_EQ(index().Totals()->stored_bytes, committed_end - (56 + 2 * 124) + 56);
}

TEST_F(IndexTest, RetentionSelectsSealedSegmentsOlderThanTheirStreamsCutoff) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200}, "", /*sealed=*/true).ok());
  ASSERT_TRUE(CommitRun(2, 3, {300, 400}, "", /*sealed=*/true).ok());
  ASSERT_TRUE(CommitRun(3, 5, {100}, "", /*sealed=*/false).ok());  // open: never expires
  EXPECT_EQ(*index().ExpiredSegments({{kStream, 200}}), std::vector<int64_t>{});
  EXPECT_EQ(*index().ExpiredSegments({{kStream, 201}}), std::vector<int64_t>{1});
  EXPECT_EQ(*index().ExpiredSegments({{kStream, 1000}}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*index().ExpiredSegments({{kStream + 1, 1000}}), std::vector<int64_t>{});

  auto gone = index().DeleteSegment(1);
  ASSERT_TRUE(gone.ok() && gone->has_value()) << gone.status().ToString();
  EXPECT_EQ((*gone)->stream_id, kStream);
  EXPECT_EQ((*gone)->fragments, 2u);
  EXPECT_EQ((*gone)->bytes, 56u + 124 + 100);
  EXPECT_FALSE(index().DeleteSegment(1)->has_value());  // already gone
  EXPECT_FALSE(index().Get(kStream, 1, kNoCutoff)->has_value());
  EXPECT_TRUE(index().Get(kStream, 3, kNoCutoff)->has_value());
  EXPECT_EQ(*index().StreamSegments(kStream), (std::vector<int64_t>{2, 3}));
  ASSERT_TRUE(index().DeleteStreamRows(kStream).ok());
  EXPECT_TRUE(index().StreamSegments(kStream)->empty());
  EXPECT_EQ(CountRows("fragments"), 0);
}

TEST_F(IndexTest, ALargeSegmentIsDeletedInChunksEachLeavingAConsistentPrefixCut) {
  // 600 rows: three transactions of at most 256, the segment's row going with the last.
  std::vector<int64_t> times;
  for (int64_t i = 1; i <= 600; ++i) times.push_back(100 * i);
  ASSERT_TRUE(CommitRun(1, 1, times, "", /*sealed=*/true).ok());
  ASSERT_TRUE(CommitRun(2, 601, {60'100}, "", /*sealed=*/true).ok());
  std::vector<std::pair<uint64_t, int64_t>> between;  // (first_seq, min_server_us) seen
  auto gone = index().DeleteSegment(1, [&] {
    // Between two chunks the index is as after an eviction of the segment's prefix.
    auto segs = index().SegmentsByAge(INT64_MIN, -1, 10);
    ASSERT_TRUE(segs.ok());
    ASSERT_EQ(segs->size(), 2u);
    between.emplace_back((*segs)[0].first_seq, (*segs)[0].min_server_us);
    const uint64_t first = (*segs)[0].first_seq;
    EXPECT_FALSE(index().Get(kStream, first - 1, kNoCutoff)->has_value());
    EXPECT_TRUE(index().Get(kStream, first, kNoCutoff)->has_value());
  });
  ASSERT_TRUE(gone.ok() && gone->has_value()) << gone.status().ToString();
  EXPECT_EQ((*gone)->fragments, 600u);
  EXPECT_EQ((*gone)->bytes, 56u + 599 * 124 + 100);
  EXPECT_EQ(between, (std::vector<std::pair<uint64_t, int64_t>>{{257, 25'700}, {513, 51'300}}));
  EXPECT_EQ(*index().StreamSegments(kStream), std::vector<int64_t>{2});
  EXPECT_EQ(CountRows("fragments"), 1);
  EXPECT_TRUE(index().Get(kStream, 601, kNoCutoff)->has_value());
}

TEST_F(IndexTest, ASegmentDeletedByAnotherBetweenTwoChunksIsCountedOnce) {
  std::vector<int64_t> times;
  for (int64_t i = 1; i <= 600; ++i) times.push_back(100 * i);
  ASSERT_TRUE(CommitRun(1, 1, times, "", /*sealed=*/true).ok());
  Result<std::optional<DeletedSegment>> inner = std::optional<DeletedSegment>();
  auto outer = index().DeleteSegment(1, [&] {
    if (!inner->has_value()) inner = index().DeleteSegment(1);  // eviction, meanwhile
  });
  ASSERT_TRUE(inner.ok() && inner->has_value()) << inner.status().ToString();
  EXPECT_EQ((*inner)->fragments, 600u - 256);
  ASSERT_TRUE(outer.ok()) << outer.status().ToString();
  EXPECT_FALSE(outer->has_value());  // the other deletion accounted for the segment
  EXPECT_EQ(CountRows("fragments"), 0);
  EXPECT_TRUE(index().StreamSegments(kStream)->empty());
}

TEST_F(IndexTest, NewestFirstStopsWhenAsked) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200, 300, 400}).ok());
  std::vector<uint64_t> seen;
  ASSERT_TRUE(index()
                  .ForEachNewest(kStream, 10,
                                 [&](uint64_t seq, int64_t duration) {
                                   EXPECT_EQ(duration, 1000);
                                   seen.push_back(seq);
                                   return seen.size() < 2;
                                 })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{4, 3}));
  seen.clear();
  ASSERT_TRUE(index()
                  .ForEachNewest(kStream, 3,
                                 [&](uint64_t seq, int64_t) {
                                   seen.push_back(seq);
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{4, 3, 2}));
}

TEST_F(IndexTest, SnapshotListsEachSegmentsFragmentsInOrder) {
  ASSERT_TRUE(CommitRun(1, 1, {100, 200}).ok());
  ASSERT_TRUE(CommitRun(2, 3, {300}).ok());
  std::vector<std::pair<int64_t, std::vector<uint64_t>>> seen;
  ASSERT_TRUE(index()
                  .ForEachSegmentSnapshot(
                      [&](const SegmentRow& seg, const std::vector<FragmentLocation>& fs) {
                        std::vector<uint64_t> seqs;
                        for (const FragmentLocation& f : fs) seqs.push_back(f.seq);
                        seen.emplace_back(seg.id, seqs);
                        return Status::Ok();
                      })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, std::vector<uint64_t>>>{{1, {1, 2}}, {2, {3}}}));
}

StreamInfo Info(const std::string& name) {
  StreamInfo info;
  info.name = name;
  info.arn = "arn:" + name;
  info.version = "v1";
  info.retention_hours = 2;
  info.tags = {{"a", "1"}};
  return info;
}

TEST_F(IndexTest, RegistryStoresListsAndForgets) {
  EXPECT_EQ(*registry().ArchiveId(42), 42u);
  EXPECT_EQ(*registry().ArchiveId(7), 42u);  // kept from the first time
  auto a = registry().Insert(Info("cam-a"));
  auto b = registry().Insert(Info("cam-b"));
  auto c = registry().Insert(Info("door"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(registry().Insert(Info("cam-a")).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(*registry().List("cam", "", 10), (std::vector<int64_t>{*a, *b}));
  EXPECT_EQ(*registry().List("", "cam-a", 10), (std::vector<int64_t>{*b, *c}));
  EXPECT_EQ(*registry().List("", "", 1), std::vector<int64_t>{*a});

  ASSERT_TRUE(registry().SetTags(*a, {{"a", "2"}, {"b", "3"}}).ok());
  ASSERT_TRUE(registry().RemoveTags(*a, {"b", "absent"}).ok());
  EXPECT_EQ(*registry().Tags(*a), (std::map<std::string, std::string>{{"a", "2"}}));

  StreamInfo changed = Info("cam-b");
  changed.version = "v2";
  changed.retention_hours = 5;
  changed.device_name = "dev";
  ASSERT_TRUE(registry().Update(*b, changed).ok());
  ASSERT_TRUE(registry().MarkDeleting(*c).ok());
  EXPECT_EQ(*registry().List("", "", 10), (std::vector<int64_t>{*a, *b}));

  auto all = registry().LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (const StreamRecord& r : *all) {
    if (r.id == *b) {
      EXPECT_EQ(r.info.version, "v2");
      EXPECT_EQ(r.info.retention_hours, 5);
      EXPECT_EQ(r.info.device_name, "dev");
    }
    if (r.id == *c) {
      EXPECT_EQ(r.info.status, StreamStatus::kDeleting);
    }
  }
  ASSERT_TRUE(registry().Remove(*c).ok());
  EXPECT_EQ(registry().LoadAll()->size(), 2u);
  EXPECT_TRUE(registry().Tags(*c)->empty());
}

TEST_F(IndexTest, DeletionEventsReachTheListenersStillRegistered) {
  std::vector<std::string> first, second;
  const uint64_t one =
      registry().AddDeletedListener([&](const std::string& n) { first.push_back(n); });
  registry().AddDeletedListener([&](const std::string& n) { second.push_back(n); });
  registry().PublishDeleted("cam");
  registry().RemoveDeletedListener(one);
  registry().PublishDeleted("door");
  EXPECT_EQ(first, std::vector<std::string>{"cam"});
  EXPECT_EQ(second, (std::vector<std::string>{"cam", "door"}));
}

// A log grown while a reader held an old snapshot (checkpoints cannot pass it) is cut back to
// kWalSizeLimit once the reader is gone and a checkpoint has copied it all.
TEST(SqliteDbTest, AWalGrownPastTheLimitIsCutBackOnceCheckpointed) {
  if (std::getenv("STREAMARC_TEST_PG") != nullptr) GTEST_SKIP() << "SQLite's own log";
  streamarc::testing::TempDir dir;
  const std::string path = dir.path() + "/db.sqlite";
  auto writer = SqliteDb::Open(path, /*create=*/true, /*sync=*/false);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Exec("CREATE TABLE t(x BLOB)").ok());
  auto reader = SqliteDb::Open(path, /*create=*/false, /*sync=*/false);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_TRUE((*reader)->Exec("BEGIN").ok());
  ASSERT_TRUE((*reader)->Exec("SELECT count(*) FROM t").ok());  // holds its snapshot
  const int64_t rows = kWalSizeLimit / (1 << 20) * 2;
  for (int64_t i = 0; i < rows; ++i) {
    ASSERT_TRUE((*writer)->Exec("INSERT INTO t VALUES (zeroblob(1048576))").ok());
  }
  const std::string wal = path + "-wal";
  ASSERT_GT(static_cast<int64_t>(std::filesystem::file_size(wal)), kWalSizeLimit);
  ASSERT_TRUE((*reader)->Exec("COMMIT").ok());
  ASSERT_TRUE((*writer)->Checkpoint().ok());
  // The next write starts the log over; the one after it finds it longer than the limit.
  ASSERT_TRUE((*writer)->Exec("DELETE FROM t").ok());
  ASSERT_TRUE((*writer)->Exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_LE(static_cast<int64_t>(std::filesystem::file_size(wal)), kWalSizeLimit);
}

}  // namespace
}  // namespace streamarc::archive
