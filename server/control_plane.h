// The KVS control plane (kinesisvideo): CreateStream, DescribeStream, ListStreams,
// DeleteStream, UpdateStream, UpdateDataRetention, GetDataEndpoint, TagStream, UntagStream,
// ListTagsForStream and the *Resource tag variants, as `POST /<op>` JSON calls with KVS's
// shapes and errors. Handlers run on the worker pool; they call the archive's registry.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "archive/archive.h"
#include "server/kvs_error.h"
#include "server/router.h"

namespace streamarc::server {

struct ControlPlaneOptions {
  std::string data_endpoint;  // what GetDataEndpoint returns, e.g. "http://127.0.0.1:8080"
  // Whether the caller of `request` may see `stream`: ListStreams leaves out the others
  // (server/auth.h's StreamVisible for an access key limited to some streams). Null: all.
  std::function<bool(const HttpRequest& request, const std::string& stream)> visible;
};

// Every operation's handler, keyed by its path ("/createStream", ...), sharing one state:
// what RegisterControlPlane routes, callable without an HTTP server (the fuzz target calls
// them). `archive` outlives the handlers.
std::map<std::string, BufferedHandler> ControlPlaneHandlers(archive::Archive& archive,
                                                            const ControlPlaneOptions& options);

// Registers the routes (POST to each path). `archive` outlives `http`.
inline void RegisterControlPlane(Router& http, archive::Archive& archive,
                                 const ControlPlaneOptions& options) {
  for (auto& [path, handler] : ControlPlaneHandlers(archive, options)) {
    http.Route("POST", path, std::move(handler));
  }
}

}  // namespace streamarc::server
