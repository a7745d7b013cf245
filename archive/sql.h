// The SQL index and registry over either engine (private to archive/): SQLite, embedded, in
// the data directory (sqlite.h, sqlite_backend.h), or PostgreSQL, shared by several nodes
// (pg.h). One implementation of StreamRegistry and FragmentIndex runs on both: its
// statements are the SQL both engines accept (?N parameters, COALESCE, ON CONFLICT,
// RETURNING), and each engine supplies a Db: connections, transactions, its own schema.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "archive/fragment_index.h"
#include "archive/stream_registry.h"
#include "common/mutex.h"
#include "common/status.h"

namespace streamarc::archive {

// A prepared statement. Not thread-safe; owned by one Db. Parameters are ?1, ?2, ...
class Stmt {
 public:
  virtual ~Stmt() = default;
  virtual Stmt& Bind(int idx, int64_t v) = 0;
  virtual Stmt& BindDouble(int idx, double v) = 0;
  virtual Stmt& BindText(int idx, std::string_view v) = 0;
  virtual Stmt& BindBlob(int idx, std::string_view v) = 0;
  virtual Stmt& BindNull(int idx) = 0;
  // true when a row is ready, false when done. The statement runs at the first call.
  virtual Result<bool> Step() = 0;
  // Steps to completion (for statements that return no rows).
  Status Run();
  // Calls `fn` for each row until the rows end or `fn` returns an error, then resets the
  // statement whatever happened.
  Status ForEachRow(const std::function<Status(const Stmt&)>& fn);
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual std::string Blob(int col) const = 0;
  // Ready for new bindings.
  virtual void Reset() = 0;
};

// Rows per statement of the batched writes: 64, then the rest in powers of two (at most 7
// statement shapes per connection), so that a group commit costs PostgreSQL a few round trips
// rather than one per row. Far below both engines' parameter limits.
inline constexpr size_t kRowsPerStatement = 64;

// One connection with a statement cache. Not thread-safe: one thread at a time.
class Db {
 public:
  virtual ~Db() = default;
  // One or more statements without parameters or rows.
  virtual Status Exec(std::string_view sql) = 0;
  // A cached statement, reset and with cleared bindings. Valid until the Db is destroyed.
  virtual Result<Stmt*> Prepare(const std::string& sql) = 0;
  // A write transaction. Writers are serialised, as SQLite's one write lock does, so the index
  // code reasons the same way on both engines.
  virtual Status Begin() = 0;
  // A read transaction: every statement until Commit sees one snapshot.
  virtual Status BeginRead() = 0;
  virtual Status Commit() = 0;
  // Best effort: after a failed statement the engine may have rolled back already.
  virtual void Rollback() = 0;
  // Housekeeping after a sweep (SQLite: a passive WAL checkpoint; PostgreSQL: nothing).
  virtual Status Checkpoint() = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE run on this connection.
  virtual int64_t Changes() const = 0;
  // Index probes (one row each) worth putting in one statement: on a server every statement
  // is a round trip, so many (kRowsPerStatement); in process one, as a compound statement
  // of probes costs SQLite more than the probes apart.
  virtual size_t ProbesPerStatement() const { return kRowsPerStatement; }
};

// Runs a statement that returns no rows, then resets it.
Status RunOnce(Stmt* st);
// Runs an INSERT ... RETURNING id, then resets it; the new row's id.
Result<int64_t> InsertReturningId(Stmt* st);

// How many of `left` rows the next batched statement carries.
size_t NextBatchRows(size_t left);

// Runs `head` VALUES(...),(...) `tail` over `rows` rows of `columns` parameters each, in
// batches; `bind(st, row, base)` binds row `row` at parameters base+1 .. base+columns.
Status RunRowsBatched(Db& db, std::string_view head, std::string_view tail, int columns,
                      size_t rows, const std::function<void(Stmt&, size_t row, int base)>& bind);

// Runs `body` inside a write transaction on `db`, rolling back on any error.
template <typename F>
Status InTransaction(Db& db, F&& body) {
  RETURN_IF_ERROR(db.Begin());
  Status s = body();
  if (s.ok()) s = db.Commit();
  if (!s.ok()) db.Rollback();
  return s;
}

// The connections the registry and the index share. Thread-safe.
class SqlConnections {
 public:
  using Connect = std::function<Result<std::unique_ptr<Db>>()>;
  // `connect` opens a reader connection. `read_only`: every connection refuses writes.
  SqlConnections(std::unique_ptr<Db> writer, std::unique_ptr<Db> control, Connect connect,
                 bool read_only);
  bool read_only() const { return read_only_; }

  // A reader connection borrowed from the pool, returned to it when destroyed.
  class Reader {
   public:
    Reader(SqlConnections* owner, std::unique_ptr<Db> db) : owner_(owner), db_(std::move(db)) {}
    Reader(Reader&& o) noexcept : owner_(o.owner_), db_(std::move(o.db_)) {}
    Reader& operator=(Reader&&) = delete;
    ~Reader();
    Db& db() { return *db_; }

   private:
    SqlConnections* owner_;
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
  const Connect connect_;
  const bool read_only_;
  std::unique_ptr<Db> writer_ PT_GUARDED_BY(writer_mu);
  std::unique_ptr<Db> control_ PT_GUARDED_BY(control_mu);
  Mutex readers_mu_;
  std::vector<std::unique_ptr<Db>> readers_ GUARDED_BY(readers_mu_);
};

class Coordinator;  // cluster.h

struct SqlBackend {
  std::unique_ptr<StreamRegistry> registry;
  std::unique_ptr<FragmentIndex> index;
  // Several nodes share the index (PostgreSQL, writable): leases, ids, cache invalidation.
  std::shared_ptr<Coordinator> coordinator;
};

// The version of the schema (FORMAT.md) both engines create. 2 added the analysis events
// (`events`, `event_bounds`), 3 the recorded spans (`spans`, `span_overlaps`). An older
// SQLite index is upgraded at open: its schema creates the new tables, then the registry's
// ArchiveId builds the spans from the fragments and raises the version, in one transaction.
inline constexpr int kSchemaVersion = 3;

// The events half of the fragment index (sql_events.cc): FragmentIndex's event calls, on
// the connection the caller holds (the control connection for writes, a pooled reader for
// ListEvents).
Result<std::vector<int64_t>> SqlInsertEvents(Db& db, int64_t stream_id,
                                             const std::vector<EventInput>& events);
Result<std::vector<IndexedEvent>> SqlListEvents(Db& db, int64_t stream_id, const EventQuery& query,
                                                int limit);
Result<uint64_t> SqlDeleteExpiredEvents(Db& db, int64_t stream_id, int64_t cutoff_us, int limit);

// The spans half (sql_spans.cc), inside the caller's transaction on the connection it holds:
// Append after a commit's rows are inserted (writer); Forget before the stream's rows with
// seq in [from_seq, to_seq] are deleted, all of them (control); Rebuild from every fragment
// (the upgrade to schema version 3); List on a pooled reader, in its own read transaction.
Status SqlSpansAppend(Db& db, const std::vector<NewFragmentRow>& rows);
Status SqlSpansForget(Db& db, int64_t stream_id, int64_t from_seq, int64_t to_seq);
Status SqlSpansRebuild(Db& db);
Result<SpanPage> SqlListSpans(Db& db, int64_t stream_id, const SpanQuery& query, int64_t cutoff_us,
                              int limit);

std::unique_ptr<StreamRegistry> NewSqlStreamRegistry(std::shared_ptr<SqlConnections> c);
// `keep_spans` false leaves the spans alone on commit (ListSpans then answers wrongly): for
// bench/recording_spans_bench only, which times ingest with and without their upkeep.
std::unique_ptr<FragmentIndex> NewSqlFragmentIndex(std::shared_ptr<SqlConnections> c,
                                                   bool keep_spans = true);

}  // namespace streamarc::archive
