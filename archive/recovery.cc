// Start-up recovery: the index is the truth. Bytes beyond a segment's committed end are
// truncated (they were never reported durable), files the index does not know are removed,
// and every segment file is checked against its row.
#include <algorithm>
#include <set>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

StreamStatus ParseStatus(const std::string& s) {
  if (s == "CREATING") return StreamStatus::kCreating;
  if (s == "UPDATING") return StreamStatus::kUpdating;
  if (s == "DELETING") return StreamStatus::kDeleting;
  return StreamStatus::kActive;
}

}  // namespace

Status LocalArchive::Recover() {
  RETURN_IF_ERROR(LoadStreams());
  RETURN_IF_ERROR(CheckSegments());
  RETURN_IF_ERROR(RemoveOrphans());

  ASSIGN_OR_RETURN(Stmt * st,
                   writer_->Prepare("SELECT (SELECT IFNULL(MAX(seq), 0) FROM fragments),"
                                    " (SELECT IFNULL(MAX(id), 0) FROM segments),"
                                    // Stored bytes: a segment's evicted prefix is punched
                                    // out. 56 = file header + the first record's header.
                                    " (SELECT IFNULL(SUM(committed_end + 56 - IFNULL((SELECT"
                                    " byte_offset FROM fragments f WHERE f.seq=s.first_seq), 56)),"
                                    " 0) FROM segments s),"
                                    " (SELECT COUNT(*) FROM segments)"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Internal("aggregate query returned no row");
  last_seq_ = static_cast<uint64_t>(st->Int(0));
  next_segment_id_ = st->Int(1) + 1;
  const uint64_t total = static_cast<uint64_t>(st->Int(2));
  recovery_.segments = static_cast<uint64_t>(st->Int(3));
  st->Reset();
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.total_bytes = total;
  }
  logger_.Info("archive", "opened",
               {{"root", options_.root},
                {"streams", static_cast<uint64_t>(streams_.size())},
                {"segments", recovery_.segments},
                {"bytes", total},
                {"bytes_truncated", recovery_.bytes_truncated},
                {"orphans_removed", recovery_.orphan_files_removed},
                {"missing_segments", recovery_.missing_segments},
                {"short_segments", recovery_.short_segments}});
  return Status::Ok();
}

Status LocalArchive::LoadStreams() {
  ASSIGN_OR_RETURN(
      Stmt * st,
      writer_->Prepare("SELECT id, name, arn, version, status, media_type, device_name, kms_key_id,"
                       " retention_hours, creation_us FROM streams"));
  std::vector<std::pair<int64_t, std::string>> deleting;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    StreamState s;
    s.id = st->Int(0);
    s.info.name = st->Text(1);
    s.info.arn = st->Text(2);
    s.info.version = st->Text(3);
    s.info.status = ParseStatus(st->Text(4));
    s.info.media_type = st->Text(5);
    s.info.device_name = st->Text(6);
    s.info.kms_key_id = st->Text(7);
    s.info.retention_hours = static_cast<int>(st->Int(8));
    s.info.creation_time_us = st->Int(9);
    if (s.info.status == StreamStatus::kDeleting) {
      deleting.emplace_back(s.id, s.info.name);
      continue;
    }
    names_by_id_[s.id] = s.info.name;
    streams_[s.info.name] = std::move(s);
  }
  st->Reset();
  // A crash interrupted these deletions: finish them.
  for (const auto& [id, name] : deleting) RETURN_IF_ERROR(FinishDeletingStream(id, name));
  return Status::Ok();
}

Status LocalArchive::CheckSegments() {
  struct Seg {
    int64_t id, stream_id;
    uint64_t committed_end;
    bool sealed;
  };
  std::vector<Seg> segs;
  ASSIGN_OR_RETURN(Stmt * st,
                   writer_->Prepare("SELECT id, stream_id, committed_end, sealed FROM segments"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    segs.push_back({st->Int(0), st->Int(1), static_cast<uint64_t>(st->Int(2)), st->Int(3) != 0});
  }
  st->Reset();

  for (const Seg& seg : segs) {
    const std::string path = SegmentPath(options_.root, seg.stream_id, seg.id);
    Result<uint64_t> size = env_.FileSize(path);
    if (!size.ok()) {
      if (size.status().code() != Code::kNotFound) return size.status();
      ++recovery_.missing_segments;
      logger_.Error("archive", "segment file missing: its fragments are lost",
                    {{"path", path}, {"segment", seg.id}});
      continue;
    }
    if (*size < seg.committed_end) {
      ++recovery_.short_segments;
      logger_.Error("archive", "segment file shorter than its index",
                    {{"path", path}, {"size", *size}, {"committed_end", seg.committed_end}});
      continue;
    }
    if (*size > seg.committed_end) {
      // Appended but never committed: no fragment there was reported durable.
      RETURN_IF_ERROR(env_.TruncateFile(path, seg.committed_end));
      recovery_.bytes_truncated += *size - seg.committed_end;
    }
    if (!seg.sealed) {
      Status s = CheckOpenSegmentTail(path, seg.stream_id, seg.id, seg.committed_end);
      if (!s.ok()) {
        if (s.code() != Code::kDataLoss) return s;
        // Reads of the damaged fragments will say kDataLoss; the rest keeps working.
        ++recovery_.corrupt_segments;
        logger_.Error("archive", "segment does not match its index",
                      {{"path", path}, {"error", s.ToString()}});
      }
    }
  }
  // Nothing is open after a restart: new fragments go to new segment files.
  return writer_->Exec("UPDATE segments SET sealed=1 WHERE sealed=0");
}

Status LocalArchive::CheckOpenSegmentTail(const std::string& path, int64_t stream_id,
                                          int64_t segment_id, uint64_t committed_end) {
  // The file was open at the crash: check its header and its last record cheaply.
  ASSIGN_OR_RETURN(auto file, env_.OpenReadable(path));
  std::string head(kSegmentHeaderSize, '\0');
  RETURN_IF_ERROR(file->Read(0, head.size(), head.data()));
  RETURN_IF_ERROR(CheckSegmentHeader(head, stream_id, segment_id));
  ASSIGN_OR_RETURN(Stmt * last,
                   writer_->Prepare("SELECT seq, byte_offset, byte_length FROM fragments WHERE"
                                    " stream_id=?1 AND segment_id=?2 ORDER BY seq DESC LIMIT 1"));
  last->Bind(1, stream_id).Bind(2, segment_id);
  Result<bool> row = last->Step();
  if (!row.ok() || !*row) {
    last->Reset();
    return row.status();
  }
  const uint64_t seq = static_cast<uint64_t>(last->Int(0));
  const uint64_t offset = static_cast<uint64_t>(last->Int(1));
  const uint64_t end = offset + static_cast<uint64_t>(last->Int(2));
  last->Reset();
  std::string rh(kRecordHeaderSize, '\0');
  RETURN_IF_ERROR(file->Read(offset - kRecordHeaderSize, rh.size(), rh.data()));
  ASSIGN_OR_RETURN(RecordHeader h, DecodeRecordHeader(rh));
  if (end != committed_end || h.seq != seq) {
    return DataLoss("segment " + path + ": last record does not match the index");
  }
  return Status::Ok();
}

Status LocalArchive::RemoveOrphans() {
  std::set<std::pair<int64_t, int64_t>> known;  // (stream id, segment id)
  ASSIGN_OR_RETURN(Stmt * st, writer_->Prepare("SELECT stream_id, id FROM segments"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    known.emplace(st->Int(0), st->Int(1));
  }
  st->Reset();

  const std::string seg_root = options_.root + "/segments";
  ASSIGN_OR_RETURN(std::vector<std::string> dirs, env_.ListDir(seg_root));
  for (const std::string& d : dirs) {
    const int64_t stream_id = ParseSegmentFileName(d + ".seg");
    const std::string dir = seg_root + "/" + d;
    const bool stream_known = stream_id >= 0 && names_by_id_.count(stream_id) > 0;
    Result<std::vector<std::string>> files = env_.ListDir(dir);
    if (!files.ok()) {
      // A stray plain file where a stream directory should be.
      RETURN_IF_ERROR(env_.RemoveFile(dir));
      ++recovery_.orphan_files_removed;
      continue;
    }
    for (const std::string& f : *files) {
      const int64_t seg_id = ParseSegmentFileName(f);
      if (stream_known && seg_id >= 0 && known.count({stream_id, seg_id})) continue;
      RETURN_IF_ERROR(env_.RemoveFile(dir + "/" + f));
      ++recovery_.orphan_files_removed;
      logger_.Info("archive", "removed orphan file", {{"path", dir + "/" + f}});
    }
    if (!stream_known) RETURN_IF_ERROR(env_.RemoveDir(dir));
  }
  return Status::Ok();
}

Status LocalArchive::FinishDeletingStream(int64_t stream_id, const std::string& name) {
  std::vector<int64_t> seg_ids;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    Db& db = *control_;
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT id FROM segments WHERE stream_id=?1"));
    st->Bind(1, stream_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      seg_ids.push_back(st->Int(0));
    }
    st->Reset();
  }
  for (int64_t id : seg_ids) RETURN_IF_ERROR(DeleteSegment(id, DeleteReason::kStream));
  std::lock_guard<std::mutex> lock(control_mu_);
  Db& db = *control_;
  RETURN_IF_ERROR(WithReserve([&]() -> Status {
    RETURN_IF_ERROR(db.Begin());
    for (const char* sql :
         {"DELETE FROM fragments WHERE stream_id=?1", "DELETE FROM track_infos WHERE stream_id=?1",
          "DELETE FROM tags WHERE stream_id=?1", "DELETE FROM streams WHERE id=?1"}) {
      Result<Stmt*> st = db.Prepare(sql);
      Status s = st.ok() ? (*st)->Bind(1, stream_id).Run() : st.status();
      if (st.ok()) (*st)->Reset();
      if (!s.ok()) {
        db.Rollback();
        return s;
      }
    }
    Status s = db.Commit();
    if (!s.ok()) db.Rollback();
    return s;
  }));
  // Best effort: the directory is empty unless a file could not be removed.
  env_.RemoveDir(StreamDir(options_.root, stream_id)).IgnoreError();
  logger_.Info("archive", "stream deleted", {{"stream", name}, {"id", stream_id}});
  return Status::Ok();
}

}  // namespace streamarc::archive
