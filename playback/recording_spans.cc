#include "playback/recording_spans.h"

#include "playback/recording_spans_request.h"

namespace streamarc::playback {

Result<std::string, KvsError> RecordingSpansService::ListRecordingSpans(std::string_view body) {
  Result<archive::ListSpansRequest> req = ParseListSpansRequest(body);
  if (!req.ok()) return KvsErrorFromStatus(req.status());
  Result<archive::ListSpansResult> page = archive_.ListRecordingSpans(*req);
  if (!page.ok()) return KvsErrorFromStatus(page.status());
  return ListSpansResponseJson(*page);
}

}  // namespace streamarc::playback
