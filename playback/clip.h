// GetClip: an MP4 of a time range, remuxed from the stored fragments, within KVS's limits.
// No HTTP here: the front door parses the request body and maps a KvsError to KVS's shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "common/status.h"

namespace streamarc::playback {

// KVS's GetClip limits: the first 100 MB or the first 200 fragments of a range of at most
// 24 hours.
struct ClipLimits {
  uint64_t max_bytes = 100ull << 20;
  size_t max_fragments = 200;
  int64_t max_range_us = 24 * archive::kMicrosPerHour;
};

// A parsed GetClip body: {StreamName|StreamARN, ClipFragmentSelector{FragmentSelectorType,
// TimestampRange{StartTimestamp, EndTimestamp}}} with timestamps in epoch seconds.
struct ClipRequest {
  archive::StreamRef stream;
  archive::TimestampType type = archive::TimestampType::kServer;
  int64_t start_us = 0;
  int64_t end_us = 0;  // inclusive, compared with fragment start times
};

// The fragments of `stream` whose `type` time lies in [start_us, end_us], ascending: at most
// limits.max_fragments, and no more bytes than limits.max_bytes (the first fragment always,
// however large). Empty when nothing is in range; archive errors as they are.
Result<std::vector<archive::FragmentInfo>> SelectClipFragments(archive::Archive& archive,
                                                               const archive::StreamRef& stream,
                                                               archive::TimestampType type,
                                                               int64_t start_us, int64_t end_us,
                                                               const ClipLimits& limits);

// The clip for `request`: the fragments SelectClipFragments picks, read and remuxed into one
// progressive MP4 on the producer's timeline. A fragment retention removes after the listing
// ends the clip there. Errors: kResourceNotFound (stream, or nothing in range),
// kNoDataRetention, kUnsupportedStreamMediaType, kMissingCodecPrivateData,
// kClientLimitExceeded, kInvalidMediaFrame. Blocks (archive reads, remux): call it from a
// worker thread. Thread-safe; `archive` and `log` are only used during the call.
Result<std::string, KvsError> MakeClip(archive::Archive& archive, const ClipRequest& request,
                                       const ClipLimits& limits, Logger& log);

}  // namespace streamarc::playback
