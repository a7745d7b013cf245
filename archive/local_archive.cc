// LocalArchive: construction, opening, threads, shutdown, stats.
#include "archive/local_archive.h"

#include "archive/pg.h"
#include "archive/sqlite_backend.h"

namespace streamarc::archive {
std::string_view StreamStatusName(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating:
      return "CREATING";
    case StreamStatus::kActive:
      return "ACTIVE";
    case StreamStatus::kUpdating:
      return "UPDATING";
    case StreamStatus::kDeleting:
      return "DELETING";
  }
  return "ACTIVE";
}

std::string_view StorageTierName(StorageTier t) { return t == StorageTier::kWarm ? "WARM" : "HOT"; }

std::optional<StorageTier> ParseStorageTier(std::string_view name) {
  if (name == "HOT") return StorageTier::kHot;
  if (name == "WARM") return StorageTier::kWarm;
  return std::nullopt;
}

bool LocalArchive::IsWarm(int64_t stream_id) const {
  MutexLock lock(mu_);
  auto name = names_by_id_.find(stream_id);
  if (name == names_by_id_.end()) return false;
  auto s = streams_.find(name->second);
  return s != streams_.end() && s->second.info.storage_tier == StorageTier::kWarm;
}

LocalArchive::LocalArchive(const Options& options, Backend backend, Env& env, const Clock& clock,
                           Logger& logger)
    : options_(options),
      registry_(std::move(backend.registry)),
      index_(std::move(backend.index)),
      segments_(std::move(backend.segments)),
      coordinator_(std::move(backend.coordinator)),
      env_(env),
      clock_(clock),
      logger_(logger) {}

LocalArchive::~LocalArchive() {
  // The sweeper first: a sweep in progress hands work to the commit thread.
  {
    MutexLock lock(mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.NotifyAll();
  if (sweep_thread_.joinable()) sweep_thread_.join();
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  work_cv_.NotifyAll();
  if (commit_thread_.joinable()) commit_thread_.join();
  // The leases last until the queue is committed; then they go at once, so that another
  // node takes this node's streams without waiting for them to run out.
  {
    MutexLock lock(mu_);
    cluster_stop_ = true;
  }
  cluster_cv_.NotifyAll();
  if (cluster_thread_.joinable()) {
    cluster_thread_.join();
    Status left = coordinator_->Leave();
    if (!left.ok()) {
      logger_.Warn("archive", "could not give back the stream leases: they run out instead",
                   {{"error", left.ToString()}});
    }
  }
}

Status LocalArchive::Open() {
  if (options_.segment_window_us <= 0 || options_.max_batch_fragments == 0 ||
      options_.sync_threads < 0 || options_.keep_newest_fragments < 1) {
    return InvalidArgument("segment window, batch size and kept fragments must be positive");
  }
  ResolveSpaceLimits();
  uint64_t proposed;
  {
    MutexLock lock(mu_);
    proposed = versions_.Random64() % 10'000'000'000'000'000'000ull;
  }
  // The archive id makes fragment numbers unique to this archive.
  ASSIGN_OR_RETURN(uint64_t archive_id, registry_->ArchiveId(proposed));
  suffix_ = FragmentNumberSuffix(archive_id);

  if (coordinator_ && !options_.read_only) RETURN_IF_ERROR(JoinCluster());
  {
    MutexLock lock(registry_mu_);
    if (coordinator_) {
      // Read before the streams are loaded: a change made meanwhile shows at the first check.
      ASSIGN_OR_RETURN(registry_version_, coordinator_->RegistryVersion());
    }
    RETURN_IF_ERROR(Recover());
  }
  // Read-only: no thread that could write is started, and the reserve is not made.
  if (options_.read_only) return Status::Ok();
  EnsureReserve();
  // After recovery: nothing moves before the local segments have been checked and cut.
  segments_->SetTierHooks(SegmentStore::TierHooks{
      .warm = [this](int64_t stream_id) { return IsWarm(stream_id); },
      .moved =
          [this](const SegmentKey& key, uint64_t bytes) {
            (void)key;
            MutexLock lock(stats_mu_);
            ++stats_.segments_uploaded;
            stats_.bytes_uploaded += bytes;
            stats_.bucket_bytes += bytes;
          },
      .upload_failed =
          [this](const SegmentKey& key, const Status& s) {
            (void)key, (void)s;
            MutexLock lock(stats_mu_);
            ++stats_.upload_failures;
          },
  });

  sync_pool_ = std::make_unique<SyncPool>(options_.sync_threads);
  {
    MutexLock lock(mu_);
    commit_running_ = true;
  }
  commit_thread_ = std::thread([this] { CommitLoop(); });
  if (coordinator_) cluster_thread_ = std::thread([this] { ClusterLoop(); });
  if (options_.sweep_interval_us > 0) {
    sweep_thread_ = std::thread([this]() EXCLUDES(mu_) {
      MutexLock lock(mu_);
      while (!sweep_stop_) {
        // A purge asked for while the last pass ran has no wake-up left to wait for.
        if (purge_elsewhere_.empty()) {
          sweep_cv_.WaitFor(mu_, std::chrono::microseconds(options_.sweep_interval_us));
        }
        if (sweep_stop_) break;
        lock.Unlock();
        Status s = Sweep();
        if (!s.ok()) logger_.Warn("archive", "sweep failed", {{"error", s.ToString()}});
        lock.Lock();
      }
    });
  }
  return Status::Ok();
}

ArchiveStats LocalArchive::Stats() const {
  uint64_t leases;
  {
    MutexLock lock(mu_);
    leases = leases_.size();
  }
  MutexLock lock(stats_mu_);
  ArchiveStats out = stats_;
  out.leases_held = leases;
  return out;
}

void LocalArchive::Flush() {
  MutexLock lock(mu_);
  const uint64_t target = enqueued_;
  while (reported_ < target) done_cv_.Wait(mu_);
}

void LocalArchive::RunOnCommitThread(std::function<void()> fn) {
  // Local state, shared with the task by reference: the call waits for it.
  Mutex m;
  CondVar cv;
  bool done = false;
  {
    MutexLock lock(mu_);
    if (!commit_running_) {
      // Not started, or already gone: nothing else touches the commit-thread state.
      lock.Unlock();
      fn();
      return;
    }
    tasks_.push_back([&] {
      fn();
      MutexLock l(m);
      done = true;
      cv.NotifyAll();
    });
  }
  work_cv_.NotifyAll();
  MutexLock lock(m);
  while (!done) cv.Wait(m);
}

Status LocalArchive::ReadOnlyRefusal() const {
  return Unavailable("the archive is read-only (" + options_.read_only_reason +
                     "): it serves what it holds and stores nothing; restart streamarcd on a "
                     "writable data directory to record again");
}

Result<std::unique_ptr<Archive>> OpenLocalArchive(const Options& options, Env& env,
                                                  const Clock& clock, Logger& logger) {
  if (options.root.empty()) return InvalidArgument("archive root is empty");
  // Read-only: nothing created; what is not there is not served.
  if (!options.read_only) {
    RETURN_IF_ERROR(env.CreateDirs(options.root + "/segments"));
    // Said plainly: SQLite would only report that it cannot open the database file.
    Result<DiskSpace> space = env.GetDiskSpace(options.root);
    if (space.ok() && space->read_only) {
      return FailedPrecondition("the archive directory " + options.root +
                                " is on a read-only file system: the index and the video are "
                                "written there; remount it read-write");
    }
  }
  if (!options.index.empty() && !IsPostgresUrl(options.index)) {
    return InvalidArgument("index \"" + options.index +
                           "\" is not a postgresql:// URL (leave it out for SQLite in the data"
                           " directory)");
  }
  if (!options.node_id.empty() && !IsPostgresUrl(options.index)) {
    return InvalidArgument("node-id \"" + options.node_id +
                           "\": several nodes share a PostgreSQL index, and this server has "
                           "none (set \"index\" to a postgresql:// URL, or leave node-id out)");
  }
  const PgNodeOptions node{options.node_id, options.node_url, options.lease_us};
  Result<SqlBackend> sql =
      IsPostgresUrl(options.index)
          ? OpenPgBackend(options.index, options.read_only, node)
          : OpenSqliteBackend(options.root + "/index.sqlite", options.sync, options.read_only);
  if (!sql.ok()) return sql.status();
  const bool clustered = sql->coordinator != nullptr;
  std::unique_ptr<SegmentStore> segments =
      NewLocalSegmentStore(env, options.root, options.sync, logger);
  if (options.object_store) {
    ASSIGN_OR_RETURN(std::unique_ptr<objectstore::S3Client> bucket,
                     objectstore::S3Client::Create(*options.object_store));
    segments =
        NewTieredSegmentStore(std::move(segments), std::move(bucket), options.object_key_prefix,
                              options.root, options.warm_after_us, clock, logger, clustered);
  }
  Backend backend{std::move(sql->registry), std::move(sql->index), std::move(segments),
                  std::move(sql->coordinator)};
  auto archive = std::make_unique<LocalArchive>(options, std::move(backend), env, clock, logger);
  RETURN_IF_ERROR(archive->Open());
  return std::unique_ptr<Archive>(std::move(archive));
}

}  // namespace streamarc::archive
