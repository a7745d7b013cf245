#include "playback/events.h"

#include "playback/events_request.h"

namespace streamarc::playback {
namespace {

KvsError ArchiveError(Status s) {
  // The archive refuses a stream without retention with kFailedPrecondition.
  if (s.code() == Code::kFailedPrecondition) return {KvsErrorType::kNoDataRetention, std::move(s)};
  return KvsErrorFromStatus(std::move(s));
}

}  // namespace

Result<std::string, KvsError> EventsService::PutEvents(std::string_view body) {
  Result<PutEventsRequest> req = ParsePutEventsRequest(body);
  if (!req.ok()) return KvsErrorFromStatus(req.status());
  Result<std::vector<std::string>> ids = archive_.PutEvents(req->stream, req->events);
  if (!ids.ok()) return ArchiveError(ids.status());
  return PutEventsResponseJson(*ids);
}

Result<std::string, KvsError> EventsService::ListEvents(std::string_view body) {
  Result<archive::ListEventsRequest> req = ParseListEventsRequest(body);
  if (!req.ok()) return KvsErrorFromStatus(req.status());
  Result<archive::ListEventsResult> page = archive_.ListEvents(*req);
  if (!page.ok()) return ArchiveError(page.status());
  return ListEventsResponseJson(*page);
}

}  // namespace streamarc::playback
