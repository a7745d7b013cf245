// Retention, the byte budget, and deep verification.
//
// Retention deletes whole sealed segments: its rows go in one transaction, then its bytes
// leave the segment store. A crash between the two leaves an orphan that the next open
// removes. A
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
  std::optional<DeletedSegment> gone;
  RETURN_IF_ERROR(WithReserve([&]() -> Status {
    // Retention runs beside ingest: its chunks let waiting group commits go first.
    ASSIGN_OR_RETURN(gone, index_->DeleteSegment(segment_id, [this, reason] {
      if (reason == DeleteReason::kRetention) YieldIndexToCommits();
    }));
    return Status::Ok();
  }));
  if (!gone) return Status::Ok();  // already gone
  if (freed) *freed = gone->bytes;
  // (A move finishing between the two calls leaves bucket_bytes one segment high: a stat.)
  const bool in_bucket =
      options_.object_store && !segments_->IsLocal(SegmentKey{gone->stream_id, segment_id});
  Status rm = segments_->Remove(SegmentKey{gone->stream_id, segment_id});
  if (!rm.ok() && rm.code() != Code::kNotFound) {
    // The rows are gone; the segment becomes an orphan that the next open removes.
    logger_.Warn("archive", "could not remove segment",
                 {{"segment", segment_id}, {"error", rm.ToString()}});
  }
  {
    MutexLock lock(stats_mu_);
    ++stats_.segments_deleted;
    stats_.bytes_deleted += gone->bytes;
    stats_.total_bytes -= std::min<uint64_t>(stats_.total_bytes, gone->bytes);
    if (in_bucket) stats_.bucket_bytes -= std::min<uint64_t>(stats_.bucket_bytes, gone->bytes);
    uint64_t& counter = reason == DeleteReason::kRetention ? stats_.fragments_expired
                        : reason == DeleteReason::kBudget  ? stats_.fragments_evicted
                                                           : stats_.fragments_deleted_with_stream;
    counter += gone->fragments;
  }
  logger_.Info("archive", "segment deleted",
               {{"reason", ReasonName(static_cast<int>(reason))},
                {"stream_id", gone->stream_id},
                {"segment", segment_id},
                {"fragments", gone->fragments},
                {"bytes", gone->bytes}});
  return Status::Ok();
}

void LocalArchive::YieldIndexToCommits() {
  MutexLock lock(index_turn_mu_);
  while (commits_in_index_ != 0) index_turn_cv_.Wait(index_turn_mu_);
}

Status LocalArchive::Sweep() {
  if (options_.read_only) return ReadOnlyRefusal();
  MutexLock one_at_a_time(sweep_mu_);
  std::unordered_map<int64_t, int64_t> cutoffs;  // stream id -> oldest server time kept
  std::vector<int64_t> purge;                    // streams another node deleted
  {
    MutexLock lock(mu_);
    if (stop_) return Unavailable("archive is shutting down");
    purge.swap(purge_elsewhere_);
    for (const auto& [name, s] : streams_) {
      if (s.info.retention_hours > 0) cutoffs[s.id] = Cutoff(s);
    }
  }
  for (int64_t id : purge) {
    Result<std::vector<int64_t>> segs = index_->StreamSegments(id);
    if (segs.ok()) {
      for (int64_t seg : *segs) {
        YieldIndexToCommits();
        DeleteSegment(seg, DeleteReason::kStream).IgnoreError();
      }
    }
    index_->DeleteStreamRows(id).IgnoreError();
    segments_->RemoveStream(id);
  }
  // Segments whose window has passed are sealed first, so an idle stream's last segment
  // can expire too.
  RunOnCommitThread([this] { SealIdleSegments(); });
  ASSIGN_OR_RETURN(std::vector<int64_t> expired, index_->ExpiredSegments(cutoffs));
  for (int64_t id : expired) {
    YieldIndexToCommits();
    RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kRetention));
  }
  if (OverBudget(0)) {
    // On the commit thread: eviction may take the evictable part of an open segment.
    Status ev;
    RunOnCommitThread([&] { ev = EvictOldest(0); });
    if (!ev.ok() && ev.code() != Code::kResourceExhausted) return ev;
  }
  // Events go with the data: after retention and eviction, so in the same pass.
  for (const auto& [stream_id, cutoff] : cutoffs) RETURN_IF_ERROR(ExpireEvents(stream_id, cutoff));
  EnsureReserve();
  Status c = index_->Checkpoint();
  if (!c.ok()) logger_.Warn("archive", "checkpoint failed", {{"error", c.ToString()}});
  return Status::Ok();
}

Status LocalArchive::Verify() {
  uint64_t bad = 0;
  std::string first;
  auto fail = [&](const std::string& what) {
    if (bad++ == 0) first = what;
  };
  std::string buf;
  RETURN_IF_ERROR(index_->ForEachSegmentSnapshot(
      [&](const SegmentRow& seg, const std::vector<FragmentLocation>& fragments) -> Status {
        const SegmentKey key{seg.stream_id, seg.id};
        const std::string name =
            "segment " + std::to_string(seg.stream_id) + "/" + std::to_string(seg.id);
        Result<std::shared_ptr<const SegmentReader>> reader = segments_->Open(key);
        Result<uint64_t> size = segments_->Size(key);
        if (!reader.ok() || !size.ok() || *size < seg.committed_end) {
          fail(name + " missing or short");
          return Status::Ok();
        }
        std::string head(kSegmentHeaderSize, '\0');
        Status hs = (*reader)->Read(0, head.size(), head.data());
        if (!hs.ok() || !CheckSegmentHeader(head, seg.stream_id, seg.id).ok()) {
          fail(name + ": bad header");
          return Status::Ok();
        }
        uint64_t expect = kSegmentHeaderSize;
        for (const FragmentLocation& f : fragments) {
          // The first row may start later: eviction punched out the fragments before it.
          if (expect == kSegmentHeaderSize && f.offset > expect + kRecordHeaderSize) {
            expect = f.offset - kRecordHeaderSize;
          }
          if (f.offset != expect + kRecordHeaderSize || f.offset + f.length > seg.committed_end) {
            fail(name + ": fragment " + std::to_string(f.seq) + " misplaced");
          }
          expect = f.offset + f.length;
          buf.resize(kRecordHeaderSize + f.length);
          if (!(*reader)->Read(f.offset - kRecordHeaderSize, buf.size(), buf.data()).ok()) {
            fail(name + ": unreadable fragment " + std::to_string(f.seq));
            continue;
          }
          Result<RecordHeader> h = DecodeRecordHeader(buf);
          if (!h.ok() || h->seq != f.seq || h->length != f.length ||
              Crc32(std::string_view(buf).substr(kRecordHeaderSize)) != h->crc32) {
            fail(name + ": fragment " + std::to_string(f.seq) + " corrupt");
          }
        }
        if (expect != seg.committed_end) fail(name + ": committed end does not match rows");
        return Status::Ok();
      }));
  if (bad) return DataLoss(std::to_string(bad) + " problem(s); first: " + first);
  return Status::Ok();
}

}  // namespace streamarc::archive
