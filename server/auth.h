// Authentication and access rights: the middleware after the request guard.
//
// With access keys configured, every API request must be signed with AWS Signature Version 4
// (service "kinesisvideo") by one of them, in the Authorization header or as a presigned URL,
// within 5 minutes of this server's clock, and the key must grant the operation's right
// (read, write or admin) on the stream the request names. PutMedia is verified over the
// empty-body hash, as KVS producers sign it (its body is an endless stream); every other
// request over its body. Open to anyone: /health, the console's files (/ and /web/) and the
// HLS/DASH URLs, which carry their own signed, expiring session token; that token names the
// key that made it, and is refused once that key is gone or may no longer read its stream
// (CheckSessionKey, called by the HLS service).
//
// The keys in force live in an AuthState whose snapshot is swapped whole when the daemon
// reloads its config file (SIGHUP): a request is checked against the snapshot it took.
//
// Without keys nothing is checked: the daemon then listens on a loopback address only, unless
// --allow-unauthenticated says otherwise (daemon.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/mutex.h"
#include "common/sigv4.h"
#include "common/status.h"
#include "server/config.h"
#include "server/http.h"
#include "server/router.h"

namespace streamarc::server {

struct AuthOptions {
  std::vector<AccessKey> keys;  // empty: every request is let through
  int64_t max_skew_us = 5 * 60 * int64_t{1'000'000};
  // Signing keys derived for verified requests, shared by every request; null: each request
  // derives its own.
  std::shared_ptr<sigv4::SigningKeyCache> signing_keys;
  // GET /metrics without a signature even when keys are configured (for a Prometheus that
  // cannot sign SigV4; the operator keeps the port from strangers). false: it needs a key
  // with the admin right.
  bool metrics_open = false;
};

// The authentication settings in force. Thread-safe: Current is a snapshot that stays valid
// however often the keys are replaced after it was taken.
class AuthState {
 public:
  explicit AuthState(AuthOptions options);
  std::shared_ptr<const AuthOptions> Current() const;
  // Puts `keys` in force for requests checked from now on, with an empty signing-key cache
  // (a removed secret leaves memory once the requests still using the old snapshot end).
  void ReplaceKeys(std::vector<AccessKey> keys);

 private:
  mutable Mutex mu_;
  std::shared_ptr<const AuthOptions> current_ GUARDED_BY(mu_);
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

// The access key that signed `request` (one Authenticate let through: its signature was
// checked), or "" when `options` has no keys (nothing was checked).
std::string SignerOf(const HttpRequest& request, const AuthOptions& options);

// Whether an HLS/DASH session token made by `access_key_id` ("" : made with no keys
// configured) may still be used on `stream`: with keys configured, the key must still be one
// of them and still hold the read right on the stream; a token made without a key is refused
// once keys are configured, and one made with a key once that key is gone. kPermissionDenied
// saying why.
Status CheckSessionKey(const AuthOptions& options, const std::string& access_key_id,
                       const std::string& stream);

// Authenticate as a Router middleware, against the keys `state` holds when each request
// arrives; `clock` outlives it.
Middleware Authentication(const std::shared_ptr<const AuthState>& state, const Clock& clock);

}  // namespace streamarc::server
