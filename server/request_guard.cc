#include "server/request_guard.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

// Headers a browser page may read from an allowed cross-origin API response.
constexpr const char* kExposeHeaders =
    "x-amzn-RequestId, x-amzn-ErrorType, Content-Length, Content-Range, Accept-Ranges";
// Headers an allowed page may send: what the AWS SDKs for JavaScript sign and send.
constexpr const char* kAllowHeaders =
    "Authorization, Content-Type, Range, X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token, "
    "X-Amz-Target, X-Amz-User-Agent, Amz-Sdk-Invocation-Id, Amz-Sdk-Request, x-amzn-stream-name, "
    "x-amzn-stream-arn, x-amzn-fragment-timecode-type, x-amzn-producer-start-timestamp, "
    "x-amzn-fragment-acknowledgment-required";
// The same for the open session-token URLs (HLS/DASH players: Range requests).
constexpr const char* kOpenExposeHeaders =
    "x-amzn-RequestId, Content-Length, Content-Range, Accept-Ranges";
constexpr const char* kOpenAllowHeaders = "Range, Origin, Accept, Content-Type";
// Attacker-chosen text quoted in an error message is cut to this length.
constexpr size_t kMaxQuoted = 200;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s.substr(0, kMaxQuoted)) + "\"";
}

bool IsPort(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An origin as browsers send it and as configured: lowercase, no trailing slash.
std::string NormalizeOrigin(std::string_view origin) {
  std::string o = Lower(origin);
  while (!o.empty() && o.back() == '/') o.pop_back();
  return o;
}

// The host of a URL such as public_url ("https://user@cam.example:8443/base").
std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return HostName(rest);
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool IsOpen(const HttpRequest& req, const GuardOptions& o) {
  if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") return false;
  return std::any_of(o.open_prefixes.begin(), o.open_prefixes.end(),
                     [&](const std::string& p) { return req.path.compare(0, p.size(), p) == 0; });
}

// The page calling is served by this server itself (e.g. the console at `/`): its origin
// names the Host it sent, which the Host check has already accepted.
bool SameOrigin(const std::string& origin, const HttpRequest& req) {
  const std::string* host = req.FindHeader("host");
  if (!host) return false;
  const std::string h = Lower(*host);
  return origin == "http://" + h || origin == "https://" + h;
}

bool OriginAllowed(const std::string& origin, const GuardOptions& o) {
  return Contains(o.cors_origins, "*") || Contains(o.cors_origins, origin);
}

std::vector<Header> CorsHeaders(const std::string& origin, const GuardOptions& o) {
  if (Contains(o.cors_origins, "*")) return {{"access-control-allow-origin", "*"}};
  return {{"access-control-allow-origin", origin}, {"vary", "Origin"}};
}

HttpResponse Refuse(const std::string& why) {
  return KvsErrorResponse({KvsErrorType::kAccessDenied, PermissionDenied(why)});
}

}  // namespace

std::string HostName(std::string_view authority) {
  std::string s = Lower(authority);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  std::string name;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) return "";
    name = s.substr(1, close - 1);
    std::string_view rest = std::string_view(s).substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsPort(rest.substr(1)))) return "";
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    size_t colon = s.find(':');
    if (!IsPort(std::string_view(s).substr(colon + 1))) return "";
    name = s.substr(0, colon);
  } else {
    name = s;  // no port, or a bare IPv6 address as configured ("::1")
  }
  if (!name.empty() && name.back() == '.') name.pop_back();
  const bool valid = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':';
  });
  return valid ? name : "";
}

GuardOptions GuardOptionsFromConfig(const Config& config) {
  GuardOptions o;
  auto add_host = [&](const std::string& name) {
    if (!name.empty() && !Contains(o.hosts, name)) o.hosts.push_back(name);
  };
  // A wildcard is no name a client can use (and browsers treat 0.0.0.0 as this machine).
  if (!IsWildcardAddress(config.host)) add_host(HostName(config.host));
  add_host(UrlHost(config.public_url));
  for (const std::string& h : config.allowed_hosts) add_host(h == "*" ? h : HostName(h));
  for (const std::string& origin : config.cors_origins) {
    o.cors_origins.push_back(NormalizeOrigin(origin));
  }
  return o;
}

std::optional<HttpResponse> CheckRequest(const HttpRequest& req, const GuardOptions& o) {
  // Browsers always send Host; a client that sends none is no web page.
  if (const std::string* host = req.FindHeader("host"); host && !Contains(o.hosts, "*")) {
    const std::string name = HostName(*host);
    if (name.empty() || !Contains(o.hosts, name)) {
      return Refuse("Host " + Quoted(*host) +
                    " is not a name of this server; add it with --allowed-host (or the config "
                    "key allowed-host) to accept it");
    }
  }
  if (IsOpen(req, o)) {
    if (req.method != "OPTIONS") return std::nullopt;
    HttpResponse preflight{204, "text/plain", {{"access-control-allow-origin", "*"}}, ""};
    preflight.headers.push_back({"access-control-allow-methods", "GET, HEAD, OPTIONS"});
    preflight.headers.push_back({"access-control-allow-headers", kOpenAllowHeaders});
    preflight.headers.push_back({"access-control-max-age", "86400"});
    return preflight;
  }
  if (const std::string* raw = req.FindHeader("origin")) {
    const std::string origin = NormalizeOrigin(*raw);
    if (SameOrigin(origin, req)) return std::nullopt;
    if (!OriginAllowed(origin, o)) {
      return Refuse("Cross-origin request from " + Quoted(*raw) +
                    " refused; allow the origin with --cors-origin (or the config key "
                    "cors-origin) to accept it");
    }
    if (req.method != "OPTIONS") return std::nullopt;
    HttpResponse preflight{204, "text/plain", CorsHeaders(origin, o), ""};
    preflight.headers.push_back({"access-control-allow-methods", "GET, POST, OPTIONS"});
    preflight.headers.push_back({"access-control-allow-headers", kAllowHeaders});
    preflight.headers.push_back({"access-control-max-age", "600"});
    return preflight;
  }
  // A browser that sent no Origin (a navigation, an <img>) still says where it came from.
  if (const std::string* site = req.FindHeader("sec-fetch-site")) {
    const std::string s = Lower(*site);
    if (s == "cross-site" || s == "same-site") {
      return Refuse("Cross-site request (Sec-Fetch-Site: " + s +
                    ") refused; only pages of an origin allowed with --cors-origin may call "
                    "the API");
    }
  }
  return std::nullopt;
}

std::vector<Header> GuardResponseHeaders(const HttpRequest& req, const GuardOptions& o) {
  // Players on any page may read session-token URLs (hls.js and dash.js use fetch/XHR).
  if (IsOpen(req, o)) {
    return {{"access-control-allow-origin", "*"},
            {"access-control-expose-headers", kOpenExposeHeaders}};
  }
  const std::string* raw = req.FindHeader("origin");
  if (!raw) return {};
  const std::string origin = NormalizeOrigin(*raw);
  if (SameOrigin(origin, req) || !OriginAllowed(origin, o)) return {};
  std::vector<Header> h = CorsHeaders(origin, o);
  h.push_back({"access-control-expose-headers", kExposeHeaders});
  return h;
}

Middleware RequestGuard(GuardOptions options) {
  auto o = std::make_shared<const GuardOptions>(std::move(options));
  return Middleware{[o](const HttpRequest& r) { return CheckRequest(r, *o); },
                    [o](const HttpRequest& r) { return GuardResponseHeaders(r, *o); }};
}

}  // namespace streamarc::server
