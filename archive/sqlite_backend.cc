// The SQLite database both halves share, and the stream registry over it.
#include "archive/sqlite_backend.h"

namespace streamarc::archive {
namespace {

// 2 added the analysis events (`events`, `event_bounds`), 3 the recorded spans (`spans`,
// `span_overlaps`). An older index is upgraded at open: the schema below creates the new
// tables, the spans are built from the fragments, then the version is raised (one
// transaction).
constexpr int kSchemaVersion = 3;

// The index schema; archive/FORMAT.md explains every column.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, arn TEXT NOT NULL UNIQUE,
  version TEXT NOT NULL, status TEXT NOT NULL, media_type TEXT NOT NULL,
  device_name TEXT NOT NULL, kms_key_id TEXT NOT NULL, retention_hours INTEGER NOT NULL,
  creation_us INTEGER NOT NULL);
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

StreamStatus ParseStatus(const std::string& s) {
  if (s == "CREATING") return StreamStatus::kCreating;
  if (s == "UPDATING") return StreamStatus::kUpdating;
  if (s == "DELETING") return StreamStatus::kDeleting;
  return StreamStatus::kActive;
}

Status RunStmt(Db& db, const std::string& sql, const std::function<void(Stmt&)>& bind) {
  ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
  bind(*st);
  Status s = st->Run();
  st->Reset();
  return s;
}

class SqliteStreamRegistry final : public StreamRegistry {
 public:
  explicit SqliteStreamRegistry(std::shared_ptr<SqliteConnections> c) : c_(std::move(c)) {}

  Result<uint64_t> ArchiveId(uint64_t proposed) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    ASSIGN_OR_RETURN(Stmt * get, db.Prepare("SELECT value FROM meta WHERE key=?1"));
    get->BindText(1, "archive_id");
    ASSIGN_OR_RETURN(bool have_id, get->Step());
    if (have_id) {
      const uint64_t id = std::stoull(get->Text(0));
      get->Reset();
      get->BindText(1, "schema_version");
      ASSIGN_OR_RETURN(bool have_version, get->Step());
      const std::string version = have_version ? get->Text(0) : "";
      get->Reset();
      if (c_->read_only() && (version == "1" || version == "2")) {
        return FailedPrecondition("the index has schema version " + version + ", not " +
                                  std::to_string(kSchemaVersion) +
                                  ": open it writable once so that it is upgraded");
      }
      if (version == "1" || version == "2") {
        // The schema (run at open) has created the tables versions 2 and 3 added; the spans
        // are built from the fragments already stored.
        RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
          RETURN_IF_ERROR(SqliteSpansRebuild(db));
          return RunStmt(db, "UPDATE meta SET value=?1 WHERE key='schema_version'",
                         [](Stmt& st) { st.BindText(1, std::to_string(kSchemaVersion)); });
        }));
      } else if (version.empty() && !c_->read_only()) {
        // Killed between the two rows of its very first start (before the fix that wrote them
        // together): nothing was stored yet, and the schema run at open is the current one.
        RETURN_IF_ERROR(RunStmt(db, "INSERT INTO meta(key, value) VALUES('schema_version', ?1)",
                                [](Stmt& st) { st.BindText(1, std::to_string(kSchemaVersion)); }));
      } else if (version != std::to_string(kSchemaVersion)) {
        return DataLoss("index has an unknown schema version");
      }
      return id;
    }
    get->Reset();
    if (c_->read_only()) {
      return FailedPrecondition("the index holds no archive yet: nothing to serve read-only");
    }
    // Both rows or neither: a kill between them left an index no later start would open.
    RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      const std::string sql = "INSERT INTO meta(key, value) VALUES(?1, ?2)";
      RETURN_IF_ERROR(RunStmt(db, sql, [&](Stmt& st) {
        st.BindText(1, "archive_id").BindText(2, std::to_string(proposed));
      }));
      return RunStmt(db, sql, [](Stmt& st) {
        st.BindText(1, "schema_version").BindText(2, std::to_string(kSchemaVersion));
      });
    }));
    return proposed;
  }

  Result<std::vector<StreamRecord>> LoadAll() override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st,
                     c_->control().Prepare("SELECT id, name, arn, version, status, media_type,"
                                           " device_name, kms_key_id, retention_hours, creation_us"
                                           " FROM streams"));
    std::vector<StreamRecord> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      StreamRecord s;
      s.id = row.Int(0);
      s.info.name = row.Text(1);
      s.info.arn = row.Text(2);
      s.info.version = row.Text(3);
      s.info.status = ParseStatus(row.Text(4));
      s.info.media_type = row.Text(5);
      s.info.device_name = row.Text(6);
      s.info.kms_key_id = row.Text(7);
      s.info.retention_hours = static_cast<int>(row.Int(8));
      s.info.creation_time_us = row.Int(9);
      out.push_back(std::move(s));
      return Status::Ok();
    }));
    return out;
  }

  Result<int64_t> Insert(const StreamInfo& info) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    int64_t id = 0;
    RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      ASSIGN_OR_RETURN(Stmt * st,
                       db.Prepare("INSERT INTO streams(name, arn, version, status, media_type,"
                                  " device_name, kms_key_id, retention_hours, creation_us)"
                                  " VALUES(?1, ?2, ?3, 'ACTIVE', ?4, ?5, ?6, ?7, ?8)"));
      st->BindText(1, info.name).BindText(2, info.arn).BindText(3, info.version);
      st->BindText(4, info.media_type).BindText(5, info.device_name);
      st->BindText(6, info.kms_key_id).Bind(7, info.retention_hours);
      st->Bind(8, info.creation_time_us);
      Status r = st->Run();
      st->Reset();
      RETURN_IF_ERROR(r);
      id = sqlite3_last_insert_rowid(db.raw());
      return InsertTags(db, id, info.tags, /*replace=*/false);
    }));
    return id;
  }

  Result<std::map<std::string, std::string>> Tags(int64_t id) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st,
                     c_->control().Prepare("SELECT key, value FROM tags WHERE stream_id=?1"));
    st->Bind(1, id);
    std::map<std::string, std::string> tags;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      tags[row.Text(0)] = row.Text(1);
      return Status::Ok();
    }));
    return tags;
  }

  Result<std::vector<int64_t>> List(std::string_view name_prefix, std::string_view after_name,
                                    int limit) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(
        Stmt * st,
        c_->control().Prepare("SELECT id FROM streams WHERE status != 'DELETING' AND name > ?1"
                              " AND substr(name, 1, length(?2)) = ?2 ORDER BY name LIMIT ?3"));
    st->BindText(1, after_name).BindText(2, name_prefix).Bind(3, limit);
    std::vector<int64_t> ids;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      ids.push_back(row.Int(0));
      return Status::Ok();
    }));
    return ids;
  }

  Status Update(int64_t id, const StreamInfo& info) override {
    MutexLock lock(c_->control_mu);
    return RunStmt(c_->control(),
                   "UPDATE streams SET device_name=?2, media_type=?3, retention_hours=?4,"
                   " version=?5 WHERE id=?1",
                   [&](Stmt& st) {
                     st.Bind(1, id).BindText(2, info.device_name).BindText(3, info.media_type);
                     st.Bind(4, info.retention_hours).BindText(5, info.version);
                   });
  }

  Status SetTags(int64_t id, const std::map<std::string, std::string>& tags) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    return InTransaction(db, [&] { return InsertTags(db, id, tags, /*replace=*/true); });
  }

  Status RemoveTags(int64_t id, const std::vector<std::string>& keys) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    return InTransaction(db, [&]() -> Status {
      for (const std::string& k : keys) {
        RETURN_IF_ERROR(RunStmt(db, "DELETE FROM tags WHERE stream_id=?1 AND key=?2",
                                [&](Stmt& t) { t.Bind(1, id).BindText(2, k); }));
      }
      return Status::Ok();
    });
  }

  Status MarkDeleting(int64_t id) override {
    MutexLock lock(c_->control_mu);
    return RunStmt(c_->control(), "UPDATE streams SET status='DELETING' WHERE id=?1",
                   [&](Stmt& st) { st.Bind(1, id); });
  }

  Status Remove(int64_t id) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    return InTransaction(db, [&]() -> Status {
      for (const char* sql :
           {"DELETE FROM tags WHERE stream_id=?1", "DELETE FROM streams WHERE id=?1"}) {
        RETURN_IF_ERROR(RunStmt(db, sql, [&](Stmt& st) { st.Bind(1, id); }));
      }
      return Status::Ok();
    });
  }

 private:
  static Status InsertTags(Db& db, int64_t id, const std::map<std::string, std::string>& tags,
                           bool replace) {
    const std::string sql = std::string(replace ? "INSERT OR REPLACE" : "INSERT") +
                            " INTO tags(stream_id, key, value) VALUES(?1, ?2, ?3)";
    // A pair, not a structured binding: clang 14 cannot capture bindings in a lambda.
    for (const auto& tag : tags) {
      RETURN_IF_ERROR(RunStmt(
          db, sql, [&](Stmt& t) { t.Bind(1, id).BindText(2, tag.first).BindText(3, tag.second); }));
    }
    return Status::Ok();
  }

  std::shared_ptr<SqliteConnections> c_;
};

}  // namespace

SqliteConnections::Reader::~Reader() {
  if (!db_) return;
  MutexLock lock(owner_->readers_mu_);
  owner_->readers_.push_back(std::move(db_));
}

Result<std::unique_ptr<Db>> SqliteConnections::Connect(bool create) const {
  if (read_only_) return Db::OpenReadOnly(path_);
  return Db::Open(path_, create, sync_);
}

Result<std::shared_ptr<SqliteConnections>> SqliteConnections::Open(const std::string& path,
                                                                   bool sync, bool read_only) {
  std::shared_ptr<SqliteConnections> c(new SqliteConnections(path, sync, read_only));
  ASSIGN_OR_RETURN(std::unique_ptr<Db> writer, c->Connect(/*create=*/true));
  if (!read_only) RETURN_IF_ERROR(writer->Exec(kSchema));
  ASSIGN_OR_RETURN(std::unique_ptr<Db> control, c->Connect(/*create=*/false));
  {
    MutexLock lock(c->writer_mu);
    c->writer_ = std::move(writer);
  }
  MutexLock lock(c->control_mu);
  c->control_ = std::move(control);
  return c;
}

Result<SqliteConnections::Reader> SqliteConnections::Borrow() {
  {
    MutexLock lock(readers_mu_);
    if (!readers_.empty()) {
      std::unique_ptr<Db> db = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Connect(/*create=*/false));
  // Readers map the index instead of copying each page through read(2), and keep more of
  // it cached: a one-hour list touches a few hundred pages.
  RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=1073741824"));
  RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-16384"));
  return Reader(this, std::move(db));
}

Result<SqliteBackend> OpenSqliteBackend(const std::string& path, bool sync, bool read_only) {
  ASSIGN_OR_RETURN(std::shared_ptr<SqliteConnections> c,
                   SqliteConnections::Open(path, sync, read_only));
  SqliteBackend b;
  b.registry = NewSqliteStreamRegistry(c);
  b.index = NewSqliteFragmentIndex(c);
  return b;
}

std::unique_ptr<StreamRegistry> NewSqliteStreamRegistry(std::shared_ptr<SqliteConnections> c) {
  return std::make_unique<SqliteStreamRegistry>(std::move(c));
}

uint64_t StreamRegistry::AddDeletedListener(Archive::StreamDeletedListener listener) {
  MutexLock lock(listeners_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_[id] = std::make_shared<const Archive::StreamDeletedListener>(std::move(listener));
  return id;
}

void StreamRegistry::RemoveDeletedListener(uint64_t id) {
  MutexLock lock(listeners_mu_);
  listeners_.erase(id);
}

void StreamRegistry::PublishDeleted(const std::string& name) {
  std::vector<std::shared_ptr<const Archive::StreamDeletedListener>> listeners;
  {
    MutexLock lock(listeners_mu_);
    for (const auto& entry : listeners_) listeners.push_back(entry.second);
  }
  for (const auto& listener : listeners) (*listener)(name);
}

}  // namespace streamarc::archive
