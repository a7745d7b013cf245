// HLS and DASH routes: GetHLSStreamingSessionURL, GetDASHStreamingSessionURL, and the
// playlists, manifests, init and media segments served under /hls/v1/ and /dash/v1/. The
// sessions themselves are playback::HlsService; this is the HTTP adapter (Range, CORS,
// KVS's error shape).
#pragma once

#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

void RegisterHlsApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
