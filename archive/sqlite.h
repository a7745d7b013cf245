// Thin RAII wrappers over the SQLite C API (private to archive/). SQLite result codes are
// translated into Status here and nowhere else.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace streamarc::archive {

struct SqliteClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalize {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteClose>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

// SQLITE_CORRUPT/NOTADB -> kDataLoss, FULL -> kResourceExhausted, BUSY/LOCKED ->
// kUnavailable, PERM/READONLY/AUTH -> kPermissionDenied, CONSTRAINT -> kAlreadyExists,
// CANTOPEN/IOERR and the rest -> kIoError.
Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

// A prepared statement. Not thread-safe; owned by one Db.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* st, sqlite3* db) : st_(st), db_(db) {}
  Stmt& Bind(int idx, int64_t v);
  Stmt& BindDouble(int idx, double v);
  Stmt& BindText(int idx, std::string_view v);
  Stmt& BindBlob(int idx, std::string_view v);
  Stmt& BindNull(int idx);
  // true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  // Calls `fn` for each row until the rows end or `fn` returns an error, then resets the
  // statement whatever happened.
  Status ForEachRow(const std::function<Status(const Stmt&)>& fn);
  int64_t Int(int col) const { return sqlite3_column_int64(st_.get(), col); }
  double Double(int col) const { return sqlite3_column_double(st_.get(), col); }
  bool IsNull(int col) const { return sqlite3_column_type(st_.get(), col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::string Blob(int col) const;
  // Ready for new bindings.
  void Reset();

 private:
  SqliteStmtPtr st_;
  sqlite3* db_;
};

// What the write-ahead log is cut back to once a checkpoint has copied all of it.
inline constexpr int64_t kWalSizeLimit = 16 << 20;

// One SQLite connection with a statement cache. Not thread-safe: one thread at a time.
class Db {
 public:
  // Opens (creating when `create`) the database, in WAL mode with synchronous=FULL (or
  // OFF when `sync` is false) and a busy timeout, so several connections can share it.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool create, bool sync);
  // Opens an existing database for reading only, writing nothing beside it, even where the
  // file system is writable: with its write-ahead log when one is there (`mode=ro` and a
  // read-only `-shm`, which SQLite then reads into private memory if it cannot trust it), so
  // fragments committed but not yet checkpointed are seen; as `immutable=1` when there is
  // none (a read-only WAL database without a -shm file cannot be opened otherwise).
  // kFailedPrecondition, saying why, for a -wal with no -shm beside it on a read-only file
  // system (SQLite cannot read that log there).
  static Result<std::unique_ptr<Db>> OpenReadOnly(const std::string& path);
  Status Exec(std::string_view sql);
  // A cached statement, reset and with cleared bindings. Valid until the Db is destroyed.
  Result<Stmt*> Prepare(const std::string& sql);
  sqlite3* raw() const { return db_.get(); }
  Status Begin() { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() { return Exec("COMMIT"); }
  // Best effort: after a failed statement SQLite may have rolled back already.
  void Rollback();
  // A PASSIVE checkpoint: copies what it can back into the database without blocking
  // writers or readers.
  Status Checkpoint();

 private:
  explicit Db(SqliteDbPtr db) : db_(std::move(db)) {}
  SqliteDbPtr db_;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;
};

}  // namespace streamarc::archive
