// The SQLite engine's connections (private to archive/): sql.h's Stmt and Db as thin RAII
// wrappers over the SQLite C API. SQLite result codes are translated into Status here and
// nowhere else.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "archive/sql.h"
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

// A prepared SQLite statement. Not thread-safe; owned by one SqliteDb.
class SqliteStmt final : public Stmt {
 public:
  explicit SqliteStmt(sqlite3_stmt* st, sqlite3* db) : st_(st), db_(db) {}
  SqliteStmt& Bind(int idx, int64_t v) override;
  SqliteStmt& BindDouble(int idx, double v) override;
  SqliteStmt& BindText(int idx, std::string_view v) override;
  SqliteStmt& BindBlob(int idx, std::string_view v) override;
  SqliteStmt& BindNull(int idx) override;
  Result<bool> Step() override;
  int64_t Int(int col) const override { return sqlite3_column_int64(st_.get(), col); }
  double Double(int col) const override { return sqlite3_column_double(st_.get(), col); }
  bool IsNull(int col) const override { return sqlite3_column_type(st_.get(), col) == SQLITE_NULL; }
  std::string Text(int col) const override;
  std::string Blob(int col) const override;
  void Reset() override;

 private:
  SqliteStmtPtr st_;
  sqlite3* db_;
};

// What the write-ahead log is cut back to once a checkpoint has copied all of it.
inline constexpr int64_t kWalSizeLimit = 16 << 20;

// One SQLite connection with a statement cache. Not thread-safe: one thread at a time.
class SqliteDb final : public Db {
 public:
  // Opens (creating when `create`) the database, in WAL mode with synchronous=FULL (or
  // OFF when `sync` is false) and a busy timeout, so several connections can share it.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create, bool sync);
  // Opens an existing database for reading only, writing nothing beside it, even where the
  // file system is writable: with its write-ahead log when one is there (`mode=ro` and a
  // read-only `-shm`, which SQLite then reads into private memory if it cannot trust it), so
  // fragments committed but not yet checkpointed are seen; as `immutable=1` when there is
  // none (a read-only WAL database without a -shm file cannot be opened otherwise).
  // kFailedPrecondition, saying why, for a -wal with no -shm beside it on a read-only file
  // system (SQLite cannot read that log there).
  static Result<std::unique_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  Status Exec(std::string_view sql) override;
  Result<Stmt*> Prepare(const std::string& sql) override;
  sqlite3* raw() const { return db_.get(); }
  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  Status BeginRead() override { return Exec("BEGIN"); }
  Status Commit() override { return Exec("COMMIT"); }
  void Rollback() override;
  // A PASSIVE checkpoint: copies what it can back into the database without blocking
  // writers or readers.
  Status Checkpoint() override;
  int64_t Changes() const override { return sqlite3_changes64(db_.get()); }
  size_t ProbesPerStatement() const override { return 1; }

 private:
  explicit SqliteDb(SqliteDbPtr db) : db_(std::move(db)) {}
  SqliteDbPtr db_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>> cache_;
};

}  // namespace streamarc::archive
