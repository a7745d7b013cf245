// Recorded spans: the index keeps them as fragments come and go (fragment_index.h); the
// listing reads them in pages, merges them to the requested resolution and pages its own
// answer by the end of the last span it returned.
#include <algorithm>
#include <climits>

#include "archive/local_archive.h"

namespace streamarc::archive {
namespace {

// Index rows per read: a month with a gap a minute is 43,200 rows, read in 44 pages.
constexpr int kIndexPage = 1000;

IndexTime ToIndexTime(int type) { return type == 0 ? IndexTime::kProducer : IndexTime::kServer; }

}  // namespace

SpanMerger::SpanMerger(TimestampType type, int64_t min_gap_us)
    : join_us_(type == TimestampType::kProducer ? kSpanJoinProducerUs : kSpanJoinServerUs),
      min_gap_us_(min_gap_us) {}

std::optional<RecordedSpan> SpanMerger::Add(const RecordedSpan& s) {
  if (open_) {
    const int64_t gap = s.start_us - open_->end_us;
    if (gap <= join_us_ || gap < min_gap_us_) {
      open_->start_us = std::min(open_->start_us, s.start_us);
      open_->end_us = std::max(open_->end_us, s.end_us);
      open_->fragments += s.fragments;
      open_->size_bytes += s.size_bytes;
      return std::nullopt;
    }
  }
  std::optional<RecordedSpan> closed = open_;
  open_ = s;
  return closed;
}

std::optional<RecordedSpan> SpanMerger::Finish() {
  std::optional<RecordedSpan> closed = open_;
  open_.reset();
  return closed;
}

Result<ListSpansResult> LocalArchive::ListRecordingSpans(const ListSpansRequest& req) {
  if (req.max_results < 1 || req.max_results > kMaxListSpansResults) {
    return InvalidArgument("max_results must be 1-" + std::to_string(kMaxListSpansResults));
  }
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(req.stream));
  SpanCursor c;
  if (!req.next_token.empty()) {
    ASSIGN_OR_RETURN(c, DecodeSpanCursor(req.next_token));
    if (c.stream_id != s.id) return InvalidArgument("NextToken belongs to another stream");
  } else {
    if (req.end_us < req.start_us) return InvalidArgument("end timestamp before start");
    if (req.min_gap_us < 0) return InvalidArgument("the minimum gap must not be negative");
    c = SpanCursor{s.id,           req.type == TimestampType::kProducer ? 0 : 1,
                   req.start_us,   req.end_us,
                   req.min_gap_us, INT64_MIN};
  }
  const TimestampType type = c.type == 0 ? TimestampType::kProducer : TimestampType::kServer;
  SpanQuery q{ToIndexTime(c.type), c.start_us, c.end_us, INT64_MIN, -1};
  if (c.after_end_us != INT64_MIN) {
    // A later page: the spans starting after the last one returned ended (those starting
    // earlier were merged into it or returned before it).
    q.after_start_us = c.after_end_us;
    q.after_id = INT64_MAX;
  }
  const int64_t cutoff = Cutoff(s);
  SpanMerger merger(type, c.min_gap_us);
  ListSpansResult out;
  for (;;) {
    ASSIGN_OR_RETURN(SpanPage page, index_->ListSpans(s.id, q, cutoff, kIndexPage));
    for (const IndexedSpan& row : page.spans) {
      std::optional<RecordedSpan> closed =
          merger.Add(RecordedSpan{row.start_us, row.end_us, row.fragments, row.size_bytes});
      if (!closed) continue;
      out.spans.push_back(*closed);
      if (out.spans.size() == static_cast<size_t>(req.max_results)) {
        // The span just opened is the first of the next page.
        c.after_end_us = out.spans.back().end_us;
        out.next_token = EncodeSpanCursor(c);
        return out;
      }
    }
    if (!page.more) break;
    q.after_start_us = page.after_start_us;
    q.after_id = page.after_id;
  }
  if (std::optional<RecordedSpan> last = merger.Finish()) out.spans.push_back(*last);
  return out;
}

}  // namespace streamarc::archive
