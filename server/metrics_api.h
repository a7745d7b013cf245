// streamarcd's metrics: what the route adapters count (bytes and fragments served, error
// answers), what a scrape reads from the other parts (archive, disk, connections, frame tap),
// and the two routes that report them: GET /metrics (Prometheus text) and GET /ready
// (readiness; GET /health stays liveness).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "archive/archive.h"
#include "frametap/tap.h"
#include "metrics/metrics.h"
#include "server/http_server.h"
#include "server/router.h"

namespace streamarc::server {

// The server's own series. Thread-safe; `registry` outlives it.
class ServerMetrics {
 public:
  explicit ServerMetrics(metrics::Registry& registry);

  // One stream's egress series for one API ("getmedia", "hls", "dash", "clip", "images"):
  // held by a long response (GetMedia) that counts every chunk it writes.
  struct Out {
    std::shared_ptr<metrics::Counter> bytes;
    std::shared_ptr<metrics::Counter> fragments;
  };
  // `stream` must name a stream that exists (it becomes a label until the stream is deleted).
  Out OutFor(std::string_view api, const std::string& stream);
  void CountOut(std::string_view api, const std::string& stream, uint64_t bytes,
                uint64_t fragments);
  // An error answer, by its x-amzn-ErrorType (HttpServerOptions::on_error).
  void CountError(std::string_view error_type);
  // A deleted stream's series go (Archive's stream-deleted listener).
  void ForgetStream(const std::string& stream);

  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry& registry_;
  metrics::Family<metrics::Counter>& out_bytes_;
  metrics::Family<metrics::Counter>& out_fragments_;
  metrics::Family<metrics::Counter>& errors_;
};

// A stream's label: its name, or the name in its ARN ("" when neither gives one).
std::string StreamLabel(const archive::StreamRef& ref);

// What a scrape reads. Every reference outlives the registry's use.
struct MetricsSources {
  archive::Archive& archive;
  archive::Env& env;
  std::string data_dir;
  const HttpServer& http;
  std::function<frametap::TapStats()> tap;  // empty: no frame tap
  std::string version;
  std::string commit;  // "" when unknown
  int64_t start_time_us = 0;
  bool read_only = false;  // read-only mode (server/read_only.h)
};
// Registers the collectors that read `sources` at scrape time, and build info.
void RegisterServerCollectors(metrics::Registry& registry, MetricsSources sources);

// GET /metrics: `registry` rendered, on the worker pool (a buffered route).
void RegisterMetricsApi(Router& http, const metrics::Registry& registry);
// GET /ready: 200 {"ready":true} when the archive can write, else 503 {"ready":false,
// "reasons":[...]}. On the worker pool: the check probes the disk.
void RegisterReadyApi(Router& http, archive::Archive& archive);

}  // namespace streamarc::server
