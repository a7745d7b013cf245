// The embedded registry and index (private to archive/): one SQLite database in WAL mode,
// <root>/index.sqlite, with FORMAT.md's schema.
//
// Connections: one writer for group commits (the commit thread's), one control connection
// for registry writes and maintenance deletes (serialised by its mutex), and a pool of
// reader connections for queries (WAL: readers never block the writer, nor it them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "archive/fragment_index.h"
#include "archive/sqlite.h"
#include "archive/stream_registry.h"
#include "common/mutex.h"

namespace streamarc::archive {

struct SqliteBackend {
  std::unique_ptr<StreamRegistry> registry;
  std::unique_ptr<FragmentIndex> index;
};

// Opens (creating when missing) the database at `path` and its schema. `sync` false turns
// SQLite's fsyncs off (Options::sync). kDataLoss for a file that is not a database.
// `read_only`: an existing database only, every connection read-only (Db::OpenReadOnly), the
// schema neither created nor upgraded (Options::read_only); writes fail.
Result<SqliteBackend> OpenSqliteBackend(const std::string& path, bool sync, bool read_only = false);

// The connections both halves share. Thread-safe.
class SqliteConnections {
 public:
  static Result<std::shared_ptr<SqliteConnections>> Open(const std::string& path, bool sync,
                                                         bool read_only = false);
  // Every connection is read-only (OpenSqliteBackend's `read_only`).
  bool read_only() const { return read_only_; }

  // A reader connection borrowed from the pool, returned to it when destroyed.
  class Reader {
   public:
    Reader(SqliteConnections* owner, std::unique_ptr<Db> db) : owner_(owner), db_(std::move(db)) {}
    Reader(Reader&& o) noexcept : owner_(o.owner_), db_(std::move(o.db_)) {}
    Reader& operator=(Reader&&) = delete;
    ~Reader();
    Db& db() { return *db_; }

   private:
    SqliteConnections* owner_;
    std::unique_ptr<Db> db_;
  };
  Result<Reader> Borrow() EXCLUDES(readers_mu_);

  // Group commits (the commit thread's; uncontended, held so the analysis can check it).
  Mutex writer_mu;
  Db& writer() REQUIRES(writer_mu) { return *writer_; }
  // Registry writes and maintenance deletes.
  Mutex control_mu;
  Db& control() REQUIRES(control_mu) { return *control_; }

 private:
  SqliteConnections(std::string path, bool sync, bool read_only)
      : path_(std::move(path)), sync_(sync), read_only_(read_only) {}
  Result<std::unique_ptr<Db>> Connect(bool create) const;

  const std::string path_;
  const bool sync_;
  const bool read_only_;
  std::unique_ptr<Db> writer_ PT_GUARDED_BY(writer_mu);
  std::unique_ptr<Db> control_ PT_GUARDED_BY(control_mu);
  Mutex readers_mu_;
  std::vector<std::unique_ptr<Db>> readers_ GUARDED_BY(readers_mu_);
};

// Runs `body` inside a transaction on `db`, rolling back on any error.
template <typename F>
Status InTransaction(Db& db, F&& body) {
  RETURN_IF_ERROR(db.Begin());
  Status s = body();
  if (s.ok()) s = db.Commit();
  if (!s.ok()) db.Rollback();
  return s;
}

// The events half of the SQLite fragment index (sqlite_events.cc): FragmentIndex's event
// calls, on the connection the caller holds (the control connection for writes, a pooled
// reader for ListEvents).
Result<std::vector<int64_t>> SqliteInsertEvents(Db& db, int64_t stream_id,
                                                const std::vector<EventInput>& events);
Result<std::vector<IndexedEvent>> SqliteListEvents(Db& db, int64_t stream_id,
                                                   const EventQuery& query, int limit);
Result<uint64_t> SqliteDeleteExpiredEvents(Db& db, int64_t stream_id, int64_t cutoff_us, int limit);

// The spans half (sqlite_spans.cc), inside the caller's transaction on the connection it
// holds: Append after a commit's rows are inserted (writer); Forget before the stream's rows
// with seq in [from_seq, to_seq] are deleted, all of them (control); Rebuild from every
// fragment (the upgrade to schema version 3); List on a pooled reader, in its own read
// transaction.
Status SqliteSpansAppend(Db& db, const std::vector<NewFragmentRow>& rows);
Status SqliteSpansForget(Db& db, int64_t stream_id, int64_t from_seq, int64_t to_seq);
Status SqliteSpansRebuild(Db& db);
Result<SpanPage> SqliteListSpans(Db& db, int64_t stream_id, const SpanQuery& query,
                                 int64_t cutoff_us, int limit);

std::unique_ptr<StreamRegistry> NewSqliteStreamRegistry(std::shared_ptr<SqliteConnections> c);
// `keep_spans` false leaves the spans alone on commit (ListSpans then answers wrongly): for
// bench/recording_spans_bench only, which times ingest with and without their upkeep.
std::unique_ptr<FragmentIndex> NewSqliteFragmentIndex(std::shared_ptr<SqliteConnections> c,
                                                      bool keep_spans = true);

}  // namespace streamarc::archive
