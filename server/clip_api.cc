#include "server/clip_api.h"

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "playback/clip.h"
#include "server/http_range.h"
#include "server/kvs_error.h"
#include "server/playback_error.h"

namespace streamarc::server {
namespace {

using json = nlohmann::json;

Result<int64_t> EpochSeconds(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end())
    return InvalidArgument(std::string("TimestampRange.") + key + " is required");
  if (!it->is_number()) {
    return InvalidArgument(std::string("TimestampRange.") + key + " must be epoch seconds");
  }
  double seconds = it->get<double>();
  // Before 1970 or past year 9999 is nothing a stream holds.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) {
    return InvalidArgument(std::string("TimestampRange.") + key + " is out of range");
  }
  return static_cast<int64_t>(std::llround(seconds * 1e6));
}

Result<archive::StreamRef> StreamOf(const json& j) {
  auto name = j.find("StreamName");
  auto arn = j.find("StreamARN");
  bool has_name = name != j.end() && !name->is_null();
  bool has_arn = arn != j.end() && !arn->is_null();
  if (has_name == has_arn) return InvalidArgument("give exactly one of StreamName or StreamARN");
  if (has_name) {
    if (!name->is_string()) return InvalidArgument("StreamName must be a string");
    RETURN_IF_ERROR(archive::ValidateStreamName(name->get<std::string>()));
    return archive::StreamRef::Name(name->get<std::string>());
  }
  if (!arn->is_string() || arn->get<std::string>().empty() ||
      arn->get<std::string>().size() > 1024) {
    return InvalidArgument("StreamARN must be a string of 1 to 1024 characters");
  }
  return archive::StreamRef::Arn(arn->get<std::string>());
}

HttpResponse WithRequestId(HttpResponse r, RequestIds& ids) {
  r.headers.push_back({"x-amzn-requestid", ids.Next()});
  return r;
}

// What the handler needs; archive, ids and log outlive the worker pool (ApiContext's
// contract), so a job still queued at shutdown finds them.
struct ClipService {
  archive::Archive& archive;
  RequestIds& ids;
  Logger& log;
  ClipLimits limits;
};

HttpResponse GetClip(ClipService& svc, const HttpRequest& http) {
  auto req = ParseClipRequest(http.body, svc.limits);
  if (!req.ok()) return KvsErrorFromStatus(req.status());
  playback::Outcome<std::string> clip = playback::MakeClip(svc.archive, *req, svc.limits, svc.log);
  if (!clip.ok()) return KvsErrorResponse(clip.error());
  return ServeBody(http, std::move(clip).value(), "video/mp4");
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
  auto svc = std::make_shared<ClipService>(ClipService{ctx.archive, ctx.ids, ctx.log, limits});
  http.Route("POST", "/getClip",
             [svc](const HttpRequest& req) { return WithRequestId(GetClip(*svc, req), svc->ids); });
}

void RegisterClipApi(Router& http, const ApiContext& ctx) {
  RegisterClipApi(http, ctx, ClipLimits{});
}

}  // namespace streamarc::server
