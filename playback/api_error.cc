#include "playback/api_error.h"

namespace streamarc::playback {

ApiError ErrorFromStatus(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return {ErrorType::kResourceNotFound, s};
    case Code::kAlreadyExists:
      return {ErrorType::kResourceInUse, s};
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return {ErrorType::kInvalidArgument, s};
    case Code::kFailedPrecondition:
      return {ErrorType::kVersionMismatch, s};
    case Code::kResourceExhausted:
      return {ErrorType::kClientLimitExceeded, s};
    case Code::kPermissionDenied:
      return {ErrorType::kNotAuthorized, s};
    case Code::kUnavailable:
      return {ErrorType::kServiceUnavailable, s};
    default:
      // No KVS meaning: the client reads which of our failures it was.
      return {ErrorType::kInternalFailure, Status(s.code(), s.ToString())};
  }
}

}  // namespace streamarc::playback
