#include "playback/api_error.h"

#include "playback/remux.h"

namespace streamarc::playback {

KvsError PackagingError(const Status& s, KvsErrorType malformed) {
  if (IsMissingCodecPrivate(s)) return {KvsErrorType::kMissingCodecPrivateData, s};
  if (IsUnsupportedCodec(s)) return {KvsErrorType::kUnsupportedStreamMediaType, s};
  switch (s.code()) {
    case Code::kInvalidArgument:
      return {malformed, s};
    case Code::kDataLoss:
    case Code::kInternal:
    case Code::kFailedPrecondition:
      return {KvsErrorType::kInternalFailure, Status(s.code(), s.ToString())};
    default:
      return KvsErrorFromStatus(s);
  }
}

}  // namespace streamarc::playback
