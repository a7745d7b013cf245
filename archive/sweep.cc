// Retention, the byte budget, and deep verification.
//
// Retention deletes whole sealed segments: its rows go in one transaction, then the file
// is unlinked. A crash between the two leaves an orphan file that the next open removes. A
// segment that is still open (being appended to) is never deleted; its expired fragments
// are hidden by the queries until it is sealed and swept. Space (budget, floor, full
// disk) is reclaimed by evict.cc.
#include <algorithm>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

std::string_view ReasonName(int r) {
  switch (r) {
    case 0:
      return "retention";
    case 1:
      return "budget";
    default:
      return "stream deleted";
  }
}

}  // namespace

void LocalArchive::EnsureReserve() {
  if (reserve_bytes_ == 0) return;
  const std::string path = options_.root + "/reserve";
  Result<uint64_t> size = env_.FileSize(path);
  if (size.ok() && *size >= reserve_bytes_) return;
  Result<DiskSpace> space = env_.GetDiskSpace(options_.root);
  if (!space.ok() || space->free_bytes < reserve_bytes_ * 3 / 2) return;  // not now
  Result<std::unique_ptr<WritableFile>> f = env_.OpenWritable(path);
  if (!f.ok()) return;
  const std::string zeros(64 << 10, '\0');
  Status s;
  while (s.ok() && (*f)->Size() < reserve_bytes_) {
    s = (*f)->Append(std::string_view(zeros).substr(
        0, std::min<uint64_t>(zeros.size(), reserve_bytes_ - (*f)->Size())));
  }
  if (s.ok()) s = (*f)->Sync();
  if (!s.ok()) {
    f->reset();
    env_.RemoveFile(path).IgnoreError();
    logger_.Warn("archive", "could not create the space reserve", {{"error", s.ToString()}});
  }
}

bool LocalArchive::ReserveMissing() {
  if (reserve_bytes_ == 0) return false;
  Result<uint64_t> size = env_.FileSize(options_.root + "/reserve");
  return !size.ok() || *size < reserve_bytes_;
}

bool LocalArchive::ReleaseReserve() {
  if (reserve_bytes_ == 0) return false;
  if (!env_.RemoveFile(options_.root + "/reserve").ok()) return false;
  logger_.Warn("archive", "disk full: released the space reserve to delete data");
  return true;
}

Status LocalArchive::WithReserve(const std::function<Status()>& op) {
  Status s = op();
  if (s.code() == Code::kResourceExhausted && ReleaseReserve()) s = op();
  return s;
}

Status LocalArchive::DeleteSegment(int64_t segment_id, DeleteReason reason, uint64_t* freed) {
  int64_t stream_id, first_seq, last_seq, bytes;
  int64_t fragments = 0;
  {
    std::lock_guard<std::mutex> control(control_mu_);
    Db& db = *control_;
    ASSIGN_OR_RETURN(
        Stmt * sel,
        db.Prepare("SELECT stream_id, first_seq, last_seq, committed_end, (SELECT byte_offset"
                   " FROM fragments WHERE seq=segments.first_seq) FROM segments WHERE id=?1"));
    sel->Bind(1, segment_id);
    Result<bool> row = sel->Step();
    if (!row.ok() || !*row) {
      sel->Reset();
      return row.ok() ? Status::Ok() : row.status();  // already gone
    }
    stream_id = sel->Int(0);
    first_seq = sel->Int(1);
    last_seq = sel->Int(2);
    // What the file still holds: from its first fragment's record (an evicted prefix
    // before it was punched out) to its committed end, plus the file header.
    const int64_t first_record = kSegmentHeaderSize + kRecordHeaderSize;
    const int64_t first_offset = sel->IsNull(4) ? first_record : sel->Int(4);
    bytes = sel->Int(3) - std::min(first_offset, sel->Int(3)) + first_record;
    sel->Reset();
    auto body = [&]() -> Status {
      // A stream's segments hold disjoint sequence ranges, so this is an index range scan.
      ASSIGN_OR_RETURN(
          Stmt * del,
          db.Prepare("DELETE FROM fragments WHERE stream_id=?1 AND seq BETWEEN ?2 AND ?3"
                     " AND segment_id=?4"));
      del->Bind(1, stream_id).Bind(2, first_seq).Bind(3, last_seq).Bind(4, segment_id);
      Status s = del->Run();
      del->Reset();
      RETURN_IF_ERROR(s);
      fragments = sqlite3_changes(db.raw());
      ASSIGN_OR_RETURN(Stmt * seg, db.Prepare("DELETE FROM segments WHERE id=?1"));
      s = seg->Bind(1, segment_id).Run();
      seg->Reset();
      return s;
    };
    RETURN_IF_ERROR(WithReserve([&]() -> Status {
      RETURN_IF_ERROR(db.Begin());
      Status s = body();
      if (s.ok()) s = db.Commit();
      if (!s.ok()) db.Rollback();
      return s;
    }));
  }
  if (freed) *freed = static_cast<uint64_t>(bytes);
  const std::string path = SegmentPath(options_.root, stream_id, segment_id);
  Status rm = env_.RemoveFile(path);
  if (!rm.ok() && rm.code() != Code::kNotFound) {
    // The rows are gone; the file becomes an orphan that the next open removes.
    logger_.Warn("archive", "could not remove segment file",
                 {{"path", path}, {"error", rm.ToString()}});
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.segments_deleted;
    stats_.bytes_deleted += static_cast<uint64_t>(bytes);
    stats_.total_bytes -= std::min<uint64_t>(stats_.total_bytes, static_cast<uint64_t>(bytes));
    uint64_t& counter = reason == DeleteReason::kRetention ? stats_.fragments_expired
                        : reason == DeleteReason::kBudget  ? stats_.fragments_evicted
                                                           : stats_.fragments_deleted_with_stream;
    counter += static_cast<uint64_t>(fragments);
  }
  logger_.Info("archive", "segment deleted",
               {{"reason", ReasonName(static_cast<int>(reason))},
                {"stream_id", stream_id},
                {"segment", segment_id},
                {"fragments", fragments},
                {"bytes", bytes}});
  return Status::Ok();
}

Status LocalArchive::Sweep() {
  std::lock_guard<std::mutex> one_at_a_time(sweep_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unavailable("archive is shutting down");
  }
  // Segments whose window has passed are sealed first, so an idle stream's last segment
  // can expire too.
  RunOnCommitThread([this] { SealIdleSegments(); });
  const int64_t now = clock_.NowMicros();
  std::vector<int64_t> expired;
  {
    std::lock_guard<std::mutex> control(control_mu_);
    ASSIGN_OR_RETURN(
        Stmt * st,
        control_->Prepare("SELECT s.id FROM segments s JOIN streams st ON st.id = s.stream_id"
                          " WHERE s.sealed=1 AND st.status != 'DELETING' AND st.retention_hours > 0"
                          " AND s.max_server_us < ?1 - st.retention_hours * ?2"));
    st->Bind(1, now).Bind(2, kMicrosPerHour);
    RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
      expired.push_back(row.Int(0));
      return Status::Ok();
    }));
  }
  for (int64_t id : expired) {
    // A group commit that wants the index goes before the next deletion.
    {
      std::unique_lock<std::mutex> lock(index_turn_mu_);
      index_turn_cv_.wait(lock, [this] { return commits_in_index_ == 0; });
    }
    RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kRetention));
  }
  if (OverBudget(0)) {
    // On the commit thread: eviction may take the evictable part of an open segment.
    Status ev;
    RunOnCommitThread([&] { ev = EvictOldest(0); });
    if (!ev.ok() && ev.code() != Code::kResourceExhausted) return ev;
  }
  EnsureReserve();
  std::lock_guard<std::mutex> control(control_mu_);
  Status c = control_->Checkpoint();
  if (!c.ok()) logger_.Warn("archive", "checkpoint failed", {{"error", c.ToString()}});
  return Status::Ok();
}

Status LocalArchive::Verify() {
  struct Seg {
    int64_t id, stream_id;
    uint64_t end;
  };
  std::vector<Seg> segs;
  ASSIGN_OR_RETURN(Reader r, Borrow());
  Db& db = r.db();
  // One read transaction: a consistent snapshot even while ingest continues.
  RETURN_IF_ERROR(db.Exec("BEGIN"));
  auto body = [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT id, stream_id, committed_end FROM segments"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      segs.push_back({st->Int(0), st->Int(1), static_cast<uint64_t>(st->Int(2))});
    }
    st->Reset();
    uint64_t bad = 0;
    std::string first;
    auto fail = [&](const std::string& what) {
      if (bad++ == 0) first = what;
    };
    std::string buf;
    for (const Seg& seg : segs) {
      const std::string path = SegmentPath(options_.root, seg.stream_id, seg.id);
      Result<std::unique_ptr<RandomAccessFile>> file = env_.OpenReadable(path);
      Result<uint64_t> size = env_.FileSize(path);
      if (!file.ok() || !size.ok() || *size < seg.end) {
        fail("segment " + path + " missing or short");
        continue;
      }
      std::string head(kSegmentHeaderSize, '\0');
      Status hs = (*file)->Read(0, head.size(), head.data());
      if (!hs.ok() || !CheckSegmentHeader(head, seg.stream_id, seg.id).ok()) {
        fail("segment " + path + ": bad header");
        continue;
      }
      ASSIGN_OR_RETURN(
          Stmt * fr,
          db.Prepare("SELECT seq, byte_offset, byte_length FROM fragments WHERE segment_id=?1 AND"
                     " stream_id=?2 AND seq BETWEEN (SELECT first_seq FROM segments WHERE id=?1)"
                     " AND (SELECT last_seq FROM segments WHERE id=?1) ORDER BY seq"));
      fr->Bind(1, seg.id).Bind(2, seg.stream_id);
      uint64_t expect = kSegmentHeaderSize;
      for (;;) {
        Result<bool> row = fr->Step();
        if (!row.ok()) {
          fr->Reset();
          return row.status();
        }
        if (!*row) break;
        const uint64_t seq = static_cast<uint64_t>(fr->Int(0));
        const uint64_t off = static_cast<uint64_t>(fr->Int(1));
        const uint64_t len = static_cast<uint64_t>(fr->Int(2));
        // The first row may start later: eviction punched out the fragments before it.
        if (expect == kSegmentHeaderSize && off > expect + kRecordHeaderSize) {
          expect = off - kRecordHeaderSize;
        }
        if (off != expect + kRecordHeaderSize || off + len > seg.end) {
          fail("segment " + path + ": fragment " + std::to_string(seq) + " misplaced");
        }
        expect = off + len;
        buf.resize(kRecordHeaderSize + len);
        if (!(*file)->Read(off - kRecordHeaderSize, buf.size(), buf.data()).ok()) {
          fail("segment " + path + ": unreadable fragment " + std::to_string(seq));
          continue;
        }
        Result<RecordHeader> h = DecodeRecordHeader(buf);
        if (!h.ok() || h->seq != seq || h->length != len ||
            Crc32(std::string_view(buf).substr(kRecordHeaderSize)) != h->crc32) {
          fail("segment " + path + ": fragment " + std::to_string(seq) + " corrupt");
        }
      }
      fr->Reset();
      if (expect != seg.end) fail("segment " + path + ": committed end does not match rows");
    }
    if (bad) return DataLoss(std::to_string(bad) + " problem(s); first: " + first);
    return Status::Ok();
  };
  Status s = body();
  db.Exec("COMMIT").IgnoreError();
  return s;
}

}  // namespace streamarc::archive
