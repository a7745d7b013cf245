// HLS and DASH: GetHLSStreamingSessionURL, GetDASHStreamingSessionURL, and the playlists,
// manifests, init and media segments served under /hls/v1/ and /dash/v1/.
#pragma once

#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

void RegisterHlsApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
