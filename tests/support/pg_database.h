// A fresh PostgreSQL database for one test, on the server tests/support/pg_server.sh started:
// the archive tests run once on SQLite and once more on PostgreSQL (the "pg." tests, whose
// STREAMARC_TEST_PG names the file holding the server's URL). Dropped when destroyed.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace streamarc::testing {

class PgTestDatabase {
 public:
  // A new database when STREAMARC_TEST_PG is set, nullptr (the test runs on SQLite) when it
  // is not. A server that cannot be reached fails the test.
  static std::unique_ptr<PgTestDatabase> FromEnvironment();
  // The database for `key` (a data directory: a restarted server finds its streams again),
  // created the first time and never dropped (the fixture deletes the whole server); nullptr
  // when STREAMARC_TEST_PG is not set.
  static std::unique_ptr<PgTestDatabase> ForKey(const std::string& key);
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // postgresql://streamarc@127.0.0.1:PORT/NAME: for archive::Options::index.
  const std::string& url() const { return url_; }
  // The first column of the first row of `sql`, as an integer; run in this database.
  Result<int64_t> QueryInt(const std::string& sql) const;
  // Statements without rows, run in this database.
  Status Exec(const std::string& sql) const;

 private:
  PgTestDatabase(std::string server_url, std::string name, bool drop);
  // Creates `name` unless `if_missing` and it exists; aborts the test program on failure.
  static std::unique_ptr<PgTestDatabase> Make(const std::string& name, bool if_missing, bool drop);
  std::string server_url_;  // ends with '/'
  std::string name_;
  std::string url_;
  bool drop_;
};

}  // namespace streamarc::testing
