// The fragment archive: a stream registry, durable fragment storage, queries, retention.
//
// The archive stores fragments as opaque bytes (the caller's MKV cluster, as GetMedia will
// serve it) with their metadata, and tells the caller through a callback when a fragment
// is durable. It knows nothing of HTTP or Matroska. `Archive` is the facade ingest, playback
// and server use. OpenLocalArchive builds the embedded backend: its commit pipeline,
// retention, eviction and recovery talk to three seams, a stream registry
// (archive/stream_registry.h), a fragment index (archive/fragment_index.h) and a segment
// store (archive/segment_store.h), whose defaults are SQLite (WAL) and append-only local
// files, with the on-disk format in archive/FORMAT.md. PostgreSQL and an S3-compatible
// bucket can stand in for them later without touching the pipeline.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/env.h"
#include "common/clock.h"
#include "common/kvs_request.h"
#include "common/log.h"
#include "common/status.h"
#include "objectstore/s3.h"

namespace streamarc::archive {

inline constexpr int64_t kMicrosPerHour = 3'600'000'000;
inline constexpr int kMinRetentionHours = 1;
inline constexpr int kMaxRetentionHours = 87'600;  // 10 years
inline constexpr size_t kMaxFragmentBytes = 50u << 20;
// Options::min_free_bytes: 5% of the file system, at most 256 MiB.
inline constexpr uint64_t kAutoMinFreeBytes = ~uint64_t{0};

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
std::string_view StreamStatusName(StreamStatus s);  // "ACTIVE", ...

// KVS's StreamStorageConfiguration.DefaultStorageTier. HOT: the stream's segments stay on
// local disk. WARM: its sealed segments move to the object store (Options::object_store)
// once Options::warm_after_us old, and are read from there.
enum class StorageTier { kHot, kWarm };
std::string_view StorageTierName(StorageTier t);  // "HOT", "WARM"
std::optional<StorageTier> ParseStorageTier(std::string_view name);

struct StreamInfo {
  std::string name;
  std::string arn;      // arn:aws:kinesisvideo:<region>:<account>:stream/<name>/<creation-ms>
  std::string version;  // 20 alphanumerics; changes on every update
  StreamStatus status = StreamStatus::kActive;
  std::string media_type;
  std::string device_name;
  std::string kms_key_id;   // stored only
  int retention_hours = 0;  // 0: no archive (appends are refused), else 1..87600
  int64_t creation_time_us = 0;
  StorageTier storage_tier = StorageTier::kHot;
  std::map<std::string, std::string> tags;
};

struct CreateStreamRequest {
  std::string name;
  std::string media_type;
  std::string device_name;
  std::string kms_key_id;
  int retention_hours = 0;
  // Absent: WARM when the archive has an object store, else HOT.
  std::optional<StorageTier> storage_tier;
  std::map<std::string, std::string> tags;
};

// A stream is named by its name or its ARN (exactly one); common/kvs_request.h parses it.
using StreamRef = kvs::StreamRef;

// What the caller hands over. `bytes` are stored and served verbatim.
struct FragmentInput {
  std::string bytes;
  int64_t producer_timestamp_us = 0;
  int64_t server_timestamp_us = 0;
  int64_t duration_us = 0;
  std::string track_info;                   // opaque (e.g. the Tracks element); deduplicated
  std::vector<uint32_t> key_frame_offsets;  // byte offsets of key frames inside `bytes`
};

struct FragmentInfo {
  std::string number;  // 47 decimal digits
  std::string stream_name;
  int64_t producer_timestamp_us = 0;
  int64_t server_timestamp_us = 0;
  int64_t duration_us = 0;
  uint64_t size_bytes = 0;
  std::string track_info;
  std::vector<uint32_t> key_frame_offsets;
};

// Read access to one stored segment, handed out by the archive's segment store
// (archive/segment_store.h). Thread-safe. Local files stay readable while this object
// lives, even if retention removes the segment meanwhile; a remote store's reads may fail
// with kNotFound/kDataLoss once the segment is deleted.
class SegmentReader {
 public:
  virtual ~SegmentReader() = default;
  // Reads exactly `n` bytes at `offset` into `buf`; kDataLoss when the segment is shorter.
  virtual Status Read(uint64_t offset, size_t n, char* buf) const = 0;
  // A descriptor of the same bytes for sendfile(2), valid while this object lives; -1 when
  // the store has none (an object store): use Read instead.
  virtual int fd() const { return -1; }
};

// A fragment's bytes as a range of a stored segment, for Read or (local files) pread(2) /
// sendfile(2) on reader->fd(). (A fragment evicted for space from a segment that stays
// reads as zeros: its blocks are given back.)
struct FragmentBytes {
  std::shared_ptr<const SegmentReader> reader;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t crc32 = 0;  // of the bytes, as written
};

enum class TimestampType { kProducer, kServer };

// ListFragments: ascending by timestamp (then fragment number), start and end inclusive.
// With `next_token` set, the other fields except `max_results` are taken from the token.
struct ListRequest {
  StreamRef stream;
  TimestampType type = TimestampType::kServer;
  int64_t start_us = 0;
  int64_t end_us = 0;
  int max_results = 1000;
  std::string next_token;  // opaque, from a previous ListResult
};

struct ListResult {
  std::vector<FragmentInfo> fragments;
  std::string next_token;  // empty when there is nothing more
};

// --- Analysis events ------------------------------------------------------------------
// What an analysis found in a stream: a labelled interval of producer time with a score and,
// optionally, a box in the frame. Stored in the index next to the fragments and deleted with
// the stream's data (retention, eviction, DeleteStream).

// Events per PutEvents call, and one event's longest interval: the listing scans back at
// most this far before a range's start to find the events that overlap it.
inline constexpr size_t kMaxEventsPerPut = 100;
inline constexpr int64_t kMaxEventDurationUs = 24 * kMicrosPerHour;
inline constexpr int kMaxListEventsResults = 1000;

struct EventBox {  // pixels
  int64_t x = 0;
  int64_t y = 0;
  int64_t width = 0;
  int64_t height = 0;
  friend bool operator==(const EventBox&, const EventBox&) = default;
};

struct EventInput {
  std::string label;
  int64_t start_us = 0;  // producer time, µs since the epoch
  int64_t end_us = 0;    // >= start_us
  double score = 0;
  std::optional<EventBox> box;
  std::string source;  // who found it; "" when not given
};

struct EventInfo {
  std::string id;  // opaque, unique within the archive, never reused
  EventInput event;
};

// ListEvents: the events whose [start, end] overlaps [start_us, end_us] (both inclusive),
// ascending by start then id. With `next_token` set, the range and label come from the token.
struct ListEventsRequest {
  StreamRef stream;
  int64_t start_us = 0;
  int64_t end_us = 0;
  std::string label;  // only events with this label; "" for all
  int max_results = 100;
  std::string next_token;  // opaque, from a previous ListEventsResult
};

struct ListEventsResult {
  std::vector<EventInfo> events;
  std::string next_token;  // empty when there is nothing more
};

// --- Recorded spans ---------------------------------------------------------------------
// Where a stream has video: its fragments joined into spans of time, kept in the index as
// fragments arrive and expire, so a month of 2-second fragments is read as a few rows. A
// fragment covers [start, start + duration] of its timestamp type. The next fragment joins
// the span when it starts no earlier than the span's last fragment and at most the join
// tolerance after the span's end: 100 ms of producer time (one frame interval at 10 fps and
// the millisecond rounding of durations, for producers whose durations leave out the last
// frame), 1 s of server time (arrival times jitter with the network; a real outage is longer).
inline constexpr int64_t kSpanJoinProducerUs = 100'000;
inline constexpr int64_t kSpanJoinServerUs = 1'000'000;
inline constexpr int kMaxListSpansResults = 10'000;

struct RecordedSpan {
  int64_t start_us = 0;
  int64_t end_us = 0;
  uint64_t fragments = 0;
  uint64_t size_bytes = 0;
  friend bool operator==(const RecordedSpan&, const RecordedSpan&) = default;
};

// ListRecordingSpans: the spans overlapping [start_us, end_us] (both inclusive), each whole
// (its true start and end, not clipped), ascending by start, with spans whose gap is shorter
// than `min_gap_us` (or within the join tolerance, or overlapping) merged into one. With
// `next_token` set, the type, range and gap come from the token.
struct ListSpansRequest {
  StreamRef stream;
  TimestampType type = TimestampType::kProducer;
  int64_t start_us = 0;
  int64_t end_us = 0;
  int64_t min_gap_us = 0;
  int max_results = 1000;
  std::string next_token;  // opaque, from a previous ListSpansResult
};

struct ListSpansResult {
  std::vector<RecordedSpan> spans;
  std::string next_token;  // empty when there is nothing more
};

// Merges spans given in ascending start order the way ListRecordingSpans does: a span joins
// the previous one when it starts at most max(join tolerance of `type`, less than
// `min_gap_us`) after its end. Pure; the listing and its reference (a merge of every
// fragment, each a span of its own) share it.
class SpanMerger {
 public:
  SpanMerger(TimestampType type, int64_t min_gap_us);
  // Adds `s` (s.start_us >= the previous one's). Returns the merged span it closed, if any.
  std::optional<RecordedSpan> Add(const RecordedSpan& s);
  // The span still open, if any; the merger is empty after.
  std::optional<RecordedSpan> Finish();

 private:
  const int64_t join_us_;
  const int64_t min_gap_us_;
  std::optional<RecordedSpan> open_;
};

// The durable callback: status OK means the bytes are synced and the index row committed.
// Called once per fragment on the archive's commit thread; it must not block. It may call
// the archive again (no archive lock is held).
using DurableCallback = std::function<void(const Status& status, const FragmentInfo& info)>;

struct ArchiveStats {
  uint64_t fragments_appended = 0;  // committed
  uint64_t bytes_appended = 0;
  uint64_t fragments_failed = 0;  // reported with an error status
  uint64_t appends_rejected = 0;  // refused at Append (back-pressure, bad input)
  uint64_t commits = 0;           // group commits (one index transaction each)
  uint64_t file_syncs = 0;
  uint64_t fragments_expired = 0;       // deleted by retention
  uint64_t fragments_evicted = 0;       // deleted by the byte budget / low disk
  uint64_t fragments_refused_full = 0;  // failed: no space and only protected data left
  uint64_t bytes_punched = 0;           // freed inside segments (evicted fragments)
  uint64_t punch_unsupported = 0;       // the file system could not punch a hole
  uint64_t fragments_deleted_with_stream = 0;
  uint64_t events_expired = 0;  // deleted by a sweep (retention or evicted data)
  uint64_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t total_bytes = 0;  // segment bytes currently stored
  // The object store (Options::object_store): segments moved there and their bytes, uploads
  // that failed and will be tried again, and what of total_bytes is in the bucket.
  uint64_t segments_uploaded = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t upload_failures = 0;
  uint64_t bucket_bytes = 0;
  // Several nodes: stream leases this node holds, has taken, and lost to another node.
  uint64_t leases_held = 0;
  uint64_t leases_acquired = 0;
  uint64_t leases_lost = 0;
};

// What OpenLocalArchive found and repaired.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t fragments = 0;
  uint64_t bytes_truncated = 0;  // beyond the last committed fragment
  uint64_t orphan_files_removed = 0;
  uint64_t missing_segments = 0;  // index rows whose file is gone (kDataLoss on read)
  uint64_t short_segments = 0;    // files shorter than their committed end
  uint64_t corrupt_segments = 0;  // header or last record does not match the index
};

// The storage-backend interface. Thread-safe: every call may come from any thread.
class Archive {
 public:
  virtual ~Archive() = default;

  // --- Stream registry -------------------------------------------------------------
  virtual Result<StreamInfo> CreateStream(const CreateStreamRequest& req) = 0;
  virtual Result<StreamInfo> DescribeStream(const StreamRef& ref) = 0;
  // Ascending by name; `name_prefix` filters; `after_name` continues a previous page.
  virtual Result<std::vector<StreamInfo>> ListStreams(std::string_view name_prefix,
                                                      std::string_view after_name,
                                                      int max_results) = 0;
  // Empty `current_version` skips the version check. Fields left nullopt are unchanged.
  virtual Status UpdateStream(const StreamRef& ref, std::string_view current_version,
                              std::optional<std::string> device_name,
                              std::optional<std::string> media_type) = 0;
  // Sets the retention to `hours` (the control plane turns INCREASE/DECREASE into this).
  virtual Status UpdateRetention(const StreamRef& ref, std::string_view current_version,
                                 int hours) = 0;
  // Sets the stream's storage tier. kInvalidArgument for WARM without an object store.
  virtual Status UpdateStorageTier(const StreamRef& ref, std::string_view current_version,
                                   StorageTier tier) = 0;
  virtual Status TagStream(const StreamRef& ref,
                           const std::map<std::string, std::string>& tags) = 0;
  virtual Status UntagStream(const StreamRef& ref, const std::vector<std::string>& keys) = 0;
  // Removes the stream, its index rows and its segment files. Appends still queued for it
  // fail with kNotFound.
  virtual Status DeleteStream(const StreamRef& ref, std::string_view current_version) = 0;
  // Stream deletion as an event, so live readers end at once instead of polling the
  // registry: `listener(name)` runs after each DeleteStream has committed its deletion (the
  // stream no longer resolves), on DeleteStream's thread with no archive lock held. It must
  // not call Add/RemoveStreamDeletedListener. Returns an id for RemoveStreamDeletedListener;
  // a DeleteStream already under way may still call a removed listener, so it should hold
  // what it uses by weak reference.
  using StreamDeletedListener = std::function<void(const std::string& stream_name)>;
  virtual uint64_t AddStreamDeletedListener(StreamDeletedListener listener) = 0;
  virtual void RemoveStreamDeletedListener(uint64_t id) = 0;

  // --- Ingest ------------------------------------------------------------------------
  // Queues a fragment and returns its number at once; `on_durable` follows later (always
  // exactly once, unless this call returns an error, in which case it is never called).
  // The callback gets kResourceExhausted when there is no space and only each stream's
  // newest fragments are left (see Options::keep_newest_fragments): nothing acknowledged
  // is deleted to store it.
  // kResourceExhausted when the commit queue is full (back-pressure), kInvalidArgument
  // for a fragment over kMaxFragmentBytes, kNotFound for an unknown stream,
  // kFailedPrecondition for a stream without retention, kUnavailable after shutdown.
  virtual Result<std::string> Append(const StreamRef& ref, FragmentInput fragment,
                                     DurableCallback on_durable) = 0;
  // Blocks until every fragment queued before the call has been reported.
  virtual void Flush() = 0;

  // --- Several nodes (a PostgreSQL index: Options::node_id) --------------------------
  // Where a stream's ingest belongs. Each stream is owned by one node at a time through a
  // lease in the index, renewed every third of Options::lease_us; a node that dies loses its
  // leases when they run out, and the next PutMedia takes the stream on another node.
  struct Node {
    std::string id;
    std::string url;  // its Options::node_url
  };
  // Takes (or keeps) this node's lease on the stream, before a PutMedia session appends:
  // Append refuses a stream whose lease this node does not hold. kResourceExhausted naming
  // the owner when another live node holds it. Blocks on the index: call it on a worker. With
  // one node (SQLite) always OK.
  virtual Status ClaimStream(const StreamRef& ref) {
    (void)ref;
    return Status::Ok();
  }
  // The URL this node is reached at (Options::node_url), once its server listens: a port
  // the system picked is not known when the archive opens. Blocks on the index.
  virtual Status SetNodeUrl(const std::string& url) {
    (void)url;
    return Status::Ok();
  }
  // The node a PutMedia for the stream should go to: its live owner, else the live node
  // chosen for it (the same on every node). nullopt with one node. Blocks on the index.
  virtual Result<std::optional<Node>> IngestNode(const StreamRef& ref) {
    (void)ref;
    return std::optional<Node>();
  }

  // --- Queries (only durable fragments within retention are visible) -----------------
  virtual Result<FragmentInfo> GetFragment(const StreamRef& ref, std::string_view number) = 0;
  virtual Result<ListResult> ListFragments(const ListRequest& req) = 0;
  // Up to `max` fragments after `after_number` in number order ("" = from the earliest).
  virtual Result<std::vector<FragmentInfo>> FragmentsAfter(const StreamRef& ref,
                                                           std::string_view after_number,
                                                           int max) = 0;
  virtual Result<FragmentInfo> FirstAtOrAfter(const StreamRef& ref, TimestampType type,
                                              int64_t timestamp_us) = 0;
  virtual Result<FragmentInfo> Latest(const StreamRef& ref) = 0;
  virtual Result<FragmentBytes> OpenFragment(const StreamRef& ref, std::string_view number) = 0;
  // Reads the bytes and checks their CRC (kDataLoss on a mismatch).
  virtual Result<std::string> ReadFragment(const StreamRef& ref, std::string_view number) = 0;

  // --- Analysis events ---------------------------------------------------------------
  // Stores `events` in one transaction and returns their ids, in order. The archive checks
  // what its listing relies on (the request's parser checks the rest): kInvalidArgument
  // unless there are 1 to kMaxEventsPerPut events, each with a label and with
  // start <= end <= start + kMaxEventDurationUs; kNotFound for an unknown stream;
  // kFailedPrecondition for a stream without retention (there is no data to annotate).
  virtual Result<std::vector<std::string>> PutEvents(const StreamRef& ref,
                                                     const std::vector<EventInput>& events) = 0;
  // kInvalidArgument for max_results outside 1..kMaxListEventsResults, an end before the
  // start, or a token that is not one of ours for this stream; kNotFound for an unknown
  // stream. Reads an index range that starts kMaxEventDurationUs (at most) before the range.
  virtual Result<ListEventsResult> ListEvents(const ListEventsRequest& req) = 0;

  // --- Recorded spans ----------------------------------------------------------------
  // kInvalidArgument for max_results outside 1..kMaxListSpansResults, an end before the
  // start, a negative gap, or a token that is not one of ours for this stream; kNotFound
  // for an unknown stream. Reads the index's spans, never its fragments (one probe for the
  // oldest fragment within retention).
  virtual Result<ListSpansResult> ListRecordingSpans(const ListSpansRequest& req) = 0;

  // --- Maintenance -------------------------------------------------------------------
  // Runs one retention + budget sweep now (the background sweeper calls the same).
  virtual Status Sweep() = 0;
  // Reads every fragment of every stream and checks it against the index and its CRC.
  virtual Status Verify() = 0;
  virtual ArchiveStats Stats() const = 0;
  virtual RecoveryReport Recovery() const = 0;
  // Readiness: OK when a fragment could be stored now, else why not. Not OK while a group
  // commit failed for a reason other than the stream (out of space with nothing left to
  // evict, a write, sync or index error) within the last kWriteFailureWindowUs, and when a
  // small probe file cannot be created, written, synced and removed where segments and the
  // index live (a read-only or full file system, lost permissions). Blocks on disk I/O:
  // call it on a worker. The default (a backend with nothing to probe) is always OK.
  virtual Status CheckWritable() { return Status::Ok(); }
};

// How long a failed group commit keeps CheckWritable false when no later commit succeeds:
// long enough for a monitor to see it, short enough that a server taken out of rotation (so
// that nothing is written to it) does not stay unready for ever; the probe covers the rest.
inline constexpr int64_t kWriteFailureWindowUs = 30'000'000;

struct Options {
  std::string root;  // directory holding index.sqlite and segments/
  // Where the registry and the fragment index live: empty for SQLite in root/index.sqlite,
  // or a PostgreSQL database, "postgresql://USER@HOST:PORT/DB" (libpq's URI form; the
  // password, if any, in the URI or ~/.pgpass). The segments stay under root either way.
  std::string index;
  // An S3-compatible bucket for the segments of WARM streams (StorageTier): a sealed
  // segment moves there once `warm_after_us` old (0: as soon as it is sealed), is uploaded
  // again with back-off until the bucket holds it whole (size and MD5 checked), and only
  // then leaves the local disk. Reads of moved segments are ranged GETs. Segments are
  // stored as <key_prefix>segments/<stream id>/<segment id>.seg.
  std::optional<objectstore::S3Config> object_store;
  int64_t warm_after_us = 0;
  std::string object_key_prefix;
  std::string region = "us-west-2";
  std::string account = "000000000000";
  // A stream's open segment file is rolled when a fragment's server timestamp leaves its
  // window or the file would pass max_segment_bytes. The archive lowers the size limit to
  // 1/32 of its space (the byte budget, or the file system; at least 64 KiB) so that no
  // segment holds a large share of the history.
  int64_t segment_window_us = kMicrosPerHour;
  uint64_t max_segment_bytes = 1ull << 30;
  // Group commit bounds: one commit takes at most this many fragments / bytes.
  size_t max_batch_fragments = 4096;
  uint64_t max_batch_bytes = 64ull << 20;
  // Back-pressure: Append refuses when this many bytes are queued and not yet durable.
  uint64_t max_pending_bytes = 256ull << 20;
  // false skips every fsync (bulk imports and benchmarks only: not crash-safe).
  bool sync = true;
  // Helper threads that fdatasync a group commit's files in parallel (0: one by one).
  int sync_threads = 16;
  // Background sweep period; 0 disables the sweeper thread (call Sweep() yourself).
  int64_t sweep_interval_us = 60'000'000;
  // Optional byte budget for all segment files (0 = none), enforced by each sweep, and a
  // floor of free disk space (0 = none; kAutoMinFreeBytes: 5% of the file system, at most
  // 256 MiB), enforced before every group commit. Past either, the oldest fragments across
  // streams are evicted first, a segment (or the evictable part of one) at a time.
  uint64_t max_total_bytes = 0;
  uint64_t min_free_bytes = 0;
  // When space runs short (a write fails for lack of it, or the floor would be crossed),
  // evict the oldest fragments across streams and go on, so ingest continues while old data
  // exists. false reports kResourceExhausted to the callbacks instead.
  bool evict_when_full = true;
  // What eviction never takes: a stream's newest `keep_newest_fragments` fragments, and
  // its newest fragments that together last `keep_newest_us` (by their durations). A
  // fragment just reported durable is therefore never evicted to make room for the next
  // ones; when only such fragments are left, new fragments fail with kResourceExhausted
  // and the kept ones stay. keep_newest_fragments is at least 1.
  int keep_newest_fragments = 3;
  int64_t keep_newest_us = 10'000'000;
  // Space set aside in <root>/reserve so that deletions (which need room in the index's
  // write-ahead log) still work on a full disk: released when a deletion fails for lack of
  // space, re-created by a later sweep. At most 1/64 of the archive's space (at least
  // 256 KiB). 0 disables it.
  uint64_t reserve_bytes = 4u << 20;
  // Serve what root holds without writing a byte there: for a file system that went
  // read-only, a mounted snapshot, a forensic copy. The index is opened read-only
  // (SqliteDb::OpenReadOnly: with its write-ahead log when there is one), recovery only looks
  // (nothing is truncated, removed or sealed), and no commit or sweeper thread runs. Every
  // write (streams, tags, retention, Append, PutEvents, Sweep) and CheckWritable answer
  // kUnavailable with a message that says the archive is read-only, why
  // (`read_only_reason`), and that a restart on a writable directory records again.
  // Retention does not hide anything either: every stored fragment is served, however old
  // (the archive is frozen as it was; a snapshot of last month shows last month).
  bool read_only = false;
  std::string read_only_reason;  // e.g. "the file system is mounted read-only"
  // Several nodes sharing a PostgreSQL `index` (and usually one `object_store`): this node's
  // name, stable across restarts (empty: the only node on the index), the URL it is reached at
  // (what GetDataEndpoint answers for the streams it owns), and how long a stream's lease
  // lasts without renewal: a dead node's streams move after at most this long. See
  // Archive::ClaimStream.
  std::string node_id;
  std::string node_url;
  int64_t lease_us = 10'000'000;
};

// Opens (creating when missing) the local archive at options.root and recovers it: bytes
// beyond the last committed fragment are truncated, orphan files removed. `env`, `clock`
// and `logger` must outlive the archive. Errors: kDataLoss for a corrupt index,
// kPermissionDenied / kIoError from the file system, kFailedPrecondition for a root on a
// read-only file system (unless options.read_only). With options.read_only the archive
// must exist (kNotFound otherwise) and nothing is written.
Result<std::unique_ptr<Archive>> OpenLocalArchive(const Options& options, Env& env,
                                                  const Clock& clock, Logger& logger);

// Pages through archive.ListFragments(request), from request.next_token on when set, handing
// each fragment to `visit` in order (it may move from it) until `visit` returns false or the
// listing ends. Every page asks for request.max_results rows: set it near what the caller
// expects to need (1..1000). Errors: ListFragments' own, from any page. Thread-safety is the
// archive's; `visit` runs on the calling thread.
Status ForEachFragment(Archive& archive, ListRequest request,
                       const std::function<bool(FragmentInfo& fragment)>& visit);

// Stream names: [a-zA-Z0-9_.-]+, 1-256 characters (common/kvs_request.h).
using kvs::ValidateStreamName;

}  // namespace streamarc::archive
