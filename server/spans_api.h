// The recorded-spans route, POST /listRecordingSpans: playback::RecordingSpansService does
// the work; this only routes and answers its KvsError in KVS's error shape.
#pragma once

#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

// A buffered route: its handler runs on the worker pool, since the service reads the
// archive's index (never on the HTTP service thread).
void RegisterSpansApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
