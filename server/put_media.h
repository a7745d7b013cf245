// PutMedia's HTTP adapter: `POST /putMedia` with an endless Matroska body (chunked or sized),
// answered by a stream of ACK events. The session itself (header checks, the rotation rule,
// ACK sequencing, idle ACKs, shutdown draining) is ingest::PutMediaService
// (ingest/put_media_session.h); this file maps the request head to it, feeds it the body,
// and carries its answers over a ResponseWriter.
#pragma once

#include "ingest/put_media_session.h"
#include "server/router.h"

namespace streamarc::server {

// The daemon's names for the service it builds and shuts down.
using PutMediaOptions = ingest::PutMediaOptions;
using PutMediaService = ingest::PutMediaService;

// Routes `POST /putMedia` to `service`, which outlives the HTTP server's connections.
void RegisterPutMedia(Router& http, PutMediaService& service);

}  // namespace streamarc::server
