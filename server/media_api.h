// kinesis-video-media and the MKV half of kinesis-video-archived-media: GetMedia (every
// StartSelector, live fan-out from the LiveHub), ListFragments and GetMediaForFragmentList.
#pragma once

#include <cstddef>
#include <cstdint>

#include "server/api_context.h"
#include "server/http_server.h"
#include "server/router.h"

namespace streamarc::server {

struct MediaApiOptions {
  // KVS allows 3 concurrent GetMedia connections per stream; the next one gets 400
  // ConnectionLimitExceededException.
  int max_get_media_per_stream = 3;
  // A reader whose unsent bytes pass this stops being fed live fragments and catches up
  // from the archive on the worker pool once it has drained to `resume_queued_bytes`: a slow
  // reader never holds up ingest, the commit thread or other readers.
  size_t max_reader_queued_bytes = 16u << 20;
  size_t resume_queued_bytes = 4u << 20;
  // Fragments read from the archive per worker-pool job (then the job yields to others).
  int backlog_batch = 8;
  // How often streams with live readers are checked for deletion (their readers then end).
  int64_t stream_check_interval_us = 1'000'000;
};

void RegisterMediaApi(Router& http, const ApiContext& ctx, const MediaApiOptions& options);
// Straight on `http`, with no middleware: for tests and benchmarks of these handlers alone.
void RegisterMediaApi(HttpServer& http, const ApiContext& ctx, const MediaApiOptions& options);
// With KVS's limits.
void RegisterMediaApi(Router& http, const ApiContext& ctx);

}  // namespace streamarc::server
