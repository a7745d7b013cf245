// GetClip's route: the body parsed here, the clip made by playback::MakeClip.
#pragma once

#include <string_view>

#include "common/status.h"
#include "playback/clip.h"
#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

// The limits and the parsed request are playback's (playback/clip.h).
using playback::ClipLimits;
using playback::ClipRequest;

// Parses a GetClip body: {StreamName|StreamARN, ClipFragmentSelector{FragmentSelectorType,
// TimestampRange{StartTimestamp, EndTimestamp}}} with timestamps in epoch seconds.
// kInvalidArgument naming the field for anything KVS would refuse.
Result<ClipRequest> ParseClipRequest(std::string_view body, const ClipLimits& limits = {});

// POST /getClip. The handler runs on the worker pool (it reads the archive and remuxes)
// and answers video/mp4, honouring Range.
void RegisterClipApi(Router& http, const ApiContext& ctx);
void RegisterClipApi(Router& http, const ApiContext& ctx, const ClipLimits& limits);

}  // namespace streamarc::server
