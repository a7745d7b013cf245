// How playback's services refuse a request: KVS's exception name as a closed enum plus the
// Status that explains it. The front door turns an ApiError into KVS's error response (HTTP
// status, x-amzn-ErrorType, {"Message"}) in one place; nothing here knows HTTP.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace streamarc::playback {

// KVS's exception names, as the archived-media APIs (HLS/DASH, GetClip) use them.
enum class ErrorType {
  kInvalidArgument,             // InvalidArgumentException
  kMissingParameter,            // MissingParameter (a required query parameter is absent)
  kNotAuthorized,               // NotAuthorizedException (session token forged or expired)
  kResourceNotFound,            // ResourceNotFoundException (stream, fragment, data in range)
  kResourceInUse,               // ResourceInUseException
  kVersionMismatch,             // VersionMismatchException
  kNoDataRetention,             // NoDataRetentionException
  kUnsupportedStreamMediaType,  // UnsupportedStreamMediaTypeException
  kMissingCodecPrivateData,     // MissingCodecPrivateDataException
  kClientLimitExceeded,         // ClientLimitExceededException
  kInvalidMediaFrame,           // InvalidMediaFrameException
  kServiceUnavailable,          // ServiceUnavailableException
  kInternalFailure,             // InternalFailure
};

struct ApiError {
  ErrorType type = ErrorType::kInternalFailure;
  Status status;  // the cause; its message is the one the client reads
};

// The exception an archive (or other non-packaging) Status stands for: kNotFound is
// ResourceNotFound, kInvalidArgument/kOutOfRange InvalidArgument, kResourceExhausted
// ClientLimitExceeded, kUnavailable ServiceUnavailable; codes with no KVS meaning are an
// InternalFailure whose message names the code.
ApiError ErrorFromStatus(const Status& status);

// The one mapping of the packagers' (playback/remux.h) refusals, for HLS/DASH and GetClip:
// a missing CodecPrivate and an unsupported codec keep their own exceptions; other malformed
// media (kInvalidArgument) is `malformed` (GetClip says InvalidMediaFrame); corrupt stored
// data and packager failures (kDataLoss, kInternal, kFailedPrecondition) are ours,
// InternalFailure; the rest as ErrorFromStatus.
ApiError PackagingError(const Status& status, ErrorType malformed = ErrorType::kInvalidArgument);

// A value or the ApiError that explains its absence.
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Outcome(ApiError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const ApiError& error() const {
    assert(!ok());
    return std::get<ApiError>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace streamarc::playback
