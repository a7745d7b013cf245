#include "server/spans_api.h"

#include <memory>

#include "playback/recording_spans.h"
#include "server/kvs_error.h"

namespace streamarc::server {

void RegisterSpansApi(Router& http, const ApiContext& ctx) {
  auto svc = std::make_shared<playback::RecordingSpansService>(ctx.archive);
  http.Route("POST", "/listRecordingSpans", [svc](const HttpRequest& req) {
    Result<std::string, KvsError> r = svc->ListRecordingSpans(req.body);
    if (!r.ok()) return KvsErrorResponse(r.error());
    return JsonOk(std::move(r).value());
  });
}

}  // namespace streamarc::server
