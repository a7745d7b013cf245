#include "server/kvs_error.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace streamarc::server {

HttpResponse KvsError(int http_status, std::string_view type, std::string_view message) {
  nlohmann::json body = {{"Message", std::string(message)}};
  return HttpResponse{http_status,
                      "application/json",
                      {{"x-amzn-errortype", std::string(type)}},
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpResponse KvsErrorFromStatus(const Status& s, std::string_view exhausted_type,
                                std::string_view precondition_type) {
  switch (s.code()) {
    case Code::kNotFound:
      return KvsError(404, "ResourceNotFoundException", s.message());
    case Code::kAlreadyExists:
      return KvsError(400, "ResourceInUseException", s.message());
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return KvsError(400, "InvalidArgumentException", s.message());
    case Code::kFailedPrecondition:
      return KvsError(400, precondition_type, s.message());
    case Code::kResourceExhausted:
      return KvsError(400, exhausted_type, s.message());
    case Code::kPermissionDenied:
      return KvsError(401, "NotAuthorizedException", s.message());
    case Code::kUnavailable:
      return KvsError(503, "ServiceUnavailableException", s.message());
    default:
      return KvsError(500, "InternalFailure", s.ToString());
  }
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
