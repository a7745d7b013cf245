// The stream registry: create, describe, list, update, tag, delete.
#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

constexpr size_t kMaxTags = 50;

Status ValidateRetention(int hours) {
  if (hours != 0 && (hours < kMinRetentionHours || hours > kMaxRetentionHours)) {
    return OutOfRange("retention must be 0 or 1 to 87600 hours, got " + std::to_string(hours));
  }
  return Status::Ok();
}

Status ValidateTags(const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) return InvalidArgument("tag key must be 1-128 characters");
    if (v.size() > 256) return InvalidArgument("tag value must be at most 256 characters");
  }
  return Status::Ok();
}

// Runs `body` inside a transaction on `db`, rolling back on any error.
template <typename F>
Status InTransaction(Db& db, F&& body) {
  RETURN_IF_ERROR(db.Begin());
  Status s = body();
  if (s.ok()) s = db.Commit();
  if (!s.ok()) db.Rollback();
  return s;
}

Status RunStmt(Db& db, const std::string& sql, const std::function<void(Stmt&)>& bind) {
  ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
  bind(*st);
  Status s = st->Run();
  st->Reset();
  return s;
}

}  // namespace

Status LocalArchive::CheckVersion(const StreamState& s, std::string_view current_version) const {
  if (!current_version.empty() && current_version != s.info.version) {
    return FailedPrecondition("version mismatch for stream " + s.info.name);
  }
  return Status::Ok();
}

Result<StreamInfo> LocalArchive::LoadStreamInfo(Db& db, int64_t id) {
  StreamInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = names_by_id_.find(id);
    if (it == names_by_id_.end()) return NotFound("stream not found");
    info = streams_.at(it->second).info;
  }
  ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT key, value FROM tags WHERE stream_id=?1"));
  st->Bind(1, id);
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    info.tags[row.Text(0)] = row.Text(1);
    return Status::Ok();
  }));
  return info;
}

Result<StreamInfo> LocalArchive::CreateStream(const CreateStreamRequest& req) {
  RETURN_IF_ERROR(ValidateStreamName(req.name));
  RETURN_IF_ERROR(ValidateRetention(req.retention_hours));
  RETURN_IF_ERROR(ValidateTags(req.tags));
  if (req.tags.size() > kMaxTags) return ResourceExhausted("at most 50 tags per stream");
  if (!req.device_name.empty()) RETURN_IF_ERROR(ValidateStreamName(req.device_name));

  std::lock_guard<std::mutex> control(control_mu_);
  StreamState s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.count(req.name)) return AlreadyExists("stream exists: " + req.name);
    s.info.version = versions_.Next();
  }
  s.info.name = req.name;
  s.info.creation_time_us = clock_.NowMicros();
  s.info.arn =
      kvs::MakeStreamArn(options_.region, options_.account, req.name, s.info.creation_time_us);
  s.info.status = StreamStatus::kActive;
  s.info.media_type = req.media_type;
  s.info.device_name = req.device_name;
  s.info.kms_key_id = req.kms_key_id;
  s.info.retention_hours = req.retention_hours;

  Db& db = *control_;
  RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
    ASSIGN_OR_RETURN(
        Stmt * st,
        db.Prepare(
            "INSERT INTO streams(name, arn, version, status, media_type, device_name, kms_key_id,"
            " retention_hours, creation_us) VALUES(?1, ?2, ?3, 'ACTIVE', ?4, ?5, ?6, ?7, ?8)"));
    st->BindText(1, s.info.name).BindText(2, s.info.arn).BindText(3, s.info.version);
    st->BindText(4, s.info.media_type).BindText(5, s.info.device_name);
    st->BindText(6, s.info.kms_key_id).Bind(7, s.info.retention_hours);
    st->Bind(8, s.info.creation_time_us);
    Status r = st->Run();
    st->Reset();
    RETURN_IF_ERROR(r);
    s.id = sqlite3_last_insert_rowid(db.raw());
    // A pair, not a structured binding: clang 14 cannot capture bindings in a lambda.
    for (const auto& tag : req.tags) {
      RETURN_IF_ERROR(RunStmt(
          db, "INSERT INTO tags(stream_id, key, value) VALUES(?1, ?2, ?3)",
          [&](Stmt& t) { t.Bind(1, s.id).BindText(2, tag.first).BindText(3, tag.second); }));
    }
    return Status::Ok();
  }));
  StreamInfo out = s.info;
  out.tags = req.tags;
  {
    std::lock_guard<std::mutex> lock(mu_);
    names_by_id_[s.id] = s.info.name;
    streams_[s.info.name] = std::move(s);
  }
  logger_.Info("archive", "stream created", {{"stream", out.name}, {"arn", out.arn}});
  return out;
}

Result<StreamInfo> LocalArchive::DescribeStream(const StreamRef& ref) {
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  std::lock_guard<std::mutex> control(control_mu_);
  return LoadStreamInfo(*control_, s.id);
}

Result<std::vector<StreamInfo>> LocalArchive::ListStreams(std::string_view name_prefix,
                                                          std::string_view after_name,
                                                          int max_results) {
  if (max_results < 1 || max_results > 10000) {
    return InvalidArgument("max_results must be 1-10000");
  }
  std::vector<int64_t> ids;
  std::lock_guard<std::mutex> control(control_mu_);
  Db& db = *control_;
  ASSIGN_OR_RETURN(Stmt * st,
                   db.Prepare("SELECT id FROM streams WHERE status != 'DELETING' AND name > ?1 AND"
                              " substr(name, 1, length(?2)) = ?2 ORDER BY name LIMIT ?3"));
  st->BindText(1, after_name).BindText(2, name_prefix).Bind(3, max_results);
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    ids.push_back(row.Int(0));
    return Status::Ok();
  }));
  std::vector<StreamInfo> out;
  for (int64_t id : ids) {
    Result<StreamInfo> info = LoadStreamInfo(db, id);
    if (info.ok()) out.push_back(std::move(*info));  // deleted meanwhile: skip
  }
  return out;
}

Status LocalArchive::UpdateStream(const StreamRef& ref, std::string_view current_version,
                                  std::optional<std::string> device_name,
                                  std::optional<std::string> media_type) {
  if (device_name && !device_name->empty()) RETURN_IF_ERROR(ValidateStreamName(*device_name));
  std::lock_guard<std::mutex> control(control_mu_);
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  RETURN_IF_ERROR(CheckVersion(s, current_version));
  if (device_name) s.info.device_name = *device_name;
  if (media_type) s.info.media_type = *media_type;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.info.version = versions_.Next();
  }
  RETURN_IF_ERROR(
      RunStmt(*control_, "UPDATE streams SET device_name=?2, media_type=?3, version=?4 WHERE id=?1",
              [&](Stmt& st) {
                st.Bind(1, s.id).BindText(2, s.info.device_name).BindText(3, s.info.media_type);
                st.BindText(4, s.info.version);
              }));
  std::lock_guard<std::mutex> lock(mu_);
  streams_[s.info.name] = s;
  return Status::Ok();
}

Status LocalArchive::UpdateRetention(const StreamRef& ref, std::string_view current_version,
                                     int hours) {
  RETURN_IF_ERROR(ValidateRetention(hours));
  std::lock_guard<std::mutex> control(control_mu_);
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  RETURN_IF_ERROR(CheckVersion(s, current_version));
  s.info.retention_hours = hours;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.info.version = versions_.Next();
  }
  RETURN_IF_ERROR(
      RunStmt(*control_, "UPDATE streams SET retention_hours=?2, version=?3 WHERE id=?1",
              [&](Stmt& st) { st.Bind(1, s.id).Bind(2, hours).BindText(3, s.info.version); }));
  std::lock_guard<std::mutex> lock(mu_);
  streams_[s.info.name] = s;
  logger_.Info("archive", "retention changed", {{"stream", s.info.name}, {"hours", hours}});
  return Status::Ok();
}

Status LocalArchive::TagStream(const StreamRef& ref,
                               const std::map<std::string, std::string>& tags) {
  RETURN_IF_ERROR(ValidateTags(tags));
  std::lock_guard<std::mutex> control(control_mu_);
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  ASSIGN_OR_RETURN(StreamInfo info, LoadStreamInfo(*control_, s.id));
  for (const auto& [k, v] : tags) info.tags[k] = v;
  if (info.tags.size() > kMaxTags) return ResourceExhausted("at most 50 tags per stream");
  return InTransaction(*control_, [&]() -> Status {
    for (const auto& tag : tags) {
      RETURN_IF_ERROR(RunStmt(
          *control_, "INSERT OR REPLACE INTO tags(stream_id, key, value) VALUES(?1, ?2, ?3)",
          [&](Stmt& t) { t.Bind(1, s.id).BindText(2, tag.first).BindText(3, tag.second); }));
    }
    return Status::Ok();
  });
}

Status LocalArchive::UntagStream(const StreamRef& ref, const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> control(control_mu_);
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  return InTransaction(*control_, [&]() -> Status {
    for (const std::string& k : keys) {
      RETURN_IF_ERROR(RunStmt(*control_, "DELETE FROM tags WHERE stream_id=?1 AND key=?2",
                              [&](Stmt& t) { t.Bind(1, s.id).BindText(2, k); }));
    }
    return Status::Ok();
  });
}

Status LocalArchive::DeleteStream(const StreamRef& ref, std::string_view current_version) {
  StreamState s;
  {
    std::lock_guard<std::mutex> control(control_mu_);
    ASSIGN_OR_RETURN(s, Resolve(ref));
    RETURN_IF_ERROR(CheckVersion(s, current_version));
    // Durable intent first: a crash from here on finishes the deletion at the next open.
    RETURN_IF_ERROR(WithReserve([&] {
      return RunStmt(*control_, "UPDATE streams SET status='DELETING' WHERE id=?1",
                     [&](Stmt& st) { st.Bind(1, s.id); });
    }));
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(s.info.name);
    names_by_id_.erase(s.id);
  }
  // The commit thread stops writing the stream's file; fragments still queued for it fail.
  RunOnCommitThread([this, id = s.id] { CloseSegment(id, /*seal_in_db=*/false); });
  Status finished = FinishDeletingStream(s.id, s.info.name);
  // The stream is gone for every caller from here (even if removing its files failed: the
  // next open finishes that), so its listeners hear of it either way.
  std::vector<std::shared_ptr<const StreamDeletedListener>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    for (const auto& entry : deleted_listeners_) listeners.push_back(entry.second);
  }
  for (const auto& listener : listeners) (*listener)(s.info.name);
  return finished;
}

uint64_t LocalArchive::AddStreamDeletedListener(StreamDeletedListener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  uint64_t id = next_listener_id_++;
  deleted_listeners_[id] = std::make_shared<const StreamDeletedListener>(std::move(listener));
  return id;
}

void LocalArchive::RemoveStreamDeletedListener(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  deleted_listeners_.erase(id);
}

}  // namespace streamarc::archive
