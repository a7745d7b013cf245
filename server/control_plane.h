// The KVS control plane (kinesisvideo): CreateStream, DescribeStream, ListStreams,
// DeleteStream, UpdateStream, UpdateDataRetention, GetDataEndpoint, TagStream, UntagStream,
// ListTagsForStream and the *Resource tag variants, as `POST /<op>` JSON calls with KVS's
// shapes and errors. Handlers run on the worker pool; they call the archive's registry.
#pragma once

#include <functional>
#include <string>

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

// Registers the routes. `archive` and `ids` outlive `http`.
void RegisterControlPlane(Router& http, archive::Archive& archive,
                          const ControlPlaneOptions& options);

}  // namespace streamarc::server
