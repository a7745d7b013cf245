// The stream registry over sql.h's connections, on either engine.
#include "archive/sql.h"

namespace streamarc::archive {
namespace {

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

class SqlStreamRegistry final : public StreamRegistry {
 public:
  explicit SqlStreamRegistry(std::shared_ptr<SqlConnections> c) : c_(std::move(c)) {}

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
          RETURN_IF_ERROR(SqlSpansRebuild(db));
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
    Result<Stmt*> with_tiers = c_->control().Prepare(
        "SELECT id, name, arn, version, status, media_type, device_name, kms_key_id,"
        " retention_hours, creation_us, tier"
        " FROM streams LEFT JOIN stream_tiers ON stream_tiers.stream_id = id");
    // Read-only, an index no writable start has upgraded has no tiers table: all HOT.
    if (!with_tiers.ok() && c_->read_only()) {
      with_tiers = c_->control().Prepare(
          "SELECT id, name, arn, version, status, media_type, device_name, kms_key_id,"
          " retention_hours, creation_us, 'HOT' FROM streams");
    }
    ASSIGN_OR_RETURN(Stmt * st, std::move(with_tiers));
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
      // No row: a stream from before tiers, which stayed on local disk.
      s.info.storage_tier = ParseStorageTier(row.Text(10)).value_or(StorageTier::kHot);
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
      ASSIGN_OR_RETURN(
          Stmt * st, db.Prepare("INSERT INTO streams(name, arn, version, status, media_type,"
                                " device_name, kms_key_id, retention_hours, creation_us)"
                                " VALUES(?1, ?2, ?3, 'ACTIVE', ?4, ?5, ?6, ?7, ?8) RETURNING id"));
      st->BindText(1, info.name).BindText(2, info.arn).BindText(3, info.version);
      st->BindText(4, info.media_type).BindText(5, info.device_name);
      st->BindText(6, info.kms_key_id).Bind(7, info.retention_hours);
      st->Bind(8, info.creation_time_us);
      ASSIGN_OR_RETURN(id, InsertReturningId(st));
      RETURN_IF_ERROR(StoreTier(db, id, info.storage_tier));
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
        c_->control().Prepare(
            "SELECT id FROM streams WHERE status != 'DELETING' AND name > ?1"
            " AND substr(name, 1, length(CAST(?2 AS TEXT))) = ?2 ORDER BY name LIMIT ?3"));
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
    Db& db = c_->control();
    return InTransaction(db, [&]() -> Status {
      RETURN_IF_ERROR(RunStmt(db,
                              "UPDATE streams SET device_name=?2, media_type=?3,"
                              " retention_hours=?4, version=?5 WHERE id=?1",
                              [&](Stmt& st) {
                                st.Bind(1, id).BindText(2, info.device_name);
                                st.BindText(3, info.media_type).Bind(4, info.retention_hours);
                                st.BindText(5, info.version);
                              }));
      return StoreTier(db, id, info.storage_tier);
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
           {"DELETE FROM tags WHERE stream_id=?1", "DELETE FROM stream_tiers WHERE stream_id=?1",
            "DELETE FROM streams WHERE id=?1"}) {
        RETURN_IF_ERROR(RunStmt(db, sql, [&](Stmt& st) { st.Bind(1, id); }));
      }
      return Status::Ok();
    });
  }

 private:
  static Status StoreTier(Db& db, int64_t id, StorageTier tier) {
    return RunStmt(db,
                   "INSERT INTO stream_tiers(stream_id, tier) VALUES(?1, ?2)"
                   " ON CONFLICT(stream_id) DO UPDATE SET tier=excluded.tier",
                   [&](Stmt& st) { st.Bind(1, id).BindText(2, StorageTierName(tier)); });
  }

  static Status InsertTags(Db& db, int64_t id, const std::map<std::string, std::string>& tags,
                           bool replace) {
    const std::string sql =
        std::string("INSERT INTO tags(stream_id, key, value) VALUES(?1, ?2, ?3)") +
        (replace ? " ON CONFLICT(stream_id, key) DO UPDATE SET value=excluded.value" : "");
    // A pair, not a structured binding: clang 14 cannot capture bindings in a lambda.
    for (const auto& tag : tags) {
      RETURN_IF_ERROR(RunStmt(
          db, sql, [&](Stmt& t) { t.Bind(1, id).BindText(2, tag.first).BindText(3, tag.second); }));
    }
    return Status::Ok();
  }

  std::shared_ptr<SqlConnections> c_;
};

}  // namespace

std::unique_ptr<StreamRegistry> NewSqlStreamRegistry(std::shared_ptr<SqlConnections> c) {
  return std::make_unique<SqlStreamRegistry>(std::move(c));
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
