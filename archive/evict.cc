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
// a later punch of that segment, or its deletion, frees. Where the file system cannot punch
// holes, only whole segments are evicted.
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
    std::lock_guard<std::mutex> lock(stats_mu_);
    if (stats_.total_bytes + headroom > options_.max_total_bytes) return true;
  }
  if (min_free_ > 0) {
    Result<DiskSpace> d = env_.GetDiskSpace(options_.root);
    if (d.ok() && d->free_bytes < min_free_ + headroom) return true;
  }
  return false;
}

Result<int64_t> LocalArchive::KeepFrom(int64_t stream_id) {
  std::lock_guard<std::mutex> control(control_mu_);
  ASSIGN_OR_RETURN(Stmt * st, control_->Prepare("SELECT seq, duration_us FROM fragments"
                                                " WHERE stream_id=?1 ORDER BY seq DESC LIMIT ?2"));
  st->Bind(1, stream_id).Bind(2, kKeepScanLimit);
  int64_t keep = std::numeric_limits<int64_t>::max();
  int count = 0;
  int64_t duration = 0;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    keep = st->Int(0);
    duration += std::max<int64_t>(0, st->Int(1));
    if (++count >= options_.keep_newest_fragments && duration >= options_.keep_newest_us) break;
  }
  st->Reset();
  return keep;
}

Status LocalArchive::EvictPrefix(int64_t segment_id, int64_t stream_id, int64_t keep_from,
                                 uint64_t* freed) {
  *freed = 0;
  int64_t count = 0, payload = 0, end = 0, first_seq = 0, min_us = 0;
  {
    std::lock_guard<std::mutex> control(control_mu_);
    Db& db = *control_;
    // The segment's rows below keep_from: seq range first_seq..keep_from-1 of the stream.
    constexpr const char* kRange =
        " FROM fragments WHERE stream_id=?1 AND segment_id=?2 AND seq >= (SELECT first_seq"
        " FROM segments WHERE id=?2) AND seq < ?3";
    auto body = [&]() -> Status {
      ASSIGN_OR_RETURN(Stmt * sel,
                       db.Prepare(std::string("SELECT COUNT(*),"
                                              " IFNULL(SUM(byte_length), 0),"
                                              " IFNULL(MAX(byte_offset + byte_length), 0)") +
                                  kRange));
      sel->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep_from);
      Result<bool> row = sel->Step();
      if (row.ok() && *row) {
        count = sel->Int(0);
        payload = sel->Int(1);
        end = sel->Int(2);
      }
      sel->Reset();
      RETURN_IF_ERROR(row.status());
      if (count == 0) return Status::Ok();
      ASSIGN_OR_RETURN(Stmt * del, db.Prepare(std::string("DELETE") + kRange));
      Status s = del->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep_from).Run();
      del->Reset();
      RETURN_IF_ERROR(s);
      // The rows left start at keep_from or later: the segment now begins there.
      ASSIGN_OR_RETURN(
          Stmt * up,
          db.Prepare("UPDATE segments SET"
                     " first_seq=IFNULL((SELECT MIN(seq) FROM fragments WHERE stream_id=?1 AND"
                     " segment_id=?2 AND seq BETWEEN ?3 AND segments.last_seq), first_seq),"
                     " min_server_us=IFNULL((SELECT MIN(server_us) FROM fragments WHERE"
                     " stream_id=?1 AND segment_id=?2 AND seq BETWEEN ?3 AND segments.last_seq),"
                     " min_server_us) WHERE id=?2 RETURNING first_seq, min_server_us"));
      up->Bind(1, stream_id).Bind(2, segment_id).Bind(3, keep_from);
      Result<bool> r = up->Step();
      if (r.ok() && *r) {
        first_seq = up->Int(0);
        min_us = up->Int(1);
      }
      up->Reset();  // RETURNING: the update is complete after the first step
      return r.status();
    };
    RETURN_IF_ERROR(WithReserve([&]() -> Status {
      count = 0;
      RETURN_IF_ERROR(db.Begin());
      Status s = body();
      if (s.ok()) s = db.Commit();
      if (!s.ok()) db.Rollback();
      return s;
    }));
  }
  if (count == 0) return Status::Ok();
  // The open segment's in-memory copy must not write the old values back at the next commit.
  auto open = open_.find(stream_id);
  if (open != open_.end() && open->second.id == segment_id) {
    open->second.first_seq = static_cast<uint64_t>(first_seq);
    open->second.min_server_us = min_us;
  }
  const uint64_t bytes = static_cast<uint64_t>(payload + count * int64_t{kRecordHeaderSize});
  // Everything before the first kept record: earlier evictions' ranges again, which is
  // harmless and frees what a crash may have left behind.
  const std::string path = SegmentPath(options_.root, stream_id, segment_id);
  Status punch =
      env_.PunchHole(path, kSegmentHeaderSize, static_cast<uint64_t>(end) - kSegmentHeaderSize);
  if (!punch.ok()) {
    if (punch.code() == Code::kFailedPrecondition) punch_ok_ = false;
    logger_.Warn("archive",
                 punch_ok_ ? "could not punch evicted fragments out of a segment"
                           : "file system cannot punch holes: space is freed by whole segments",
                 {{"path", path}, {"error", punch.ToString()}});
  } else {
    *freed = bytes;
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.fragments_evicted += static_cast<uint64_t>(count);
    stats_.bytes_deleted += bytes;
    stats_.total_bytes -= std::min(stats_.total_bytes, bytes);
    if (punch.ok()) stats_.bytes_punched += bytes;
    if (punch.code() == Code::kFailedPrecondition) ++stats_.punch_unsupported;
  }
  logger_.Info("archive", "fragments evicted",
               {{"reason", "budget"},
                {"stream_id", stream_id},
                {"segment", segment_id},
                {"fragments", count},
                {"bytes", bytes},
                {"punched", punch.ok()}});
  return Status::Ok();
}

Status LocalArchive::EvictOldest(uint64_t bytes_to_free) {
  uint64_t freed = 0;
  std::unordered_map<int64_t, int64_t> keep;  // stream id -> lowest protected seq
  std::set<int64_t> spent;                    // segments with nothing left to take
  for (;;) {
    if (freed >= bytes_to_free && !OverBudget(evict_headroom_)) return Status::Ok();
    bool stepped = false;
    int64_t after_us = std::numeric_limits<int64_t>::min(), after_id = -1;
    while (!stepped) {
      struct Candidate {
        int64_t id, stream_id, first_seq, last_seq;
      };
      std::vector<Candidate> page;
      {
        std::lock_guard<std::mutex> control(control_mu_);
        ASSIGN_OR_RETURN(
            Stmt * st,
            control_->Prepare("SELECT id, stream_id, first_seq, last_seq, min_server_us FROM"
                              " segments WHERE (min_server_us, id) > (?1, ?2)"
                              " ORDER BY min_server_us, id LIMIT ?3"));
        st->Bind(1, after_us).Bind(2, after_id).Bind(3, kCandidatePage);
        RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
          page.push_back({row.Int(0), row.Int(1), row.Int(2), row.Int(3)});
          after_us = row.Int(4);
          after_id = row.Int(0);
          return Status::Ok();
        }));
      }
      if (page.empty()) break;
      for (const Candidate& c : page) {
        if (spent.count(c.id)) continue;
        auto k = keep.find(c.stream_id);
        if (k == keep.end()) {
          ASSIGN_OR_RETURN(int64_t from, KeepFrom(c.stream_id));
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
