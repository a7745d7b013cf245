#include "common/kvs_error.h"

#include <utility>

namespace streamarc {

std::string_view KvsErrorName(KvsErrorType type) {
  switch (type) {
    case KvsErrorType::kInvalidArgument:
      return "InvalidArgumentException";
    case KvsErrorType::kMissingParameter:
      return "MissingParameter";
    case KvsErrorType::kNotAuthorized:
      return "NotAuthorizedException";
    case KvsErrorType::kAccessDenied:
      return "AccessDeniedException";
    case KvsErrorType::kMissingAuthenticationToken:
      return "MissingAuthenticationTokenException";
    case KvsErrorType::kIncompleteSignature:
      return "IncompleteSignatureException";
    case KvsErrorType::kInvalidSignature:
      return "InvalidSignatureException";
    case KvsErrorType::kUnrecognizedClient:
      return "UnrecognizedClientException";
    case KvsErrorType::kResourceNotFound:
      return "ResourceNotFoundException";
    case KvsErrorType::kResourceInUse:
      return "ResourceInUseException";
    case KvsErrorType::kVersionMismatch:
      return "VersionMismatchException";
    case KvsErrorType::kNoDataRetention:
      return "NoDataRetentionException";
    case KvsErrorType::kClientLimitExceeded:
      return "ClientLimitExceededException";
    case KvsErrorType::kConnectionLimitExceeded:
      return "ConnectionLimitExceededException";
    case KvsErrorType::kAccountStreamLimitExceeded:
      return "AccountStreamLimitExceededException";
    case KvsErrorType::kTagsPerResourceExceededLimit:
      return "TagsPerResourceExceededLimitException";
    case KvsErrorType::kInvalidMediaFrame:
      return "InvalidMediaFrameException";
    case KvsErrorType::kUnsupportedStreamMediaType:
      return "UnsupportedStreamMediaTypeException";
    case KvsErrorType::kMissingCodecPrivateData:
      return "MissingCodecPrivateDataException";
    case KvsErrorType::kInvalidEndpoint:
      return "InvalidEndpointException";
    case KvsErrorType::kUnknownOperation:
      return "UnknownOperationException";
    case KvsErrorType::kServiceUnavailable:
      return "ServiceUnavailableException";
    case KvsErrorType::kInternalFailure:
      break;
  }
  return "InternalFailure";  // also for a value cast from outside the enum
}

KvsError KvsErrorFromStatus(Status s, KvsErrorType exhausted) {
  switch (s.code()) {
    case Code::kNotFound:
      return {KvsErrorType::kResourceNotFound, std::move(s)};
    case Code::kAlreadyExists:
      return {KvsErrorType::kResourceInUse, std::move(s)};
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return {KvsErrorType::kInvalidArgument, std::move(s)};
    case Code::kFailedPrecondition:
      return {KvsErrorType::kVersionMismatch, std::move(s)};
    case Code::kResourceExhausted:
      return {exhausted, std::move(s)};
    case Code::kUnavailable:
      return {KvsErrorType::kServiceUnavailable, std::move(s)};
    default:
      // No KVS meaning: the client reads which of our failures it was.
      return {KvsErrorType::kInternalFailure, Status(s.code(), s.ToString())};
  }
}

}  // namespace streamarc
