// Retention, the byte budget, and deep verification.
//
// Deletion is by whole sealed segment: its rows go in one transaction, then the file is
// unlinked. A crash between the two leaves an orphan file that the next open removes. A
// segment that is still open (being appended to) is never deleted; its expired fragments
// are hidden by the queries until it is sealed and swept.
#include <algorithm>
#include <chrono>
#include <thread>

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
  if (options_.reserve_bytes == 0) return;
  const std::string path = options_.root + "/reserve";
  Result<uint64_t> size = env_.FileSize(path);
  if (size.ok() && *size >= options_.reserve_bytes) return;
  Result<DiskSpace> space = env_.GetDiskSpace(options_.root);
  if (!space.ok() || space->free_bytes < options_.reserve_bytes * 3 / 2) return;  // not now
  Result<std::unique_ptr<WritableFile>> f = env_.OpenWritable(path);
  if (!f.ok()) return;
  const std::string zeros(64 << 10, '\0');
  Status s;
  while (s.ok() && (*f)->Size() < options_.reserve_bytes) {
    s = (*f)->Append(std::string_view(zeros).substr(
        0, std::min<uint64_t>(zeros.size(), options_.reserve_bytes - (*f)->Size())));
  }
  if (s.ok()) s = (*f)->Sync();
  if (!s.ok()) {
    f->reset();
    env_.RemoveFile(path).IgnoreError();
    logger_.Warn("archive", "could not create the space reserve", {{"error", s.ToString()}});
  }
}

bool LocalArchive::ReleaseReserve() {
  if (options_.reserve_bytes == 0) return false;
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
        db.Prepare(
            "SELECT stream_id, first_seq, last_seq, committed_end FROM segments WHERE id=?1"));
    sel->Bind(1, segment_id);
    Result<bool> row = sel->Step();
    if (!row.ok() || !*row) {
      sel->Reset();
      return row.ok() ? Status::Ok() : row.status();  // already gone
    }
    stream_id = sel->Int(0);
    first_seq = sel->Int(1);
    last_seq = sel->Int(2);
    bytes = sel->Int(3);
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

bool LocalArchive::OverBudget(double slack) {
  if (options_.max_total_bytes > 0) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    if (static_cast<double>(stats_.total_bytes) > slack * options_.max_total_bytes) return true;
  }
  if (options_.min_free_bytes > 0) {
    Result<DiskSpace> d = env_.GetDiskSpace(options_.root);
    if (d.ok() && static_cast<double>(d->free_bytes) * slack < options_.min_free_bytes) {
      return true;
    }
  }
  return false;
}

Status LocalArchive::EvictOldest(uint64_t bytes_to_free, bool on_commit_thread) {
  uint64_t freed = 0;
  bool closed_open = false;
  // Segments this call closed itself, oldest first: deletable even if sealing their rows
  // failed for lack of space.
  std::vector<std::pair<int64_t, int64_t>> closed;  // (min server time, id)
  for (;;) {
    // Under budget with 10% headroom, and enough freed for the caller.
    if (freed >= bytes_to_free && !OverBudget(0.9)) return Status::Ok();
    int64_t id = -1;
    {
      std::lock_guard<std::mutex> control(control_mu_);
      ASSIGN_OR_RETURN(Stmt * st, control_->Prepare("SELECT id FROM segments WHERE sealed=1"
                                                    " ORDER BY min_server_us, id LIMIT 1"));
      Result<bool> row = st->Step();
      if (row.ok() && *row) id = st->Int(0);
      st->Reset();
      if (!row.ok()) return row.status();
    }
    if (id < 0 && !closed.empty()) {
      id = closed.front().second;
      closed.erase(closed.begin());
    }
    if (id < 0) {
      if (on_commit_thread && !closed_open && !open_.empty()) {
        // Only open segments hold data: close them so the oldest can go.
        std::vector<int64_t> streams;
        for (const auto& [sid, seg] : open_) {
          streams.push_back(sid);
          if (seg.in_db) closed.emplace_back(seg.min_server_us, seg.id);
        }
        std::sort(closed.begin(), closed.end());
        for (int64_t sid : streams) CloseSegment(sid, /*seal_in_db=*/true);
        closed_open = true;
        continue;
      }
      if (!on_commit_thread) {
        std::lock_guard<std::mutex> lock(mu_);
        seal_all_requested_ = true;
      }
      if (freed > 0) return Status::Ok();
      return ResourceExhausted("no sealed segment left to evict");
    }
    uint64_t bytes = 0;
    RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kBudget, &bytes));
    freed += bytes;
  }
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
    RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kRetention));
    // Let a waiting group commit take the index lock between two deletions.
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (OverBudget(1.0)) {
    Status s = EvictOldest(0, /*on_commit_thread=*/false);
    if (!s.ok() && s.code() != Code::kResourceExhausted) return s;
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
