#include "server/read_only.h"

#include "server/auth.h"
#include "server/kvs_error.h"

namespace streamarc::server {

std::optional<KvsError> ReadOnlyRefusal(const HttpRequest& request, const std::string& reason) {
  // Every write API is a POST that needs the write or the admin right (auth.h's table); the
  // admin right's GET /metrics reads.
  if (request.method != "POST") return std::nullopt;
  const Requirement need = RequirementOf(request);
  if (need.open || (need.right != kRightWrite && need.right != kRightAdmin)) return std::nullopt;
  const std::string message =
      "this streamarcd is read-only (" + reason + "): it serves the video it holds and stores " +
      "nothing, so " + request.path.substr(1) +
      " is refused; restart it on a writable data directory to record again";
  if (need.right == kRightWrite) {
    return KvsError{KvsErrorType::kServiceUnavailable, Unavailable(message)};
  }
  return KvsError{KvsErrorType::kResourceInUse, FailedPrecondition(message)};
}

Middleware ReadOnlyGuard(std::string reason) {
  return Middleware{[reason = std::move(reason)](const HttpRequest& req) {
                      std::optional<HttpResponse> answer;
                      if (auto refusal = ReadOnlyRefusal(req, reason)) {
                        answer = KvsErrorResponse(*refusal);
                      }
                      return answer;
                    },
                    nullptr};
}

}  // namespace streamarc::server
