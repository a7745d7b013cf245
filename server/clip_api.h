// GetClip: an MP4 for a time range, remuxed from the stored fragments.
#pragma once

#include "server/api_context.h"
#include "server/http_server.h"

namespace streamarc::server {

void RegisterClipApi(HttpServer& http, const ApiContext& ctx);

}  // namespace streamarc::server
