// ListRecordingSpans as a service that knows no HTTP: where a stream has video, as spans
// merged to the resolution the caller asks for (the console's timeline draws them). It parses
// the JSON body (playback/recording_spans_request.h), calls the archive, which reads the
// spans its index keeps (never every fragment), and answers the response's JSON or the KVS
// exception that refuses the request. The HTTP front (server/spans_api.h) only routes and maps
// the KvsError to KVS's error response.
#pragma once

#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/kvs_error.h"
#include "common/status.h"

namespace streamarc::playback {

// Thread-safe. Each call blocks on the archive (SQLite): call it from a worker thread, never
// the HTTP service thread. `archive` outlives the service.
class RecordingSpansService {
 public:
  explicit RecordingSpansService(archive::Archive& archive) : archive_(archive) {}

  // {"Spans": [...], "NextToken"?}. InvalidArgument for malformed input or a NextToken not
  // issued for this stream, ResourceNotFound for an unknown stream.
  Result<std::string, KvsError> ListRecordingSpans(std::string_view body);

 private:
  archive::Archive& archive_;
};

}  // namespace streamarc::playback
