// The SQLite database the registry and the index share: its schema and connections.
#include "archive/sqlite_backend.h"

#include "archive/sqlite.h"

namespace streamarc::archive {
namespace {

// The index schema; archive/FORMAT.md explains every column.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, arn TEXT NOT NULL UNIQUE,
  version TEXT NOT NULL, status TEXT NOT NULL, media_type TEXT NOT NULL,
  device_name TEXT NOT NULL, kms_key_id TEXT NOT NULL, retention_hours INTEGER NOT NULL,
  creation_us INTEGER NOT NULL);
-- A stream's StorageTier (HOT, WARM); added after version 3 and read with a LEFT JOIN, so
-- a stream without a row is HOT.
CREATE TABLE IF NOT EXISTS stream_tiers(stream_id INTEGER PRIMARY KEY, tier TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags(
  stream_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(stream_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments(
  id INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, window_start_us INTEGER NOT NULL,
  first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, min_server_us INTEGER NOT NULL,
  max_server_us INTEGER NOT NULL, committed_end INTEGER NOT NULL, sealed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS track_infos(
  id INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fragments(
  seq INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, segment_id INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL, byte_length INTEGER NOT NULL,
  producer_us INTEGER NOT NULL, server_us INTEGER NOT NULL, duration_us INTEGER NOT NULL,
  track_info_id INTEGER, key_frames BLOB);
CREATE INDEX IF NOT EXISTS fragments_by_stream ON fragments(stream_id);
CREATE INDEX IF NOT EXISTS fragments_by_producer ON fragments(stream_id, producer_us);
CREATE INDEX IF NOT EXISTS fragments_by_server ON fragments(stream_id, server_us);
CREATE INDEX IF NOT EXISTS segments_by_age ON segments(min_server_us, id);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id INTEGER NOT NULL,
  start_us INTEGER NOT NULL, end_us INTEGER NOT NULL, label TEXT NOT NULL, score REAL NOT NULL,
  box_x INTEGER, box_y INTEGER, box_w INTEGER, box_h INTEGER, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_start ON events(stream_id, start_us);
CREATE INDEX IF NOT EXISTS events_by_label ON events(stream_id, label, start_us);
CREATE TABLE IF NOT EXISTS event_bounds(
  stream_id INTEGER PRIMARY KEY, max_duration_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spans(
  id INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, time_type INTEGER NOT NULL,
  start_us INTEGER NOT NULL, end_us INTEGER NOT NULL, last_start_us INTEGER NOT NULL,
  first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, fragments INTEGER NOT NULL,
  bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans(stream_id, time_type, start_us);
CREATE INDEX IF NOT EXISTS spans_by_seq ON spans(stream_id, time_type, last_seq);
CREATE TABLE IF NOT EXISTS span_overlaps(
  stream_id INTEGER NOT NULL, time_type INTEGER NOT NULL,
  PRIMARY KEY(stream_id, time_type)) WITHOUT ROWID;
)sql";

}  // namespace

Result<std::shared_ptr<SqlConnections>> OpenSqliteConnections(const std::string& path, bool sync,
                                                              bool read_only) {
  auto connect = [path, sync, read_only](bool create) -> Result<std::unique_ptr<SqliteDb>> {
    if (read_only) return SqliteDb::OpenReadOnly(path);
    return SqliteDb::Open(path, create, sync);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> writer, connect(/*create=*/true));
  if (!read_only) RETURN_IF_ERROR(writer->Exec(kSchema));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> control, connect(/*create=*/false));
  auto reader = [connect]() -> Result<std::unique_ptr<Db>> {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, connect(/*create=*/false));
    // Readers map the index instead of copying each page through read(2), and keep more of
    // it cached: a one-hour list touches a few hundred pages.
    RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=1073741824"));
    RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-16384"));
    return std::unique_ptr<Db>(std::move(db));
  };
  return std::make_shared<SqlConnections>(std::move(writer), std::move(control), reader, read_only);
}

Result<SqlBackend> OpenSqliteBackend(const std::string& path, bool sync, bool read_only) {
  ASSIGN_OR_RETURN(std::shared_ptr<SqlConnections> c, OpenSqliteConnections(path, sync, read_only));
  SqlBackend b;
  b.registry = NewSqlStreamRegistry(c);
  b.index = NewSqlFragmentIndex(c);
  return b;
}

}  // namespace streamarc::archive
