#include "archive/sqlite.h"

#include <sys/stat.h>
#include <unistd.h>

namespace streamarc::archive {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A file: URI for `path`, with the characters URIs give a meaning escaped.
std::string FileUri(const std::string& path, const std::string& query) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      uri += '%';
      uri += kHex[u >> 4];
      uri += kHex[u & 15];
    } else {
      uri += c;
    }
  }
  return uri + "?" + query;
}

}  // namespace

Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("index corrupt: " + msg);
    case SQLITE_FULL:
      return ResourceExhausted(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(msg));
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return PermissionDenied(std::move(msg));
    case SQLITE_CONSTRAINT:
      return AlreadyExists(std::move(msg));
    default:
      return IoError(std::move(msg));
  }
}

SqliteStmt& SqliteStmt::Bind(int idx, int64_t v) {
  sqlite3_bind_int64(st_.get(), idx, v);
  return *this;
}

SqliteStmt& SqliteStmt::BindDouble(int idx, double v) {
  sqlite3_bind_double(st_.get(), idx, v);
  return *this;
}

SqliteStmt& SqliteStmt::BindText(int idx, std::string_view v) {
  sqlite3_bind_text(st_.get(), idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStmt& SqliteStmt::BindBlob(int idx, std::string_view v) {
  sqlite3_bind_blob(st_.get(), idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStmt& SqliteStmt::BindNull(int idx) {
  sqlite3_bind_null(st_.get(), idx);
  return *this;
}

Result<bool> SqliteStmt::Step() {
  int rc = sqlite3_step(st_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, db_, sqlite3_sql(st_.get()));
}

std::string SqliteStmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(st_.get(), col);
  int n = sqlite3_column_bytes(st_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : "";
}

std::string SqliteStmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(st_.get(), col);
  int n = sqlite3_column_bytes(st_.get(), col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : "";
}

void SqliteStmt::Reset() {
  sqlite3_reset(st_.get());
  sqlite3_clear_bindings(st_.get());
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create, bool sync) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(rc, raw, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  // SQLite's own busy handler sleeps up to 100 ms between tries, so a commit waiting behind
  // a short retention transaction would stall ingest far longer than the holder needs.
  // Poll finely instead (about 10 s in all before giving up with kUnavailable).
  sqlite3_busy_handler(
      raw,
      [](void*, int count) -> int {
        if (count >= 40'000) return 0;
        ::usleep(count < 20 ? 50 : 250);
        return 1;
      },
      nullptr);
  std::unique_ptr<SqliteDb> out(new SqliteDb(std::move(db)));

  // journal_mode is the first read of the file: a file that is not a database fails here.
  RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(out->Exec(sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
  RETURN_IF_ERROR(out->Exec("PRAGMA foreign_keys=OFF"));
  // A log that grew while a long read kept checkpoints from reaching its end (a big listing,
  // a slow client) would otherwise keep its size on disk for good: SQLite reuses it from the
  // start and only truncates it down to this limit when it does.
  RETURN_IF_ERROR(out->Exec("PRAGMA journal_size_limit=" + std::to_string(kWalSizeLimit)));
  return out;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::OpenReadOnly(const std::string& path) {
  if (!Exists(path)) return NotFound("no index at " + path);
  const bool wal = Exists(path + "-wal");
  if (wal && !Exists(path + "-shm")) {
    return FailedPrecondition(
        path + "-wal holds index rows not yet copied into " + path + ", and its " + path +
        "-shm is missing: SQLite cannot read such a log without writing that file. Copy the "
        "three index files and segments/ to a writable place and serve that copy");
  }
  // readonly_shm: a -shm left by a crashed writer is read, never written (SQLite rebuilds
  // what it needs in private memory), so even a writable data directory stays untouched.
  const std::string uri = FileUri(path, wal ? "mode=ro&readonly_shm=1" : "immutable=1");
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(uri.c_str(), &raw, flags, nullptr);
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(rc, raw, "open " + path + " read-only");
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<SqliteDb> out(new SqliteDb(std::move(db)));
  // The first read of the file: one that is not a database fails here.
  RETURN_IF_ERROR(out->Exec("SELECT count(*) FROM sqlite_master"));
  RETURN_IF_ERROR(out->Exec("PRAGMA query_only=1"));
  return out;
}

Status SqliteDb::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_.get(), s);
  return Status::Ok();
}

Result<Stmt*> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return SqliteStatus(rc, db_.get(), "prepare " + sql);
  }
  auto stmt = std::make_unique<SqliteStmt>(st, db_.get());
  SqliteStmt* p = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  return p;
}

Status SqliteDb::Checkpoint() {
  int rc =
      sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_.get(), "wal checkpoint");
  return Status::Ok();
}

void SqliteDb::Rollback() {
  if (!sqlite3_get_autocommit(db_.get())) Exec("ROLLBACK").IgnoreError();
}

}  // namespace streamarc::archive
