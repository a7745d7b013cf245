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

// The KVS exception for a packager's refusal (playback/remux.h), for every API that remuxes
// (HLS/DASH segments, GetClip):
//  - missing CodecPrivate: 400 MissingCodecPrivateDataException;
//  - a codec the packagers cannot carry: 400 UnsupportedStreamMediaTypeException;
//  - other malformed media (kInvalidArgument): 400 `malformed_type`, which is the API's name
//    for frames it cannot parse (GetClip: "InvalidMediaFrameException");
//  - stored bytes that can no longer be read (kDataLoss): 500 InternalFailure, our fault;
//  - anything else as KvsErrorFromStatus (a fragment expired meanwhile: 404, ...), except
//    kFailedPrecondition and kInternal (a packager that cannot run): 500 InternalFailure.
HttpResponse KvsErrorFromRemux(const Status& status,
                               std::string_view malformed_type = "InvalidArgumentException");

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
