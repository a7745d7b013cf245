// The fragment index (private to archive/): which fragments exist, where their bytes are,
// and the segments that hold them. A fragment exists when, and only when, its row is
// committed here (archive/FORMAT.md: "the index is the truth").
//
// The default is the SQLite index (OpenSqliteBackend, archive/sqlite_backend.h); the
// schema is FORMAT.md's. A PostgreSQL index would implement the same calls: the queries
// are range scans on (stream, timestamp, seq) and (stream, seq); Commit is one
// transaction; retention and eviction select and delete by segment.
//
// Sequence numbers (`seq`) are archive-wide, strictly increasing, and a stream's segments
// hold disjoint, increasing seq ranges. `cutoff_us` arguments hide fragments whose server
// timestamp is older (retention) even before they are deleted.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::archive {

// A fragment as the index returns it (the archive adds the number and stream name).
struct IndexedFragment {
  uint64_t seq = 0;
  int64_t producer_us = 0;
  int64_t server_us = 0;
  int64_t duration_us = 0;
  uint64_t size_bytes = 0;
  std::string track_info;
  std::vector<uint32_t> key_frame_offsets;
};

// Where a fragment's payload is: a byte range of one segment.
struct FragmentLocation {
  uint64_t seq = 0;
  int64_t segment_id = 0;
  uint64_t offset = 0;  // of the payload, after its record header
  uint64_t length = 0;
};

// One row of a group commit.
struct NewFragmentRow {
  uint64_t seq = 0;
  int64_t stream_id = 0;
  int64_t segment_id = 0;
  uint64_t offset = 0;
  const FragmentInput* in = nullptr;  // timestamps, size, track info, key frames
};

// A segment's row: inserted by the first commit into it, updated by later ones.
struct SegmentRow {
  int64_t id = 0;
  int64_t stream_id = 0;
  int64_t window_start_us = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int64_t min_server_us = 0;
  int64_t max_server_us = 0;
  uint64_t committed_end = 0;  // bytes covered by committed rows (or the file header)
  bool sealed = false;
};

// What a deletion removed.
struct DeletedSegment {
  int64_t stream_id = 0;
  uint64_t fragments = 0;
  // What the segment still held: its committed end minus an evicted (punched) prefix.
  uint64_t bytes = 0;
};

// What EvictPrefix removed.
struct EvictedPrefix {
  uint64_t fragments = 0;
  uint64_t payload_bytes = 0;
  uint64_t end = 0;  // end of the last evicted payload: punch [header, end)
  uint64_t first_seq = 0;
  int64_t min_server_us = 0;  // the segment's row after the eviction
};

// Totals at open.
struct IndexTotals {
  uint64_t max_seq = 0;
  int64_t max_segment_id = 0;
  uint64_t stored_bytes = 0;  // segment bytes still held (evicted prefixes excluded)
  uint64_t segments = 0;
};

// An analysis event as the index returns it.
struct IndexedEvent {
  int64_t id = 0;
  EventInput event;
};

// One ListEvents page: events of a stream overlapping [start_us, end_us], ascending by
// (start, id), strictly after (after_start_us, after_id), with `label` when it is not empty.
struct EventQuery {
  int64_t start_us = 0;
  int64_t end_us = 0;
  std::string label;
  int64_t after_start_us = INT64_MIN;
  int64_t after_id = -1;
};

enum class IndexTime { kProducer, kServer };

// A recorded span as the index keeps it: a run of the stream's fragments in seq order
// (first_seq..last_seq) joined by the rule of archive.h's kSpanJoin*Us, in one timestamp
// type. `start_us` is its first fragment's start (starts never decrease within a span),
// `end_us` the latest end.
struct IndexedSpan {
  int64_t id = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
  uint64_t fragments = 0;
  uint64_t size_bytes = 0;
};

// One ListSpans page: spans of one type overlapping [start_us, end_us], ascending by
// (start, id), strictly after (after_start_us, after_id).
struct SpanQuery {
  IndexTime type = IndexTime::kProducer;
  int64_t start_us = 0;
  int64_t end_us = 0;
  int64_t after_start_us = INT64_MIN;
  int64_t after_id = -1;
};

struct SpanPage {
  std::vector<IndexedSpan> spans;
  // The page was full: ask again from (after_start_us, after_id), the key of the last row
  // read (rows read may be left out of `spans`: hidden by the cutoff).
  bool more = false;
  int64_t after_start_us = 0;
  int64_t after_id = 0;
};

// Thread-safe. Commit and SealSegment are the commit thread's; queries run from any thread
// and never wait for a commit; maintenance calls are serialised by the index.
class FragmentIndex {
 public:
  virtual ~FragmentIndex() = default;

  // --- Group commit (commit thread) ---
  // Inserts `rows` and upserts `segments` (the segments' new state) in one transaction:
  // all or nothing. Track infos are deduplicated per stream by the index.
  virtual Status Commit(const std::vector<NewFragmentRow>& rows,
                        const std::vector<SegmentRow>& segments) = 0;
  virtual Status SealSegment(int64_t segment_id) = 0;

  // --- Queries (committed rows only) ---
  // nullopt when there is no such visible fragment.
  virtual Result<std::optional<IndexedFragment>> Get(int64_t stream_id, uint64_t seq,
                                                     int64_t cutoff_us) = 0;
  virtual Result<std::optional<FragmentLocation>> Locate(int64_t stream_id, uint64_t seq,
                                                         int64_t cutoff_us) = 0;
  // Ascending by (time, seq), strictly after (after_ts, after_seq), time <= end_ts.
  virtual Result<std::vector<IndexedFragment>> List(int64_t stream_id, IndexTime type,
                                                    int64_t after_ts, int64_t after_seq,
                                                    int64_t end_ts, int64_t cutoff_us,
                                                    int limit) = 0;
  // Ascending by seq, seq > after_seq.
  virtual Result<std::vector<IndexedFragment>> After(int64_t stream_id, uint64_t after_seq,
                                                     int64_t cutoff_us, int limit) = 0;
  virtual Result<std::optional<IndexedFragment>> FirstAtOrAfter(int64_t stream_id, IndexTime type,
                                                                int64_t from,
                                                                int64_t cutoff_us) = 0;
  virtual Result<std::optional<IndexedFragment>> Latest(int64_t stream_id, int64_t cutoff_us) = 0;

  // --- Retention, eviction, stream deletion ---
  // Sealed segments of the streams in `cutoff_by_stream` whose newest fragment is older
  // than that stream's cutoff.
  virtual Result<std::vector<int64_t>> ExpiredSegments(
      const std::unordered_map<int64_t, int64_t>& cutoff_by_stream) = 0;
  // Deletes a segment's fragments' rows, oldest first, in short transactions (calling
  // `between_chunks`, if set, between two of them), then its row; nullopt when the segment was
  // already gone. Stopped part-way, the segment is left as EvictPrefix leaves it.
  virtual Result<std::optional<DeletedSegment>> DeleteSegment(
      int64_t segment_id, const std::function<void()>& between_chunks = {}) = 0;
  // Up to `limit` segments ordered by (min_server_us, id) after (after_us, after_id): the
  // oldest data first.
  virtual Result<std::vector<SegmentRow>> SegmentsByAge(int64_t after_us, int64_t after_id,
                                                        int limit) = 0;
  // The stream's newest fragments, newest first, until `visit(seq, duration_us)` returns
  // false or `limit` rows were seen.
  virtual Status ForEachNewest(int64_t stream_id, int limit,
                               const std::function<bool(uint64_t, int64_t)>& visit) = 0;
  // Deletes the segment's fragments with seq < keep_from and moves its row's first_seq and
  // min_server_us forward, in one transaction. fragments == 0 when there were none.
  virtual Result<EvictedPrefix> EvictPrefix(int64_t segment_id, int64_t stream_id,
                                            uint64_t keep_from) = 0;
  virtual Result<std::vector<int64_t>> StreamSegments(int64_t stream_id) = 0;
  // The stream's remaining fragment rows, track infos and events, in one transaction.
  virtual Status DeleteStreamRows(int64_t stream_id) = 0;
  // Housekeeping after a sweep (SQLite: a passive WAL checkpoint).
  virtual Status Checkpoint() = 0;

  // --- Analysis events (a PostgreSQL index implements the same three calls) ---
  // Inserts the stream's events in one transaction; their ids, in order. Ids are never
  // reused, even after deletions.
  virtual Result<std::vector<int64_t>> InsertEvents(int64_t stream_id,
                                                    const std::vector<EventInput>& events) = 0;
  // Up to `limit` events of `query`. An index range scan on (stream, start, id) from
  // start_us minus the longest event the stream ever stored (kMaxEventDurationUs at most):
  // no event that starts earlier can overlap the range.
  virtual Result<std::vector<IndexedEvent>> ListEvents(int64_t stream_id, const EventQuery& query,
                                                       int limit) = 0;
  // Deletes up to `limit` of the stream's events that end before the producer timestamp of
  // its oldest fragment kept (the oldest by server time at or after `cutoff_us`), or, when
  // it keeps none, before `cutoff_us`. Returns how many went; call again while it is
  // `limit`.
  virtual Result<uint64_t> DeleteExpiredEvents(int64_t stream_id, int64_t cutoff_us, int limit) = 0;

  // --- Recorded spans (a PostgreSQL index implements the same call and upkeep) ---
  // Commit extends or starts each stream's spans (both types) in its transaction;
  // DeleteSegment and EvictPrefix shrink, split or delete the spans that held the deleted
  // rows in theirs; DeleteStreamRows deletes them. Reads up to `limit` spans of `query` as the
  // visible fragments make them: fragments older than `cutoff_us` (by server time, as
  // everywhere) are left out, which moves the first span's start and counts.
  virtual Result<SpanPage> ListSpans(int64_t stream_id, const SpanQuery& query, int64_t cutoff_us,
                                     int limit) = 0;

  // --- Recovery and verification ---
  virtual Result<std::vector<SegmentRow>> Segments() = 0;
  // The segment's newest fragment row; nullopt when it has none.
  virtual Result<std::optional<FragmentLocation>> LastFragment(int64_t stream_id,
                                                               int64_t segment_id) = 0;
  virtual Result<IndexTotals> Totals() = 0;
  // After a restart nothing is open: every segment is sealed.
  virtual Status SealAll() = 0;
  // From one consistent snapshot: each segment with its fragments' locations in seq order.
  virtual Status ForEachSegmentSnapshot(
      const std::function<Status(const SegmentRow&, const std::vector<FragmentLocation>&)>&
          visit) = 0;
};

}  // namespace streamarc::archive
