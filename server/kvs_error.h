// KVS's error responses: HTTP status, `x-amzn-ErrorType` header and {"Message": ...} body,
// which botocore, the AWS SDKs and the producer SDK all understand.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/http.h"

namespace streamarc::server {

// One KVS exception with its HTTP status.
HttpResponse KvsError(int http_status, std::string_view type, std::string_view message);

// The KVS exception for a Status from the archive. `exhausted_type` names what
// kResourceExhausted means for this operation (tags, streams, rate...).
HttpResponse KvsErrorFromStatus(const Status& status,
                                std::string_view exhausted_type = "ClientLimitExceededException",
                                std::string_view precondition_type = "VersionMismatchException");

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
