#include "server/playback_error.h"

#include <string_view>
#include <utility>

#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

using playback::ErrorType;

// KVS's HTTP status and exception name for each type.
std::pair<int, std::string_view> Shape(ErrorType type) {
  switch (type) {
    case ErrorType::kInvalidArgument:
      return {400, "InvalidArgumentException"};
    case ErrorType::kMissingParameter:
      return {400, "MissingParameter"};
    case ErrorType::kNotAuthorized:
      return {403, "NotAuthorizedException"};
    case ErrorType::kResourceNotFound:
      return {404, "ResourceNotFoundException"};
    case ErrorType::kResourceInUse:
      return {400, "ResourceInUseException"};
    case ErrorType::kVersionMismatch:
      return {400, "VersionMismatchException"};
    case ErrorType::kNoDataRetention:
      return {400, "NoDataRetentionException"};
    case ErrorType::kUnsupportedStreamMediaType:
      return {400, "UnsupportedStreamMediaTypeException"};
    case ErrorType::kMissingCodecPrivateData:
      return {400, "MissingCodecPrivateDataException"};
    case ErrorType::kClientLimitExceeded:
      return {400, "ClientLimitExceededException"};
    case ErrorType::kInvalidMediaFrame:
      return {400, "InvalidMediaFrameException"};
    case ErrorType::kServiceUnavailable:
      return {503, "ServiceUnavailableException"};
    case ErrorType::kInternalFailure:
      break;
  }
  return {500, "InternalFailure"};
}

}  // namespace

HttpResponse KvsErrorResponse(const playback::ApiError& error) {
  auto [status, type] = Shape(error.type);
  return KvsError(status, type, error.status.message());
}

}  // namespace streamarc::server
