// kinesis-video-media and the MKV half of kinesis-video-archived-media over HTTP: GetMedia,
// ListFragments and GetMediaForFragmentList. The readers live in playback/media_reader.h;
// these routes parse the JSON body, call the service and map its errors to KVS's shape.
#pragma once

#include "playback/media_reader.h"
#include "server/api_context.h"
#include "server/http_server.h"
#include "server/router.h"

namespace streamarc::server {

using MediaApiOptions = playback::MediaOptions;

void RegisterMediaApi(Router& http, const ApiContext& ctx, const MediaApiOptions& options);
// Straight on `http`, with no middleware: for tests and benchmarks of these handlers alone.
void RegisterMediaApi(HttpServer& http, const ApiContext& ctx, const MediaApiOptions& options);
// With KVS's limits.
void RegisterMediaApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
