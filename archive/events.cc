// Analysis events: stored through the fragment index next to the fragments, listed by a
// keyset walk, deleted with the stream's data.
#include <climits>

#include "archive/local_archive.h"

namespace streamarc::archive {
namespace {

// Rows per deletion transaction, so a sweep never holds the index for long.
constexpr int kExpireBatch = 10'000;

// What the listing relies on; the request parser (playback/events_request.h) checks the
// fields' formats and ranges in full.
Status CheckEvents(const std::vector<EventInput>& events) {
  if (events.empty() || events.size() > kMaxEventsPerPut) {
    return InvalidArgument("give 1 to " + std::to_string(kMaxEventsPerPut) + " events");
  }
  for (const EventInput& e : events) {
    if (e.label.empty()) return InvalidArgument("an event needs a label");
    if (e.start_us < 0 || e.end_us < e.start_us) {
      return InvalidArgument("an event's end must not be before its start");
    }
    if (e.end_us - e.start_us > kMaxEventDurationUs) {
      return InvalidArgument("an event may last at most 24 hours");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> LocalArchive::PutEvents(const StreamRef& ref,
                                                         const std::vector<EventInput>& events) {
  if (options_.read_only) return ReadOnlyRefusal();
  RETURN_IF_ERROR(CheckEvents(events));
  // Held while storing, so a DeleteStream either comes first (the stream is not found) or
  // finds these rows and deletes them: no event outlives its stream.
  MutexLock registry(registry_mu_);
  if (coordinator_) RETURN_IF_ERROR(RefreshIfChanged());
  ASSIGN_OR_RETURN(StreamState s, Resolve(ref));
  if (s.info.retention_hours == 0) {
    return FailedPrecondition("stream " + s.info.name + " keeps no data to annotate");
  }
  std::vector<int64_t> ids;
  RETURN_IF_ERROR(WithReserve([&]() -> Status {
    ASSIGN_OR_RETURN(ids, index_->InsertEvents(s.id, events));
    return Status::Ok();
  }));
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(std::to_string(id));
  return out;
}

Result<ListEventsResult> LocalArchive::ListEvents(const ListEventsRequest& req) {
  if (req.max_results < 1 || req.max_results > kMaxListEventsResults) {
    return InvalidArgument("max_results must be 1-" + std::to_string(kMaxListEventsResults));
  }
  ASSIGN_OR_RETURN(StreamState s, ResolveFresh(req.stream));
  EventCursor c;
  if (!req.next_token.empty()) {
    ASSIGN_OR_RETURN(c, DecodeEventCursor(req.next_token));
    if (c.stream_id != s.id) return InvalidArgument("NextToken belongs to another stream");
  } else {
    if (req.end_us < req.start_us) return InvalidArgument("end timestamp before start");
    c = EventCursor{s.id, req.start_us, req.end_us, req.label, INT64_MIN, -1};
  }
  const EventQuery query{c.start_us, c.end_us, c.label, c.last_start_us, c.last_id};
  ASSIGN_OR_RETURN(std::vector<IndexedEvent> rows,
                   index_->ListEvents(s.id, query, req.max_results + 1));
  ListEventsResult out;
  if (rows.size() > static_cast<size_t>(req.max_results)) {
    rows.resize(static_cast<size_t>(req.max_results));
    c.last_start_us = rows.back().event.start_us;
    c.last_id = rows.back().id;
    out.next_token = EncodeEventCursor(c);
  }
  out.events.reserve(rows.size());
  for (IndexedEvent& e : rows) out.events.push_back({std::to_string(e.id), std::move(e.event)});
  return out;
}

Status LocalArchive::ExpireEvents(int64_t stream_id, int64_t cutoff_us) {
  for (;;) {
    YieldIndexToCommits();
    uint64_t n = 0;
    RETURN_IF_ERROR(WithReserve([&]() -> Status {
      ASSIGN_OR_RETURN(n, index_->DeleteExpiredEvents(stream_id, cutoff_us, kExpireBatch));
      return Status::Ok();
    }));
    if (n > 0) {
      MutexLock lock(stats_mu_);
      stats_.events_expired += n;
    }
    if (n < static_cast<uint64_t>(kExpireBatch)) return Status::Ok();
  }
}

}  // namespace streamarc::archive
