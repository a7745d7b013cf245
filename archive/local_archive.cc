// LocalArchive: construction, opening, threads, shutdown, stats.
#include "archive/local_archive.h"

namespace streamarc::archive {
namespace {

constexpr int kSchemaVersion = 1;

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
)sql";

}  // namespace

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

LocalArchive::LocalArchive(const Options& options, Env& env, const Clock& clock, Logger& logger)
    : options_(options), env_(env), clock_(clock), logger_(logger) {}

LocalArchive::~LocalArchive() {
  // The sweeper first: a sweep in progress hands work to the commit thread.
  {
    std::lock_guard<std::mutex> lock(mu_);
    sweep_stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweep_thread_.joinable()) sweep_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (commit_thread_.joinable()) commit_thread_.join();
}

Status LocalArchive::Open() {
  if (options_.root.empty()) return InvalidArgument("archive root is empty");
  if (options_.segment_window_us <= 0 || options_.max_batch_fragments == 0 ||
      options_.sync_threads < 0 || options_.keep_newest_fragments < 1) {
    return InvalidArgument("segment window, batch size and kept fragments must be positive");
  }
  RETURN_IF_ERROR(env_.CreateDirs(options_.root + "/segments"));
  ResolveSpaceLimits();
  const std::string db_path = options_.root + "/index.sqlite";
  ASSIGN_OR_RETURN(writer_, Db::Open(db_path, /*create=*/true, options_.sync));
  RETURN_IF_ERROR(writer_->Exec(kSchema));

  // The archive id makes fragment numbers unique to this archive.
  ASSIGN_OR_RETURN(Stmt * get, writer_->Prepare("SELECT value FROM meta WHERE key=?1"));
  get->BindText(1, "archive_id");
  ASSIGN_OR_RETURN(bool have_id, get->Step());
  uint64_t archive_id = 0;
  if (have_id) {
    archive_id = std::stoull(get->Text(0));
    get->Reset();
    get->BindText(1, "schema_version");
    ASSIGN_OR_RETURN(bool have_version, get->Step());
    if (!have_version || get->Text(0) != std::to_string(kSchemaVersion)) {
      get->Reset();
      return DataLoss("index has an unknown schema version");
    }
    get->Reset();
  } else {
    get->Reset();
    archive_id = versions_.Random64() % 10'000'000'000'000'000'000ull;
    ASSIGN_OR_RETURN(Stmt * put, writer_->Prepare("INSERT INTO meta(key, value) VALUES(?1, ?2)"));
    RETURN_IF_ERROR(put->BindText(1, "archive_id").BindText(2, std::to_string(archive_id)).Run());
    put->Reset();
    put->BindText(1, "schema_version").BindText(2, std::to_string(kSchemaVersion));
    RETURN_IF_ERROR(put->Run());
  }
  suffix_ = FragmentNumberSuffix(archive_id);
  ASSIGN_OR_RETURN(control_, Db::Open(db_path, /*create=*/false, options_.sync));

  RETURN_IF_ERROR(Recover());
  EnsureReserve();

  sync_pool_ = std::make_unique<SyncPool>(options_.sync_threads);
  {
    std::lock_guard<std::mutex> lock(mu_);
    commit_running_ = true;
  }
  commit_thread_ = std::thread([this] { CommitLoop(); });
  if (options_.sweep_interval_us > 0) {
    sweep_thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!sweep_stop_) {
        sweep_cv_.wait_for(lock, std::chrono::microseconds(options_.sweep_interval_us));
        if (sweep_stop_) break;
        lock.unlock();
        Status s = Sweep();
        if (!s.ok()) logger_.Warn("archive", "sweep failed", {{"error", s.ToString()}});
        lock.lock();
      }
    });
  }
  return Status::Ok();
}

ArchiveStats LocalArchive::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void LocalArchive::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  done_cv_.wait(lock, [&] { return reported_ >= target; });
}

void LocalArchive::RunOnCommitThread(std::function<void()> fn) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!commit_running_) {
      // Not started, or already gone: nothing else touches the commit-thread state.
      fn();
      return;
    }
    tasks_.push_back([&] {
      fn();
      std::lock_guard<std::mutex> l(m);
      done = true;
      cv.notify_all();
    });
  }
  work_cv_.notify_all();
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
}

Result<std::unique_ptr<Archive>> OpenLocalArchive(const Options& options, Env& env,
                                                  const Clock& clock, Logger& logger) {
  auto archive = std::make_unique<LocalArchive>(options, env, clock, logger);
  RETURN_IF_ERROR(archive->Open());
  return std::unique_ptr<Archive>(std::move(archive));
}

}  // namespace streamarc::archive
