#include "tests/archive/test_util.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>
#include <optional>
#include <random>

namespace streamarc::archive::testing {

std::string MakeBytes(uint64_t seed, size_t size) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

FragmentInput MakeFragment(int64_t server_us, size_t size, uint64_t seed) {
  FragmentInput f;
  f.bytes = MakeBytes(seed, size);
  f.producer_timestamp_us = server_us - 500'000;
  f.server_timestamp_us = server_us;
  f.duration_us = 2'000'000;
  f.track_info = "tracks:h264";
  f.key_frame_offsets = {0};
  return f;
}

Result<FragmentInfo> AppendSync(Archive& a, const std::string& stream, FragmentInput f) {
  auto done = std::make_shared<std::promise<std::pair<Status, FragmentInfo>>>();
  auto fut = done->get_future();
  Result<std::string> number = a.Append(StreamRef::Name(stream), std::move(f),
                                        [done](const Status& s, const FragmentInfo& info) {
                                          done->set_value({s, info});
                                        });
  if (!number.ok()) return number.status();
  auto [status, info] = fut.get();
  if (!status.ok()) return status;
  EXPECT_EQ(info.number, *number);
  return info;
}

Logger::Sink LogCapture::Sink() {
  return [this](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(line);
  };
}

std::vector<std::string> LogCapture::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

size_t LogCapture::Count(const std::string& needle) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const std::string& l : lines_) n += l.find(needle) != std::string::npos;
  return n;
}

Harness::Harness() : logger(clock, LogLevel::kDebug, logs.Sink()) {
  options.root = dir.path() + "/archive";
  options.sweep_interval_us = 0;
  if (pg) options.index = pg->url();
}

Result<int64_t> Harness::IndexQueryInt(const std::string& sql) const {
  if (pg) return pg->QueryInt(sql);
  sqlite3* db = nullptr;
  const std::string path = options.root + "/index.sqlite";
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::optional<int64_t> out;
  sqlite3_stmt* st = nullptr;
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) out = sqlite3_column_int64(st, 0);
  const std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (!out) return IoError(sql + ": " + error);
  return *out;
}

Status Harness::IndexExec(const std::string& sql) const {
  if (pg) return pg->Exec(sql);
  sqlite3* db = nullptr;
  const std::string path = options.root + "/index.sqlite";
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  const std::string error = sqlite3_errmsg(db);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return IoError(sql + ": " + error);
  return Status::Ok();
}

Status Harness::Open(Env* env) {
  archive.reset();
  ASSIGN_OR_RETURN(archive, OpenLocalArchive(options, env ? *env : *posix, clock, logger));
  return Status::Ok();
}

void Harness::Create(const std::string& name, int retention_hours) {
  CreateStreamRequest req;
  req.name = name;
  req.media_type = "video/h264";
  req.retention_hours = retention_hours;
  Result<StreamInfo> info = archive->CreateStream(req);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
}

}  // namespace streamarc::archive::testing
