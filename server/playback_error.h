// playback's typed refusals (ApiError) in KVS's error shape: the one place their HTTP
// statuses are chosen.
#pragma once

#include "playback/api_error.h"
#include "server/http.h"

namespace streamarc::server {

HttpResponse KvsErrorResponse(const playback::ApiError& error);

}  // namespace streamarc::server
