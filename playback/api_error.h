// How playback's packagers' refusals read as KVS exceptions. A playback service refuses a
// request with a KvsError (common/kvs_error.h); the front door turns it into KVS's error
// response in one place (server/kvs_error.h). Nothing here knows HTTP.
#pragma once

#include "common/kvs_error.h"
#include "common/status.h"

namespace streamarc::playback {

// The one mapping of the packagers' (playback/remux.h) refusals, for HLS/DASH and GetClip:
// a missing CodecPrivate and an unsupported codec keep their own exceptions; other malformed
// media (kInvalidArgument) is `malformed` (GetClip says InvalidMediaFrame); corrupt stored
// data and packager failures (kDataLoss, kInternal, kFailedPrecondition) are ours,
// InternalFailure; the rest as KvsErrorFromStatus.
KvsError PackagingError(const Status& status,
                        KvsErrorType malformed = KvsErrorType::kInvalidArgument);

}  // namespace streamarc::playback
