// Start-up recovery: the index is the truth. Bytes beyond a segment's committed end are
// truncated (they were never reported durable), stored segments the index does not know
// are removed, and every segment is checked against its row. Read-only (Options::read_only),
// the same checks only look: nothing is truncated, removed, sealed or finished deleting
// (reads go by the index, so bytes past a committed end are never served anyway).
#include <algorithm>
#include <set>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {

Status LocalArchive::Recover() {
  RETURN_IF_ERROR(LoadStreams());
  RETURN_IF_ERROR(CheckSegments());

  // What the store holds and the index does not know goes.
  std::set<SegmentKey> known;
  {
    ASSIGN_OR_RETURN(std::vector<SegmentRow> segs, index_->Segments());
    for (const SegmentRow& seg : segs) known.insert(SegmentKey{seg.stream_id, seg.id});
  }
  std::set<int64_t> streams;
  {
    MutexLock lock(mu_);
    for (const auto& [id, name] : names_by_id_) streams.insert(id);
  }
  if (!options_.read_only) {
    ASSIGN_OR_RETURN(
        uint64_t removed,
        segments_->RemoveOrphans([&](int64_t stream_id) { return streams.count(stream_id) > 0; },
                                 [&](const SegmentKey& key) { return known.count(key) > 0; }));
    recovery_.orphan_files_removed += removed;
  }

  ASSIGN_OR_RETURN(IndexTotals totals, index_->Totals());
  size_t stream_count;
  {
    MutexLock lock(mu_);
    last_seq_ = totals.max_seq;
    stream_count = streams_.size();
  }
  next_segment_id_ = totals.max_segment_id + 1;
  recovery_.segments = totals.segments;
  {
    MutexLock lock(stats_mu_);
    // Several nodes: the index holds every node's bytes; this node counts its own disk's
    // (CheckSegments) and the bucket's.
    stats_.total_bytes =
        coordinator_ ? stats_.bucket_bytes + local_bytes_at_open_ : totals.stored_bytes;
  }
  logger_.Info("archive", "opened",
               {{"root", options_.root},
                {"streams", static_cast<uint64_t>(stream_count)},
                {"segments", recovery_.segments},
                {"bytes", totals.stored_bytes},
                {"bytes_truncated", recovery_.bytes_truncated},
                {"orphans_removed", recovery_.orphan_files_removed},
                {"missing_segments", recovery_.missing_segments},
                {"short_segments", recovery_.short_segments},
                {"read_only", options_.read_only ? "yes" : "no"}});
  return Status::Ok();
}

Status LocalArchive::LoadStreams() {
  ASSIGN_OR_RETURN(std::vector<StreamRecord> records, registry_->LoadAll());
  std::vector<std::pair<int64_t, std::string>> deleting;
  for (StreamRecord& r : records) {
    if (r.info.status == StreamStatus::kDeleting) {
      deleting.emplace_back(r.id, r.info.name);
      continue;
    }
    MutexLock lock(mu_);
    names_by_id_[r.id] = r.info.name;
    const std::string name = r.info.name;
    streams_[name] = StreamState{r.id, std::move(r.info)};
  }
  // A crash interrupted these deletions: finish them (read-only: they stay hidden).
  for (const auto& [id, name] : deleting) {
    if (options_.read_only) {
      logger_.Warn("archive", "stream was being deleted: not served, left as it is (read-only)",
                   {{"stream", name}});
      continue;
    }
    RETURN_IF_ERROR(FinishDeletingStream(id, name));
  }
  return Status::Ok();
}

Status LocalArchive::CheckSegments() {
  ASSIGN_OR_RETURN(std::vector<SegmentRow> segs, index_->Segments());
  uint64_t bucket_bytes = 0;
  std::vector<int64_t> unsealed;  // this node's, several nodes
  for (const SegmentRow& seg : segs) {
    const SegmentKey key{seg.stream_id, seg.id};
    const std::string name = std::to_string(seg.stream_id) + "/" + std::to_string(seg.id);
    if (options_.object_store && seg.sealed && !segments_->IsLocal(key)) {
      // In the bucket: checked whole when it moved; a HEAD per segment would make a start
      // as slow as the history is long.
      bucket_bytes += seg.committed_end;
      continue;
    }
    // Several nodes: a segment not on this disk is another node's (open there, or not
    // moved yet); that node checks it.
    if (coordinator_ && !segments_->IsLocal(key)) continue;
    Result<uint64_t> size = segments_->Size(key);
    if (!size.ok()) {
      if (size.status().code() != Code::kNotFound) return size.status();
      ++recovery_.missing_segments;
      logger_.Error("archive", "segment file missing: its fragments are lost", {{"segment", name}});
      continue;
    }
    if (*size < seg.committed_end) {
      ++recovery_.short_segments;
      logger_.Error("archive", "segment file shorter than its index",
                    {{"segment", name}, {"size", *size}, {"committed_end", seg.committed_end}});
      continue;
    }
    local_bytes_at_open_ += seg.committed_end;
    if (!seg.sealed && coordinator_) unsealed.push_back(seg.id);
    if (*size > seg.committed_end && !options_.read_only) {
      // Appended but never committed: no fragment there was reported durable.
      RETURN_IF_ERROR(segments_->Truncate(key, seg.committed_end));
      recovery_.bytes_truncated += *size - seg.committed_end;
    }
    if (!seg.sealed) {
      Status s = CheckOpenSegmentTail(seg);
      if (!s.ok()) {
        if (s.code() != Code::kDataLoss) return s;
        // Reads of the damaged fragments will say kDataLoss; the rest keeps working.
        ++recovery_.corrupt_segments;
        logger_.Error("archive", "segment does not match its index",
                      {{"segment", name}, {"error", s.ToString()}});
      }
    }
  }
  {
    MutexLock lock(stats_mu_);
    stats_.bucket_bytes = bucket_bytes;
  }
  // Nothing is open after a restart: new fragments go to new segments. Several nodes seal
  // only their own: the others' are open on them.
  if (options_.read_only) return Status::Ok();
  if (!coordinator_) return index_->SealAll();
  for (int64_t id : unsealed) RETURN_IF_ERROR(index_->SealSegment(id));
  return Status::Ok();
}

Status LocalArchive::CheckOpenSegmentTail(const SegmentRow& seg) {
  // The segment was open at the crash: check its header and its last record cheaply.
  ASSIGN_OR_RETURN(auto reader, segments_->Open(SegmentKey{seg.stream_id, seg.id}));
  std::string head(kSegmentHeaderSize, '\0');
  RETURN_IF_ERROR(reader->Read(0, head.size(), head.data()));
  RETURN_IF_ERROR(CheckSegmentHeader(head, seg.stream_id, seg.id));
  ASSIGN_OR_RETURN(std::optional<FragmentLocation> last,
                   index_->LastFragment(seg.stream_id, seg.id));
  if (!last) return Status::Ok();
  std::string rh(kRecordHeaderSize, '\0');
  RETURN_IF_ERROR(reader->Read(last->offset - kRecordHeaderSize, rh.size(), rh.data()));
  ASSIGN_OR_RETURN(RecordHeader h, DecodeRecordHeader(rh));
  if (last->offset + last->length != seg.committed_end || h.seq != last->seq) {
    return DataLoss("segment " + std::to_string(seg.id) + ": last record does not match the index");
  }
  return Status::Ok();
}

Status LocalArchive::FinishDeletingStream(int64_t stream_id, const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<int64_t> seg_ids, index_->StreamSegments(stream_id));
  for (int64_t id : seg_ids) RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kStream));
  RETURN_IF_ERROR(WithReserve([&] { return index_->DeleteStreamRows(stream_id); }));
  // The registry row goes last: until then, a crash finishes the deletion at the next open.
  RETURN_IF_ERROR(WithReserve([&] { return registry_->Remove(stream_id); }));
  segments_->RemoveStream(stream_id);
  logger_.Info("archive", "stream deleted", {{"stream", name}, {"id", stream_id}});
  return Status::Ok();
}

}  // namespace streamarc::archive
