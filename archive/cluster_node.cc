// LocalArchive as one of several nodes on a PostgreSQL index (cluster.h): stream leases,
// id blocks, and a stream cache kept in step with the other nodes' registry changes.
//
// Fencing: Append and the group commit refuse a stream once this node's lease may have
// ended. The lease is counted from before the renewal was sent, on this node's monotonic
// clock, less a tenth for slack; the index counts it from when the statement ran, so this
// node stops first.
#include <algorithm>
#include <chrono>

#include "archive/local_archive.h"

namespace streamarc::archive {
namespace {

// Leases of streams nobody appended to for this many lease periods are given back.
constexpr int64_t kIdleLeases = 3;

}  // namespace

Status LocalArchive::JoinCluster() {
  RETURN_IF_ERROR(coordinator_->Heartbeat({}, {}).status());
  ASSIGN_OR_RETURN(IdBlock block, coordinator_->TakeIds());
  MutexLock lock(mu_);
  InstallIdsLocked(block);
  return Status::Ok();
}

void LocalArchive::InstallIdsLocked(const IdBlock& block) {
  if (block.first < ids_end_) return;  // an older block: ids never go back
  ids_next_ = block.first;
  ids_end_ = block.end;
  if (spare_ids_ && spare_ids_->first < ids_end_) spare_ids_.reset();
}

Result<uint64_t> LocalArchive::NextIdLocked() {
  if (ids_next_ >= ids_end_ && spare_ids_) {
    const IdBlock next = *spare_ids_;
    spare_ids_.reset();
    InstallIdsLocked(next);
  }
  if (ids_next_ >= ids_end_) {
    return Unavailable("no fragment numbers left until the index answers (PostgreSQL)");
  }
  return ids_next_++;
}

bool LocalArchive::HoldsLeaseLocked(int64_t stream_id, int64_t now_us) const {
  auto it = leases_.find(stream_id);
  return it != leases_.end() && now_us < it->second.valid_until_us;
}

bool LocalArchive::HoldsLease(int64_t stream_id) const {
  const int64_t now = clock_.MonotonicMicros();
  MutexLock lock(mu_);
  return HoldsLeaseLocked(stream_id, now);
}

Status LocalArchive::ClaimStream(const StreamRef& ref) {
  if (!coordinator_) return Status::Ok();
  if (options_.read_only) return ReadOnlyRefusal();
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  const int64_t t0 = clock_.MonotonicMicros();
  {
    MutexLock lock(mu_);
    if (HoldsLeaseLocked(s.id, t0)) {
      leases_[s.id].last_use_us = t0;
      return Status::Ok();
    }
  }
  ASSIGN_OR_RETURN(ClusterNode owner, coordinator_->Acquire(s.id));
  if (owner.id != coordinator_->node_id()) {
    return ResourceExhausted("stream " + s.info.name + " is ingested by node " + owner.id + " (" +
                             owner.url + "): ask GetDataEndpoint for PUT_MEDIA");
  }
  // A block taken after the lease: above every number the previous owner gave the stream.
  ASSIGN_OR_RETURN(IdBlock block, coordinator_->TakeIds());
  {
    MutexLock lock(mu_);
    InstallIdsLocked(block);
    leases_[s.id] = Lease{t0 + options_.lease_us - options_.lease_us / 10, t0};
  }
  {
    MutexLock lock(stats_mu_);
    ++stats_.leases_acquired;
  }
  logger_.Info("archive", "stream lease taken",
               {{"stream", s.info.name}, {"node", coordinator_->node_id()}});
  return Status::Ok();
}

Status LocalArchive::SetNodeUrl(const std::string& url) {
  if (!coordinator_) return Status::Ok();
  coordinator_->SetUrl(url);
  return coordinator_->Heartbeat({}, {}).status();
}

Result<std::optional<Archive::Node>> LocalArchive::IngestNode(const StreamRef& ref) {
  if (!coordinator_) return std::optional<Node>();
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  ASSIGN_OR_RETURN(std::optional<ClusterNode> owner, coordinator_->Owner(s.id));
  if (owner) return std::optional<Node>(Node{owner->id, owner->url});
  ASSIGN_OR_RETURN(std::vector<ClusterNode> live, coordinator_->LiveNodes());
  const ClusterNode* pick = PickNode(live, s.info.name);
  // This node is alive even if its heartbeat is late: the stream comes here then.
  if (!pick) return std::optional<Node>(Node{coordinator_->node_id(), coordinator_->url()});
  return std::optional<Node>(Node{pick->id, pick->url});
}

Status LocalArchive::RefreshIfChanged() {
  ASSIGN_OR_RETURN(int64_t version, coordinator_->RegistryVersion());
  if (version == registry_version_) return Status::Ok();
  // The version is read first: a change stored meanwhile moves it again, for the next check.
  ASSIGN_OR_RETURN(std::vector<StreamRecord> records, registry_->LoadAll());
  std::unordered_map<std::string, StreamState> streams;
  std::unordered_map<int64_t, std::string> names;
  for (StreamRecord& r : records) {
    if (r.info.status == StreamStatus::kDeleting) continue;
    names[r.id] = r.info.name;
    const std::string name = r.info.name;
    streams[name] = StreamState{r.id, std::move(r.info)};
  }
  bool tiers_changed = false;
  {
    MutexLock lock(mu_);
    for (const auto& [id, name] : names_by_id_) {
      if (!names.count(id)) {
        deleted_elsewhere_.emplace_back(id, name);
        leases_.erase(id);
        continue;
      }
      const StreamState& now = streams.at(names.at(id));
      if (now.info.storage_tier != streams_.at(name).info.storage_tier) tiers_changed = true;
    }
    streams_ = std::move(streams);
    names_by_id_ = std::move(names);
  }
  registry_version_ = version;
  if (tiers_changed) segments_->TiersChanged();
  return Status::Ok();
}

Result<LocalArchive::StreamState> LocalArchive::ResolveFresh(const StreamRef& ref) {
  Result<StreamState> s = Resolve(ref);
  if (s.ok() || !coordinator_ || s.status().code() != Code::kNotFound) return s;
  {
    MutexLock registry(registry_mu_);
    RETURN_IF_ERROR(RefreshIfChanged());
  }
  return Resolve(ref);
}

Status LocalArchive::ClusterTick() {
  const int64_t t0 = clock_.MonotonicMicros();
  std::vector<int64_t> keep, release;
  {
    MutexLock lock(mu_);
    for (const auto& [id, lease] : leases_) {
      if (t0 - lease.last_use_us > kIdleLeases * options_.lease_us) {
        release.push_back(id);
      } else {
        keep.push_back(id);
      }
    }
  }
  Result<std::vector<int64_t>> renewed = coordinator_->Heartbeat(keep, release);
  if (renewed.ok()) {
    std::sort(renewed->begin(), renewed->end());
    std::vector<int64_t> lost;
    {
      MutexLock lock(mu_);
      for (int64_t id : release) leases_.erase(id);
      for (int64_t id : keep) {
        auto it = leases_.find(id);
        if (it == leases_.end()) continue;
        if (std::binary_search(renewed->begin(), renewed->end(), id)) {
          it->second.valid_until_us = t0 + options_.lease_us - options_.lease_us / 10;
        } else {
          lost.push_back(id);
          leases_.erase(it);
        }
      }
    }
    {
      MutexLock lock(stats_mu_);
      stats_.leases_lost += lost.size();
    }
    for (int64_t id : lost) {
      logger_.Warn("archive", "stream lease lost to another node: its ingest moved",
                   {{"stream_id", id}});
    }
  }
  Status refreshed;
  {
    MutexLock registry(registry_mu_);
    refreshed = RefreshIfChanged();
  }
  // A stream another node deleted: this node stops writing it and its sessions end now. Its
  // files here, and rows a commit of this node added after that node's deletion, go at the
  // sweeper's next pass: a stream of many segments would hold up the heartbeat past the lease.
  std::vector<std::pair<int64_t, std::string>> deleted;
  {
    MutexLock lock(mu_);
    deleted.swap(deleted_elsewhere_);
  }
  for (const auto& [id, name] : deleted) {
    RunOnCommitThread([this, id = id] { CloseSegment(id, /*seal_in_db=*/false); });
    registry_->PublishDeleted(name);
  }
  if (!deleted.empty()) {
    MutexLock lock(mu_);
    for (const auto& d : deleted) purge_elsewhere_.push_back(d.first);
    sweep_cv_.NotifyAll();
  }
  bool want_ids;
  {
    MutexLock lock(mu_);
    want_ids = !spare_ids_ && ids_end_ - ids_next_ < (uint64_t{1} << (kIdBlockBits - 1));
  }
  Status ids;
  if (want_ids) {
    Result<IdBlock> block = coordinator_->TakeIds();
    ids = block.status();
    if (block.ok()) {
      MutexLock lock(mu_);
      if (block->first >= ids_end_) spare_ids_ = *block;
    }
  }
  if (!renewed.ok()) return renewed.status();
  if (!refreshed.ok()) return refreshed;
  return ids;
}

void LocalArchive::ClusterLoop() {
  const auto period = std::chrono::microseconds(std::max<int64_t>(options_.lease_us / 3, 1000));
  int failures = 0;
  MutexLock lock(mu_);
  while (!cluster_stop_) {
    lock.Unlock();
    Status s = ClusterTick();
    // Said at the first failure and every tenth after, as the uploader does.
    if (!s.ok() && failures++ % 10 == 0) {
      logger_.Warn("archive", "cluster heartbeat failed: leases lapse if it goes on",
                   {{"error", s.ToString()}});
    }
    if (s.ok()) failures = 0;
    lock.Lock();
    if (cluster_stop_) break;
    cluster_cv_.WaitFor(mu_, period);
  }
}

}  // namespace streamarc::archive
