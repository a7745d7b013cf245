// The stream registry's archive side: validation, versions and the in-memory cache; the
// StreamRegistry stores.
#include "archive/local_archive.h"
#include "archive/tags.h"

namespace streamarc::archive {
namespace {

constexpr size_t kMaxTags = 50;

Status ValidateRetention(int hours) {
  if (hours != 0 && (hours < kMinRetentionHours || hours > kMaxRetentionHours)) {
    return OutOfRange("retention must be 0 or 1 to 87600 hours, got " + std::to_string(hours));
  }
  return Status::Ok();
}

}  // namespace

Status LocalArchive::CheckVersion(const StreamState& s, std::string_view current_version) const {
  if (!current_version.empty() && current_version != s.info.version) {
    return FailedPrecondition("version mismatch for stream " + s.info.name);
  }
  return Status::Ok();
}

Result<StreamInfo> LocalArchive::LoadStreamInfo(int64_t id) {
  StreamInfo info;
  {
    MutexLock lock(mu_);
    auto it = names_by_id_.find(id);
    if (it == names_by_id_.end()) return NotFound("stream not found");
    info = streams_.at(it->second).info;
  }
  ASSIGN_OR_RETURN(info.tags, registry_->Tags(id));
  return info;
}

Status LocalArchive::StoreUpdate(StreamState s) {
  {
    MutexLock lock(mu_);
    s.info.version = versions_.Next();
  }
  RETURN_IF_ERROR(registry_->Update(s.id, s.info));
  MutexLock lock(mu_);
  streams_[s.info.name] = std::move(s);
  return Status::Ok();
}

Result<StreamInfo> LocalArchive::CreateStream(const CreateStreamRequest& req) {
  if (options_.read_only) return ReadOnlyRefusal();
  RETURN_IF_ERROR(ValidateStreamName(req.name));
  RETURN_IF_ERROR(ValidateRetention(req.retention_hours));
  RETURN_IF_ERROR(ValidateTags(req.tags));
  if (req.tags.size() > kMaxTags) return ResourceExhausted("at most 50 tags per stream");
  if (!req.device_name.empty()) RETURN_IF_ERROR(ValidateStreamName(req.device_name));

  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  StreamState s;
  {
    MutexLock lock(mu_);
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
  s.info.storage_tier =
      req.storage_tier.value_or(options_.object_store ? StorageTier::kWarm : StorageTier::kHot);
  RETURN_IF_ERROR(CheckTier(s.info.storage_tier));
  s.info.tags = req.tags;
  ASSIGN_OR_RETURN(s.id, registry_->Insert(s.info));
  StreamInfo out = s.info;
  s.info.tags.clear();  // the cache holds no tags
  {
    MutexLock lock(mu_);
    names_by_id_[s.id] = s.info.name;
    streams_[s.info.name] = std::move(s);
  }
  logger_.Info("archive", "stream created", {{"stream", out.name}, {"arn", out.arn}});
  return out;
}

Result<StreamInfo> LocalArchive::DescribeStream(const StreamRef& ref) {
  if (coordinator_) {
    // Another node may have changed the stream: one cheap read says whether to reload.
    MutexLock registry(registry_mu_);
    RETURN_IF_ERROR(RefreshIfChanged());
  }
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  return LoadStreamInfo(s.id);
}

Result<std::vector<StreamInfo>> LocalArchive::ListStreams(std::string_view name_prefix,
                                                          std::string_view after_name,
                                                          int max_results) {
  if (max_results < 1 || max_results > 10000) {
    return InvalidArgument("max_results must be 1-10000");
  }
  if (coordinator_) {
    MutexLock registry(registry_mu_);
    RETURN_IF_ERROR(RefreshIfChanged());
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, registry_->List(name_prefix, after_name, max_results));
  std::vector<StreamInfo> out;
  for (int64_t id : ids) {
    Result<StreamInfo> info = LoadStreamInfo(id);
    if (info.ok()) out.push_back(std::move(*info));  // deleted meanwhile: skip
  }
  return out;
}

Status LocalArchive::UpdateStream(const StreamRef& ref, std::string_view current_version,
                                  std::optional<std::string> device_name,
                                  std::optional<std::string> media_type) {
  if (options_.read_only) return ReadOnlyRefusal();
  if (device_name && !device_name->empty()) RETURN_IF_ERROR(ValidateStreamName(*device_name));
  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  RETURN_IF_ERROR(CheckVersion(s, current_version));
  if (device_name) s.info.device_name = *device_name;
  if (media_type) s.info.media_type = *media_type;
  return StoreUpdate(std::move(s));
}

Status LocalArchive::UpdateRetention(const StreamRef& ref, std::string_view current_version,
                                     int hours) {
  if (options_.read_only) return ReadOnlyRefusal();
  RETURN_IF_ERROR(ValidateRetention(hours));
  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  RETURN_IF_ERROR(CheckVersion(s, current_version));
  s.info.retention_hours = hours;
  const std::string name = s.info.name;
  RETURN_IF_ERROR(StoreUpdate(std::move(s)));
  logger_.Info("archive", "retention changed", {{"stream", name}, {"hours", hours}});
  return Status::Ok();
}

Status LocalArchive::CheckTier(StorageTier tier) const {
  if (tier == StorageTier::kWarm && !options_.object_store) {
    return InvalidArgument(
        "the WARM storage tier needs an object store, and this server has none (configure"
        " \"object-store\")");
  }
  return Status::Ok();
}

Status LocalArchive::UpdateStorageTier(const StreamRef& ref, std::string_view current_version,
                                       StorageTier tier) {
  if (options_.read_only) return ReadOnlyRefusal();
  RETURN_IF_ERROR(CheckTier(tier));
  {
    MutexLock registry(registry_mu_);
    if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
    ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
    RETURN_IF_ERROR(CheckVersion(s, current_version));
    s.info.storage_tier = tier;
    const std::string name = s.info.name;
    RETURN_IF_ERROR(StoreUpdate(std::move(s)));
    logger_.Info("archive", "storage tier changed",
                 {{"stream", name}, {"tier", std::string(StorageTierName(tier))}});
  }
  segments_->TiersChanged();
  return Status::Ok();
}

Status LocalArchive::TagStream(const StreamRef& ref,
                               const std::map<std::string, std::string>& tags) {
  if (options_.read_only) return ReadOnlyRefusal();
  RETURN_IF_ERROR(ValidateTags(tags));
  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  using Tags = std::map<std::string, std::string>;
  ASSIGN_OR_RETURN(Tags all, registry_->Tags(s.id));
  for (const auto& [k, v] : tags) all[k] = v;
  if (all.size() > kMaxTags) return ResourceExhausted("at most 50 tags per stream");
  return registry_->SetTags(s.id, tags);
}

Status LocalArchive::UntagStream(const StreamRef& ref, const std::vector<std::string>& keys) {
  if (options_.read_only) return ReadOnlyRefusal();
  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  // KVS checks the keys to remove as it checks keys to add, except that a key stored before
  // these checks existed can still be removed.
  using Tags = std::map<std::string, std::string>;
  ASSIGN_OR_RETURN(Tags stored, registry_->Tags(s.id));
  for (const std::string& key : keys) {
    if (!stored.count(key)) RETURN_IF_ERROR(ValidateTagKey(key));
  }
  return registry_->RemoveTags(s.id, keys);
}

Status LocalArchive::DeleteStream(const StreamRef& ref, std::string_view current_version) {
  if (options_.read_only) return ReadOnlyRefusal();
  StreamState s;
  {
    MutexLock registry(registry_mu_);
    if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
    ASSIGN_OR_RETURN(s, Resolve(ref));
    RETURN_IF_ERROR(CheckVersion(s, current_version));
    // Durable intent first: a crash from here on finishes the deletion at the next open.
    RETURN_IF_ERROR(WithReserve([&] { return registry_->MarkDeleting(s.id); }));
    MutexLock lock(mu_);
    streams_.erase(s.info.name);
    names_by_id_.erase(s.id);
  }
  // The commit thread stops writing the stream's segment; fragments still queued for it fail.
  RunOnCommitThread([this, id = s.id] { CloseSegment(id, /*seal_in_db=*/false); });
  Status finished = FinishDeletingStream(s.id, s.info.name);
  // The stream is gone for every caller from here (even if removing its data failed: the
  // next open finishes that), so its listeners hear of it either way.
  registry_->PublishDeleted(s.info.name);
  return finished;
}

uint64_t LocalArchive::AddStreamDeletedListener(StreamDeletedListener listener) {
  return registry_->AddDeletedListener(std::move(listener));
}

void LocalArchive::RemoveStreamDeletedListener(uint64_t id) {
  registry_->RemoveDeletedListener(id);
}

}  // namespace streamarc::archive
