// The analysis-event routes, POST /putEvents and POST /listEvents: playback::EventsService
// does the work; these only route and answer its KvsError in KVS's error shape.
#pragma once

#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

// Buffered routes: their handlers run on the worker pool, since the service reads and writes
// the archive's index (never on the HTTP service thread).
void RegisterEventsApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
