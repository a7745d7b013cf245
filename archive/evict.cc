// Reclaiming space: the byte budget, the free-space floor and a full disk.
//
// Eviction takes the oldest data across streams first (segments ordered by their oldest
// fragment), a little at a time: one segment, or the evictable part of one, per step, and
// segments are at most 1/32 of the space. A stream's newest fragments are protected
// (Options::keep_newest_*), so what was just reported durable is never deleted to make room
// for what comes next; when only protected data is left, new fragments are refused instead.
//
// Part of a segment (a prefix of its fragments) is evicted in two steps: its rows go, and
// the segment row moves first_seq and min_server_us forward, in one transaction; then its
// bytes are punched out of the file. A crash between the two leaves unreferenced bytes that
// a later punch of that segment, or its deletion, frees. Where the segment store cannot
// punch holes (a file system without them, an object store), only whole segments are
// evicted.
#include <algorithm>
#include <limits>
#include <set>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

constexpr uint64_t kSegmentsPerSpace = 32;
constexpr uint64_t kMinSegmentBytes = 64 << 10;
constexpr uint64_t kHeadroomDivisor = 64;         // evict 1/64 of the space beyond the need
constexpr uint64_t kAutoFloorDivisor = 20;        // 5% of the file system...
constexpr uint64_t kAutoFloorMax = 256ull << 20;  // ...at most 256 MiB
constexpr uint64_t kMinReserveBytes = 256 << 10;  // room to delete a segment's rows
constexpr int kKeepScanLimit = 10'000;            // rows KeepFrom looks at, at most
constexpr int kCandidatePage = 64;

}  // namespace

void LocalArchive::ResolveSpaceLimits() {
  uint64_t disk = 0;
  Result<DiskSpace> d = env_.GetDiskSpace(options_.root);
  if (d.ok()) disk = d->total_bytes;
  uint64_t space = disk;
  if (options_.max_total_bytes > 0) {
    space = space == 0 ? options_.max_total_bytes : std::min(space, options_.max_total_bytes);
  }
  segment_limit_ = options_.max_segment_bytes;
  if (space > 0) {
    segment_limit_ =
        std::min(segment_limit_, std::max(space / kSegmentsPerSpace, kMinSegmentBytes));
  }
  min_free_ = options_.min_free_bytes == kAutoMinFreeBytes
                  ? std::min(kAutoFloorMax, disk / kAutoFloorDivisor)
                  : options_.min_free_bytes;
  evict_headroom_ = space > 0 ? std::min(space / kHeadroomDivisor, segment_limit_) : 0;
  // A 4 MiB reserve is a quarter of a 16 MiB disk; the index needs far less to delete rows.
  reserve_bytes_ = options_.reserve_bytes;
  if (space > 0 && reserve_bytes_ > 0) {
    reserve_bytes_ = std::min(reserve_bytes_, std::max(space / kHeadroomDivisor, kMinReserveBytes));
  }
  logger_.Info("archive", "space limits",
               {{"disk_bytes", disk},
                {"max_total_bytes", options_.max_total_bytes},
                {"min_free_bytes", min_free_},
                {"max_segment_bytes", segment_limit_}});
}

bool LocalArchive::OverBudget(uint64_t headroom) {
  if (options_.max_total_bytes > 0) {
    MutexLock lock(stats_mu_);
    // The budget is the local disk's: what moved to the bucket does not count.
    const uint64_t local = stats_.total_bytes - std::min(stats_.total_bytes, stats_.bucket_bytes);
    if (local + headroom > options_.max_total_bytes) return true;
  }
  if (min_free_ > 0) {
    Result<DiskSpace> d = env_.GetDiskSpace(options_.root);
    if (d.ok() && d->free_bytes < min_free_ + headroom) return true;
  }
  return false;
}

Result<uint64_t> LocalArchive::KeepFrom(int64_t stream_id) {
  // No rows: nothing to protect (an int64 bound, as the index compares signed seqs).
  uint64_t keep = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  int count = 0;
  int64_t duration = 0;
  RETURN_IF_ERROR(
      index_->ForEachNewest(stream_id, kKeepScanLimit, [&](uint64_t seq, int64_t duration_us) {
        keep = seq;
        duration += std::max<int64_t>(0, duration_us);
        return !(++count >= options_.keep_newest_fragments && duration >= options_.keep_newest_us);
      }));
  return keep;
}

Status LocalArchive::EvictPrefix(int64_t segment_id, int64_t stream_id, uint64_t keep_from,
                                 uint64_t* freed) {
  *freed = 0;
  EvictedPrefix ev;
  RETURN_IF_ERROR(WithReserve([&]() -> Status {
    ASSIGN_OR_RETURN(ev, index_->EvictPrefix(segment_id, stream_id, keep_from));
    return Status::Ok();
  }));
  if (ev.fragments == 0) return Status::Ok();
  // The open segment's in-memory copy must not write the old values back at the next commit.
  auto open = open_.find(stream_id);
  if (open != open_.end() && open->second.id == segment_id) {
    open->second.first_seq = ev.first_seq;
    open->second.min_server_us = ev.min_server_us;
  }
  const uint64_t bytes = ev.payload_bytes + ev.fragments * kRecordHeaderSize;
  // Everything before the first kept record: earlier evictions' ranges again, which is
  // harmless and frees what a crash may have left behind.
  Status punch = segments_->PunchHole(SegmentKey{stream_id, segment_id}, kSegmentHeaderSize,
                                      ev.end - kSegmentHeaderSize);
  if (!punch.ok()) {
    if (punch.code() == Code::kFailedPrecondition) punch_ok_ = false;
    logger_.Warn("archive",
                 punch_ok_ ? "could not punch evicted fragments out of a segment"
                           : "segment store cannot punch holes: space is freed by whole segments",
                 {{"segment", segment_id}, {"error", punch.ToString()}});
  } else {
    *freed = bytes;
  }
  {
    MutexLock lock(stats_mu_);
    stats_.fragments_evicted += ev.fragments;
    stats_.bytes_deleted += bytes;
    stats_.total_bytes -= std::min(stats_.total_bytes, bytes);
    if (punch.ok()) stats_.bytes_punched += bytes;
    if (punch.code() == Code::kFailedPrecondition) ++stats_.punch_unsupported;
  }
  logger_.Info("archive", "fragments evicted",
               {{"reason", "budget"},
                {"stream_id", stream_id},
                {"segment", segment_id},
                {"fragments", ev.fragments},
                {"bytes", bytes},
                {"punched", punch.ok()}});
  return Status::Ok();
}

Status LocalArchive::EvictOldest(uint64_t bytes_to_free) {
  uint64_t freed = 0;
  std::unordered_map<int64_t, uint64_t> keep;  // stream id -> lowest protected seq
  std::set<int64_t> spent;                     // segments with nothing left to take
  for (;;) {
    if (freed >= bytes_to_free && !OverBudget(evict_headroom_)) return Status::Ok();
    bool stepped = false;
    int64_t after_us = std::numeric_limits<int64_t>::min(), after_id = -1;
    while (!stepped) {
      ASSIGN_OR_RETURN(std::vector<SegmentRow> page,
                       index_->SegmentsByAge(after_us, after_id, kCandidatePage));
      if (page.empty()) break;
      after_us = page.back().min_server_us;
      after_id = page.back().id;
      for (const SegmentRow& c : page) {
        if (spent.count(c.id)) continue;
        if (!segments_->IsLocal(SegmentKey{c.stream_id, c.id})) {
          spent.insert(c.id);  // in the bucket: deleting it frees no local space
          continue;
        }
        auto k = keep.find(c.stream_id);
        if (k == keep.end()) {
          ASSIGN_OR_RETURN(uint64_t from, KeepFrom(c.stream_id));
          k = keep.emplace(c.stream_id, from).first;
        }
        if (c.first_seq >= k->second) continue;  // all protected
        auto open = open_.find(c.stream_id);
        const bool is_open = open != open_.end() && open->second.id == c.id;
        uint64_t bytes = 0;
        if (c.last_seq < k->second && !is_open) {
          RETURN_IF_ERROR(DeleteSegment(c.id, DeleteReason::kBudget, &bytes));
        } else {
          if (!punch_ok_) continue;  // only whole segments can give space back here
          RETURN_IF_ERROR(EvictPrefix(c.id, c.stream_id, k->second, &bytes));
          spent.insert(c.id);  // what is left of it is protected
        }
        freed += bytes;
        stepped = true;
        break;
      }
    }
    if (!stepped) {
      if (freed > 0) return Status::Ok();
      return ResourceExhausted("out of space: only the newest fragments of each stream are left");
    }
  }
}

void LocalArchive::AdmitByFloor(std::vector<Written*>& unwritten) {
  if (min_free_ == 0 || unwritten.empty()) return;
  auto room = [&]() -> uint64_t {
    Result<DiskSpace> d = env_.GetDiskSpace(options_.root);
    if (!d.ok()) return std::numeric_limits<uint64_t>::max();  // a failing write will tell
    return d->free_bytes > min_free_ ? d->free_bytes - min_free_ : 0;
  };
  uint64_t need = 0;
  for (const Written* w : unwritten) need += w->p->in.bytes.size() + kRecordHeaderSize;
  uint64_t have = room();
  // Measured again after each pass: the file system frees whole blocks, not our count.
  for (int pass = 0; pass < 4 && have < need && options_.evict_when_full; ++pass) {
    Status ev = EvictOldest(need - have + evict_headroom_);
    if (!ev.ok()) {
      if (ev.code() != Code::kResourceExhausted) {
        logger_.Warn("archive", "eviction failed", {{"error", ev.ToString()}});
      }
      break;
    }
    have = room();
  }
  if (have >= need) return;
  // In queue order, as many as fit; the rest fail and the kept data stays.
  std::vector<Written*> admitted;
  uint64_t used = 0;
  for (Written* w : unwritten) {
    const uint64_t n = w->p->in.bytes.size() + kRecordHeaderSize;
    if (used + n <= have) {
      used += n;
      admitted.push_back(w);
    } else {
      w->status = ResourceExhausted(
          options_.evict_when_full
              ? "disk at its free-space floor and only the newest fragments of each stream left"
              : "disk at its free-space floor");
    }
  }
  unwritten = std::move(admitted);
}

}  // namespace streamarc::archive
