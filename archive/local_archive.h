// The embedded backend (private to archive/): segment files + SQLite index.
//
// Threads and ownership:
//  - the commit thread owns `writer_` (a SQLite connection), the open segment files and
//    the track-info cache; it is the only writer of segment bytes;
//  - `control_` (guarded by control_mu_) does registry writes and retention deletes;
//  - queries borrow a connection from `readers_` (WAL: readers never block the writer);
//  - mu_ guards the stream cache, the commit queue and the flush counters;
//  - the sweeper thread calls Sweep() every sweep_interval_us.
// Lock order: control_mu_ before mu_; nothing is called back with a lock held.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "archive/archive.h"
#include "archive/names.h"
#include "archive/sqlite.h"
#include "archive/sync_pool.h"

namespace streamarc::archive {

class LocalArchive final : public Archive {
 public:
  LocalArchive(const Options& options, Env& env, const Clock& clock, Logger& logger);
  // Stops the threads after every queued fragment has been committed and reported.
  ~LocalArchive() override;

  // Recovery (see OpenLocalArchive), then starts the commit and sweeper threads.
  Status Open();

  Result<StreamInfo> CreateStream(const CreateStreamRequest& req) override;
  Result<StreamInfo> DescribeStream(const StreamRef& ref) override;
  Result<std::vector<StreamInfo>> ListStreams(std::string_view name_prefix,
                                              std::string_view after_name,
                                              int max_results) override;
  Status UpdateStream(const StreamRef& ref, std::string_view current_version,
                      std::optional<std::string> device_name,
                      std::optional<std::string> media_type) override;
  Status UpdateRetention(const StreamRef& ref, std::string_view current_version,
                         int hours) override;
  Status TagStream(const StreamRef& ref, const std::map<std::string, std::string>& tags) override;
  Status UntagStream(const StreamRef& ref, const std::vector<std::string>& keys) override;
  Status DeleteStream(const StreamRef& ref, std::string_view current_version) override;
  uint64_t AddStreamDeletedListener(StreamDeletedListener listener) override;
  void RemoveStreamDeletedListener(uint64_t id) override;

  Result<std::string> Append(const StreamRef& ref, FragmentInput fragment,
                             DurableCallback on_durable) override;
  void Flush() override;

  Result<FragmentInfo> GetFragment(const StreamRef& ref, std::string_view number) override;
  Result<ListResult> ListFragments(const ListRequest& req) override;
  Result<std::vector<FragmentInfo>> FragmentsAfter(const StreamRef& ref,
                                                   std::string_view after_number, int max) override;
  Result<FragmentInfo> FirstAtOrAfter(const StreamRef& ref, TimestampType type,
                                      int64_t timestamp_us) override;
  Result<FragmentInfo> Latest(const StreamRef& ref) override;
  Result<FragmentBytes> OpenFragment(const StreamRef& ref, std::string_view number) override;
  Result<std::string> ReadFragment(const StreamRef& ref, std::string_view number) override;

  Status Sweep() override;
  Status Verify() override;
  ArchiveStats Stats() const override;
  RecoveryReport Recovery() const override { return recovery_; }

 private:
  // What the archive keeps in memory per stream (the registry row minus tags).
  struct StreamState {
    int64_t id = 0;
    StreamInfo info;  // tags not filled
  };
  struct Pending {
    int64_t stream_id = 0;
    std::string stream_name;
    uint64_t seq = 0;
    FragmentInput in;
    DurableCallback cb;
  };
  struct OpenSegment {
    int64_t id = 0;
    int64_t stream_id = 0;
    int64_t window_start = 0;
    std::unique_ptr<WritableFile> file;
    uint64_t committed_end = 0;  // bytes covered by committed rows (or the header)
    bool in_db = false;          // its segments row exists
    bool broken = false;         // a write or sync failed: roll to a new file
    Status broken_status;        // why
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    int64_t min_server_us = 0;
    int64_t max_server_us = 0;
  };
  // One fragment of a batch after its bytes are written.
  struct Written {
    Pending* p = nullptr;
    OpenSegment* seg = nullptr;
    uint64_t offset = 0;  // of the payload
    Status status;
  };
  // A reader connection borrowed from the pool, returned to it when destroyed.
  class Reader {
   public:
    Reader(const LocalArchive* owner, std::unique_ptr<Db> db) : owner_(owner), db_(std::move(db)) {}
    Reader(Reader&& o) noexcept : owner_(o.owner_), db_(std::move(o.db_)) {}
    Reader& operator=(Reader&&) = delete;
    ~Reader() {
      if (!db_) return;
      std::lock_guard<std::mutex> lock(owner_->readers_mu_);
      owner_->readers_.push_back(std::move(db_));
    }
    Db& db() { return *db_; }

   private:
    const LocalArchive* owner_;
    std::unique_ptr<Db> db_;
  };
  // Deletes a segment's rows, then its file; counts and logs. `reason` for the log.
  enum class DeleteReason { kRetention, kBudget, kStream };

  // recovery.cc
  Status Recover();
  Status LoadStreams();
  Status CheckSegments();
  Status RemoveOrphans();
  Status CheckOpenSegmentTail(const std::string& path, int64_t stream_id, int64_t segment_id,
                              uint64_t committed_end);
  Status FinishDeletingStream(int64_t stream_id, const std::string& name);

  // commit.cc (commit thread only)
  void CommitLoop();
  void CommitBatch(std::vector<Pending>& batch);
  Status WriteOne(Written& w);
  Result<OpenSegment*> SegmentFor(const Pending& p);
  Status CommitIndex(std::vector<Written*>& ok);
  Result<int64_t> InsertTrackInfo(int64_t stream_id, const std::string& blob);
  // Closes the stream's open segment: cuts it back to its committed end, then seals its
  // row (or removes the file when no row points into it).
  void CloseSegment(int64_t stream_id, bool seal_in_db);
  void FinishSegment(OpenSegment& seg, bool seal_in_db);
  void SealIdleSegments();
  void RunOnCommitThread(std::function<void()> fn);

  // sweep.cc
  // `freed` (optional) receives the bytes the segment still held.
  Status DeleteSegment(int64_t segment_id, DeleteReason reason, uint64_t* freed = nullptr);

  // evict.cc (commit thread only: it may evict from the open segments)
  // Sizes segments and resolves the floor from the file system's size (Open).
  void ResolveSpaceLimits();
  // Evicts the oldest unprotected fragments across streams, one segment (or the evictable
  // part of one) at a time, until `bytes_to_free` are freed and the budget and floor hold
  // with some headroom. kResourceExhausted when nothing was evictable.
  Status EvictOldest(uint64_t bytes_to_free);
  // True when the byte budget or the free-space floor is crossed with `headroom` to spare.
  bool OverBudget(uint64_t headroom);
  // The floor, before a group commit: fragments that would take free space below it are
  // failed (after evicting what can go); the others stay in `unwritten`.
  void AdmitByFloor(std::vector<Written*>& unwritten);
  // The lowest seq eviction must keep for the stream (Options::keep_newest_*).
  Result<int64_t> KeepFrom(int64_t stream_id);
  // Evicts the fragments of segment `seg` with seq < keep_from (not all of them) and
  // punches their bytes out of the file. `freed` receives what was punched.
  Status EvictPrefix(int64_t segment_id, int64_t stream_id, int64_t keep_from, uint64_t* freed);
  // The reserve file: created when there is room, released to let a deletion through.
  void EnsureReserve();
  bool ReleaseReserve();
  bool ReserveMissing();
  // Runs `op`; when it fails for lack of space, releases the reserve and runs it again.
  Status WithReserve(const std::function<Status()>& op);

  // query.cc
  Result<StreamState> Resolve(const StreamRef& ref) const;
  Result<Reader> Borrow() const;
  int64_t Cutoff(const StreamState& s) const;
  Result<FragmentInfo> RowToInfo(const Stmt& st, const StreamState& s) const;

  // registry.cc
  Result<StreamInfo> LoadStreamInfo(Db& db, int64_t id);
  Status CheckVersion(const StreamState& s, std::string_view current_version) const;

  const Options options_;
  Env& env_;
  const Clock& clock_;
  Logger& logger_;
  std::string suffix_;  // fragment number suffix
  RecoveryReport recovery_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;                       // commit thread: work arrived or stop
  std::condition_variable done_cv_;                       // Flush: fragments reported
  std::unordered_map<std::string, StreamState> streams_;  // by name
  std::unordered_map<int64_t, std::string> names_by_id_;
  std::deque<Pending> queue_;
  std::deque<std::function<void()>> tasks_;
  uint64_t pending_bytes_ = 0;
  uint64_t enqueued_ = 0;
  uint64_t reported_ = 0;
  uint64_t last_seq_ = 0;
  bool stop_ = false;        // the commit thread drains its queue and ends
  bool sweep_stop_ = false;  // the sweeper thread ends
  bool commit_running_ = false;
  VersionMaker versions_;

  std::mutex control_mu_;
  std::unique_ptr<Db> control_;

  mutable std::mutex readers_mu_;
  mutable std::vector<std::unique_ptr<Db>> readers_;

  mutable std::mutex stats_mu_;
  ArchiveStats stats_;

  // Commit-thread state.
  std::unique_ptr<Db> writer_;
  std::unordered_map<int64_t, OpenSegment> open_;  // by stream id
  // Rolled during the current batch, closed once the batch is committed.
  std::vector<std::unordered_map<int64_t, OpenSegment>::node_type> retiring_;
  std::unordered_map<int64_t, std::pair<std::string, int64_t>> track_cache_;
  int64_t next_segment_id_ = 1;
  // Set once by Open (ResolveSpaceLimits), read-only after.
  uint64_t segment_limit_ = 0;   // max_segment_bytes, capped by the space
  uint64_t min_free_ = 0;        // the floor, resolved
  uint64_t evict_headroom_ = 0;  // freed beyond what is needed, so eviction runs seldom
  uint64_t reserve_bytes_ = 0;   // Options::reserve_bytes, at most 1/64 of the space
  bool punch_ok_ = true;         // commit thread: false once the file system refused
  std::unique_ptr<SyncPool> sync_pool_;
  std::set<std::string> dirs_to_sync_;  // directories that gained a segment file
  bool seal_all_requested_ = false;     // guarded by mu_

  // Stream-deletion listeners (registry.cc); copied out before they are called.
  std::mutex listeners_mu_;
  uint64_t next_listener_id_ = 1;
  std::map<uint64_t, std::shared_ptr<const StreamDeletedListener>> deleted_listeners_;

  std::mutex sweep_mu_;  // one sweep at a time
  std::condition_variable sweep_cv_;
  // SQLite has one writer at a time: a sweep deleting many segments waits between two
  // deletions while a group commit wants the index, so acks never queue behind retention.
  std::mutex index_turn_mu_;
  std::condition_variable index_turn_cv_;
  int commits_in_index_ = 0;  // guarded by index_turn_mu_
  std::thread commit_thread_;
  std::thread sweep_thread_;
};

}  // namespace streamarc::archive
