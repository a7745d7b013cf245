// The analysis events of the SQL index: FORMAT.md's `events` and `event_bounds`.
//
// Listing must stay fast over years of history, so it is a keyset walk of the index
// (stream_id, start_us, id): an event overlapping [S, E] starts at or before E and no earlier
// than S minus the longest event the stream holds, which `event_bounds` keeps per stream (and
// the archive caps at kMaxEventDurationUs). No OFFSET, no scan outside that range.
#include <algorithm>

#include "archive/sql.h"

namespace streamarc::archive {
namespace {

constexpr const char* kEventCols =
    "SELECT id, start_us, end_us, label, score, box_x, box_y, box_w, box_h, source FROM events ";

// Both orders are the indexes' own ((stream_id, [label,] start_us) then the rowid, id), so
// the engine reads the range in order and stops at the limit. `start_us >= ?2` bounds the index
// range; the keyset's tie on start_us is a filter on those few rows.
constexpr const char* kPage =
    "AND start_us >= ?2 AND (start_us > ?2 OR id > ?3) AND start_us <= ?4 AND end_us >= ?5"
    " ORDER BY start_us, id LIMIT ?6";

IndexedEvent RowToEvent(const Stmt& row) {
  IndexedEvent e;
  e.id = row.Int(0);
  e.event.start_us = row.Int(1);
  e.event.end_us = row.Int(2);
  e.event.label = row.Text(3);
  e.event.score = row.Double(4);
  if (!row.IsNull(5)) e.event.box = EventBox{row.Int(5), row.Int(6), row.Int(7), row.Int(8)};
  e.event.source = row.Text(9);
  return e;
}

}  // namespace

Result<std::vector<int64_t>> SqlInsertEvents(Db& db, int64_t stream_id,
                                             const std::vector<EventInput>& events) {
  std::vector<int64_t> ids;
  RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
    ids.clear();
    ASSIGN_OR_RETURN(Stmt * ins,
                     db.Prepare("INSERT INTO events(stream_id, start_us, end_us, label, score,"
                                " box_x, box_y, box_w, box_h, source)"
                                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id"));
    int64_t longest = 0;
    for (const EventInput& e : events) {
      ins->Bind(1, stream_id).Bind(2, e.start_us).Bind(3, e.end_us).BindText(4, e.label);
      ins->BindDouble(5, e.score).BindText(10, e.source);
      if (e.box) {
        ins->Bind(6, e.box->x).Bind(7, e.box->y).Bind(8, e.box->width).Bind(9, e.box->height);
      }
      ASSIGN_OR_RETURN(int64_t id, InsertReturningId(ins));
      ids.push_back(id);
      longest = std::max(longest, e.end_us - e.start_us);
    }
    // Only grows: a listing's lower bound stays safe after the longest event is deleted.
    ASSIGN_OR_RETURN(
        Stmt * bound,
        db.Prepare(
            "INSERT INTO event_bounds(stream_id, max_duration_us)"
            " VALUES(?1, ?2) ON CONFLICT(stream_id) DO UPDATE SET"
            " max_duration_us=CASE WHEN excluded.max_duration_us > event_bounds.max_duration_us"
            " THEN excluded.max_duration_us ELSE event_bounds.max_duration_us END"));
    bound->Bind(1, stream_id).Bind(2, longest);
    return RunOnce(bound);
  }));
  return ids;
}

Result<std::vector<IndexedEvent>> SqlListEvents(Db& db, int64_t stream_id, const EventQuery& query,
                                                int limit) {
  // One read transaction: the bound and the rows from the same snapshot.
  RETURN_IF_ERROR(db.BeginRead());
  auto body = [&]() -> Result<std::vector<IndexedEvent>> {
    ASSIGN_OR_RETURN(Stmt * b,
                     db.Prepare("SELECT max_duration_us FROM event_bounds WHERE stream_id=?1"));
    b->Bind(1, stream_id);
    int64_t longest = -1;  // no row: the stream never had an event
    RETURN_IF_ERROR(b->ForEachRow([&](const Stmt& row) {
      longest = std::clamp<int64_t>(row.Int(0), 0, kMaxEventDurationUs);
      return Status::Ok();
    }));
    std::vector<IndexedEvent> out;
    if (longest < 0) return out;
    // (start, id) > (lower, -1) is start >= lower: ids are positive.
    int64_t from_start = query.after_start_us, from_id = query.after_id;
    const int64_t lower = query.start_us - longest;
    if (from_start < lower) {
      from_start = lower;
      from_id = -1;
    }
    const bool by_label = !query.label.empty();
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kEventCols) + "WHERE stream_id=?1 " +
                                           (by_label ? "AND label=?7 " : "") + kPage));
    st->Bind(1, stream_id).Bind(2, from_start).Bind(3, from_id).Bind(4, query.end_us);
    st->Bind(5, query.start_us).Bind(6, limit);
    if (by_label) st->BindText(7, query.label);
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      out.push_back(RowToEvent(row));
      return Status::Ok();
    }));
    return out;
  };
  Result<std::vector<IndexedEvent>> rows = body();
  db.Commit().IgnoreError();
  return rows;
}

Result<uint64_t> SqlDeleteExpiredEvents(Db& db, int64_t stream_id, int64_t cutoff_us, int limit) {
  // The oldest producer time the stream still stores (fragments_by_producer: one probe).
  // Rows past retention but not yet swept count too: their events go with them.
  ASSIGN_OR_RETURN(Stmt * oldest, db.Prepare("SELECT producer_us FROM fragments WHERE stream_id=?1"
                                             " ORDER BY producer_us LIMIT 1"));
  oldest->Bind(1, stream_id);
  int64_t bound = cutoff_us;
  RETURN_IF_ERROR(oldest->ForEachRow([&](const Stmt& row) {
    bound = row.Int(0);
    return Status::Ok();
  }));
  // A read first: most sweeps find nothing to delete, and then take no write lock.
  ASSIGN_OR_RETURN(Stmt * any, db.Prepare("SELECT 1 FROM events WHERE stream_id=?1 AND"
                                          " start_us < ?2 AND end_us < ?2 LIMIT 1"));
  any->Bind(1, stream_id).Bind(2, bound);
  bool expired = false;
  RETURN_IF_ERROR(any->ForEachRow([&](const Stmt&) {
    expired = true;
    return Status::Ok();
  }));
  if (!expired) return uint64_t{0};
  uint64_t deleted = 0;
  RETURN_IF_ERROR(InTransaction(db, [&]() -> Status {
    // end_us >= start_us, so the index range start_us < bound holds every candidate.
    ASSIGN_OR_RETURN(Stmt * del,
                     db.Prepare("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE"
                                " stream_id=?1 AND start_us < ?2 AND end_us < ?2 LIMIT ?3)"));
    del->Bind(1, stream_id).Bind(2, bound).Bind(3, limit);
    RETURN_IF_ERROR(RunOnce(del));
    deleted = static_cast<uint64_t>(db.Changes());
    return Status::Ok();
  }));
  return deleted;
}

}  // namespace streamarc::archive
