#include "tests/support/pg_database.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

namespace streamarc::testing {
namespace {

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, PgFinish>;
using Res = std::unique_ptr<PGresult, PgClear>;

Result<Conn> Connect(const std::string& url) {
  Conn c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) {
    return Unavailable("cannot connect to the test PostgreSQL at " + url + ": " +
                       PQerrorMessage(c.get()));
  }
  return c;
}

Result<Res> Run(PGconn* c, const std::string& sql) {
  Res r(PQexec(c, sql.c_str()));
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return IoError(sql + ": " + PQresultErrorMessage(r.get()));
  }
  return r;
}

}  // namespace

std::unique_ptr<PgTestDatabase> PgTestDatabase::Make(const std::string& name, bool if_missing,
                                                     bool drop) {
  const char* file = std::getenv("STREAMARC_TEST_PG");
  if (file == nullptr || *file == '\0') return nullptr;
  std::ifstream in(file);
  std::string server;
  std::getline(in, server);
  if (server.empty()) {
    // The fixture (pg_server.sh start) did not run or failed: say so instead of going on.
    std::fprintf(stderr, "STREAMARC_TEST_PG=%s holds no server URL\n", file);
    std::abort();
  }
  Result<Conn> c = Connect(server + "postgres");
  Status s = c.status();
  if (c.ok() && if_missing) {
    Result<Res> r = Run(c->get(), "SELECT 1 FROM pg_database WHERE datname='" + name + "'");
    s = r.status();
    if (r.ok() && PQntuples(r->get()) > 0) {
      return std::unique_ptr<PgTestDatabase>(new PgTestDatabase(server, name, drop));
    }
  }
  if (s.ok()) s = Run(c->get(), "CREATE DATABASE " + name + " TEMPLATE template0").status();
  if (s.ok()) return std::unique_ptr<PgTestDatabase>(new PgTestDatabase(server, name, drop));
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  std::abort();
}

std::unique_ptr<PgTestDatabase> PgTestDatabase::FromEnvironment() {
  static std::atomic<int> counter{0};
  return Make("t" + std::to_string(::getpid()) + "_" + std::to_string(counter++),
              /*if_missing=*/false, /*drop=*/true);
}

std::unique_ptr<PgTestDatabase> PgTestDatabase::ForKey(const std::string& key) {
  char name[32];
  std::snprintf(name, sizeof(name), "k%016zx", std::hash<std::string>{}(key));
  return Make(name, /*if_missing=*/true, /*drop=*/false);
}

PgTestDatabase::PgTestDatabase(std::string server_url, std::string name, bool drop)
    : server_url_(std::move(server_url)),
      name_(std::move(name)),
      url_(server_url_ + name_),
      drop_(drop) {}

PgTestDatabase::~PgTestDatabase() {
  if (!drop_) return;
  Result<Conn> c = Connect(server_url_ + "postgres");
  // FORCE: an archive a failed test left open still holds connections.
  if (c.ok())
    Run(c->get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").status().IgnoreError();
}

Result<int64_t> PgTestDatabase::QueryInt(const std::string& sql) const {
  ASSIGN_OR_RETURN(Conn c, Connect(url_));
  ASSIGN_OR_RETURN(Res r, Run(c.get(), sql));
  if (PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1) return NotFound(sql + ": no row");
  return std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
}

Status PgTestDatabase::Exec(const std::string& sql) const {
  ASSIGN_OR_RETURN(Conn c, Connect(url_));
  return Run(c.get(), sql).status();
}

}  // namespace streamarc::testing
