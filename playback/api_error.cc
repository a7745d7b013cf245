#include "playback/api_error.h"

#include "playback/remux.h"

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

ApiError PackagingError(const Status& s, ErrorType malformed) {
  if (IsMissingCodecPrivate(s)) return {ErrorType::kMissingCodecPrivateData, s};
  if (IsUnsupportedCodec(s)) return {ErrorType::kUnsupportedStreamMediaType, s};
  switch (s.code()) {
    case Code::kInvalidArgument:
      return {malformed, s};
    case Code::kDataLoss:
    case Code::kInternal:
    case Code::kFailedPrecondition:
      return {ErrorType::kInternalFailure, Status(s.code(), s.ToString())};
    default:
      return ErrorFromStatus(s);
  }
}

}  // namespace streamarc::playback
