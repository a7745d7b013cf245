// Authentication and access rights: the middleware after the request guard.
//
// With access keys configured, every API request must be signed with AWS Signature Version 4
// (service "kinesisvideo") by one of them, in the Authorization header or as a presigned URL,
// within 5 minutes of this server's clock, and the key must grant the operation's right
// (read, write or admin) on the stream the request names. PutMedia is verified over the
// empty-body hash, as KVS producers sign it (its body is an endless stream); every other
// request over its body. Open to anyone: /health, the console's files (/ and /web/) and the
// HLS/DASH URLs, which carry their own signed, expiring session token.
//
// Without keys nothing is checked: the daemon then listens on a loopback address only, unless
// --allow-unauthenticated says otherwise (daemon.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/status.h"
#include "server/config.h"
#include "server/http.h"
#include "server/router.h"

namespace streamarc::server {

struct AuthOptions {
  std::vector<AccessKey> keys;  // empty: every request is let through
  int64_t max_skew_us = 5 * 60 * int64_t{1'000'000};
  // GET /metrics without a signature even when keys are configured (for a Prometheus that
  // cannot sign SigV4; the operator keeps the port from strangers). false: it needs a key
  // with the admin right.
  bool metrics_open = false;
};

// What a request needs, from its method and path: nothing (open), any valid signature (an
// unknown path, which then gets its 404), or a right. Open: /health, /ready, the console's
// files, HLS/DASH session URLs. GET /metrics needs admin (AuthOptions::metrics_open aside):
// its labels name every stream.
struct Requirement {
  bool open = false;
  uint8_t right = 0;  // 0 with !open: any valid signature
  bool names_stream = false;
};
Requirement RequirementOf(const HttpRequest& request);

// The stream a request acts on: the x-amzn-stream-name/-arn header (PutMedia), the JSON
// body's StreamName, StreamARN or ResourceARN, or the query's StreamName. Empty if none.
std::string RequestStream(const HttpRequest& request);

// Checks `request` (its whole body, except for PutMedia's) at time `now_us`. Pure and
// thread-safe. nullopt: let it through; otherwise KVS's refusal.
std::optional<KvsError> Authenticate(const HttpRequest& request, const AuthOptions& options,
                                     int64_t now_us);

// Whether the key that signed `request` (one Authenticate let through) may act on `stream`:
// how ListStreams leaves out the streams a limited key cannot see. True without keys.
bool StreamVisible(const HttpRequest& request, const AuthOptions& options,
                   const std::string& stream);

// Authenticate as a Router middleware; `clock` outlives it.
Middleware Authentication(AuthOptions options, const Clock& clock);

}  // namespace streamarc::server
