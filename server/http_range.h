// HTTP Range requests (RFC 9110 §14) for bodies held in memory: clips and HLS/DASH segments.
#pragma once

#include <string>

#include "server/http.h"

namespace streamarc::server {

// Answers `request` with `body`: 200 with the whole body, 206 with the one range asked for
// (bytes=a-b, a-, -n), or 416 for a range outside the body. Sets Accept-Ranges and
// Content-Range. Multi-range requests get the whole body (200), which RFC 9110 allows.
HttpResponse ServeBody(const HttpRequest& request, std::string body, std::string content_type,
                       std::vector<Header> extra_headers = {});

}  // namespace streamarc::server
