// The embedded backend (private to archive/): the commit pipeline, retention, eviction and
// recovery over three seams: a stream registry, a fragment index and a segment store
// (SQLite and local files by default; see OpenLocalArchive).
//
// Threads and ownership:
//  - the commit thread owns the open segments' writers; it is the only writer of segment
//    bytes and the only caller of FragmentIndex::Commit/SealSegment;
//  - registry_mu_ serialises registry writes with the in-memory stream cache;
//  - queries go straight to the index and the segment store (both thread-safe);
//  - mu_ guards the stream cache, the commit queue and the flush counters;
//  - the sweeper thread calls Sweep() every sweep_interval_us, and at once when a stream
//    this node wrote was deleted by another node (its data here goes then);
//  - with several nodes, the cluster thread renews leases and reloads the stream cache
//    every third of the lease (cluster_node.cc).
// Lock order: registry_mu_ before mu_; nothing is called back with a lock held.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "archive/archive.h"
#include "archive/cluster.h"
#include "archive/fragment_index.h"
#include "archive/names.h"
#include "archive/segment_store.h"
#include "archive/stream_registry.h"
#include "archive/sync_pool.h"
#include "common/mutex.h"

namespace streamarc::archive {

// The three seams LocalArchive runs on.
struct Backend {
  std::unique_ptr<StreamRegistry> registry;
  std::unique_ptr<FragmentIndex> index;
  std::unique_ptr<SegmentStore> segments;
  std::shared_ptr<Coordinator> coordinator;  // several nodes (a PostgreSQL index)
};

class LocalArchive final : public Archive {
 public:
  // `env` still serves the local space accounting (free space, the reserve file).
  LocalArchive(const Options& options, Backend backend, Env& env, const Clock& clock,
               Logger& logger);
  // Stops the threads after every queued fragment has been committed and reported.
  ~LocalArchive() override;

  // Recovery (see OpenLocalArchive), then starts the commit and sweeper threads.
  Status Open() EXCLUDES(mu_);

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
  Status UpdateStorageTier(const StreamRef& ref, std::string_view current_version,
                           StorageTier tier) override;
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

  Result<std::vector<std::string>> PutEvents(const StreamRef& ref,
                                             const std::vector<EventInput>& events) override;
  Result<ListEventsResult> ListEvents(const ListEventsRequest& req) override;
  Result<ListSpansResult> ListRecordingSpans(const ListSpansRequest& req) override;

  Status Sweep() override;
  Status Verify() override;
  ArchiveStats Stats() const override;
  RecoveryReport Recovery() const override { return recovery_; }
  Status CheckWritable() override EXCLUDES(stats_mu_, probe_mu_);

  Status ClaimStream(const StreamRef& ref) override EXCLUDES(mu_, registry_mu_);
  Result<std::optional<Node>> IngestNode(const StreamRef& ref) override EXCLUDES(registry_mu_);
  Status SetNodeUrl(const std::string& url) override;

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
    uint64_t planned_end = 0;    // its size once the batch's records planned into it are written
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
  enum class DeleteReason { kRetention, kBudget, kStream };

  // What every write answers in read-only mode (Options::read_only).
  Status ReadOnlyRefusal() const;

  // recovery.cc
  Status Recover() REQUIRES(registry_mu_);
  Status LoadStreams() REQUIRES(registry_mu_);
  Status CheckSegments();
  Status CheckOpenSegmentTail(const SegmentRow& seg);
  Status FinishDeletingStream(int64_t stream_id, const std::string& name);

  // commit.cc (commit thread only)
  void CommitLoop() EXCLUDES(mu_);
  void CommitBatch(std::vector<Pending>& batch);
  // Picks the fragment's segment and offset; the bytes are written by WriteSegment.
  Status PlanOne(Written& w) EXCLUDES(mu_);
  // Writes the records planned into `seg`, in order, then fdatasyncs it (Options::sync);
  // true when it synced. Runs on a sync pool thread; touches only `seg` and `ws`.
  bool WriteSegment(OpenSegment& seg, const std::vector<Written*>& ws) const;
  Result<OpenSegment*> SegmentFor(const Pending& p);
  Status CommitIndex(std::vector<Written*>& ok);
  // Closes the stream's open segment: cuts it back to its committed end, then seals its
  // row (or removes the segment when no row points into it).
  void CloseSegment(int64_t stream_id, bool seal_in_db);
  void FinishSegment(OpenSegment& seg, bool seal_in_db);
  void SealIdleSegments();
  void RunOnCommitThread(std::function<void()> fn) EXCLUDES(mu_);

  // sweep.cc
  // Deletes a segment's rows, then its bytes; counts and logs. `freed` (optional)
  // receives the bytes the segment still held.
  Status DeleteSegment(int64_t segment_id, DeleteReason reason, uint64_t* freed = nullptr);
  // Waits while a group commit wants the index: a sweep's next deletion goes after it.
  void YieldIndexToCommits() EXCLUDES(index_turn_mu_);

  // events.cc (a sweep's last step): deletes the stream's events that end before the data
  // it still stores (FragmentIndex::DeleteExpiredEvents), in batches.
  Status ExpireEvents(int64_t stream_id, int64_t cutoff_us);

  // evict.cc (commit thread only: it may evict from the open segments)
  // Sizes segments and resolves the floor from the file system's size (Open).
  void ResolveSpaceLimits();
  // Evicts the oldest unprotected fragments across streams, one segment (or the evictable
  // part of one) at a time, until `bytes_to_free` are freed and the budget and floor hold
  // with some headroom. kResourceExhausted when nothing was evictable.
  Status EvictOldest(uint64_t bytes_to_free);
  // True when the byte budget or the free-space floor is crossed with `headroom` to spare.
  bool OverBudget(uint64_t headroom) EXCLUDES(stats_mu_);
  // The floor, before a group commit: fragments that would take free space below it are
  // failed (after evicting what can go); the others stay in `unwritten`.
  void AdmitByFloor(std::vector<Written*>& unwritten);
  // The lowest seq eviction must keep for the stream (Options::keep_newest_*).
  Result<uint64_t> KeepFrom(int64_t stream_id);
  // Evicts the fragments of segment `seg` with seq < keep_from (not all of them) and
  // punches their bytes out of the segment. `freed` receives what was punched.
  Status EvictPrefix(int64_t segment_id, int64_t stream_id, uint64_t keep_from, uint64_t* freed);
  // The reserve file: created when there is room, released to let a deletion through.
  void EnsureReserve();
  bool ReleaseReserve();
  bool ReserveMissing();
  // Runs `op`; when it fails for lack of space, releases the reserve and runs it again.
  Status WithReserve(const std::function<Status()>& op);

  // query.cc
  // The stream as the cache holds it.
  Result<StreamState> Resolve(const StreamRef& ref) const EXCLUDES(mu_);
  // Resolve; with several nodes, a stream missing from the cache is looked for again after
  // reloading the cache if another node changed the registry (blocks on the index).
  Result<StreamState> ResolveFresh(const StreamRef& ref) EXCLUDES(mu_, registry_mu_);
  // A fragment's segment, opened, and where in it the index says the fragment is.
  struct OpenedRecord {
    std::shared_ptr<const SegmentReader> reader;
    FragmentLocation loc;
    std::string segment;  // "<stream id>/<segment id>", for errors
  };
  Result<OpenedRecord> OpenRecord(const StreamRef& ref, std::string_view number);
  // The oldest server time a query shows: now less the retention (no limit read-only).
  int64_t Cutoff(const StreamState& s) const;
  FragmentInfo ToInfo(IndexedFragment f, const StreamState& s) const;

  // cluster_node.cc (several nodes: coordinator_ set)
  struct Lease {
    int64_t valid_until_us = 0;  // monotonic: Append refuses the stream from here
    int64_t last_use_us = 0;     // monotonic: the last Append or claim
  };
  // Registers the node and takes its first id block (Open, before recovery).
  Status JoinCluster() EXCLUDES(mu_);
  // Every third of the lease: heartbeat and renewals, the cache reload, the next id block,
  // the cleanup of streams other nodes deleted.
  void ClusterLoop() EXCLUDES(mu_);
  Status ClusterTick() EXCLUDES(mu_, registry_mu_);
  // Reloads the stream cache when the registry's version moved since the last load.
  Status RefreshIfChanged() REQUIRES(registry_mu_) EXCLUDES(mu_);
  bool HoldsLeaseLocked(int64_t stream_id, int64_t now_us) const REQUIRES(mu_);
  bool HoldsLease(int64_t stream_id) const EXCLUDES(mu_);
  // The next id of the current block (fragment seq, segment id); kUnavailable when the
  // block ran out and no next one has come from the index yet.
  Result<uint64_t> NextIdLocked() REQUIRES(mu_);
  // Installs `block` when it is above the current one (ids only ever rise).
  void InstallIdsLocked(const IdBlock& block) REQUIRES(mu_);

  // registry.cc
  Result<StreamInfo> LoadStreamInfo(int64_t id) EXCLUDES(mu_);
  Status CheckVersion(const StreamState& s, std::string_view current_version) const;
  // kInvalidArgument for WARM without an object store.
  Status CheckTier(StorageTier tier) const;
  // For the segment store: whether the stream's sealed segments belong in the bucket.
  bool IsWarm(int64_t stream_id) const EXCLUDES(mu_);
  // Stores `s` (a cached stream with a changed field) with a new version, then caches it.
  Status StoreUpdate(StreamState s) REQUIRES(registry_mu_) EXCLUDES(mu_);

  const Options options_;
  const std::unique_ptr<StreamRegistry> registry_;
  const std::unique_ptr<FragmentIndex> index_;
  const std::unique_ptr<SegmentStore> segments_;
  const std::shared_ptr<Coordinator> coordinator_;  // several nodes; nullptr: one
  Env& env_;
  const Clock& clock_;
  Logger& logger_;
  std::string suffix_;  // fragment number suffix; set by Open, read-only after
  RecoveryReport recovery_;

  // Registry writes one at a time, so the cache and the registry change together.
  Mutex registry_mu_ ACQUIRED_BEFORE(mu_);

  mutable Mutex mu_;
  CondVar work_cv_;   // commit thread: work arrived or stop
  CondVar done_cv_;   // Flush: fragments reported
  CondVar sweep_cv_;  // the sweeper: its period passed, a stream to purge, or stop
  std::unordered_map<std::string, StreamState> streams_ GUARDED_BY(mu_);  // by name
  std::unordered_map<int64_t, std::string> names_by_id_ GUARDED_BY(mu_);
  std::deque<Pending> queue_ GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  uint64_t pending_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t enqueued_ GUARDED_BY(mu_) = 0;
  uint64_t reported_ GUARDED_BY(mu_) = 0;
  uint64_t last_seq_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;        // the commit thread drains its queue and ends
  bool sweep_stop_ GUARDED_BY(mu_) = false;  // the sweeper thread ends
  bool commit_running_ GUARDED_BY(mu_) = false;
  VersionMaker versions_ GUARDED_BY(mu_);
  // Several nodes: the leases this node holds, its id blocks, the registry version its
  // cache was loaded at, and streams other nodes deleted whose local traces are to go.
  std::unordered_map<int64_t, Lease> leases_ GUARDED_BY(mu_);
  uint64_t ids_next_ GUARDED_BY(mu_) = 0;
  uint64_t ids_end_ GUARDED_BY(mu_) = 0;
  std::optional<IdBlock> spare_ids_ GUARDED_BY(mu_);
  std::vector<std::pair<int64_t, std::string>> deleted_elsewhere_ GUARDED_BY(mu_);
  std::vector<int64_t> purge_elsewhere_ GUARDED_BY(mu_);  // their data: the sweeper's work
  bool cluster_stop_ GUARDED_BY(mu_) = false;
  CondVar cluster_cv_;

  mutable Mutex stats_mu_;
  ArchiveStats stats_ GUARDED_BY(stats_mu_);
  // The last group commit that failed for a reason other than the stream (CheckWritable),
  // cleared by the next that stores a fragment; when (monotonic).
  Status write_failure_ GUARDED_BY(stats_mu_);
  int64_t write_failure_us_ GUARDED_BY(stats_mu_) = 0;
  Mutex probe_mu_;  // one readiness probe at a time (they share the file names)

  // Commit-thread state (and Open's, before the thread starts): confined, not locked.
  std::unordered_map<int64_t, OpenSegment> open_;  // by stream id
  // Rolled during the current batch, closed once the batch is committed.
  std::vector<std::unordered_map<int64_t, OpenSegment>::node_type> retiring_;
  int64_t next_segment_id_ = 1;
  uint64_t local_bytes_at_open_ = 0;  // recovery: the local segments' committed bytes
  bool punch_ok_ = true;              // false once the segment store refused to punch a hole
  std::unique_ptr<SyncPool> sync_pool_;
  // Set once by Open (ResolveSpaceLimits), read-only after.
  uint64_t segment_limit_ = 0;   // max_segment_bytes, capped by the space
  uint64_t min_free_ = 0;        // the floor, resolved
  uint64_t evict_headroom_ = 0;  // freed beyond what is needed, so eviction runs seldom
  uint64_t reserve_bytes_ = 0;   // Options::reserve_bytes, at most 1/64 of the space

  Mutex sweep_mu_;  // one sweep at a time
  // The index may take one writer at a time (SQLite): a sweep deleting many segments waits
  // between two deletions while a group commit wants the index, so acks never queue
  // behind retention.
  Mutex index_turn_mu_;
  CondVar index_turn_cv_;
  int commits_in_index_ GUARDED_BY(index_turn_mu_) = 0;
  std::thread commit_thread_;
  std::thread sweep_thread_;
  std::thread cluster_thread_;
  int64_t registry_version_ GUARDED_BY(registry_mu_) = -1;
};

}  // namespace streamarc::archive
