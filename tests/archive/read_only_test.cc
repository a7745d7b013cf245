// Read-only mode (Options::read_only): an archive served from a directory it must not write,
// such as a file system that went read-only or a forensic copy. Everything stored is served;
// every write is refused, saying why; and not one file or directory entry changes, with or
// without a write-ahead log the last writer left un-checkpointed.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

namespace fs = std::filesystem;

// Every entry under `root` (files and directories) with its size and modification time in
// nanoseconds: what must not change while the archive is read-only.
std::map<std::string, std::pair<uint64_t, int64_t>> Snapshot(const std::string& root) {
  std::map<std::string, std::pair<uint64_t, int64_t>> out;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    out[p.string()] = {static_cast<uint64_t>(st.st_size),
                       int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
  };
  add(root);
  for (const auto& e : fs::recursive_directory_iterator(root)) add(e.path());
  return out;
}

// Rows of `table` in the database file alone, ignoring any write-ahead log (immutable=1), or
// -1 when the file does not even hold the table yet.
int64_t RowsInMainFile(const std::string& db_path, const std::string& table) {
  sqlite3* db = nullptr;
  const std::string uri = "file:" + db_path + "?immutable=1";
  int64_t rows = -1;
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT count(*) FROM " + table;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      rows = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db);
  return rows;
}

class ReadOnlyArchiveTest : public ::testing::Test {
 protected:
  // Two streams with fragments, tags and an event, written by a normal archive (left open).
  void Record() {
    ASSERT_TRUE(h_.Open().ok());
    h_.Create("a");
    h_.Create("b");
    for (int i = 0; i < 6; ++i) {
      const int64_t t = kStartUs + i * 1'000'000;
      a_.push_back(AppendSync(h_.a(), "a", MakeFragment(t, 2000 + i, i))->number);
      b_.push_back(AppendSync(h_.a(), "b", MakeFragment(t, 3000 + i, 100 + i))->number);
    }
    ASSERT_TRUE(h_.a().TagStream(StreamRef::Name("a"), {{"site", "gate"}}).ok());
    EventInput ev;
    ev.label = "person";
    ev.start_us = kStartUs;
    ev.end_us = kStartUs + 500'000;
    ev.score = 0.9;
    ASSERT_TRUE(h_.a().PutEvents(StreamRef::Name("a"), {ev}).ok());
  }

  // Opens options.root read-only, as the daemon does.
  Status OpenReadOnly() {
    h_.options.read_only = true;
    h_.options.read_only_reason = "the file system is mounted read-only";
    return h_.Open();
  }

  // Everything Record stored is there, byte for byte, through every query.
  void ExpectServed() {
    Archive& a = h_.a();
    Result<StreamInfo> info = a.DescribeStream(StreamRef::Name("a"));
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->tags.at("site"), "gate");
    Result<std::vector<StreamInfo>> all = a.ListStreams("", "", 10);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 2u);
    for (const auto& [name, numbers, seed0, size0] :
         {std::tuple{"a", a_, 0, 2000}, std::tuple{"b", b_, 100, 3000}}) {
      ListRequest lr;
      lr.stream = StreamRef::Name(name);
      lr.type = TimestampType::kServer;
      lr.start_us = kStartUs;
      lr.end_us = kStartUs + 3'600'000'000;
      Result<ListResult> listed = a.ListFragments(lr);
      ASSERT_TRUE(listed.ok()) << listed.status().ToString();
      ASSERT_EQ(listed->fragments.size(), numbers.size()) << name;
      for (size_t i = 0; i < numbers.size(); ++i) {
        EXPECT_EQ(listed->fragments[i].number, numbers[i]);
        Result<std::string> got = a.ReadFragment(StreamRef::Name(name), numbers[i]);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_EQ(*got, MakeBytes(seed0 + i, size0 + i));
      }
      Result<FragmentInfo> latest = a.Latest(StreamRef::Name(name));
      ASSERT_TRUE(latest.ok());
      EXPECT_EQ(latest->number, numbers.back());
    }
    ListEventsRequest er;
    er.stream = StreamRef::Name("a");
    er.start_us = kStartUs;
    er.end_us = kStartUs + 1'000'000;
    Result<ListEventsResult> events = a.ListEvents(er);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    ASSERT_EQ(events->events.size(), 1u);
    EXPECT_EQ(events->events[0].event.label, "person");
    ListSpansRequest sr;
    sr.stream = StreamRef::Name("b");
    sr.type = TimestampType::kServer;
    sr.start_us = kStartUs;
    sr.end_us = kStartUs + 3'600'000'000;
    Result<ListSpansResult> spans = a.ListRecordingSpans(sr);
    ASSERT_TRUE(spans.ok()) << spans.status().ToString();
    ASSERT_EQ(spans->spans.size(), 1u);
    EXPECT_EQ(spans->spans[0].fragments, b_.size());
    EXPECT_TRUE(a.Verify().ok());
  }

  Harness h_;
  std::vector<std::string> a_, b_;
};

// Each write is refused with kUnavailable saying the archive is read-only and why.
void ExpectReadOnlyRefusal(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kUnavailable) << what << ": " << s.ToString();
  EXPECT_NE(s.message().find("read-only (the file system is mounted read-only)"), std::string::npos)
      << what << ": " << s.ToString();
}

TEST_F(ReadOnlyArchiveTest, ServesEverythingRefusesEveryWriteAndChangesNothing) {
  Record();
  h_.Close();
  // What a writable open would repair, and read-only must leave: a torn tail past a segment's
  // committed end, and a file the index does not know.
  std::vector<fs::path> segs;
  for (const auto& e : fs::recursive_directory_iterator(h_.options.root + "/segments")) {
    if (e.is_regular_file()) segs.push_back(e.path());
  }
  ASSERT_FALSE(segs.empty());
  { std::ofstream(segs[0], std::ios::binary | std::ios::app) << std::string(333, 'z'); }
  const fs::path orphan = segs[0].parent_path() / "999999.seg";
  { std::ofstream(orphan, std::ios::binary) << "not indexed"; }
  // A clean close checkpointed the log away: the immutable open.
  ASSERT_FALSE(fs::exists(h_.options.root + "/index.sqlite-wal"));
  const auto before = Snapshot(h_.options.root);

  ASSERT_TRUE(OpenReadOnly().ok());
  ExpectServed();
  EXPECT_EQ(h_.a().Recovery().bytes_truncated, 0u);
  EXPECT_EQ(h_.a().Recovery().orphan_files_removed, 0u);

  Archive& a = h_.a();
  CreateStreamRequest cr;
  cr.name = "c";
  cr.retention_hours = 1;
  ExpectReadOnlyRefusal(a.CreateStream(cr).status(), "CreateStream");
  ExpectReadOnlyRefusal(a.DeleteStream(StreamRef::Name("a"), ""), "DeleteStream");
  ExpectReadOnlyRefusal(a.UpdateStream(StreamRef::Name("a"), "", "cam", std::nullopt),
                        "UpdateStream");
  ExpectReadOnlyRefusal(a.UpdateRetention(StreamRef::Name("a"), "", 1), "UpdateRetention");
  ExpectReadOnlyRefusal(a.TagStream(StreamRef::Name("a"), {{"k", "v"}}), "TagStream");
  ExpectReadOnlyRefusal(a.UntagStream(StreamRef::Name("a"), {"site"}), "UntagStream");
  bool called = false;
  ExpectReadOnlyRefusal(a.Append(StreamRef::Name("a"), MakeFragment(kStartUs + 9'000'000, 100, 9),
                                 [&](const Status&, const FragmentInfo&) { called = true; })
                            .status(),
                        "Append");
  EXPECT_FALSE(called);
  EventInput ev;
  ev.label = "car";
  ev.start_us = ev.end_us = kStartUs;
  ExpectReadOnlyRefusal(a.PutEvents(StreamRef::Name("a"), {ev}).status(), "PutEvents");
  // Two days on, past the streams' 24 h: the frozen archive still shows everything; retention
  // and eviction would delete, readiness would write its probe.
  h_.clock.Advance(48 * kMicrosPerHour);
  ExpectServed();
  ExpectReadOnlyRefusal(a.Sweep(), "Sweep");
  ExpectReadOnlyRefusal(a.CheckWritable(), "CheckWritable");
  a.Flush();
  h_.Close();

  EXPECT_EQ(Snapshot(h_.options.root), before) << "the read-only archive changed its directory";
  EXPECT_TRUE(fs::exists(orphan));

  // Writable again, the same directory opens as ever, and the repairs happen then.
  h_.options.read_only = false;
  h_.clock.Set(kStartUs);
  ASSERT_TRUE(h_.Open().ok());
  EXPECT_EQ(h_.a().Recovery().bytes_truncated, 333u);
  EXPECT_FALSE(fs::exists(orphan));
  ExpectServed();
}

// A writer that stopped without checkpointing (killed, or its file system went read-only
// under it) leaves fragments only in index.sqlite-wal: read-only mode reads them there.
TEST_F(ReadOnlyArchiveTest, FragmentsOnlyInTheWriteAheadLogAreServed) {
  Record();
  h_.a().Flush();
  // A copy of the directory as a crash would leave it: the writer is still open, so the log
  // is neither checkpointed nor removed.
  const std::string copy = h_.dir.path() + "/crashed";
  fs::copy(h_.options.root, copy, fs::copy_options::recursive);
  h_.Close();
  ASSERT_TRUE(fs::exists(copy + "/index.sqlite-wal"));
  ASSERT_TRUE(fs::exists(copy + "/index.sqlite-shm"));
  // The database file alone does not hold them: only the log does.
  EXPECT_LT(RowsInMainFile(copy + "/index.sqlite", "fragments"),
            static_cast<int64_t>(a_.size() + b_.size()));

  h_.options.root = copy;
  const auto before = Snapshot(copy);
  ASSERT_TRUE(OpenReadOnly().ok()) << h_.logs.Lines().back();
  ExpectServed();
  h_.Close();
  EXPECT_EQ(Snapshot(copy), before) << "the read-only archive changed its directory";

  // A -shm its writer left half-written (zeros) is not trusted: SQLite reads the log itself.
  {
    std::fstream shm(copy + "/index.sqlite-shm", std::ios::binary | std::ios::in | std::ios::out);
    shm << std::string(4096, '\0');
  }
  ASSERT_TRUE(OpenReadOnly().ok());
  ExpectServed();
  h_.Close();

  // A log without its -shm (a copy that left it out) cannot be read without writing one:
  // refused, saying what to do.
  fs::remove(copy + "/index.sqlite-shm");
  Status s = OpenReadOnly();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("-shm is missing"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::exists(copy + "/index.sqlite-shm"));
}

TEST_F(ReadOnlyArchiveTest, NothingToServeIsRefusedAndNothingIsCreated) {
  Status s = OpenReadOnly();
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("no index"), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::exists(h_.options.root));
}

}  // namespace
}  // namespace streamarc::archive::testing
