// The recorded spans of the SQL index: FORMAT.md's `spans` and `span_overlaps`.
//
// A month of 2-second fragments is 1.3 M rows but, without loss, one span: the listing reads
// spans, never fragments (one probe finds the oldest fragment within retention). So the spans
// are kept as the fragments change, in the same transactions:
//  - a group commit extends each stream's newest span, or starts a new one at a gap
//    (SqlSpansAppend, on the writer connection);
//  - retention and eviction delete a stream's oldest fragments, a segment or a segment's
//    prefix at a time: the spans holding them lose a prefix, a suffix or a middle, or go
//    (SqlSpansForget, before the rows go, on the control connection);
//  - DeleteStreamRows deletes them with the stream's other rows.
// A stream's spans of one type hold disjoint seq ranges. Unless a timestamp went back (a new
// span started before the newest one ended: `span_overlaps` has the stream), they are also
// disjoint in time and in start order, so the spans overlapping [S, E] are the last one
// starting before S plus those starting in [S, E]: two index range scans.
#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "archive/sql.h"

namespace streamarc::archive {
namespace {

constexpr const char* kSpanCols =
    "SELECT id, start_us, end_us, fragments, bytes, first_seq, last_seq FROM spans"
    " WHERE stream_id=?1 AND time_type=?2 ";

int TypeCode(IndexTime t) { return t == IndexTime::kProducer ? 0 : 1; }
int64_t JoinUs(IndexTime t) {
  return t == IndexTime::kProducer ? kSpanJoinProducerUs : kSpanJoinServerUs;
}
const char* TimeCol(IndexTime t) { return t == IndexTime::kProducer ? "producer_us" : "server_us"; }
constexpr IndexTime kTypes[] = {IndexTime::kProducer, IndexTime::kServer};

// One fragment as a span sees it, in one timestamp type.
struct SpanFragment {
  uint64_t seq = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
  uint64_t bytes = 0;
};

// A stream's newest span of one type while fragments are added in seq order: loaded from the
// table, extended in memory, stored once (Flush) when it closes or the batch ends.
class SpanAppender {
 public:
  SpanAppender(Db& db, int64_t stream_id, IndexTime type)
      : db_(db), stream_id_(stream_id), type_(type) {}

  // The newest stored span, as LoadNewest read it; none: the stream has no span yet.
  struct Open {
    int64_t id = 0;  // 0: not stored yet
    int64_t start_us = 0;
    int64_t end_us = 0;
    int64_t last_start_us = 0;
    uint64_t fragments = 0;
    uint64_t bytes = 0;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    bool dirty = false;
  };
  void Preload(const Open& o) { open_ = o; }

  Status Add(const SpanFragment& f) {
    if (open_ && f.start_us >= open_->last_start_us &&
        f.start_us <= open_->end_us + JoinUs(type_)) {
      open_->end_us = std::max(open_->end_us, f.end_us);
      open_->last_start_us = f.start_us;
      open_->last_seq = f.seq;
      ++open_->fragments;
      open_->bytes += f.bytes;
      open_->dirty = true;
      return Status::Ok();
    }
    // A start before the previous span's end: spans of this stream may overlap from now on.
    const bool went_back = open_ && f.start_us < open_->end_us;
    RETURN_IF_ERROR(Flush());
    if (went_back) RETURN_IF_ERROR(MarkOverlapping());
    open_ = Open{0, f.start_us, f.end_us, f.start_us, 1, f.bytes, f.seq, f.seq, true};
    return Status::Ok();
  }

  Status Flush() {
    if (!open_ || !open_->dirty) return Status::Ok();
    Open& o = *open_;
    if (o.id == 0) {
      ASSIGN_OR_RETURN(Stmt * ins,
                       db_.Prepare("INSERT INTO spans(stream_id, time_type, start_us, end_us,"
                                   " last_start_us, first_seq, last_seq, fragments, bytes)"
                                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id"));
      ins->Bind(1, stream_id_).Bind(2, TypeCode(type_)).Bind(3, o.start_us).Bind(4, o.end_us);
      ins->Bind(5, o.last_start_us).Bind(6, static_cast<int64_t>(o.first_seq));
      ins->Bind(7, static_cast<int64_t>(o.last_seq)).Bind(8, static_cast<int64_t>(o.fragments));
      ins->Bind(9, static_cast<int64_t>(o.bytes));
      ASSIGN_OR_RETURN(o.id, InsertReturningId(ins));
    } else {
      ASSIGN_OR_RETURN(Stmt * up, db_.Prepare("UPDATE spans SET end_us=?2, last_start_us=?3,"
                                              " last_seq=?4, fragments=?5, bytes=?6 WHERE id=?1"));
      up->Bind(1, o.id).Bind(2, o.end_us).Bind(3, o.last_start_us);
      up->Bind(4, static_cast<int64_t>(o.last_seq)).Bind(5, static_cast<int64_t>(o.fragments));
      up->Bind(6, static_cast<int64_t>(o.bytes));
      RETURN_IF_ERROR(RunOnce(up));
    }
    o.dirty = false;
    return Status::Ok();
  }

  // At the end of a batch: a new span is stored now (its id comes back); a stored one that
  // changed is returned, for one batched update of every stream's (StoreExtended).
  Result<std::optional<Open>> FinishBatch() {
    if (!open_ || !open_->dirty) return std::optional<Open>();
    if (open_->id == 0) {
      RETURN_IF_ERROR(Flush());
      return std::optional<Open>();
    }
    open_->dirty = false;
    return open_;
  }

 private:
  Status MarkOverlapping() {
    ASSIGN_OR_RETURN(Stmt * st, db_.Prepare("INSERT INTO span_overlaps(stream_id, time_type)"
                                            " VALUES(?1, ?2) ON CONFLICT DO NOTHING"));
    st->Bind(1, stream_id_).Bind(2, TypeCode(type_));
    return RunOnce(st);
  }

  Db& db_;
  const int64_t stream_id_;
  const IndexTime type_;
  std::optional<Open> open_;
};

SpanFragment AsSpanFragment(uint64_t seq, int64_t start_us, int64_t duration_us, uint64_t bytes) {
  return SpanFragment{seq, start_us, start_us + std::max<int64_t>(duration_us, 0), bytes};
}

// A fragment's seq and times, for the upkeep of the spans around deleted rows.
struct Neighbour {
  int64_t seq = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
};

Result<std::optional<Neighbour>> FindNeighbour(Db& db, int64_t stream_id, IndexTime type,
                                               int64_t seq, bool after) {
  const std::string t = TimeCol(type);
  ASSIGN_OR_RETURN(
      Stmt * st,
      db.Prepare("SELECT seq, " + t + ", " + t +
                 " + CASE WHEN duration_us > 0 THEN duration_us ELSE 0 END FROM fragments WHERE"
                 " stream_id=?1 AND seq " +
                 (after ? "> ?2 ORDER BY seq" : "< ?2 ORDER BY seq DESC") + " LIMIT 1"));
  st->Bind(1, stream_id).Bind(2, seq);
  std::optional<Neighbour> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    out = Neighbour{row.Int(0), row.Int(1), row.Int(2)};
    return Status::Ok();
  }));
  return out;
}

// The stream's fragments with seq in [lo, hi]: how many, how many bytes.
Result<std::pair<uint64_t, uint64_t>> CountRange(Db& db, int64_t stream_id, int64_t lo,
                                                 int64_t hi) {
  ASSIGN_OR_RETURN(Stmt * st,
                   db.Prepare("SELECT COUNT(*), COALESCE(SUM(byte_length), 0) FROM fragments"
                              " WHERE stream_id=?1 AND seq BETWEEN ?2 AND ?3"));
  st->Bind(1, stream_id).Bind(2, lo).Bind(3, hi);
  std::pair<uint64_t, uint64_t> out{0, 0};
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    out = {static_cast<uint64_t>(row.Int(0)), static_cast<uint64_t>(row.Int(1))};
    return Status::Ok();
  }));
  return out;
}

struct StoredSpan {
  int64_t id = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  uint64_t fragments = 0;
  uint64_t bytes = 0;
  int64_t start_us = 0;
};

// The spans of one type that hold rows [from, to] lose them.
Status ForgetType(Db& db, int64_t stream_id, IndexTime type, int64_t from, int64_t to) {
  std::vector<StoredSpan> hit;
  {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT id, first_seq, last_seq, fragments, bytes,"
                                           " start_us FROM spans WHERE stream_id=?1 AND"
                                           " time_type=?2 AND last_seq >= ?3 ORDER BY last_seq"));
    st->Bind(1, stream_id).Bind(2, TypeCode(type)).Bind(3, from);
    for (;;) {
      Result<bool> row = st->Step();
      if (!row.ok() || !*row || st->Int(1) > to) {
        st->Reset();
        RETURN_IF_ERROR(row.status());
        break;
      }
      hit.push_back(StoredSpan{st->Int(0), st->Int(1), st->Int(2),
                               static_cast<uint64_t>(st->Int(3)), static_cast<uint64_t>(st->Int(4)),
                               st->Int(5)});
    }
  }
  for (const StoredSpan& s : hit) {
    const int64_t lo = std::max(s.first_seq, from), hi = std::min(s.last_seq, to);
    ASSIGN_OR_RETURN(auto gone, CountRange(db, stream_id, lo, hi));
    const uint64_t n = std::min(gone.first, s.fragments), b = std::min(gone.second, s.bytes);
    if (n == s.fragments) {
      ASSIGN_OR_RETURN(Stmt * del, db.Prepare("DELETE FROM spans WHERE id=?1"));
      RETURN_IF_ERROR(RunOnce(&del->Bind(1, s.id)));
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<Neighbour> next, FindNeighbour(db, stream_id, type, hi, true));
    ASSIGN_OR_RETURN(std::optional<Neighbour> prev, FindNeighbour(db, stream_id, type, lo, false));
    const bool keeps_head = s.first_seq < lo && prev && prev->seq >= s.first_seq;
    const bool keeps_tail = s.last_seq > hi && next && next->seq <= s.last_seq;
    if (keeps_head && keeps_tail) {
      // A hole in the middle: the row keeps the tail, a new row takes the head.
      ASSIGN_OR_RETURN(auto head, CountRange(db, stream_id, s.first_seq, prev->seq));
      ASSIGN_OR_RETURN(Stmt * ins,
                       db.Prepare("INSERT INTO spans(stream_id, time_type, start_us, end_us,"
                                  " last_start_us, first_seq, last_seq, fragments, bytes)"
                                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      ins->Bind(1, stream_id).Bind(2, TypeCode(type)).Bind(3, s.start_us).Bind(4, prev->end_us);
      ins->Bind(5, prev->start_us).Bind(6, s.first_seq).Bind(7, prev->seq);
      ins->Bind(8, static_cast<int64_t>(head.first)).Bind(9, static_cast<int64_t>(head.second));
      RETURN_IF_ERROR(RunOnce(ins));
      ASSIGN_OR_RETURN(Stmt * up,
                       db.Prepare("UPDATE spans SET start_us=?2, first_seq=?3, fragments=?4,"
                                  " bytes=?5 WHERE id=?1"));
      up->Bind(1, s.id).Bind(2, next->start_us).Bind(3, next->seq);
      up->Bind(4, static_cast<int64_t>(s.fragments - n - std::min(head.first, s.fragments - n)));
      up->Bind(5, static_cast<int64_t>(s.bytes - b - std::min(head.second, s.bytes - b)));
      RETURN_IF_ERROR(RunOnce(up));
    } else if (keeps_tail) {
      // The usual case: retention and eviction take the oldest fragments.
      ASSIGN_OR_RETURN(Stmt * up,
                       db.Prepare("UPDATE spans SET start_us=?2, first_seq=?3,"
                                  " fragments=fragments-?4, bytes=bytes-?5 WHERE id=?1"));
      up->Bind(1, s.id).Bind(2, next->start_us).Bind(3, next->seq);
      up->Bind(4, static_cast<int64_t>(n)).Bind(5, static_cast<int64_t>(b));
      RETURN_IF_ERROR(RunOnce(up));
    } else if (keeps_head) {
      // The end becomes the last fragment kept's (ends may be out of order inside a span:
      // this is exact when they are not).
      ASSIGN_OR_RETURN(Stmt * up, db.Prepare("UPDATE spans SET end_us=?2, last_start_us=?3,"
                                             " last_seq=?4, fragments=fragments-?5,"
                                             " bytes=bytes-?6 WHERE id=?1"));
      up->Bind(1, s.id).Bind(2, prev->end_us).Bind(3, prev->start_us).Bind(4, prev->seq);
      up->Bind(5, static_cast<int64_t>(n)).Bind(6, static_cast<int64_t>(b));
      RETURN_IF_ERROR(RunOnce(up));
    }
  }
  return Status::Ok();
}

}  // namespace

namespace {

using SpanKey = std::pair<int64_t, int>;  // stream id, time type code

// The newest span of each stream and type, for `streams`: one ORDER BY last_seq DESC LIMIT 1
// probe (an index seek) per pair, as many in one UNION ALL statement as the engine likes.
Status LoadNewest(Db& db, const std::vector<int64_t>& streams,
                  std::map<SpanKey, SpanAppender::Open>* out) {
  for (size_t i = 0; i < streams.size();) {
    const size_t n = std::min(NextBatchRows(streams.size() - i), db.ProbesPerStatement());
    std::string sql;
    for (size_t r = 0; r < n; ++r) {
      for (IndexTime type : kTypes) {
        if (!sql.empty()) sql += " UNION ALL ";
        const std::string code = std::to_string(TypeCode(type));
        sql +=
            "SELECT * FROM (SELECT stream_id, time_type, id, start_us, end_us, last_start_us,"
            " fragments, bytes, first_seq, last_seq FROM spans WHERE stream_id=?" +
            std::to_string(r + 1) + " AND time_type=" + code +
            " ORDER BY last_seq DESC LIMIT 1) AS q" + std::to_string(r) + "_" + code;
      }
    }
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
    for (size_t r = 0; r < n; ++r) st->Bind(static_cast<int>(r) + 1, streams[i + r]);
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      (*out)[{row.Int(0), static_cast<int>(row.Int(1))}] =
          SpanAppender::Open{row.Int(2),
                             row.Int(3),
                             row.Int(4),
                             row.Int(5),
                             static_cast<uint64_t>(row.Int(6)),
                             static_cast<uint64_t>(row.Int(7)),
                             static_cast<uint64_t>(row.Int(8)),
                             static_cast<uint64_t>(row.Int(9)),
                             false};
      return Status::Ok();
    }));
    i += n;
  }
  return Status::Ok();
}

// Stored spans a batch extended, in batched upserts on their ids (every id exists: the
// writer's transaction read them).
Status StoreExtended(Db& db, const std::vector<std::pair<SpanKey, SpanAppender::Open>>& spans) {
  return RunRowsBatched(
      db,
      "INSERT INTO spans(id, stream_id, time_type, start_us, end_us, last_start_us, first_seq,"
      " last_seq, fragments, bytes)",
      " ON CONFLICT(id) DO UPDATE SET end_us=excluded.end_us,"
      " last_start_us=excluded.last_start_us, last_seq=excluded.last_seq,"
      " fragments=excluded.fragments, bytes=excluded.bytes",
      10, spans.size(), [&](Stmt& st, size_t r, int b) {
        const auto& [key, o] = spans[r];
        st.Bind(b + 1, o.id).Bind(b + 2, key.first).Bind(b + 3, int64_t{key.second});
        st.Bind(b + 4, o.start_us).Bind(b + 5, o.end_us).Bind(b + 6, o.last_start_us);
        st.Bind(b + 7, static_cast<int64_t>(o.first_seq));
        st.Bind(b + 8, static_cast<int64_t>(o.last_seq));
        st.Bind(b + 9, static_cast<int64_t>(o.fragments));
        st.Bind(b + 10, static_cast<int64_t>(o.bytes));
      });
}

}  // namespace

Status SqlSpansAppend(Db& db, const std::vector<NewFragmentRow>& rows) {
  // Per stream, in seq order (a batch is in seq order already; the map keeps it so).
  std::map<int64_t, std::vector<const NewFragmentRow*>> by_stream;
  for (const NewFragmentRow& r : rows) by_stream[r.stream_id].push_back(&r);
  std::vector<int64_t> streams;
  streams.reserve(by_stream.size());
  for (const auto& entry : by_stream) streams.push_back(entry.first);
  std::map<SpanKey, SpanAppender::Open> newest;
  RETURN_IF_ERROR(LoadNewest(db, streams, &newest));
  std::vector<std::pair<SpanKey, SpanAppender::Open>> extended;
  for (const auto& entry : by_stream) {
    for (IndexTime type : kTypes) {
      const SpanKey key{entry.first, TypeCode(type)};
      SpanAppender spans(db, entry.first, type);
      if (auto it = newest.find(key); it != newest.end()) spans.Preload(it->second);
      for (const NewFragmentRow* r : entry.second) {
        const FragmentInput& in = *r->in;
        const int64_t t =
            type == IndexTime::kProducer ? in.producer_timestamp_us : in.server_timestamp_us;
        RETURN_IF_ERROR(spans.Add(AsSpanFragment(r->seq, t, in.duration_us, in.bytes.size())));
      }
      ASSIGN_OR_RETURN(std::optional<SpanAppender::Open> changed, spans.FinishBatch());
      if (changed) extended.emplace_back(key, *changed);
    }
  }
  return StoreExtended(db, extended);
}

Status SqlSpansForget(Db& db, int64_t stream_id, int64_t from_seq, int64_t to_seq) {
  if (to_seq < from_seq) return Status::Ok();
  for (IndexTime type : kTypes) RETURN_IF_ERROR(ForgetType(db, stream_id, type, from_seq, to_seq));
  return Status::Ok();
}

Status SqlSpansRebuild(Db& db) {
  RETURN_IF_ERROR(db.Exec("DELETE FROM spans; DELETE FROM span_overlaps;"));
  std::vector<int64_t> streams;
  {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT id FROM streams"));
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      streams.push_back(row.Int(0));
      return Status::Ok();
    }));
  }
  ASSIGN_OR_RETURN(Stmt * frags,
                   db.Prepare("SELECT seq, producer_us, server_us, duration_us, byte_length"
                              " FROM fragments WHERE stream_id=?1 ORDER BY seq"));
  for (int64_t stream_id : streams) {
    SpanAppender producer(db, stream_id, IndexTime::kProducer);
    SpanAppender server(db, stream_id, IndexTime::kServer);
    frags->Bind(1, stream_id);
    RETURN_IF_ERROR(frags->ForEachRow([&](const Stmt& row) {
      const uint64_t seq = static_cast<uint64_t>(row.Int(0));
      const uint64_t bytes = static_cast<uint64_t>(row.Int(4));
      RETURN_IF_ERROR(producer.Add(AsSpanFragment(seq, row.Int(1), row.Int(3), bytes)));
      return server.Add(AsSpanFragment(seq, row.Int(2), row.Int(3), bytes));
    }));
    RETURN_IF_ERROR(producer.Flush());
    RETURN_IF_ERROR(server.Flush());
  }
  return Status::Ok();
}

Result<SpanPage> SqlListSpans(Db& db, int64_t stream_id, const SpanQuery& q, int64_t cutoff_us,
                              int limit) {
  // One read transaction: the probe and the spans from the same snapshot.
  RETURN_IF_ERROR(db.BeginRead());
  auto body = [&]() -> Result<SpanPage> {
    SpanPage out;
    // The oldest visible fragment: spans wholly before it are hidden, the one holding it
    // starts there (the sweeper deletes what retention hides a segment at a time).
    std::optional<Neighbour> oldest;
    {
      const std::string t = TimeCol(q.type);
      ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT seq, " + t +
                                             ", 0 FROM fragments WHERE"
                                             " stream_id=?1 AND server_us >= ?2"
                                             " ORDER BY server_us, seq LIMIT 1"));
      st->Bind(1, stream_id).Bind(2, cutoff_us);
      RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
        oldest = Neighbour{row.Int(0), row.Int(1), 0};
        return Status::Ok();
      }));
    }
    if (!oldest) return out;
    bool overlapping = false;
    {
      ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT 1 FROM span_overlaps WHERE stream_id=?1"
                                             " AND time_type=?2"));
      st->Bind(1, stream_id).Bind(2, TypeCode(q.type));
      RETURN_IF_ERROR(st->ForEachRow([&](const Stmt&) {
        overlapping = true;
        return Status::Ok();
      }));
    }
    std::vector<std::pair<IndexedSpan, int64_t>> rows;  // with first_seq
    auto collect = [&](Stmt* st) {
      return st->ForEachRow([&](const Stmt& row) {
        rows.push_back(
            {IndexedSpan{row.Int(0), row.Int(1), row.Int(2), static_cast<uint64_t>(row.Int(3)),
                         static_cast<uint64_t>(row.Int(4))},
             row.Int(5)});
        return Status::Ok();
      });
    };
    // Keyset: (start, id) > (after_start, after_id); the range's start bounds it from below.
    int64_t from_start = q.after_start_us, from_id = q.after_id;
    if (overlapping) {
      // Any earlier span may reach into the range: walk every start up to E.
      ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kSpanCols) +
                                             "AND start_us >= ?3 AND (start_us > ?3 OR id > ?4)"
                                             " AND start_us <= ?5 AND end_us >= ?6 AND"
                                             " last_seq >= ?7 ORDER BY start_us, id LIMIT ?8"));
      st->Bind(1, stream_id).Bind(2, TypeCode(q.type)).Bind(3, from_start).Bind(4, from_id);
      st->Bind(5, q.end_us).Bind(6, q.start_us).Bind(7, oldest->seq).Bind(8, limit);
      RETURN_IF_ERROR(collect(st));
    } else {
      if (from_start < q.start_us) {
        // Disjoint and in order: only the last span starting before S can reach S.
        ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kSpanCols) +
                                               "AND start_us < ?3 AND last_seq >= ?4"
                                               " ORDER BY start_us DESC, id DESC LIMIT 1"));
        st->Bind(1, stream_id).Bind(2, TypeCode(q.type)).Bind(3, q.start_us);
        st->Bind(4, oldest->seq);
        RETURN_IF_ERROR(collect(st));
        if (!rows.empty()) {
          const IndexedSpan& b = rows.back().first;
          const bool after_key =
              b.start_us > from_start || (b.start_us == from_start && b.id > from_id);
          if (b.end_us < q.start_us || !after_key) rows.pop_back();
        }
        from_start = q.start_us;
        from_id = -1;
      }
      ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kSpanCols) +
                                             "AND start_us >= ?3 AND (start_us > ?3 OR id > ?4)"
                                             " AND start_us <= ?5 AND last_seq >= ?6"
                                             " ORDER BY start_us, id LIMIT ?7"));
      st->Bind(1, stream_id).Bind(2, TypeCode(q.type)).Bind(3, from_start).Bind(4, from_id);
      st->Bind(5, q.end_us).Bind(6, oldest->seq).Bind(7, limit - static_cast<int>(rows.size()));
      RETURN_IF_ERROR(collect(st));
    }
    out.more = rows.size() >= static_cast<size_t>(limit);
    if (!rows.empty()) {
      out.after_start_us = rows.back().first.start_us;
      out.after_id = rows.back().first.id;
    }
    for (auto& [span, first_seq] : rows) {
      if (first_seq < oldest->seq) {
        // Starts with fragments retention hides: it starts at the oldest visible one.
        ASSIGN_OR_RETURN(auto hidden, CountRange(db, stream_id, first_seq, oldest->seq - 1));
        span.start_us = std::max(span.start_us, oldest->start_us);
        span.fragments -= std::min(hidden.first, span.fragments);
        span.size_bytes -= std::min(hidden.second, span.size_bytes);
        if (span.start_us > q.end_us || span.fragments == 0) continue;
      }
      out.spans.push_back(span);
    }
    return out;
  };
  Result<SpanPage> rows = body();
  db.Commit().IgnoreError();
  return rows;
}

}  // namespace streamarc::archive
