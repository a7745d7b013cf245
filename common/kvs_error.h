// KVS's exceptions as values. A service (ingest, playback, the control plane) refuses a
// request with a KvsError: which of KVS's exceptions it is, and the Status that explains it.
// The HTTP front turns one into KVS's error response (HTTP status, x-amzn-ErrorType,
// {"Message"}) in one function, server/kvs_error.h; nothing here knows HTTP. A call that
// yields a value or a refusal returns Result<T, KvsError> (common/status.h).
#pragma once

#include <string_view>

#include "common/status.h"

namespace streamarc {

// Every exception name our APIs answer with (kvs-api.md §1.3, §2.1-2.2, §3). Closed: a new
// refusal picks one of these, and server/kvs_error.cc gives each its HTTP status.
enum class KvsErrorType {
  kInvalidArgument,               // InvalidArgumentException: a malformed or out-of-range field
  kMissingParameter,              // MissingParameter: a required query parameter is absent
  kNotAuthorized,                 // NotAuthorizedException: a forged or expired session token
  kAccessDenied,                  // AccessDeniedException: the guard's, or a key's missing right
  kMissingAuthenticationToken,    // MissingAuthenticationTokenException: keys needed, none sent
  kIncompleteSignature,           // IncompleteSignatureException: a malformed SigV4 signature
  kInvalidSignature,              // InvalidSignatureException: wrong, or outside the clock skew
  kUnrecognizedClient,            // UnrecognizedClientException: an access key we do not know
  kResourceNotFound,              // ResourceNotFoundException: stream, fragment, data in range
  kResourceInUse,                 // ResourceInUseException: creating a stream that exists
  kVersionMismatch,               // VersionMismatchException: CurrentVersion is not the stream's
  kNoDataRetention,               // NoDataRetentionException: playback of a retention-0 stream
  kClientLimitExceeded,           // ClientLimitExceededException: a rate or size limit
  kConnectionLimitExceeded,       // ConnectionLimitExceededException: per-stream connections
  kAccountStreamLimitExceeded,    // AccountStreamLimitExceededException: too many streams
  kTagsPerResourceExceededLimit,  // TagsPerResourceExceededLimitException: over 50 tags
  kInvalidMediaFrame,             // InvalidMediaFrameException: GetClip's malformed media
  kUnsupportedStreamMediaType,    // UnsupportedStreamMediaTypeException: a codec we cannot package
  kMissingCodecPrivateData,       // MissingCodecPrivateDataException: a track without CodecPrivate
  kInvalidEndpoint,               // InvalidEndpointException: a data-plane call at the wrong host
  kUnknownOperation,              // UnknownOperationException: no route for the method and path
  kServiceUnavailable,            // ServiceUnavailableException: busy or shutting down; retried
  kInternalFailure,               // InternalFailure: ours (corrupt data, I/O, a bug)
};
// How many types there are: kInternalFailure stays the last enumerator.
inline constexpr int kKvsErrorTypeCount = static_cast<int>(KvsErrorType::kInternalFailure) + 1;

// KVS's name for the exception, as x-amzn-ErrorType carries it ("ResourceNotFoundException").
std::string_view KvsErrorName(KvsErrorType type);

struct KvsError {
  KvsErrorType type = KvsErrorType::kInternalFailure;
  Status status;  // the cause; its message is the one the client reads
};

// The exception a Status stands for, wherever an API has no more specific one: kNotFound is
// ResourceNotFound, kAlreadyExists ResourceInUse, kInvalidArgument/kOutOfRange
// InvalidArgument, kFailedPrecondition VersionMismatch, kUnavailable ServiceUnavailable, and
// kResourceExhausted is `exhausted`: which of KVS's limits the operation hit (ClientLimitExceeded
// unless the caller knows better, e.g. TagsPerResourceExceededLimit for CreateStream and TagStream,
// ConnectionLimitExceeded for a connection slot). Codes with no KVS meaning are an InternalFailure
// whose message names the code ("IoError: ..."). kPermissionDenied is one of them: inside the
// server it is the disk refusing us (EACCES), never the client's fault; a refused client is named
// explicitly (kNotAuthorized, kAccessDenied) where the credentials are checked.
KvsError KvsErrorFromStatus(Status status,
                            KvsErrorType exhausted = KvsErrorType::kClientLimitExceeded);

}  // namespace streamarc
