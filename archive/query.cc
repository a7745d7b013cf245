// Queries. The index answers from committed rows only, without waiting for the commit
// thread; fragments older than the stream's retention are hidden even before the sweeper
// deletes them (read-only, none are: Cutoff). Bytes come from the segment store.
#include <algorithm>
#include <limits>

#include "archive/local_archive.h"
#include "archive/segment.h"

namespace streamarc::archive {

Result<LocalArchive::StreamState> LocalArchive::Resolve(const StreamRef& ref) const {
  std::string name = ref.name;
  if (!ref.arn.empty()) {
    ASSIGN_OR_RETURN(name, kvs::StreamNameFromArn(ref.arn));
  } else {
    RETURN_IF_ERROR(ValidateStreamName(name));
  }
  MutexLock lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end() || (!ref.arn.empty() && ref.arn != it->second.info.arn)) {
    return NotFound("stream not found: " + name);
  }
  return it->second;
}

int64_t LocalArchive::Cutoff(const StreamState& s) const {
  // Read-only, the archive is frozen as it was: nothing expires from view, so a snapshot of
  // last month, or a disk that went read-only days ago, still shows what it holds.
  if (options_.read_only && s.info.retention_hours > 0) return std::numeric_limits<int64_t>::min();
  return clock_.NowMicros() - static_cast<int64_t>(s.info.retention_hours) * kMicrosPerHour;
}

FragmentInfo LocalArchive::ToInfo(IndexedFragment f, const StreamState& s) const {
  FragmentInfo out;
  out.number = FormatFragmentNumber(f.seq, suffix_);
  out.stream_name = s.info.name;
  out.producer_timestamp_us = f.producer_us;
  out.server_timestamp_us = f.server_us;
  out.duration_us = f.duration_us;
  out.size_bytes = f.size_bytes;
  out.track_info = std::move(f.track_info);
  out.key_frame_offsets = std::move(f.key_frame_offsets);
  return out;
}

Result<FragmentInfo> LocalArchive::GetFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  ASSIGN_OR_RETURN(uint64_t seq, ParseFragmentNumber(number, suffix_));
  ASSIGN_OR_RETURN(std::optional<IndexedFragment> f, index_->Get(s.id, seq, Cutoff(s)));
  if (!f) return NotFound("fragment not found: " + std::string(number));
  return ToInfo(std::move(*f), s);
}

Result<ListResult> LocalArchive::ListFragments(const ListRequest& req) {
  if (req.max_results < 1 || req.max_results > 1000) {
    return InvalidArgument("max_results must be 1-1000");
  }
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(req.stream));
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
  int64_t from_ts = c.last_ts, from_seq = c.last_seq;
  // Skip the expired head of a server-time range through the index, not row by row.
  if (c.type == 1 && from_ts < cutoff) {
    from_ts = cutoff;
    from_seq = -1;
  }
  ASSIGN_OR_RETURN(std::vector<IndexedFragment> rows,
                   index_->List(s.id, c.type == 0 ? IndexTime::kProducer : IndexTime::kServer,
                                from_ts, from_seq, c.end_us, cutoff, req.max_results + 1));
  ListResult out;
  if (rows.size() > static_cast<size_t>(req.max_results)) {
    rows.resize(static_cast<size_t>(req.max_results));
    const IndexedFragment& last = rows.back();
    c.last_ts = c.type == 0 ? last.producer_us : last.server_us;
    c.last_seq = static_cast<int64_t>(last.seq);
    out.next_token = EncodeCursor(c);
  }
  out.fragments.reserve(rows.size());
  for (IndexedFragment& f : rows) out.fragments.push_back(ToInfo(std::move(f), s));
  return out;
}

Result<std::vector<FragmentInfo>> LocalArchive::FragmentsAfter(const StreamRef& ref,
                                                               std::string_view after_number,
                                                               int max) {
  if (max < 1 || max > 10000) return InvalidArgument("max must be 1-10000");
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  uint64_t after = 0;
  if (!after_number.empty()) {
    ASSIGN_OR_RETURN(after, ParseFragmentNumber(after_number, suffix_));
  }
  ASSIGN_OR_RETURN(std::vector<IndexedFragment> rows, index_->After(s.id, after, Cutoff(s), max));
  std::vector<FragmentInfo> out;
  out.reserve(rows.size());
  for (IndexedFragment& f : rows) out.push_back(ToInfo(std::move(f), s));
  return out;
}

Result<FragmentInfo> LocalArchive::FirstAtOrAfter(const StreamRef& ref, TimestampType type,
                                                  int64_t timestamp_us) {
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  int64_t from = timestamp_us;
  if (type == TimestampType::kServer) from = std::max(from, Cutoff(s));
  ASSIGN_OR_RETURN(
      std::optional<IndexedFragment> f,
      index_->FirstAtOrAfter(
          s.id, type == TimestampType::kProducer ? IndexTime::kProducer : IndexTime::kServer, from,
          Cutoff(s)));
  if (!f) return NotFound("no fragment at or after that time");
  return ToInfo(std::move(*f), s);
}

Result<FragmentInfo> LocalArchive::Latest(const StreamRef& ref) {
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  ASSIGN_OR_RETURN(std::optional<IndexedFragment> f, index_->Latest(s.id, Cutoff(s)));
  if (!f) return NotFound("stream has no fragments: " + s.info.name);
  return ToInfo(std::move(*f), s);
}

Result<LocalArchive::OpenedRecord> LocalArchive::OpenRecord(const StreamRef& ref,
                                                            std::string_view number) {
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(ref));
  ASSIGN_OR_RETURN(uint64_t seq, ParseFragmentNumber(number, suffix_));
  ASSIGN_OR_RETURN(std::optional<FragmentLocation> loc, index_->Locate(s.id, seq, Cutoff(s)));
  if (!loc) return NotFound("fragment not found: " + std::string(number));
  const std::string segment = std::to_string(s.id) + "/" + std::to_string(loc->segment_id);
  Result<std::shared_ptr<const SegmentReader>> reader =
      segments_->Open(SegmentKey{s.id, loc->segment_id});
  if (!reader.ok()) {
    if (reader.status().code() == Code::kNotFound) {
      return DataLoss("segment missing: " + segment);
    }
    return reader.status();
  }
  return OpenedRecord{std::move(*reader), *loc, segment};
}

namespace {

// The record header in front of a fragment's bytes must name it, or the index and the
// segment disagree.
Result<RecordHeader> CheckRecordHeader(std::string_view rh, const FragmentLocation& loc,
                                       const std::string& segment, std::string_view number) {
  Result<RecordHeader> h = DecodeRecordHeader(rh);
  if (!h.ok() || h->seq != loc.seq || h->length != loc.length) {
    return DataLoss("segment " + segment + " does not hold fragment " + std::string(number) +
                    " where the index says");
  }
  return h;
}

}  // namespace

Result<FragmentBytes> LocalArchive::OpenFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(OpenedRecord r, OpenRecord(ref, number));
  std::string rh(kRecordHeaderSize, '\0');
  RETURN_IF_ERROR(r.reader->Read(r.loc.offset - kRecordHeaderSize, rh.size(), rh.data()));
  ASSIGN_OR_RETURN(RecordHeader h, CheckRecordHeader(rh, r.loc, r.segment, number));
  FragmentBytes out;
  out.reader = std::move(r.reader);
  out.offset = r.loc.offset;
  out.length = r.loc.length;
  out.crc32 = h.crc32;
  return out;
}

Result<std::string> LocalArchive::ReadFragment(const StreamRef& ref, std::string_view number) {
  ASSIGN_OR_RETURN(OpenedRecord r, OpenRecord(ref, number));
  // The record (header and bytes) in one read: from a bucket, one ranged GET instead of two.
  std::string record(kRecordHeaderSize + r.loc.length, '\0');
  RETURN_IF_ERROR(r.reader->Read(r.loc.offset - kRecordHeaderSize, record.size(), record.data()));
  ASSIGN_OR_RETURN(RecordHeader h,
                   CheckRecordHeader(std::string_view(record).substr(0, kRecordHeaderSize), r.loc,
                                     r.segment, number));
  record.erase(0, kRecordHeaderSize);
  if (Crc32(record) != h.crc32) {
    return DataLoss("fragment " + std::string(number) + " fails its checksum");
  }
  return record;
}

}  // namespace streamarc::archive
