// Queries. Every query runs on a pooled reader connection (WAL: never blocked by the
// commit thread) and sees only committed rows; fragments older than the stream's retention
// are hidden even before the sweeper deletes them.
#include <algorithm>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

constexpr const char* kCols =
    "SELECT f.seq, f.producer_us, f.server_us, f.duration_us, f.byte_length, f.key_frames,"
    " t.blob FROM fragments f LEFT JOIN track_infos t ON t.id = f.track_info_id ";

}  // namespace

Result<LocalArchive::Reader> LocalArchive::Borrow() const {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!readers_.empty()) {
      std::unique_ptr<Db> db = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db,
                   Db::Open(options_.root + "/index.sqlite", /*create=*/false, options_.sync));
  // Readers map the index instead of copying each page through read(2), and keep more of
  // it cached: a one-hour list touches a few hundred pages.
  RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=1073741824"));
  RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-16384"));
  return Reader(this, std::move(db));
}

Result<LocalArchive::StreamState> LocalArchive::Resolve(const StreamRef& ref) const {
  std::string name = ref.name;
  if (!ref.arn.empty()) {
    ASSIGN_OR_RETURN(name, kvs::StreamNameFromArn(ref.arn));
  } else {
    RETURN_IF_ERROR(ValidateStreamName(name));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end() || (!ref.arn.empty() && ref.arn != it->second.info.arn)) {
    return NotFound("stream not found: " + name);
  }
  return it->second;
}

int64_t LocalArchive::Cutoff(const StreamState& s) const {
  return clock_.NowMicros() - static_cast<int64_t>(s.info.retention_hours) * kMicrosPerHour;
}

Result<FragmentInfo> LocalArchive::RowToInfo(const Stmt& st, const StreamState& s) const {
  FragmentInfo f;
  f.number = FormatFragmentNumber(static_cast<uint64_t>(st.Int(0)), suffix_);
  f.stream_name = s.info.name;
  f.producer_timestamp_us = st.Int(1);
  f.server_timestamp_us = st.Int(2);
  f.duration_us = st.Int(3);
  f.size_bytes = static_cast<uint64_t>(st.Int(4));
  if (!st.IsNull(5)) {
    ASSIGN_OR_RETURN(f.key_frame_offsets, DecodeOffsets(st.Blob(5)));
  }
  if (!st.IsNull(6)) f.track_info = st.Blob(6);
  return f;
}

namespace {

// Runs a prepared query and collects its rows through `conv`, resetting the statement.
template <typename Conv>
Result<std::vector<FragmentInfo>> Collect(Stmt* st, Conv&& conv) {
  std::vector<FragmentInfo> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const Stmt& row) {
    Result<FragmentInfo> f = conv(row);
    if (!f.ok()) return f.status();
    out.push_back(std::move(*f));
    return Status::Ok();
  }));
  return out;
}

}  // namespace

Result<FragmentInfo> LocalArchive::GetFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  ASSIGN_OR_RETURN(uint64_t seq, ParseFragmentNumber(number, suffix_));
  ASSIGN_OR_RETURN(Reader r, Borrow());
  ASSIGN_OR_RETURN(Stmt * st,
                   r.db().Prepare(std::string(kCols) +
                                  "WHERE f.seq=?1 AND f.stream_id=?2 AND f.server_us >= ?3"));
  st->Bind(1, static_cast<int64_t>(seq)).Bind(2, s.id).Bind(3, Cutoff(s));
  ASSIGN_OR_RETURN(auto rows, Collect(st, [&](const Stmt& x) { return RowToInfo(x, s); }));
  if (rows.empty()) return NotFound("fragment not found: " + std::string(number));
  return std::move(rows[0]);
}

Result<ListResult> LocalArchive::ListFragments(const ListRequest& req) {
  if (req.max_results < 1 || req.max_results > 1000) {
    return InvalidArgument("max_results must be 1-1000");
  }
  ASSIGN_OR_RETURN(StreamState s, Resolve(req.stream));
  ListCursor c;
  if (!req.next_token.empty()) {
    ASSIGN_OR_RETURN(c, DecodeCursor(req.next_token));
    if (c.stream_id != s.id) return InvalidArgument("NextToken belongs to another stream");
  } else {
    if (req.end_us < req.start_us) return InvalidArgument("end timestamp before start");
    c = ListCursor{s.id, req.type == TimestampType::kProducer ? 0 : 1, req.end_us, req.start_us,
                   -1};
  }
  const int64_t cutoff = Cutoff(s);
  const char* ts = c.type == 0 ? "f.producer_us" : "f.server_us";
  int64_t from_ts = c.last_ts, from_seq = c.last_seq;
  // Skip the expired head of a server-time range through the index, not row by row.
  if (c.type == 1 && from_ts < cutoff) {
    from_ts = cutoff;
    from_seq = -1;
  }
  ASSIGN_OR_RETURN(Reader r, Borrow());
  ASSIGN_OR_RETURN(Stmt * st, r.db().Prepare(std::string(kCols) + "WHERE f.stream_id=?1 AND (" +
                                             ts + ", f.seq) > (?2, ?3) AND " + ts +
                                             " <= ?4 AND f.server_us >= ?5 ORDER BY " + ts +
                                             ", f.seq LIMIT ?6"));
  st->Bind(1, s.id).Bind(2, from_ts).Bind(3, from_seq).Bind(4, c.end_us).Bind(5, cutoff);
  st->Bind(6, req.max_results + 1);
  ASSIGN_OR_RETURN(auto rows, Collect(st, [&](const Stmt& x) { return RowToInfo(x, s); }));
  ListResult out;
  if (rows.size() > static_cast<size_t>(req.max_results)) {
    rows.resize(static_cast<size_t>(req.max_results));
    const FragmentInfo& last = rows.back();
    c.last_ts = c.type == 0 ? last.producer_timestamp_us : last.server_timestamp_us;
    ASSIGN_OR_RETURN(uint64_t last_seq, ParseFragmentNumber(last.number, suffix_));
    c.last_seq = static_cast<int64_t>(last_seq);
    out.next_token = EncodeCursor(c);
  }
  out.fragments = std::move(rows);
  return out;
}

Result<std::vector<FragmentInfo>> LocalArchive::FragmentsAfter(const StreamRef& ref,
                                                               std::string_view after_number,
                                                               int max) {
  if (max < 1 || max > 10000) return InvalidArgument("max must be 1-10000");
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  uint64_t after = 0;
  if (!after_number.empty()) {
    ASSIGN_OR_RETURN(after, ParseFragmentNumber(after_number, suffix_));
  }
  ASSIGN_OR_RETURN(Reader r, Borrow());
  ASSIGN_OR_RETURN(
      Stmt * st,
      r.db().Prepare(
          std::string(kCols) +
          "WHERE f.stream_id=?1 AND f.seq > ?2 AND f.server_us >= ?3 ORDER BY f.seq LIMIT ?4"));
  st->Bind(1, s.id).Bind(2, static_cast<int64_t>(after)).Bind(3, Cutoff(s)).Bind(4, max);
  return Collect(st, [&](const Stmt& x) { return RowToInfo(x, s); });
}

Result<FragmentInfo> LocalArchive::FirstAtOrAfter(const StreamRef& ref, TimestampType type,
                                                  int64_t timestamp_us) {
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  const std::string ts = type == TimestampType::kProducer ? "f.producer_us" : "f.server_us";
  ASSIGN_OR_RETURN(Reader r, Borrow());
  ASSIGN_OR_RETURN(
      Stmt * st, r.db().Prepare(std::string(kCols) + "WHERE f.stream_id=?1 AND " + ts +
                                " >= ?2 AND f.server_us >= ?3 ORDER BY " + ts + ", f.seq LIMIT 1"));
  int64_t from = timestamp_us;
  if (type == TimestampType::kServer) from = std::max(from, Cutoff(s));
  st->Bind(1, s.id).Bind(2, from).Bind(3, Cutoff(s));
  ASSIGN_OR_RETURN(auto rows, Collect(st, [&](const Stmt& x) { return RowToInfo(x, s); }));
  if (rows.empty()) return NotFound("no fragment at or after that time");
  return std::move(rows[0]);
}

Result<FragmentInfo> LocalArchive::Latest(const StreamRef& ref) {
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  ASSIGN_OR_RETURN(Reader r, Borrow());
  ASSIGN_OR_RETURN(
      Stmt * st,
      r.db().Prepare(std::string(kCols) +
                     "WHERE f.stream_id=?1 AND f.server_us >= ?2 ORDER BY f.seq DESC LIMIT 1"));
  st->Bind(1, s.id).Bind(2, Cutoff(s));
  ASSIGN_OR_RETURN(auto rows, Collect(st, [&](const Stmt& x) { return RowToInfo(x, s); }));
  if (rows.empty()) return NotFound("stream has no fragments: " + s.info.name);
  return std::move(rows[0]);
}

Result<FragmentBytes> LocalArchive::OpenFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  ASSIGN_OR_RETURN(uint64_t seq, ParseFragmentNumber(number, suffix_));
  int64_t segment_id, offset, length;
  {
    ASSIGN_OR_RETURN(Reader r, Borrow());
    ASSIGN_OR_RETURN(Stmt * st,
                     r.db().Prepare("SELECT segment_id, byte_offset, byte_length FROM fragments"
                                    " WHERE seq=?1 AND stream_id=?2 AND server_us >= ?3"));
    st->Bind(1, static_cast<int64_t>(seq)).Bind(2, s.id).Bind(3, Cutoff(s));
    Result<bool> row = st->Step();
    if (!row.ok() || !*row) {
      st->Reset();
      if (!row.ok()) return row.status();
      return NotFound("fragment not found: " + std::string(number));
    }
    segment_id = st->Int(0);
    offset = st->Int(1);
    length = st->Int(2);
    st->Reset();
  }
  const std::string path = SegmentPath(options_.root, s.id, segment_id);
  Result<std::unique_ptr<RandomAccessFile>> file = env_.OpenReadable(path);
  if (!file.ok()) {
    if (file.status().code() == Code::kNotFound) {
      return DataLoss("segment file missing: " + path);
    }
    return file.status();
  }
  std::string rh(kRecordHeaderSize, '\0');
  RETURN_IF_ERROR(
      (*file)->Read(static_cast<uint64_t>(offset) - kRecordHeaderSize, rh.size(), rh.data()));
  Result<RecordHeader> h = DecodeRecordHeader(rh);
  if (!h.ok() || h->seq != seq || h->length != static_cast<uint64_t>(length)) {
    return DataLoss("segment " + path + " does not hold fragment " + std::string(number) +
                    " where the index says");
  }
  FragmentBytes out;
  out.file = std::shared_ptr<const RandomAccessFile>(std::move(*file));
  out.offset = static_cast<uint64_t>(offset);
  out.length = static_cast<uint64_t>(length);
  out.crc32 = h->crc32;
  return out;
}

Result<std::string> LocalArchive::ReadFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(FragmentBytes b, OpenFragment(ref, number));
  std::string data(b.length, '\0');
  RETURN_IF_ERROR(b.file->Read(b.offset, b.length, data.data()));
  if (Crc32(data) != b.crc32) {
    return DataLoss("fragment " + std::string(number) + " fails its checksum");
  }
  return data;
}

}  // namespace streamarc::archive
