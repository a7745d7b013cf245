// The SQL fragment index (SQLite or PostgreSQL): FORMAT.md's `fragments`, `segments` and
// `track_infos`.
//
// Queries run on pooled reader connections and see committed rows only; group commits use
// the writer connection, maintenance (retention, eviction, stream deletion) the control one.
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>

#include "archive/names.h"
#include "archive/segment.h"
#include "archive/sql.h"

namespace streamarc::archive {
namespace {

// Rows per transaction when a segment is deleted (see DeleteSegment).
constexpr int64_t kDeleteChunk = 256;

constexpr const char* kCols =
    "SELECT f.seq, f.producer_us, f.server_us, f.duration_us, f.byte_length, f.key_frames,"
    " t.blob FROM fragments f LEFT JOIN track_infos t ON t.id = f.track_info_id ";

Result<IndexedFragment> RowToFragment(const Stmt& st) {
  IndexedFragment f;
  f.seq = static_cast<uint64_t>(st.Int(0));
  f.producer_us = st.Int(1);
  f.server_us = st.Int(2);
  f.duration_us = st.Int(3);
  f.size_bytes = static_cast<uint64_t>(st.Int(4));
  if (!st.IsNull(5)) {
    ASSIGN_OR_RETURN(f.key_frame_offsets, DecodeOffsets(st.Blob(5)));
  }
  if (!st.IsNull(6)) f.track_info = st.Blob(6);
  return f;
}

// Runs a prepared fragment query and collects its rows, resetting the statement.
Result<std::vector<IndexedFragment>> Collect(Stmt* st) {
  std::vector<IndexedFragment> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    Result<IndexedFragment> f = RowToFragment(row);
    if (!f.ok()) return f.status();
    out.push_back(std::move(*f));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<IndexedFragment>> First(Stmt* st) {
  ASSIGN_OR_RETURN(std::vector<IndexedFragment> rows, Collect(st));
  if (rows.empty()) return std::optional<IndexedFragment>();
  return std::optional<IndexedFragment>(std::move(rows[0]));
}

const char* TimeColumn(IndexTime type) {
  return type == IndexTime::kProducer ? "f.producer_us" : "f.server_us";
}

SegmentRow ToSegmentRow(const Stmt& row) {
  SegmentRow s;
  s.id = row.Int(0);
  s.stream_id = row.Int(1);
  s.window_start_us = row.Int(2);
  s.first_seq = static_cast<uint64_t>(row.Int(3));
  s.last_seq = static_cast<uint64_t>(row.Int(4));
  s.min_server_us = row.Int(5);
  s.max_server_us = row.Int(6);
  s.committed_end = static_cast<uint64_t>(row.Int(7));
  s.sealed = row.Int(8) != 0;
  return s;
}

constexpr const char* kSegmentCols =
    "SELECT id, stream_id, window_start_us, first_seq, last_seq, min_server_us, max_server_us,"
    " committed_end, sealed FROM segments ";

class SqlFragmentIndex final : public FragmentIndex {
 public:
  SqlFragmentIndex(std::shared_ptr<SqlConnections> c, bool keep_spans)
      : c_(std::move(c)), keep_spans_(keep_spans) {}

  Status Commit(const std::vector<NewFragmentRow>& rows,
                const std::vector<SegmentRow>& segments) override;
  Status SealSegment(int64_t segment_id) override {
    MutexLock lock(c_->writer_mu);
    ASSIGN_OR_RETURN(Stmt * st, c_->writer().Prepare("UPDATE segments SET sealed=1 WHERE id=?1"));
    Status s = st->Bind(1, segment_id).Run();
    st->Reset();
    return s;
  }

  Result<std::optional<IndexedFragment>> Get(int64_t stream_id, uint64_t seq,
                                             int64_t cutoff_us) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(Stmt * st,
                     r.db().Prepare(std::string(kCols) + "WHERE f.seq=?1 AND f.stream_id=?2 AND"
                                                         " f.server_us >= ?3"));
    st->Bind(1, static_cast<int64_t>(seq)).Bind(2, stream_id).Bind(3, cutoff_us);
    return First(st);
  }

  Result<std::optional<FragmentLocation>> Locate(int64_t stream_id, uint64_t seq,
                                                 int64_t cutoff_us) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(Stmt * st,
                     r.db().Prepare("SELECT segment_id, byte_offset, byte_length FROM fragments"
                                    " WHERE seq=?1 AND stream_id=?2 AND server_us >= ?3"));
    st->Bind(1, static_cast<int64_t>(seq)).Bind(2, stream_id).Bind(3, cutoff_us);
    std::optional<FragmentLocation> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      out = FragmentLocation{seq, row.Int(0), static_cast<uint64_t>(row.Int(1)),
                             static_cast<uint64_t>(row.Int(2))};
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<IndexedFragment>> List(int64_t stream_id, IndexTime type, int64_t after_ts,
                                            int64_t after_seq, int64_t end_ts, int64_t cutoff_us,
                                            int limit) override {
    const std::string ts = TimeColumn(type);
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(Stmt * st, r.db().Prepare(std::string(kCols) + "WHERE f.stream_id=?1 AND (" +
                                               ts + ", f.seq) > (?2, ?3) AND " + ts +
                                               " <= ?4 AND f.server_us >= ?5 ORDER BY " + ts +
                                               ", f.seq LIMIT ?6"));
    st->Bind(1, stream_id).Bind(2, after_ts).Bind(3, after_seq).Bind(4, end_ts);
    st->Bind(5, cutoff_us).Bind(6, limit);
    return Collect(st);
  }

  Result<std::vector<IndexedFragment>> After(int64_t stream_id, uint64_t after_seq,
                                             int64_t cutoff_us, int limit) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(Stmt * st, r.db().Prepare(std::string(kCols) +
                                               "WHERE f.stream_id=?1 AND f.seq > ?2 AND"
                                               " f.server_us >= ?3 ORDER BY f.seq LIMIT ?4"));
    st->Bind(1, stream_id).Bind(2, static_cast<int64_t>(after_seq)).Bind(3, cutoff_us);
    st->Bind(4, limit);
    return Collect(st);
  }

  Result<std::optional<IndexedFragment>> FirstAtOrAfter(int64_t stream_id, IndexTime type,
                                                        int64_t from, int64_t cutoff_us) override {
    const std::string ts = TimeColumn(type);
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(Stmt * st, r.db().Prepare(std::string(kCols) + "WHERE f.stream_id=?1 AND " +
                                               ts + " >= ?2 AND f.server_us >= ?3 ORDER BY " + ts +
                                               ", f.seq LIMIT 1"));
    st->Bind(1, stream_id).Bind(2, from).Bind(3, cutoff_us);
    return First(st);
  }

  Result<std::optional<IndexedFragment>> Latest(int64_t stream_id, int64_t cutoff_us) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    ASSIGN_OR_RETURN(
        Stmt * st, r.db().Prepare(std::string(kCols) + "WHERE f.stream_id=?1 AND f.server_us >= ?2"
                                                       " ORDER BY f.seq DESC LIMIT 1"));
    st->Bind(1, stream_id).Bind(2, cutoff_us);
    return First(st);
  }

  Result<std::vector<int64_t>> ExpiredSegments(
      const std::unordered_map<int64_t, int64_t>& cutoff_by_stream) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st,
                     c_->control().Prepare("SELECT id, stream_id, max_server_us FROM segments"
                                           " WHERE sealed=1"));
    std::vector<int64_t> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      auto it = cutoff_by_stream.find(row.Int(1));
      if (it != cutoff_by_stream.end() && row.Int(2) < it->second) out.push_back(row.Int(0));
      return Status::Ok();
    }));
    return out;
  }

  Result<std::optional<DeletedSegment>> DeleteSegment(
      int64_t segment_id, const std::function<void()>& between_chunks) override;
  Result<std::vector<SegmentRow>> SegmentsByAge(int64_t after_us, int64_t after_id,
                                                int limit) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st, c_->control().Prepare(std::string(kSegmentCols) +
                                                      "WHERE (min_server_us, id) > (?1, ?2)"
                                                      " ORDER BY min_server_us, id LIMIT ?3"));
    st->Bind(1, after_us).Bind(2, after_id).Bind(3, limit);
    return Segments(st);
  }

  Status ForEachNewest(int64_t stream_id, int limit,
                       const std::function<bool(uint64_t, int64_t)>& visit) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st,
                     c_->control().Prepare("SELECT seq, duration_us FROM fragments"
                                           " WHERE stream_id=?1 ORDER BY seq DESC LIMIT ?2"));
    st->Bind(1, stream_id).Bind(2, limit);
    for (;;) {
      Result<bool> row = st->Step();
      if (!row.ok() || !*row) {
        st->Reset();
        return row.status();
      }
      if (!visit(static_cast<uint64_t>(st->Int(0)), st->Int(1))) break;
    }
    st->Reset();
    return Status::Ok();
  }

  Result<EvictedPrefix> EvictPrefix(int64_t segment_id, int64_t stream_id,
                                    uint64_t keep_from) override;

  Result<std::vector<int64_t>> StreamSegments(int64_t stream_id) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st,
                     c_->control().Prepare("SELECT id FROM segments WHERE stream_id=?1"));
    st->Bind(1, stream_id);
    std::vector<int64_t> ids;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      ids.push_back(row.Int(0));
      return Status::Ok();
    }));
    return ids;
  }

  Status DeleteStreamRows(int64_t stream_id) override {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    return InTransaction(db, [&]() -> Status {
      for (const char* sql :
           {"DELETE FROM fragments WHERE stream_id=?1",
            "DELETE FROM track_infos WHERE stream_id=?1", "DELETE FROM segments WHERE stream_id=?1",
            "DELETE FROM events WHERE stream_id=?1", "DELETE FROM event_bounds WHERE stream_id=?1",
            "DELETE FROM spans WHERE stream_id=?1",
            "DELETE FROM span_overlaps WHERE stream_id=?1"}) {
        ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
        Status s = st->Bind(1, stream_id).Run();
        st->Reset();
        RETURN_IF_ERROR(s);
      }
      return Status::Ok();
    });
  }

  // Events (sql_events.cc): writes on the control connection, like the registry's.
  Result<std::vector<int64_t>> InsertEvents(int64_t stream_id,
                                            const std::vector<EventInput>& events) override {
    MutexLock lock(c_->control_mu);
    return SqlInsertEvents(c_->control(), stream_id, events);
  }
  Result<std::vector<IndexedEvent>> ListEvents(int64_t stream_id, const EventQuery& query,
                                               int limit) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    return SqlListEvents(r.db(), stream_id, query, limit);
  }
  Result<uint64_t> DeleteExpiredEvents(int64_t stream_id, int64_t cutoff_us, int limit) override {
    MutexLock lock(c_->control_mu);
    return SqlDeleteExpiredEvents(c_->control(), stream_id, cutoff_us, limit);
  }

  // Spans (sql_spans.cc): kept by Commit and the deletions above, read on a pooled reader.
  Result<SpanPage> ListSpans(int64_t stream_id, const SpanQuery& query, int64_t cutoff_us,
                             int limit) override {
    ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
    return SqlListSpans(r.db(), stream_id, query, cutoff_us, limit);
  }

  Status Checkpoint() override {
    MutexLock lock(c_->control_mu);
    return c_->control().Checkpoint();
  }

  Result<std::vector<SegmentRow>> Segments() override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st, c_->control().Prepare(kSegmentCols));
    return Segments(st);
  }

  Result<std::optional<FragmentLocation>> LastFragment(int64_t stream_id,
                                                       int64_t segment_id) override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(Stmt * st, c_->control().Prepare(
                                    "SELECT seq, byte_offset, byte_length FROM fragments WHERE"
                                    " stream_id=?1 AND segment_id=?2 ORDER BY seq DESC LIMIT 1"));
    st->Bind(1, stream_id).Bind(2, segment_id);
    std::optional<FragmentLocation> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      out = FragmentLocation{static_cast<uint64_t>(row.Int(0)), segment_id,
                             static_cast<uint64_t>(row.Int(1)), static_cast<uint64_t>(row.Int(2))};
      return Status::Ok();
    }));
    return out;
  }

  Result<IndexTotals> Totals() override {
    MutexLock lock(c_->control_mu);
    ASSIGN_OR_RETURN(
        Stmt * st,
        c_->control().Prepare(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM fragments),"
            " (SELECT COALESCE(MAX(id), 0) FROM segments),"
            // Stored bytes: a segment's evicted prefix is punched out. 56 = file
            // header + the first record's header.
            " (SELECT COALESCE(SUM(committed_end + 56 - COALESCE((SELECT byte_offset FROM"
            " fragments f WHERE f.seq=s.first_seq), 56)), 0) FROM segments s),"
            " (SELECT COUNT(*) FROM segments)"));
    std::optional<IndexTotals> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      out = IndexTotals{static_cast<uint64_t>(row.Int(0)), row.Int(1),
                        static_cast<uint64_t>(row.Int(2)), static_cast<uint64_t>(row.Int(3))};
      return Status::Ok();
    }));
    if (!out) return Internal("aggregate query returned no row");
    return *out;
  }

  Status SealAll() override {
    MutexLock lock(c_->control_mu);
    return c_->control().Exec("UPDATE segments SET sealed=1 WHERE sealed=0");
  }

  Status ForEachSegmentSnapshot(
      const std::function<Status(const SegmentRow&, const std::vector<FragmentLocation>&)>& visit)
      override;

 private:
  static Result<std::vector<SegmentRow>> Segments(Stmt* st) {
    std::vector<SegmentRow> out;
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      out.push_back(ToSegmentRow(row));
      return Status::Ok();
    }));
    return out;
  }
  Result<int64_t> InsertTrackInfo(Db& db, int64_t stream_id, const std::string& blob);
  // stream id -> (track info blob, its row id)
  using Tracks = std::unordered_map<int64_t, std::pair<std::string, int64_t>>;
  // Commit's statements, inside its transaction; `new_tracks` receives the track infos it
  // stored.
  Status InsertRows(Db& db, const std::vector<NewFragmentRow>& rows,
                    const std::vector<SegmentRow>& segments, Tracks& new_tracks)
      REQUIRES(c_->writer_mu);

  std::shared_ptr<SqlConnections> c_;
  const bool keep_spans_;
  // The last track info stored per stream: most fragments of a stream repeat it. Advanced
  // only after a commit succeeds.
  Tracks track_cache_ GUARDED_BY(c_->writer_mu);
};

Result<int64_t> SqlFragmentIndex::InsertTrackInfo(Db& db, int64_t stream_id,
                                                  const std::string& blob) {
  ASSIGN_OR_RETURN(Stmt * st, db.Prepare("INSERT INTO track_infos(stream_id, blob) VALUES(?1, ?2)"
                                         " RETURNING id"));
  st->Bind(1, stream_id).BindBlob(2, blob);
  return InsertReturningId(st);
}

Status SqlFragmentIndex::Commit(const std::vector<NewFragmentRow>& rows,
                                const std::vector<SegmentRow>& segments) {
  MutexLock lock(c_->writer_mu);
  Db& db = c_->writer();
  Tracks new_tracks;
  // Not InTransaction: the analysis checks a lambda as a function that holds no lock.
  RETURN_IF_ERROR(db.Begin());
  Status s = InsertRows(db, rows, segments, new_tracks);
  if (s.ok()) s = db.Commit();
  if (!s.ok()) {
    db.Rollback();
    return s;
  }
  for (auto& [sid, t] : new_tracks) track_cache_[sid] = std::move(t);
  return Status::Ok();
}

Status SqlFragmentIndex::InsertRows(Db& db, const std::vector<NewFragmentRow>& rows,
                                    const std::vector<SegmentRow>& segments, Tracks& new_tracks) {
  // Each row's track info id first: storing a new one is a statement of its own.
  std::vector<std::optional<int64_t>> track_ids(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const NewFragmentRow& row = rows[i];
    const FragmentInput& in = *row.in;
    if (in.track_info.empty()) continue;
    auto nt = new_tracks.find(row.stream_id);
    if (nt != new_tracks.end() && nt->second.first == in.track_info) {
      track_ids[i] = nt->second.second;
      continue;
    }
    auto cached = track_cache_.find(row.stream_id);
    if (nt == new_tracks.end() && cached != track_cache_.end() &&
        cached->second.first == in.track_info) {
      track_ids[i] = cached->second.second;
      continue;
    }
    ASSIGN_OR_RETURN(int64_t tid, InsertTrackInfo(db, row.stream_id, in.track_info));
    new_tracks[row.stream_id] = {in.track_info, tid};
    track_ids[i] = tid;
  }
  RETURN_IF_ERROR(RunRowsBatched(
      db,
      "INSERT INTO fragments(seq, stream_id, segment_id, byte_offset, byte_length, producer_us,"
      " server_us, duration_us, track_info_id, key_frames)",
      "", 10, rows.size(), [&](Stmt& st, size_t r, int b) {
        const NewFragmentRow& row = rows[r];
        const FragmentInput& in = *row.in;
        st.Bind(b + 1, static_cast<int64_t>(row.seq)).Bind(b + 2, row.stream_id);
        st.Bind(b + 3, row.segment_id).Bind(b + 4, static_cast<int64_t>(row.offset));
        st.Bind(b + 5, static_cast<int64_t>(in.bytes.size()));
        st.Bind(b + 6, in.producer_timestamp_us).Bind(b + 7, in.server_timestamp_us);
        st.Bind(b + 8, in.duration_us);
        if (track_ids[r]) st.Bind(b + 9, *track_ids[r]);
        if (!in.key_frame_offsets.empty()) st.BindBlob(b + 10, EncodeOffsets(in.key_frame_offsets));
      }));
  // (A commit's segments are distinct: one statement must not upsert a row twice.)
  RETURN_IF_ERROR(RunRowsBatched(
      db,
      "INSERT INTO segments(id, stream_id, window_start_us, first_seq, last_seq, min_server_us,"
      " max_server_us, committed_end, sealed)",
      " ON CONFLICT(id) DO UPDATE SET last_seq=excluded.last_seq,"
      " min_server_us=excluded.min_server_us, max_server_us=excluded.max_server_us,"
      " committed_end=excluded.committed_end",
      9, segments.size(), [&](Stmt& st, size_t r, int b) {
        const SegmentRow& seg = segments[r];
        st.Bind(b + 1, seg.id).Bind(b + 2, seg.stream_id).Bind(b + 3, seg.window_start_us);
        st.Bind(b + 4, static_cast<int64_t>(seg.first_seq));
        st.Bind(b + 5, static_cast<int64_t>(seg.last_seq));
        st.Bind(b + 6, seg.min_server_us).Bind(b + 7, seg.max_server_us);
        st.Bind(b + 8, static_cast<int64_t>(seg.committed_end)).Bind(b + 9, int64_t{0});
      }));
  return keep_spans_ ? SqlSpansAppend(db, rows) : Status::Ok();
}

Result<std::optional<DeletedSegment>> SqlFragmentIndex::DeleteSegment(
    int64_t segment_id, const std::function<void()>& between_chunks) {
  DeletedSegment out;
  int64_t first_seq = 0, last_seq = 0;
  {
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    ASSIGN_OR_RETURN(
        Stmt * sel,
        db.Prepare("SELECT stream_id, first_seq, last_seq, committed_end, (SELECT byte_offset"
                   " FROM fragments WHERE seq=segments.first_seq) FROM segments WHERE id=?1"));
    sel->Bind(1, segment_id);
    Result<bool> row = sel->Step();
    if (!row.ok() || !*row) {
      sel->Reset();
      if (!row.ok()) return row.status();
      return std::optional<DeletedSegment>();  // already gone
    }
    out.stream_id = sel->Int(0);
    first_seq = sel->Int(1);
    last_seq = sel->Int(2);
    // What the file still holds: from its first fragment's record (an evicted prefix
    // before it was punched out) to its committed end, plus the file header.
    const int64_t first_record = kSegmentHeaderSize + kRecordHeaderSize;
    const int64_t first_offset = sel->IsNull(4) ? first_record : sel->Int(4);
    out.bytes =
        static_cast<uint64_t>(sel->Int(3) - std::min(first_offset, sel->Int(3)) + first_record);
    sel->Reset();
  }
  // The rows go in chunks of kDeleteChunk, oldest first, each its own transaction: a group
  // commit waits for the one write lock at most one chunk (an hour's segment holds 1,800
  // rows). A stop between chunks leaves what EvictPrefix leaves: the segment begins later.
  // (Sequence numbers are sparse: a chunk's end is found by counting rows.)
  bool gone_meanwhile = false;
  for (int64_t lo = first_seq, next = first_seq; lo <= last_seq; lo = next) {
    if (lo != first_seq && between_chunks) between_chunks();
    MutexLock lock(c_->control_mu);
    Db& db = c_->control();
    RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
      int64_t hi = last_seq, rows = 0;
      next = last_seq + 1;
      ASSIGN_OR_RETURN(Stmt * chunk,
                       db.Prepare("SELECT seq FROM fragments WHERE stream_id=?1 AND seq BETWEEN"
                                  " ?2 AND ?3 AND segment_id=?4 ORDER BY seq LIMIT ?5"));
      chunk->Bind(1, out.stream_id).Bind(2, lo).Bind(3, last_seq).Bind(4, segment_id);
      chunk->Bind(5, kDeleteChunk + 1);
      RETURN_IF_ERROR(chunk->ForEachRow([&](const Stmt& row) {
        if (++rows == kDeleteChunk) hi = row.Int(0);
        if (rows == kDeleteChunk + 1) next = row.Int(0);
        return Status::Ok();
      }));
      if (rows <= kDeleteChunk) hi = last_seq;  // the last chunk
      RETURN_IF_ERROR(SqlSpansForget(db, out.stream_id, lo, hi));
      // A stream's segments hold disjoint sequence ranges, so this is an index range scan.
      ASSIGN_OR_RETURN(Stmt * del,
                       db.Prepare("DELETE FROM fragments WHERE stream_id=?1 AND seq BETWEEN ?2"
                                  " AND ?3 AND segment_id=?4"));
      del->Bind(1, out.stream_id).Bind(2, lo).Bind(3, hi).Bind(4, segment_id);
      Status s = del->Run();
      del->Reset();
      RETURN_IF_ERROR(s);
      out.fragments += static_cast<uint64_t>(db.Changes());
      if (hi == last_seq) {
        ASSIGN_OR_RETURN(Stmt * seg, db.Prepare("DELETE FROM segments WHERE id=?1"));
        s = seg->Bind(1, segment_id).Run();
        seg->Reset();
        // Eviction (on the commit thread) may have deleted it between two chunks: then that
        // deletion accounted for its bytes.
        if (s.ok() && db.Changes() == 0) gone_meanwhile = true;
        return s;
      }
      ASSIGN_OR_RETURN(
          Stmt * up,
          db.Prepare("UPDATE segments SET first_seq=?2, min_server_us=COALESCE((SELECT"
                     " MIN(server_us) FROM fragments WHERE stream_id=?3 AND segment_id=?1 AND"
                     " seq BETWEEN ?2 AND segments.last_seq), min_server_us) WHERE id=?1"));
      up->Bind(1, segment_id).Bind(2, next).Bind(3, out.stream_id);
      s = up->Run();
      up->Reset();
      return s;
    }));
  }
  if (gone_meanwhile) return std::optional<DeletedSegment>();
  return std::optional<DeletedSegment>(out);
}

Result<EvictedPrefix> SqlFragmentIndex::EvictPrefix(int64_t segment_id, int64_t stream_id,
                                                    uint64_t keep_from) {
  MutexLock lock(c_->control_mu);
  Db& db = c_->control();
  EvictedPrefix out;
  // The segment's rows below keep_from: seq range first_seq..keep_from-1 of the stream.
  constexpr const char* kRange =
      " FROM fragments WHERE stream_id=?1 AND segment_id=?2 AND seq >= (SELECT first_seq"
      " FROM segments WHERE id=?2) AND seq < ?3";
  const int64_t keep = static_cast<int64_t>(keep_from);
  RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
    out = EvictedPrefix{};
    ASSIGN_OR_RETURN(Stmt * sel, db.Prepare(std::string("SELECT COUNT(*),"
                                                        " COALESCE(SUM(byte_length), 0),"
                                                        " COALESCE(MAX(byte_offset + byte_length),"
                                                        " 0)") +
                                            kRange));
    sel->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep);
    Result<bool> row = sel->Step();
    if (row.ok() && *row) {
      out.fragments = static_cast<uint64_t>(sel->Int(0));
      out.payload_bytes = static_cast<uint64_t>(sel->Int(1));
      out.end = static_cast<uint64_t>(sel->Int(2));
    }
    sel->Reset();
    RETURN_IF_ERROR(row.status());
    if (out.fragments == 0) return Status::Ok();
    ASSIGN_OR_RETURN(Stmt * first, db.Prepare("SELECT first_seq FROM segments WHERE id=?1"));
    int64_t first_seq = keep;
    RETURN_IF_ERROR(first->Bind(1, segment_id).ForEachRow([&](const Stmt& r) {
      first_seq = r.Int(0);
      return Status::Ok();
    }));
    RETURN_IF_ERROR(SqlSpansForget(db, stream_id, first_seq, keep - 1));
    ASSIGN_OR_RETURN(Stmt * del, db.Prepare(std::string("DELETE") + kRange));
    Status s = del->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep).Run();
    del->Reset();
    RETURN_IF_ERROR(s);
    // The rows left start at keep_from or later: the segment now begins there.
    ASSIGN_OR_RETURN(
        Stmt * up,
        db.Prepare("UPDATE segments SET"
                   " first_seq=COALESCE((SELECT MIN(seq) FROM fragments WHERE stream_id=?1 AND"
                   " segment_id=?2 AND seq BETWEEN ?3 AND segments.last_seq), first_seq),"
                   " min_server_us=COALESCE((SELECT MIN(server_us) FROM fragments WHERE"
                   " stream_id=?1 AND segment_id=?2 AND seq BETWEEN ?3 AND segments.last_seq),"
                   " min_server_us) WHERE id=?2 RETURNING first_seq, min_server_us"));
    up->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep);
    Result<bool> r = up->Step();
    if (r.ok() && *r) {
      out.first_seq = static_cast<uint64_t>(up->Int(0));
      out.min_server_us = up->Int(1);
    }
    up->Reset();  // RETURNING: the update is complete after the first step
    return r.status();
  }));
  return out;
}

Status SqlFragmentIndex::ForEachSegmentSnapshot(
    const std::function<Status(const SegmentRow&, const std::vector<FragmentLocation>&)>& visit) {
  ASSIGN_OR_RETURN(SqlConnections::Reader r, c_->Borrow());
  Db& db = r.db();
  // One read transaction: a consistent snapshot even while ingest continues.
  RETURN_IF_ERROR(db.BeginRead());
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(kSegmentCols));
    ASSIGN_OR_RETURN(std::vector<SegmentRow> segs, Segments(st));
    ASSIGN_OR_RETURN(
        Stmt * fr,
        db.Prepare("SELECT seq, byte_offset, byte_length FROM fragments WHERE segment_id=?1 AND"
                   " stream_id=?2 AND seq BETWEEN ?3 AND ?4 ORDER BY seq"));
    for (const SegmentRow& seg : segs) {
      fr->Bind(1, seg.id).Bind(2, seg.stream_id);
      fr->Bind(3, static_cast<int64_t>(seg.first_seq)).Bind(4, static_cast<int64_t>(seg.last_seq));
      std::vector<FragmentLocation> frags;
      RETURN_IF_ERROR(fr->ForEachRow([&](const Stmt& row) {
        frags.push_back(FragmentLocation{static_cast<uint64_t>(row.Int(0)), seg.id,
                                         static_cast<uint64_t>(row.Int(1)),
                                         static_cast<uint64_t>(row.Int(2))});
        return Status::Ok();
      }));
      RETURN_IF_ERROR(visit(seg, frags));
    }
    return Status::Ok();
  };
  Status s = body();
  db.Commit().IgnoreError();
  return s;
}

}  // namespace

std::unique_ptr<FragmentIndex> NewSqlFragmentIndex(std::shared_ptr<SqlConnections> c,
                                                   bool keep_spans) {
  return std::make_unique<SqlFragmentIndex>(std::move(c), keep_spans);
}

}  // namespace streamarc::archive
