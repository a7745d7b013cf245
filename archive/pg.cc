// The PostgreSQL engine's connections: sql.h's Stmt and Db over libpq. SQLSTATEs and libpq's
// connection errors are translated into Status here and nowhere else.
#include "archive/pg.h"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace streamarc::archive {
namespace {

struct PgFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgClear {
  void operator()(PGresult* res) const { PQclear(res); }
};
struct PgFree {
  void operator()(unsigned char* p) const { PQfreemem(p); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgFinish>;
using PgResultPtr = std::unique_ptr<PGresult, PgClear>;

// The transaction-scoped advisory lock every write transaction takes ("SARCWRIT"): writers
// of one index are serialised as SQLite's one write lock serialises them.
constexpr int64_t kWriterLockKey = 0x5341'5243'5752'4954;
// How long Begin() waits for that lock before kUnavailable, as SQLite's busy timeout.
constexpr const char* kWriterLockTimeout = "10s";
// Connecting gives up after this many seconds (libpq waits for ever by default); a URL's own
// connect_timeout wins.
constexpr const char* kConnectTimeoutSeconds = "10";
// SQL shown in messages is cut to this many characters.
constexpr size_t kSqlInMessages = 160;

// libpq's messages end in a newline and may span lines ("\n\tIs the server running...").
std::string OneLine(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string ShortSql(std::string_view sql) {
  std::string s = OneLine(sql);
  if (s.size() > kSqlInMessages) s = s.substr(0, kSqlInMessages) + "...";
  return s;
}

// `msg` with the passwords `url` holds (user:PASSWORD@, password=PASSWORD) as "***": libpq
// repeats a URL it cannot parse in its message.
std::string RedactPassword(std::string msg, std::string_view url) {
  std::vector<std::string_view> secrets;
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    const size_t start = scheme + 3;
    const std::string_view authority = url.substr(start, url.find_first_of("/?", start) - start);
    const size_t at = authority.rfind('@');
    const size_t colon = authority.substr(0, at == std::string_view::npos ? 0 : at).find(':');
    if (colon != std::string_view::npos) {
      secrets.push_back(authority.substr(colon + 1, at - colon - 1));
    }
  }
  for (size_t p = url.find("password="); p != std::string_view::npos;
       p = url.find("password=", p + 1)) {
    const size_t start = p + 9;
    secrets.push_back(url.substr(start, url.find('&', start) - start));
  }
  for (std::string_view secret : secrets) {
    if (secret.empty()) continue;
    for (size_t pos = msg.find(secret); pos != std::string::npos; pos = msg.find(secret, pos + 3)) {
      msg.replace(pos, secret.size(), "***");
    }
  }
  return msg;
}

// "HOST:PORT/DB" of a connection, even a failed one.
std::string ServerName(const PGconn* conn) {
  auto str = [](const char* s) { return std::string(s ? s : ""); };
  return str(PQhost(conn)) + ":" + str(PQport(conn)) + "/" + str(PQdb(conn));
}

// Whether the statement cannot change anything, so that sending it again after the connection
// dropped under it loses nothing (nor, outside a transaction, does its first try count). One
// statement only: a second one after a ';' might.
bool ChangesNothing(std::string_view sql) {
  const size_t semicolon = sql.find(';');
  if (semicolon != std::string_view::npos &&
      sql.find_first_not_of(" \t\r\n", semicolon + 1) != std::string_view::npos) {
    return false;
  }
  const size_t start = sql.find_first_not_of(" \t\r\n(");
  if (start == std::string_view::npos) return true;
  size_t end = start;
  while (end < sql.size() && std::isalpha(static_cast<unsigned char>(sql[end]))) ++end;
  std::string word(sql.substr(start, end - start));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return word == "SELECT" || word == "VALUES" || word == "SHOW" || word == "BEGIN" || word == "SET";
}

// SQLite's ?N parameters as PostgreSQL's $N, outside string literals, quoted identifiers and
// comments. `count` is the highest N, `used[N - 1]` whether ?N appears.
Status TranslateParams(const std::string& sql, std::string* out, int* count,
                       std::vector<bool>* used) {
  out->clear();
  out->reserve(sql.size());
  *count = 0;
  used->clear();
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const size_t close = sql.find(c, i + 1);  // '' and "" escapes are two quoted runs
      const size_t end = close == std::string::npos ? sql.size() : close + 1;
      out->append(sql, i, end - i);
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t eol = sql.find('\n', i);
      const size_t end = eol == std::string::npos ? sql.size() : eol;
      out->append(sql, i, end - i);
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t close = sql.find("*/", i + 2);
      const size_t end = close == std::string::npos ? sql.size() : close + 2;
      out->append(sql, i, end - i);
      i = end;
    } else if (c == '?') {
      int n = 0;
      const char* first = sql.data() + i + 1;
      const auto [next, ec] = std::from_chars(first, sql.data() + sql.size(), n);
      if (ec != std::errc() || next == first || n < 1 || n > 65535) {
        return InvalidArgument("prepare (" + ShortSql(sql) +
                               "): only numbered parameters ?1..?65535 are supported");
      }
      *out += '$';
      out->append(first, next);
      if (n > *count) {
        *count = n;
        used->resize(static_cast<size_t>(n));
      }
      (*used)[static_cast<size_t>(n - 1)] = true;
      i = static_cast<size_t>(next - sql.data());
    } else {
      *out += c;
      ++i;
    }
  }
  return Status::Ok();
}

// An integer column: bigint text, a numeric's ("12" or "12.000": SUM of bigint), a boolean
// ("t": comparisons, EXISTS), or a double's integer part (as SQLite converts a REAL).
int64_t ParseInt(const char* p, size_t n) {
  if (n == 0) return 0;  // NULL, as SQLite's
  int64_t v = 0;
  const auto [next, ec] = std::from_chars(p, p + n, v);
  if (ec == std::errc() && (next == p + n || *next == '.')) return v;
  if (n == 1 && (*p == 't' || *p == 'f')) return *p == 't' ? 1 : 0;
  double d = 0;
  if (std::from_chars(p, p + n, d).ec != std::errc() || std::isnan(d)) return 0;
  if (d >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (d <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

}  // namespace

class PgDb;

// A prepared statement on one PgDb's connection (named "s<N>" there). Not thread-safe.
class PgStmt final : public Stmt {
 public:
  PgStmt(PgDb* db, std::string sql, std::string pg_sql, std::string name, std::vector<Oid> types)
      : db_(db),
        sql_(std::move(sql)),
        pg_sql_(std::move(pg_sql)),
        name_(std::move(name)),
        types_(std::move(types)),
        changes_nothing_(ChangesNothing(sql_)),
        params_(types_.size()) {}

  PgStmt& Bind(int idx, int64_t v) override;
  PgStmt& BindDouble(int idx, double v) override;
  PgStmt& BindText(int idx, std::string_view v) override;
  PgStmt& BindBlob(int idx, std::string_view v) override;
  PgStmt& BindNull(int idx) override;
  Result<bool> Step() override;
  int64_t Int(int col) const override;
  double Double(int col) const override;
  bool IsNull(int col) const override;
  std::string Text(int col) const override;
  std::string Blob(int col) const override;
  void Reset() override;

  // Prepares it on the connection's current session (PQprepare's result).
  PGresult* PrepareNow();

 private:
  struct Param {
    std::string value;
    bool null = true;
    bool binary = false;
  };
  Param* At(int idx);
  // The current row's field, or nullptr.
  const char* Field(int col) const;
  // Prepares when needed, then runs the statement; one round trip or two.
  PGresult* Send(const std::vector<const char*>& values, const std::vector<int>& lengths,
                 const std::vector<int>& formats);

  PgDb* const db_;
  const std::string sql_;     // as given, for messages
  const std::string pg_sql_;  // with $N
  const std::string name_;
  const std::vector<Oid> types_;  // one per parameter: 0 (inferred) or text when unused
  const bool changes_nothing_;
  uint64_t prepared_in_ = 0;  // the session (PgDb::session_) it is prepared in; 0: none
  std::vector<Param> params_;
  PgResultPtr res_;  // set once it ran, until Reset
  int row_ = -1;
};

// One libpq connection with a statement cache. Not thread-safe: one thread at a time.
class PgDb final : public Db {
 public:
  PgDb(PgConnPtr conn, PgSessionSetup setup)
      : conn_(std::move(conn)), server_(ServerName(conn_.get())), setup_(std::move(setup)) {}

  Status Exec(std::string_view sql) override;
  Result<Stmt*> Prepare(const std::string& sql) override;
  Status Begin() override;
  Status BeginRead() override;
  Status Commit() override;
  void Rollback() override;
  Status Checkpoint() override { return Status::Ok(); }
  int64_t Changes() const override { return changes_; }

  // Reconnects a dropped connection, then runs the setup on a session that has not had it.
  Status EnsureSession();
  // One command on a live session: `send` sends it and returns libpq's result (nullptr when
  // libpq itself failed). A command that failed because the connection dropped is sent once
  // more on a new session when `changes_nothing` and no transaction was open (nothing of the
  // session is lost then). A result other than COMMAND_OK/TUPLES_OK is an error (`what`,
  // `sql` name it in the message).
  template <typename F>
  Result<PgResultPtr> Call(std::string_view what, std::string_view sql, bool changes_nothing,
                           F&& send);
  PGconn* conn() const { return conn_.get(); }
  uint64_t session() const { return session_; }

 private:
  // The Status for a failed command (`res` may be nullptr).
  Status Error(const PGresult* res, std::string_view what, std::string_view sql) const;
  // Closes a transaction Begin left open when it failed.
  void AbandonTransaction();

  PgConnPtr conn_;
  const std::string server_;
  const PgSessionSetup setup_;
  uint64_t session_ = 1;        // counts the sessions: statements are prepared again in a new one
  bool session_ready_ = false;  // the setup ran on this session
  bool in_setup_ = false;
  // The connection dropped inside a transaction: the server rolled it back, and nothing may
  // run (on a new session, outside any transaction) until Commit or Rollback ends it here.
  bool transaction_lost_ = false;
  int64_t changes_ = 0;
  int next_stmt_ = 1;
  // After conn_: every statement goes before the connection does.
  std::unordered_map<std::string, std::unique_ptr<PgStmt>> cache_;
};

Status PgDb::Error(const PGresult* res, std::string_view what, std::string_view sql) const {
  const char* sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view code = sqlstate ? sqlstate : "";
  std::string detail;
  if (const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr) {
    detail = primary;
    if (const char* more = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
      detail += std::string("; ") + more;
    }
    if (const char* hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)) {
      detail += std::string(" (") + hint + ")";
    }
    detail += " [SQLSTATE " + std::string(code) + "]";  // pg_backend.cc looks for 55P03
  } else {
    const char* m = res ? PQresultErrorMessage(res) : "";
    detail = (m && *m) ? m : PQerrorMessage(conn_.get());
    if (detail.empty()) detail = "libpq is out of memory";
  }
  std::string msg = std::string(what);
  if (!sql.empty()) msg += " (" + ShortSql(sql) + ")";
  msg += " on " + server_ + ": " + OneLine(detail);

  if (code == "23505") return AlreadyExists(std::move(msg));
  if (code == "53100" || code == "53200") return ResourceExhausted(std::move(msg));
  if (code == "42501") return PermissionDenied(std::move(msg));
  if (code == "XX001" || code == "XX002") return DataLoss("index corrupt: " + msg);
  // Try again: a serialisation failure or deadlock, a lock not granted in time (55P03), a
  // read-only server (a standby), the server shutting down or starting (57P0x), too many
  // connections (53300), a broken connection (class 08, or none at all).
  if (code == "40001" || code == "40P01" || code == "55P03" || code == "25006" || code == "53300" ||
      code.starts_with("08") || code.starts_with("57P") ||
      PQstatus(conn_.get()) == CONNECTION_BAD) {
    return Unavailable(std::move(msg));
  }
  return IoError(std::move(msg));
}

Status PgDb::EnsureSession() {
  if (in_setup_) return Status::Ok();  // the setup's own statements, on the session it set up
  if (transaction_lost_) {
    return Unavailable("the connection to the index at " + server_ +
                       " dropped during a transaction, which the server rolled back; it must be "
                       "ended (rolled back) first");
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    PQreset(conn_.get());
    ++session_;
    session_ready_ = false;
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return Unavailable("lost the connection to the index at " + server_ +
                         " and cannot reconnect: " + OneLine(PQerrorMessage(conn_.get())));
    }
  }
  if (session_ready_) return Status::Ok();
  in_setup_ = true;
  Status s = setup_ ? setup_(*this, server_) : Status::Ok();
  in_setup_ = false;
  RETURN_IF_ERROR(s);
  session_ready_ = true;
  return Status::Ok();
}

template <typename F>
Result<PgResultPtr> PgDb::Call(std::string_view what, std::string_view sql, bool changes_nothing,
                               F&& send) {
  for (int attempt = 0;; ++attempt) {
    RETURN_IF_ERROR(EnsureSession());
    const bool idle = PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
    PgResultPtr res(send());
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      // PQcmdTuples also counts a SELECT's rows; Changes() counts only changed ones.
      const std::string_view tag = PQcmdStatus(res.get());
      if (tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE") ||
          tag.starts_with("MERGE")) {
        const char* rows = PQcmdTuples(res.get());
        changes_ = ParseInt(rows, std::strlen(rows));
      }
      return res;
    }
    const bool dropped = PQstatus(conn_.get()) == CONNECTION_BAD;
    if (dropped && idle && changes_nothing && attempt == 0 && !in_setup_) continue;
    if (dropped && !idle) transaction_lost_ = true;
    return Error(res.get(), what, sql);
  }
}

Status PgDb::Exec(std::string_view sql) {
  const std::string s(sql);
  return Call("exec", s, ChangesNothing(s), [&] { return PQexec(conn_.get(), s.c_str()); })
      .status();
}

Result<Stmt*> PgDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  std::string pg_sql;
  int count = 0;
  std::vector<bool> used;
  RETURN_IF_ERROR(TranslateParams(sql, &pg_sql, &count, &used));
  // PostgreSQL infers each parameter's type from where it is used (0: unspecified); one that
  // appears nowhere would have none, so it is text.
  constexpr Oid kTextOid = 25;
  std::vector<Oid> types(static_cast<size_t>(count));
  for (size_t i = 0; i < types.size(); ++i) types[i] = used[i] ? 0 : kTextOid;
  auto stmt = std::make_unique<PgStmt>(this, sql, std::move(pg_sql),
                                       "s" + std::to_string(next_stmt_++), std::move(types));
  // Prepared now so that a statement PostgreSQL refuses fails here, as with SQLite.
  RETURN_IF_ERROR(
      Call("prepare", sql, /*changes_nothing=*/true, [&] { return stmt->PrepareNow(); }).status());
  PgStmt* p = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  return p;
}

void PgDb::AbandonTransaction() {
  const PGTransactionStatusType t = PQtransactionStatus(conn_.get());
  if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) PgResultPtr(PQexec(conn_.get(), "ROLLBACK"));
}

Status PgDb::Begin() {
  RETURN_IF_ERROR(EnsureSession());
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    return FailedPrecondition("begin on " + server_ + ": a transaction is already open");
  }
  const std::string sql = std::string("BEGIN; SET LOCAL lock_timeout = '") + kWriterLockTimeout +
                          "'; SELECT pg_advisory_xact_lock(" + std::to_string(kWriterLockKey) + ")";
  Status s = Call("begin a write transaction", "", /*changes_nothing=*/true, [&] {
               return PQexec(conn_.get(), sql.c_str());
             }).status();
  if (!s.ok()) AbandonTransaction();
  return s;
}

Status PgDb::BeginRead() {
  RETURN_IF_ERROR(EnsureSession());
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    return FailedPrecondition("begin on " + server_ + ": a transaction is already open");
  }
  return Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

Status PgDb::Commit() {
  if (transaction_lost_) {
    transaction_lost_ = false;
    return Unavailable("commit on " + server_ +
                       ": the connection dropped during the transaction, which the server rolled "
                       "back");
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK || PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) {
    return FailedPrecondition("commit on " + server_ + ": no transaction is open");
  }
  Result<PgResultPtr> res =
      Call("commit", "", /*changes_nothing=*/false, [&] { return PQexec(conn_.get(), "COMMIT"); });
  if (transaction_lost_) {
    transaction_lost_ = false;
    return Unavailable(res.status().message() + " (whether the transaction committed is unknown)");
  }
  if (!res.ok()) return res.status();
  // COMMIT of a transaction a failed statement aborted succeeds, saying ROLLBACK.
  if (std::string_view(PQcmdStatus(res->get())) == "ROLLBACK") {
    return IoError("commit on " + server_ +
                   ": a statement of the transaction had failed, so it was rolled back");
  }
  return Status::Ok();
}

void PgDb::Rollback() {
  transaction_lost_ = false;
  if (PQstatus(conn_.get()) != CONNECTION_OK) return;  // the server rolled it back
  AbandonTransaction();
}

PGresult* PgStmt::PrepareNow() {
  PGresult* res = PQprepare(db_->conn(), name_.c_str(), pg_sql_.c_str(),
                            static_cast<int>(types_.size()), types_.data());
  if (res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK) prepared_in_ = db_->session();
  return res;
}

PGresult* PgStmt::Send(const std::vector<const char*>& values, const std::vector<int>& lengths,
                       const std::vector<int>& formats) {
  if (prepared_in_ != db_->session()) {  // a new session: prepared again
    PGresult* res = PrepareNow();
    if (res == nullptr || PQresultStatus(res) != PGRES_COMMAND_OK) return res;
    PQclear(res);
  }
  return PQexecPrepared(db_->conn(), name_.c_str(), static_cast<int>(values.size()), values.data(),
                        lengths.data(), formats.data(), /*resultFormat=*/0);
}

PgStmt::Param* PgStmt::At(int idx) {
  // Out of range is ignored, as SQLite's wrapper ignores SQLITE_RANGE.
  if (idx < 1 || static_cast<size_t>(idx) > params_.size()) return nullptr;
  return &params_[static_cast<size_t>(idx - 1)];
}

PgStmt& PgStmt::Bind(int idx, int64_t v) {
  if (Param* p = At(idx)) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    p->value.assign(buf, end);
    p->null = false;
    p->binary = false;
  }
  return *this;
}

PgStmt& PgStmt::BindDouble(int idx, double v) {
  if (Param* p = At(idx)) {
    if (std::isnan(v)) {
      p->value = "NaN";
    } else if (std::isinf(v)) {
      p->value = v > 0 ? "Infinity" : "-Infinity";
    } else {
      char buf[32];  // the shortest text that reads back as `v`
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      p->value.assign(buf, end);
    }
    p->null = false;
    p->binary = false;
  }
  return *this;
}

PgStmt& PgStmt::BindText(int idx, std::string_view v) {
  if (Param* p = At(idx)) {
    p->value.assign(v);  // sent up to its first NUL: text holds none
    p->null = false;
    p->binary = false;
  }
  return *this;
}

PgStmt& PgStmt::BindBlob(int idx, std::string_view v) {
  if (Param* p = At(idx)) {
    p->value.assign(v);
    p->null = false;
    p->binary = true;
  }
  return *this;
}

PgStmt& PgStmt::BindNull(int idx) {
  if (Param* p = At(idx)) {
    p->value.clear();
    p->null = true;
    p->binary = false;
  }
  return *this;
}

Result<bool> PgStmt::Step() {
  if (!res_) {
    std::vector<const char*> values(params_.size());
    std::vector<int> lengths(params_.size());
    std::vector<int> formats(params_.size());
    for (size_t i = 0; i < params_.size(); ++i) {
      const Param& p = params_[i];
      values[i] = p.null ? nullptr : p.value.c_str();
      lengths[i] = static_cast<int>(p.value.size());
      formats[i] = p.binary ? 1 : 0;
    }
    ASSIGN_OR_RETURN(res_, db_->Call("run", sql_, changes_nothing_,
                                     [&] { return Send(values, lengths, formats); }));
    row_ = -1;
  }
  if (row_ + 1 < PQntuples(res_.get())) {
    ++row_;
    return true;
  }
  row_ = PQntuples(res_.get());
  return false;
}

const char* PgStmt::Field(int col) const {
  if (!res_ || row_ < 0 || row_ >= PQntuples(res_.get()) || col < 0 ||
      col >= PQnfields(res_.get())) {
    return nullptr;
  }
  return PQgetvalue(res_.get(), row_, col);
}

int64_t PgStmt::Int(int col) const {
  const char* v = Field(col);
  return v ? ParseInt(v, static_cast<size_t>(PQgetlength(res_.get(), row_, col))) : 0;
}

double PgStmt::Double(int col) const {
  const char* v = Field(col);
  if (v == nullptr) return 0;
  double d = 0;
  // from_chars, not strtod: the locale's decimal point does not apply to PostgreSQL's text.
  std::from_chars(v, v + PQgetlength(res_.get(), row_, col), d);
  return d;
}

bool PgStmt::IsNull(int col) const {
  return Field(col) == nullptr || PQgetisnull(res_.get(), row_, col);
}

std::string PgStmt::Text(int col) const {
  const char* v = Field(col);
  return v ? std::string(v, static_cast<size_t>(PQgetlength(res_.get(), row_, col))) : "";
}

std::string PgStmt::Blob(int col) const {
  const char* v = Field(col);
  if (v == nullptr || PQgetisnull(res_.get(), row_, col)) return "";
  size_t n = 0;
  // bytea arrives as text, "\x0a1b...".
  std::unique_ptr<unsigned char, PgFree> bytes(
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n));
  return bytes ? std::string(reinterpret_cast<const char*>(bytes.get()), n) : "";
}

void PgStmt::Reset() {
  res_.reset();
  row_ = -1;
  for (Param& p : params_) p = Param{};
}

Result<std::unique_ptr<Db>> ConnectPg(const std::string& url, PgSessionSetup setup) {
  char* parse_error = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(url.c_str(), &parse_error)) {
    PQconninfoFree(opts);
  } else {
    std::string why = parse_error ? OneLine(parse_error) : "libpq is out of memory";
    PQfreemem(parse_error);
    return InvalidArgument(RedactPassword("the index is no PostgreSQL URL: " + why, url));
  }
  // Ours first: whatever the URL sets wins (libpq keeps a keyword's last value).
  const char* const keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* const values[] = {kConnectTimeoutSeconds, "streamarcd", url.c_str(), nullptr};
  PgConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return ResourceExhausted("connect to the index: libpq is out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(RedactPassword("cannot connect to the index at " + ServerName(conn.get()) +
                                          ": " + OneLine(PQerrorMessage(conn.get())) +
                                          " (is PostgreSQL running and is the database created?)",
                                      url));
  }
  // NOTICEs ("relation ... already exists, skipping") would go to stderr. noexcept: libpq is C.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) noexcept {}, nullptr);
  auto db = std::make_unique<PgDb>(std::move(conn), std::move(setup));
  RETURN_IF_ERROR(db->EnsureSession());
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace streamarc::archive
