// The request guard: the first middleware every request passes. Without access keys the
// server is for this machine only, and a web page the operator happens to open must not be
// able to act on it:
//  - DNS rebinding: a Host that is not one of the server's own names is refused;
//  - cross-origin requests (a page's fetch or form POST, which needs no CORS to delete a
//    stream): an Origin other than the server's own is refused unless configured;
//  - a browser's `Sec-Fetch-Site: cross-site` request without such an Origin is refused.
// Requests without Origin (curl, the AWS CLI, SDKs, producers) only meet the Host check.
// HLS/DASH GETs carry their own expiring session token and stay open to any origin, so
// players on other pages work. All CORS is answered here: the API's (for --cors-origin
// origins) and the open URLs' (any origin, preflights included).
// Authentication (SigV4) will plug in here too.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "server/http.h"
#include "server/router.h"

namespace streamarc::server {

struct GuardOptions {
  // Names and addresses accepted in Host, lowercase, without port or IPv6 brackets.
  // "*" accepts any Host.
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  // Origins allowed to call the API from a browser, e.g. "http://console.example:3000";
  // "*" allows every origin.
  std::vector<std::string> cors_origins;
  // Path prefixes whose GET/HEAD/OPTIONS are open to any origin (session-token URLs).
  std::vector<std::string> open_prefixes = {"/hls/v1/", "/dash/v1/"};
};

// The options for a daemon's configuration: the default names plus the listen address
// (unless it is a wildcard), the host of public_url and the allowed_hosts; cors_origins.
GuardOptions GuardOptionsFromConfig(const Config& config);

// The host part of a Host header or URL authority: lowercase, without port, IPv6 brackets
// or a trailing dot. Empty if `authority` is malformed (e.g. a non-numeric port).
std::string HostName(std::string_view authority);

// Pure and thread-safe. An answer that ends the request (403 AccessDeniedException with
// KVS's error shape, or the 204 to an allowed CORS preflight), or nullopt to let it through.
std::optional<HttpResponse> CheckRequest(const HttpRequest& request, const GuardOptions& options);

// Headers to add to the response of a request CheckRequest let through: the CORS headers
// for an allowed cross-origin request or an open URL, none otherwise.
std::vector<Header> GuardResponseHeaders(const HttpRequest& request, const GuardOptions& options);

// CheckRequest and GuardResponseHeaders as a Router middleware.
Middleware RequestGuard(GuardOptions options);

}  // namespace streamarc::server
