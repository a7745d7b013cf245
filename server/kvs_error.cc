#include "server/kvs_error.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace streamarc::server {

int KvsHttpStatus(KvsErrorType type) {
  switch (type) {
    case KvsErrorType::kResourceNotFound:
    case KvsErrorType::kUnknownOperation:
      return 404;
    // KVS's model says 401 for both, but its front door answers a bad signature or an
    // expired token with 403, and so have we for a session token and the request guard.
    case KvsErrorType::kNotAuthorized:
    case KvsErrorType::kAccessDenied:
    // AWS's front door, for a request it cannot authenticate.
    case KvsErrorType::kMissingAuthenticationToken:
    case KvsErrorType::kInvalidSignature:
    case KvsErrorType::kUnrecognizedClient:
      return 403;
    case KvsErrorType::kServiceUnavailable:
      return 503;  // clients and the AWS SDKs retry it
    case KvsErrorType::kInternalFailure:
      return 500;
    case KvsErrorType::kInvalidArgument:
    case KvsErrorType::kMissingParameter:
    case KvsErrorType::kIncompleteSignature:
    case KvsErrorType::kResourceInUse:
    case KvsErrorType::kVersionMismatch:
    case KvsErrorType::kNoDataRetention:
    case KvsErrorType::kClientLimitExceeded:
    case KvsErrorType::kConnectionLimitExceeded:
    case KvsErrorType::kAccountStreamLimitExceeded:
    case KvsErrorType::kTagsPerResourceExceededLimit:
    case KvsErrorType::kInvalidMediaFrame:
    case KvsErrorType::kUnsupportedStreamMediaType:
    case KvsErrorType::kMissingCodecPrivateData:
    case KvsErrorType::kInvalidEndpoint:
      return 400;
  }
  return 500;  // a value cast from outside the enum: InternalFailure's
}

HttpResponse KvsErrorResponse(const KvsError& error) {
  nlohmann::json body = {{"Message", error.status.message()}};
  return HttpResponse{KvsHttpStatus(error.type),
                      "application/json",
                      {{"x-amzn-errortype", std::string(KvsErrorName(error.type))}},
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse HttpLayerErrorResponse(int status, std::string message) {
  std::string_view type = KvsErrorName(KvsErrorType::kInvalidArgument);
  if (status == 408) {
    type = "RequestTimeoutException";
  } else if (status == 503) {
    type = KvsErrorName(KvsErrorType::kServiceUnavailable);
  } else if (status == 500) {
    type = KvsErrorName(KvsErrorType::kInternalFailure);
  }
  nlohmann::json body = {{"Message", std::move(message)}};
  return HttpResponse{status,
                      "application/json",
                      {{"x-amzn-errortype", std::string(type)}},
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse JsonOk(std::string body) {
  return HttpResponse{200, "application/json", {}, std::move(body)};
}

std::string RequestIds::Next() {
  uint64_t n = counter_.fetch_add(1) + 1;
  char buf[48];
  // UUID-shaped, as AWS's are: 8-4-4-4-12 hex digits.
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(seed_ >> 32),
                static_cast<unsigned>((seed_ >> 16) & 0xFFFF),
                static_cast<unsigned>(seed_ & 0xFFFF), static_cast<unsigned>((n >> 48) & 0xFFFF),
                static_cast<unsigned long long>(n & 0xFFFFFFFFFFFFull));
  return buf;
}

}  // namespace streamarc::server
