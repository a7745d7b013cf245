// Shared helpers for the archive tests: a temp-dir archive with a manual clock, fragments
// with reproducible bytes, and a synchronous append.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/log.h"
#include "tests/support/pg_database.h"
#include "tests/support/subprocess.h"

namespace streamarc::archive::testing {

// 2026-01-01T00:00:00Z
inline constexpr int64_t kStartUs = 1'767'225'600'000'000;

// Reproducible bytes: `size` bytes from a PRNG seeded with `seed`.
std::string MakeBytes(uint64_t seed, size_t size);
FragmentInput MakeFragment(int64_t server_us, size_t size, uint64_t seed);

// Appends and waits for the durable callback; the callback's status on failure.
Result<FragmentInfo> AppendSync(Archive& a, const std::string& stream, FragmentInput f);

// Log lines captured in memory.
class LogCapture {
 public:
  Logger::Sink Sink();
  std::vector<std::string> Lines() const;
  size_t Count(const std::string& needle) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// An archive in a fresh temp dir. The sweeper thread is off: tests call Sweep(). Its index
// is SQLite in the temp dir, or a fresh PostgreSQL database in the "pg." run of these tests
// (STREAMARC_TEST_PG, tests/support/pg_database.h).
struct Harness {
  Harness();
  // Whether the index is in PostgreSQL (this is the "pg." run).
  bool on_postgres() const { return pg != nullptr; }
  // SQL run on the index directly, SQLite's or PostgreSQL's (the same statement must work on
  // both): the first column of the first row as an integer; statements without rows.
  Result<int64_t> IndexQueryInt(const std::string& sql) const;
  Status IndexExec(const std::string& sql) const;
  // Opens (or reopens) the archive over `env` (the POSIX env when null).
  Status Open(Env* env = nullptr);
  void Close() { archive.reset(); }
  Archive& a() { return *archive; }
  // Creates a stream with the given retention.
  void Create(const std::string& name, int retention_hours = 24);

  streamarc::testing::TempDir dir;
  ManualClock clock{kStartUs};
  LogCapture logs;
  Logger logger;
  std::unique_ptr<Env> posix = NewPosixEnv();
  // Before `archive`: the database outlives the archive's connections to it.
  std::unique_ptr<streamarc::testing::PgTestDatabase> pg =
      streamarc::testing::PgTestDatabase::FromEnvironment();
  Options options;
  std::unique_ptr<Archive> archive;
};

}  // namespace streamarc::archive::testing
