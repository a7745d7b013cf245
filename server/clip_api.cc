#include "server/clip_api.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "common/kvs_request.h"
#include "playback/clip.h"
#include "server/http_range.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

using json = nlohmann::json;

Result<int64_t> EpochSeconds(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return InvalidArgument(std::string("TimestampRange.") + key + " is required");
  }
  if (!it->is_number()) {
    return InvalidArgument(std::string("TimestampRange.") + key + " must be epoch seconds");
  }
  return kvs::EpochSecondsToMicros(it->get<double>(), std::string("TimestampRange.") + key);
}

// The JSON types here; what the name and ARN may be, in kvs::ParseStreamRef.
Result<archive::StreamRef> StreamOf(const json& j) {
  const std::string* fields[2] = {nullptr, nullptr};
  const char* keys[2] = {"StreamName", "StreamARN"};
  for (int i = 0; i < 2; ++i) {
    auto it = j.find(keys[i]);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string()) return InvalidArgument(std::string(keys[i]) + " must be a string");
    fields[i] = it->get_ptr<const std::string*>();
  }
  return kvs::ParseStreamRef(fields[0], fields[1]);
}

// What the handler needs; archive and log outlive the worker pool (ApiContext's contract),
// so a job still queued at shutdown finds them.
struct ClipService {
  archive::Archive& archive;
  Logger& log;
  ClipLimits limits;
  ServerMetrics* metrics;  // null: not counted
};

HttpResponse GetClip(ClipService& svc, const HttpRequest& http) {
  auto req = ParseClipRequest(http.body, svc.limits);
  if (!req.ok()) return KvsErrorResponse(KvsErrorFromStatus(req.status()));
  Result<std::string, KvsError> clip = playback::MakeClip(svc.archive, *req, svc.limits, svc.log);
  if (!clip.ok()) return KvsErrorResponse(clip.error());
  HttpResponse r = ServeBody(http, std::move(clip).value(), "video/mp4");
  if (svc.metrics && r.status / 100 == 2) {
    svc.metrics->CountOut("clip", StreamLabel(req->stream), r.body.size(), 0);
  }
  return r;
}

}  // namespace

Result<ClipRequest> ParseClipRequest(std::string_view body, const ClipLimits& limits) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("the body is not a JSON object");
  ClipRequest r;
  ASSIGN_OR_RETURN(r.stream, StreamOf(j));
  auto sel = j.find("ClipFragmentSelector");
  if (sel == j.end() || !sel->is_object()) {
    return InvalidArgument("ClipFragmentSelector is required");
  }
  auto type = sel->find("FragmentSelectorType");
  if (type == sel->end() || !type->is_string()) {
    return InvalidArgument("ClipFragmentSelector.FragmentSelectorType is required");
  }
  if (*type == "PRODUCER_TIMESTAMP") {
    r.type = archive::TimestampType::kProducer;
  } else if (*type == "SERVER_TIMESTAMP") {
    r.type = archive::TimestampType::kServer;
  } else {
    return InvalidArgument("FragmentSelectorType must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP");
  }
  auto range = sel->find("TimestampRange");
  if (range == sel->end() || !range->is_object()) {
    return InvalidArgument("ClipFragmentSelector.TimestampRange is required");
  }
  ASSIGN_OR_RETURN(r.start_us, EpochSeconds(*range, "StartTimestamp"));
  ASSIGN_OR_RETURN(r.end_us, EpochSeconds(*range, "EndTimestamp"));
  if (r.end_us <= r.start_us) {
    return InvalidArgument("EndTimestamp must be later than StartTimestamp");
  }
  if (r.end_us - r.start_us > limits.max_range_us) {
    return InvalidArgument("the TimestampRange must be within 24 hours");
  }
  return r;
}

void RegisterClipApi(Router& http, const ApiContext& ctx, const ClipLimits& limits) {
  auto svc = std::make_shared<ClipService>(ClipService{ctx.archive, ctx.log, limits, ctx.metrics});
  http.Route("POST", "/getClip", [svc](const HttpRequest& req) { return GetClip(*svc, req); });
}

void RegisterClipApi(Router& http, const ApiContext& ctx) {
  RegisterClipApi(http, ctx, ClipLimits{});
}

}  // namespace streamarc::server
