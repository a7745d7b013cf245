// Read-only mode: streamarcd serving an archive it must not write (Config::read_only, or a
// data directory found on a read-only file system at start). The archive refuses every write
// itself (archive::Options::read_only); this middleware, after authentication, answers the
// write APIs before their handlers run, with the KVS exception each kind of client handles
// best:
//  - PutMedia and putEvents (the write right): ServiceUnavailableException, 503, before any
//    ACK. Producers must keep their data and resend it once a writable server is back: our
//    SDK and KVS's own retry a 503 with back-off, keeping every un-acknowledged fragment in
//    their content store, whereas a 400 other than a limit makes our SDK fail the stream.
//  - create, delete, update, retention, tags (the admin right): ResourceInUseException, 400,
//    KVS's "the resource is currently not available for this operation" (its answer to
//    changing a stream that is not ACTIVE). Not retried by the AWS SDKs: a restart, not
//    time, ends read-only mode, so the CLI reports the message at once.
// Reads pass, and so do GET /metrics and the open routes (/health, /ready, console, HLS).
#pragma once

#include <optional>
#include <string>

#include "common/kvs_error.h"
#include "server/http.h"
#include "server/router.h"

namespace streamarc::server {

// The refusal of `request` in read-only mode, or nullopt for a request that writes nothing.
// `reason` says why the server is read-only ("--read-only was given", ...). Pure.
std::optional<KvsError> ReadOnlyRefusal(const HttpRequest& request, const std::string& reason);

// ReadOnlyRefusal as a Router middleware.
Middleware ReadOnlyGuard(std::string reason);

}  // namespace streamarc::server
