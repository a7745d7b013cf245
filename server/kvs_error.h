// KVS's error responses: HTTP status, `x-amzn-ErrorType` header and {"Message": ...} body,
// which botocore, the AWS SDKs and the producer SDK all understand, made from the typed
// refusal (common/kvs_error.h) the services return.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/kvs_error.h"
#include "server/http.h"

namespace streamarc::server {

// KVS's error response for a refusal: the exception's HTTP status, x-amzn-ErrorType and a
// {"Message"} body with the cause's message. The one place each exception's HTTP status is
// chosen; every route adapter, the middleware and the busy path answer through it.
HttpResponse KvsErrorResponse(const KvsError& error);

// KVS's error shape for what the HTTP front refuses before any route runs (a malformed or
// oversized head, a body that stalls, too many connections), keeping the RFC 9110 status that
// says what went wrong (400, 408, 411, 413, 414, 417, 431, 501, 503, 505). The exception:
//   - 408: RequestTimeoutException. KVS models no timeout exception, but it is the AWS-wide name
//     botocore and the AWS SDKs treat as transient and retry, which is right for a slow link.
//   - 503: ServiceUnavailableException, as the busy path everywhere (retried).
//   - 500: InternalFailure.
//   - any other: InvalidArgumentException, KVS's "the request is malformed" exception that every
//     KVS SDK models: a client fault that the same request would meet again, so not retried.
HttpResponse HttpLayerErrorResponse(int status, std::string message);

// The HTTP status KVS answers `type` with.
int KvsHttpStatus(KvsErrorType type);

// A 200 with a JSON body.
HttpResponse JsonOk(std::string body);

// Request ids for x-amzn-RequestId: unique per process run. Thread-safe.
class RequestIds {
 public:
  explicit RequestIds(int64_t seed) : seed_(static_cast<uint64_t>(seed)) {}
  std::string Next();

 private:
  uint64_t seed_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace streamarc::server
