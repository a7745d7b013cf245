// Ingest: Append queues; the commit thread writes, syncs and indexes in groups.
//
// One group commit: write every queued fragment (from any number of streams) to its
// stream's open segment, fdatasync each touched segment once, then insert all index rows
// in one index transaction, and only then report each fragment durable. A failed write or
// sync fails just the fragments it affects; their segment is closed and truncated back to
// its committed end, and the next fragment of that stream opens a new segment file.
#include <algorithm>
#include <set>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

int64_t FloorTo(int64_t v, int64_t step) {
  int64_t q = v / step;
  if (v % step != 0 && v < 0) --q;
  return q * step;
}

}  // namespace

Result<std::string> LocalArchive::Append(const StreamRef& ref, FragmentInput fragment,
                                         DurableCallback on_durable) {
  auto reject = [&](Status s) -> Result<std::string> {
    MutexLock lock(stats_mu_);
    ++stats_.appends_rejected;
    return s;
  };
  if (options_.read_only) return reject(ReadOnlyRefusal());
  if (fragment.bytes.empty()) return reject(InvalidArgument("empty fragment"));
  if (fragment.bytes.size() > kMaxFragmentBytes) {
    return reject(InvalidArgument("fragment over 50 MB"));
  }
  if (fragment.duration_us < 0) return reject(InvalidArgument("negative fragment duration"));
  if (!on_durable) return reject(InvalidArgument("a durable callback is required"));
  Result<StreamState> resolved = Resolve(ref);
  if (!resolved.ok()) return reject(resolved.status());
  const StreamState& s = *resolved;
  if (s.info.retention_hours == 0) {
    return reject(FailedPrecondition("stream " + s.info.name + " has no data retention"));
  }
  const uint64_t size = fragment.bytes.size();
  uint64_t seq;
  {
    MutexLock lock(mu_);
    if (stop_) {
      lock.Unlock();
      return reject(Unavailable("archive is shutting down"));
    }
    if (pending_bytes_ > 0 && pending_bytes_ + size > options_.max_pending_bytes) {
      MutexLock sl(stats_mu_);
      ++stats_.appends_rejected;
      return ResourceExhausted("archive commit queue is full");
    }
    if (coordinator_) {
      // Several nodes: the stream's lease, and a number from this node's id block.
      if (!HoldsLeaseLocked(s.id, clock_.MonotonicMicros())) {
        lock.Unlock();
        return reject(Unavailable("this node does not hold the ingest lease of stream " +
                                  s.info.name + " (another node may have it now)"));
      }
      leases_[s.id].last_use_us = clock_.MonotonicMicros();
      Result<uint64_t> id = NextIdLocked();
      if (!id.ok()) {
        lock.Unlock();
        return reject(id.status());
      }
      seq = *id;
    } else {
      // The clock as a floor keeps numbers from being reused after a crash lost the tail.
      seq = std::max<uint64_t>(last_seq_ + 1, static_cast<uint64_t>(clock_.NowMicros()));
    }
    last_seq_ = seq;
    queue_.push_back(Pending{s.id, s.info.name, seq, std::move(fragment), std::move(on_durable)});
    pending_bytes_ += size;
    ++enqueued_;
  }
  work_cv_.NotifyOne();
  return FormatFragmentNumber(seq, suffix_);
}

void LocalArchive::CommitLoop() {
  MutexLock lock(mu_);
  for (;;) {
    // Woken by work, or once a second to seal segments whose window has passed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!stop_ && queue_.empty() && tasks_.empty()) {
      if (!work_cv_.WaitUntil(mu_, deadline)) break;
    }
    if (queue_.empty() && tasks_.empty()) {
      if (stop_) break;
      lock.Unlock();
      SealIdleSegments();
      lock.Lock();
      continue;
    }
    std::vector<Pending> batch;
    uint64_t bytes = 0;
    while (!queue_.empty() && batch.size() < options_.max_batch_fragments &&
           (batch.empty() || bytes + queue_.front().in.bytes.size() <= options_.max_batch_bytes)) {
      bytes += queue_.front().in.bytes.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    std::deque<std::function<void()>> tasks;
    tasks.swap(tasks_);
    lock.Unlock();
    if (!batch.empty()) CommitBatch(batch);
    for (auto& t : tasks) t();
    if (!batch.empty()) SealIdleSegments();
    lock.Lock();
    pending_bytes_ -= bytes;
    reported_ += batch.size();
    done_cv_.NotifyAll();
  }
  lock.Unlock();
  std::vector<int64_t> ids;
  for (const auto& [id, seg] : open_) ids.push_back(id);
  for (int64_t id : ids) CloseSegment(id, /*seal_in_db=*/true);
  lock.Lock();
  commit_running_ = false;
}

Result<LocalArchive::OpenSegment*> LocalArchive::SegmentFor(const Pending& p) {
  const int64_t window = options_.segment_window_us;
  const uint64_t record = kRecordHeaderSize + p.in.bytes.size();
  auto it = open_.find(p.stream_id);
  if (it != open_.end()) {
    OpenSegment& seg = it->second;
    if (seg.broken) return seg.broken_status;
    const bool in_window = p.in.server_timestamp_us < seg.window_start + window;
    const bool fits =
        seg.planned_end + record <= segment_limit_ || seg.planned_end == kSegmentHeaderSize;
    if (in_window && fits) return &seg;
    if (seg.planned_end != seg.committed_end) {
      // Fragments of this batch are in it: keep it (and their pointers) alive until the
      // batch is committed, then close it.
      retiring_.push_back(open_.extract(it));
    } else {
      CloseSegment(p.stream_id, /*seal_in_db=*/true);
    }
  }
  OpenSegment seg;
  if (coordinator_) {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(uint64_t id, NextIdLocked());
    seg.id = static_cast<int64_t>(id);
  } else {
    seg.id = next_segment_id_++;
  }
  seg.stream_id = p.stream_id;
  seg.window_start = FloorTo(p.in.server_timestamp_us, window);
  const SegmentKey key{p.stream_id, seg.id};
  // Its existence is made durable in the group commit that first writes to it, before the
  // index transaction (SegmentStore::SyncCreatedSegment, then SyncCreated).
  ASSIGN_OR_RETURN(seg.file, segments_->Create(key));
  Status s = seg.file->Append(EncodeSegmentHeader(p.stream_id, seg.id));
  if (!s.ok()) {
    seg.file.reset();
    segments_->Remove(key).IgnoreError();
    return s;
  }
  seg.committed_end = kSegmentHeaderSize;
  seg.planned_end = kSegmentHeaderSize;
  seg.first_seq = p.seq;
  seg.min_server_us = p.in.server_timestamp_us;
  seg.max_server_us = p.in.server_timestamp_us;
  auto [pos, inserted] = open_.emplace(p.stream_id, std::move(seg));
  (void)inserted;
  return &pos->second;
}

Status LocalArchive::PlanOne(Written& w) {
  Pending& p = *w.p;
  {
    MutexLock lock(mu_);
    if (!names_by_id_.count(p.stream_id)) return NotFound("stream deleted: " + p.stream_name);
    // Fencing: once the lease may have ended another node may write the stream.
    if (coordinator_ && !HoldsLeaseLocked(p.stream_id, clock_.MonotonicMicros())) {
      return Unavailable("the ingest lease of stream " + p.stream_name + " ended");
    }
  }
  ASSIGN_OR_RETURN(w.seg, SegmentFor(p));
  w.offset = w.seg->planned_end + kRecordHeaderSize;
  w.seg->planned_end = w.offset + p.in.bytes.size();
  return Status::Ok();
}

bool LocalArchive::WriteSegment(OpenSegment& seg, const std::vector<Written*>& ws) const {
  bool written = false;
  for (Written* w : ws) {
    if (seg.broken) {
      w->status = seg.broken_status;
      continue;
    }
    const std::string& bytes = w->p->in.bytes;
    Status s = seg.file->Append(EncodeRecordHeader(w->p->seq, bytes));
    if (s.ok()) s = seg.file->Append(bytes);
    if (!s.ok()) {
      seg.broken = true;
      seg.broken_status = s;
    }
    written |= s.ok();
    w->status = std::move(s);
  }
  // The records written before a failed one are still committed: sync them too.
  if (!written || !options_.sync) return false;
  Status s = seg.file->Sync();
  // A segment new in this batch: its directory entry too, here rather than one directory
  // after another on the commit thread (500 streams rolling over to a new hour's segments
  // held every ack for over a second).
  if (s.ok() && !seg.in_db) s = segments_->SyncCreatedSegment(SegmentKey{seg.stream_id, seg.id});
  if (!s.ok()) {
    seg.broken = true;
    seg.broken_status = s;
    for (Written* w : ws) {
      if (w->status.ok()) w->status = s;
    }
  }
  return true;
}

void LocalArchive::CommitBatch(std::vector<Pending>& batch) {
  std::vector<Written> ws(batch.size());
  std::vector<Written*> unwritten;
  for (size_t i = 0; i < batch.size(); ++i) {
    ws[i].p = &batch[i];
    unwritten.push_back(&ws[i]);
  }
  AdmitByFloor(unwritten);
  for (int attempt = 0; attempt < 2 && !unwritten.empty(); ++attempt) {
    // Each touched segment's records are written and synced by one job, the segments in
    // parallel: one fdatasync per file after its writes, the group-commit barrier.
    std::map<OpenSegment*, std::vector<Written*>> by_segment;
    for (Written* w : unwritten) {
      w->status = PlanOne(*w);
      if (w->status.ok()) by_segment[w->seg].push_back(w);
    }
    std::vector<std::pair<OpenSegment* const, std::vector<Written*>>*> jobs;
    jobs.reserve(by_segment.size());
    for (auto& entry : by_segment) jobs.push_back(&entry);
    std::vector<char> synced(jobs.size(), 0);
    sync_pool_->RunAll(jobs.size(), [&](size_t i) {
      synced[i] = WriteSegment(*jobs[i]->first, jobs[i]->second) ? 1 : 0;
    });
    // A stream's fragments are committed in order (its segments hold disjoint, rising
    // sequence ranges): once one fails, the stream's later ones in this batch fail with it,
    // though written, as they were before the writes went parallel. A segment holding such
    // a record is cut back to its committed end and closed with the broken ones below.
    std::map<int64_t, Status> failed_streams;
    for (Written* w : unwritten) {
      auto failed = failed_streams.find(w->p->stream_id);
      if (failed == failed_streams.end()) {
        if (!w->status.ok()) failed_streams.emplace(w->p->stream_id, w->status);
      } else if (w->status.ok()) {
        w->status = failed->second;
        w->seg->broken = true;
        w->seg->broken_status = failed->second;
      }
    }
    std::set<OpenSegment*> touched;  // holding at least one fragment written and synced
    for (Written* w : unwritten) {
      if (w->status.ok()) touched.insert(w->seg);
    }
    const auto syncs = static_cast<uint64_t>(std::count(synced.begin(), synced.end(), 1));
    if (syncs > 0) {
      MutexLock lock(stats_mu_);
      stats_.file_syncs += syncs;
    }
    std::map<OpenSegment*, Status> sync_status;
    {
      Status d = segments_->SyncCreated();
      if (!d.ok()) {
        // Which entry is durable is unknown: fail every fragment in a new file.
        for (OpenSegment* seg : touched) {
          if (seg->in_db) continue;
          seg->broken = true;
          seg->broken_status = d;
          sync_status[seg] = d;
        }
      }
    }
    std::vector<Written*> ok;
    for (Written* w : unwritten) {
      if (!w->status.ok()) continue;
      auto it = sync_status.find(w->seg);
      if (it != sync_status.end()) {
        w->status = it->second;
      } else {
        ok.push_back(w);
      }
    }
    if (!ok.empty()) {
      Status s = CommitIndex(ok);
      if (!s.ok()) {
        for (Written* w : ok) {
          w->status = s;
          w->seg->broken = true;
          w->seg->broken_status = s;
        }
      }
    }
    // Broken segments are cut back to their committed end and closed.
    std::vector<int64_t> broken;
    for (const auto& [id, seg] : open_) {
      if (seg.broken) broken.push_back(id);
    }
    for (int64_t id : broken) CloseSegment(id, /*seal_in_db=*/true);
    for (auto& node : retiring_) FinishSegment(node.mapped(), /*seal_in_db=*/true);
    retiring_.clear();
    // Out of space: evict the oldest unprotected data and try once more (ingest never
    // stops for lack of space while older data exists).
    std::vector<Written*> retry;
    uint64_t need = 0;
    for (Written* w : unwritten) {
      if (w->status.code() == Code::kResourceExhausted) {
        retry.push_back(w);
        need += w->p->in.bytes.size() + kRecordHeaderSize;
      }
    }
    if (retry.empty() || attempt == 1 || !options_.evict_when_full) break;
    // Also room to set the space reserve aside again if this full disk used it up.
    const uint64_t reserve = ReserveMissing() ? reserve_bytes_ * 3 / 2 : 0;
    Status ev = EvictOldest(need + evict_headroom_ + reserve);
    if (!ev.ok()) {
      logger_.Warn("archive", "out of space and nothing to evict", {{"error", ev.ToString()}});
      break;
    }
    // Room again: set the reserve aside anew for the next time the disk fills up.
    EnsureReserve();
    unwritten = std::move(retry);
  }

  uint64_t ok_count = 0, ok_bytes = 0, failed = 0, full = 0;
  Status storage_failure;  // a failure of the storage, not of one stream (deleted meanwhile)
  for (Written& w : ws) {
    if (w.status.ok()) {
      ++ok_count;
      ok_bytes += w.p->in.bytes.size();
    } else {
      ++failed;
      full += w.status.code() == Code::kResourceExhausted;
      if (w.status.code() != Code::kNotFound && storage_failure.ok()) storage_failure = w.status;
    }
  }
  {
    MutexLock lock(stats_mu_);
    if (!storage_failure.ok()) {
      write_failure_ = storage_failure;
      write_failure_us_ = clock_.MonotonicMicros();
    } else if (ok_count > 0) {
      write_failure_ = Status::Ok();
    }
    stats_.fragments_appended += ok_count;
    stats_.bytes_appended += ok_bytes;
    stats_.fragments_failed += failed;
    stats_.fragments_refused_full += full;
  }
  if (failed) {
    for (Written& w : ws) {
      if (w.status.ok()) continue;
      logger_.Warn("archive", "fragment not stored",
                   {{"stream", w.p->stream_name}, {"error", w.status.ToString()}});
      break;  // one line per batch is enough; the count is in the stats
    }
  }
  for (Written& w : ws) {
    Pending& p = *w.p;
    FragmentInfo info;
    info.number = FormatFragmentNumber(p.seq, suffix_);
    info.stream_name = p.stream_name;
    info.producer_timestamp_us = p.in.producer_timestamp_us;
    info.server_timestamp_us = p.in.server_timestamp_us;
    info.duration_us = p.in.duration_us;
    info.size_bytes = p.in.bytes.size();
    info.track_info = std::move(p.in.track_info);
    info.key_frame_offsets = std::move(p.in.key_frame_offsets);
    p.in.bytes.clear();
    p.cb(w.status, info);
  }
}

Status LocalArchive::CommitIndex(std::vector<Written*>& ok) {
  // Announced before the transaction, so a sweep between two deletions lets it go first.
  {
    MutexLock lock(index_turn_mu_);
    ++commits_in_index_;
  }
  struct Done {
    LocalArchive* a;
    ~Done() {
      {
        MutexLock lock(a->index_turn_mu_);
        --a->commits_in_index_;
      }
      a->index_turn_cv_.NotifyAll();
    }
  } done{this};
  std::vector<NewFragmentRow> rows;
  rows.reserve(ok.size());
  std::map<OpenSegment*, SegmentRow> next;  // segment state after this commit
  for (Written* w : ok) {
    const Pending& p = *w->p;
    rows.push_back(NewFragmentRow{p.seq, p.stream_id, w->seg->id, w->offset, &p.in});
    auto [it, fresh] = next.emplace(w->seg, SegmentRow{});
    SegmentRow& n = it->second;
    if (fresh) {
      n.id = w->seg->id;
      n.stream_id = w->seg->stream_id;
      n.window_start_us = w->seg->window_start;
      n.first_seq = w->seg->in_db ? w->seg->first_seq : p.seq;
      n.min_server_us = w->seg->in_db ? w->seg->min_server_us : p.in.server_timestamp_us;
      n.max_server_us = w->seg->in_db ? w->seg->max_server_us : p.in.server_timestamp_us;
    }
    n.last_seq = p.seq;
    n.min_server_us = std::min(n.min_server_us, p.in.server_timestamp_us);
    n.max_server_us = std::max(n.max_server_us, p.in.server_timestamp_us);
    n.committed_end = std::max(n.committed_end, w->offset + p.in.bytes.size());
  }
  std::vector<SegmentRow> seg_rows;
  seg_rows.reserve(next.size());
  for (const auto& [seg, n] : next) seg_rows.push_back(n);
  RETURN_IF_ERROR(index_->Commit(rows, seg_rows));
  // Committed: now the in-memory state may move forward.
  uint64_t grown = 0;
  for (auto& [seg, n] : next) {
    grown += n.committed_end - (seg->in_db ? seg->committed_end : 0);
    seg->in_db = true;
    seg->first_seq = n.first_seq;
    seg->last_seq = n.last_seq;
    seg->min_server_us = n.min_server_us;
    seg->max_server_us = n.max_server_us;
    seg->committed_end = n.committed_end;
  }
  MutexLock lock(stats_mu_);
  ++stats_.commits;
  stats_.total_bytes += grown;
  return Status::Ok();
}

void LocalArchive::CloseSegment(int64_t stream_id, bool seal_in_db) {
  auto it = open_.find(stream_id);
  if (it == open_.end()) return;
  FinishSegment(it->second, seal_in_db);
  open_.erase(it);
}

void LocalArchive::FinishSegment(OpenSegment& seg, bool seal_in_db) {
  const SegmentKey key{seg.stream_id, seg.id};
  if (!seg.in_db) {
    // Nothing committed: the segment is an orphan-to-be; remove it now.
    seg.file.reset();
    segments_->Remove(key).IgnoreError();
    return;
  }
  if (seg.file->Size() != seg.committed_end) {
    Status t = seg.file->Truncate(seg.committed_end);
    if (!t.ok()) {
      logger_.Warn("archive", "could not truncate segment; recovery will",
                   {{"segment", seg.id}, {"error", t.ToString()}});
    }
  }
  seg.file.reset();
  if (!seal_in_db) return;
  Status s = segments_->Seal(key);
  if (s.ok()) s = index_->SealSegment(seg.id);
  if (!s.ok()) {
    logger_.Warn("archive", "could not seal segment; it stays until restart",
                 {{"segment", seg.id}, {"error", s.ToString()}});
  }
}

void LocalArchive::SealIdleSegments() {
  const int64_t now = clock_.NowMicros();
  std::vector<int64_t> ids;
  for (const auto& [id, seg] : open_) {
    if (now >= seg.window_start + options_.segment_window_us) ids.push_back(id);
  }
  for (int64_t id : ids) CloseSegment(id, /*seal_in_db=*/true);
}

}  // namespace streamarc::archive
