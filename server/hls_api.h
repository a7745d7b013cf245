// HLS and DASH routes: GetHLSStreamingSessionURL, GetDASHStreamingSessionURL, and the
// playlists, manifests, init and media segments served under /hls/v1/ and /dash/v1/. The
// sessions themselves are playback::HlsService; this is the HTTP adapter (Range, CORS,
// KVS's error shape).
#pragma once

#include <cstdint>

#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

struct HlsApiOptions {
  // Low-Latency HLS for LIVE fMP4 sessions (--hls-low-latency), parts of about this long.
  bool low_latency = true;
  int64_t part_target_us = 333'000;
  size_t cache_entries = 512;  // remuxed segments kept in memory
};

void RegisterHlsApi(Router& http, const ApiContext& ctx, const HlsApiOptions& options);
void RegisterHlsApi(Router& http, const ApiContext& ctx);  // default options

}  // namespace streamarc::server
