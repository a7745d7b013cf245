// Analysis events (PutEvents, ListEvents) as a service that knows no HTTP: it parses the JSON
// body (playback/events_request.h), calls the archive, and answers the response's JSON or
// the KVS exception that refuses the request. The HTTP front (server/events_api.h) only
// routes and maps the KvsError to KVS's error response.
//
// Why here: events are read next to the archived media (GetClip, GetImages, the console's
// timeline), and playback already holds the archived-media request parsers it shares its
// field readers with; the storage itself is the archive's (archive::Archive::PutEvents).
#pragma once

#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/kvs_error.h"
#include "common/status.h"

namespace streamarc::playback {

// Thread-safe. Each call blocks on the archive (SQLite): call it from a worker thread, never
// the HTTP service thread. `archive` outlives the service.
class EventsService {
 public:
  explicit EventsService(archive::Archive& archive) : archive_(archive) {}

  // {"EventIds": [...]}. InvalidArgument for malformed input, ClientLimitExceeded past
  // archive::kMaxEventsPerPut events, ResourceNotFound for an unknown stream,
  // NoDataRetention for a stream that keeps no data.
  Result<std::string, KvsError> PutEvents(std::string_view body);
  // {"Events": [...], "NextToken"?}. InvalidArgument for malformed input or a NextToken not
  // issued for this stream, ResourceNotFound for an unknown stream.
  Result<std::string, KvsError> ListEvents(std::string_view body);

 private:
  archive::Archive& archive_;
};

}  // namespace streamarc::playback
