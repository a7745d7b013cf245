// What sql.h's statements and connections do the same on every engine.
#include "archive/sql.h"

#include <optional>

namespace streamarc::archive {

Status Stmt::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Status Stmt::ForEachRow(const std::function<Status(const Stmt&)>& fn) {
  Status s;
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) {
      s = row.status();
      break;
    }
    if (!*row) break;
    s = fn(*this);
    if (!s.ok()) break;
  }
  Reset();
  return s;
}

Status RunOnce(Stmt* st) {
  Status s = st->Run();
  st->Reset();
  return s;
}

Result<int64_t> InsertReturningId(Stmt* st) {
  std::optional<int64_t> id;
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    id = row.Int(0);
    return Status::Ok();
  }));
  if (!id) return Internal("INSERT ... RETURNING id returned no row");
  return *id;
}

size_t NextBatchRows(size_t left) {
  size_t n = kRowsPerStatement;
  while (n > left) n /= 2;
  return n;
}

Status RunRowsBatched(Db& db, std::string_view head, std::string_view tail, int columns,
                      size_t rows, const std::function<void(Stmt&, size_t row, int base)>& bind) {
  for (size_t i = 0; i < rows;) {
    const size_t n = NextBatchRows(rows - i);
    std::string sql(head);
    sql += " VALUES";
    for (size_t r = 0; r < n; ++r) {
      sql += r ? ",(" : "(";
      for (int c = 1; c <= columns; ++c) {
        sql += "?" + std::to_string(static_cast<int>(r) * columns + c) + (c < columns ? "," : ")");
      }
    }
    sql += tail;
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
    for (size_t r = 0; r < n; ++r) bind(*st, i + r, static_cast<int>(r) * columns);
    RETURN_IF_ERROR(RunOnce(st));
    i += n;
  }
  return Status::Ok();
}

SqlConnections::SqlConnections(std::unique_ptr<Db> writer, std::unique_ptr<Db> control,
                               Connect connect, bool read_only)
    : connect_(std::move(connect)),
      read_only_(read_only),
      writer_(std::move(writer)),
      control_(std::move(control)) {}

SqlConnections::Reader::~Reader() {
  if (!db_) return;
  MutexLock lock(owner_->readers_mu_);
  owner_->readers_.push_back(std::move(db_));
}

Result<SqlConnections::Reader> SqlConnections::Borrow() {
  {
    MutexLock lock(readers_mu_);
    if (!readers_.empty()) {
      std::unique_ptr<Db> db = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db, connect_());
  return Reader(this, std::move(db));
}

}  // namespace streamarc::archive
