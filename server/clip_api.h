// GetClip: an MP4 for a time range, remuxed from the stored fragments.
#pragma once

#include <cstdint>
#include <string_view>

#include "archive/archive.h"
#include "common/status.h"
#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

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
// kInvalidArgument naming the field for anything KVS would refuse.
Result<ClipRequest> ParseClipRequest(std::string_view body, const ClipLimits& limits = {});

// POST /getClip. The handler runs on the worker pool (it reads the archive and remuxes)
// and answers video/mp4, honouring Range.
void RegisterClipApi(Router& http, const ApiContext& ctx);
void RegisterClipApi(Router& http, const ApiContext& ctx, const ClipLimits& limits);

}  // namespace streamarc::server
