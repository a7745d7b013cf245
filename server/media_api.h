// kinesis-video-media and the MKV half of kinesis-video-archived-media: GetMedia (every
// StartSelector, live fan-out from the LiveHub), ListFragments and GetMediaForFragmentList.
#pragma once

#include "server/api_context.h"
#include "server/http_server.h"

namespace streamarc::server {

void RegisterMediaApi(HttpServer& http, const ApiContext& ctx);

}  // namespace streamarc::server
