#include "server/metrics_api.h"

#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/kvs_request.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

using metrics::Emitter;
using metrics::Type;

// A streaming route's connection kind: the two long-lived media streams by name, the rest
// (HLS requests parked at the live edge, ...) together.
std::string KindOfRoute(const std::string& path) {
  if (path == "/putMedia") return "putmedia";
  if (path == "/getMedia" || path == "/getMediaForFragmentList") return "getmedia";
  return "other_streaming";
}

}  // namespace

ServerMetrics::ServerMetrics(metrics::Registry& registry)
    : registry_(registry),
      out_bytes_(registry.AddCounterFamily(
          "streamarc_egress_bytes_total",
          "Media bytes served (GetMedia, HLS/DASH segments, clips, images), by stream and API",
          {"stream", "api"})),
      out_fragments_(registry.AddCounterFamily(
          "streamarc_egress_fragments_total",
          "Fragments served (GetMedia chunks, HLS/DASH media segments), by stream and API",
          {"stream", "api"})),
      errors_(registry.AddCounterFamily(
          "streamarc_errors_total",
          "Error answers, by the KVS error type in x-amzn-ErrorType (every layer)", {"code"})) {}

ServerMetrics::Out ServerMetrics::OutFor(std::string_view api, const std::string& stream) {
  const metrics::LabelValues labels{stream, std::string(api)};
  return {out_bytes_.Get(labels), out_fragments_.Get(labels)};
}

void ServerMetrics::CountOut(std::string_view api, const std::string& stream, uint64_t bytes,
                             uint64_t fragments) {
  if (stream.empty()) return;
  Out out = OutFor(api, stream);
  out.bytes->Add(bytes);
  if (fragments) out.fragments->Add(fragments);
}

void ServerMetrics::CountError(std::string_view error_type) {
  errors_.Get({std::string(error_type)})->Add();
}

void ServerMetrics::ForgetStream(const std::string& stream) {
  registry_.RemoveSeries("stream", stream);
}

std::string StreamLabel(const archive::StreamRef& ref) {
  if (!ref.name.empty()) return ref.name;
  auto name = kvs::StreamNameFromArn(ref.arn);
  return name.ok() ? *name : std::string();
}

void RegisterServerCollectors(metrics::Registry& r, MetricsSources src) {
  auto s = std::make_shared<MetricsSources>(std::move(src));
  r.AddCollector("streamarc_build_info", "The running streamarcd's version and source commit",
                 Type::kGauge, {"version", "commit"}, [s](Emitter& e) {
                   e.Value({s->version, s->commit}, 1);
                 });
  r.AddCollector("streamarc_start_time_seconds", "When streamarcd started, in Unix seconds",
                 Type::kGauge, {},
                 [s](Emitter& e) { e.Value({}, static_cast<double>(s->start_time_us) / 1e6); });
  r.AddCollector("streamarc_read_only",
                 "1 while streamarcd serves its archive read-only and records nothing (a "
                 "read-only file system at start, or --read-only); a restart ends it",
                 Type::kGauge, {}, [s](Emitter& e) { e.Value({}, s->read_only ? 1 : 0); });
  r.AddCollector(
      "streamarc_open_connections",
      "Open HTTP connections by what they do: idle (waiting for a request, or closing), request "
      "(a buffered API call), putmedia, getmedia, other_streaming, h2 (an HTTP/2 connection, "
      "whatever its streams do)",
      Type::kGauge, {"kind"}, [s](Emitter& e) {
        const HttpServer::ConnectionCounts c = s->http.connections_by_kind();
        std::map<std::string, double> kinds = {{"idle", static_cast<double>(c.idle)},
                                               {"request", static_cast<double>(c.request)},
                                               {"h2", static_cast<double>(c.h2)},
                                               {"putmedia", 0},
                                               {"getmedia", 0},
                                               {"other_streaming", 0}};
        for (const auto& [path, n] : c.streaming) {
          kinds[KindOfRoute(path)] += static_cast<double>(n);
        }
        for (const auto& [kind, n] : kinds) e.Value({kind}, n);
      });
  r.AddCollector(
      "streamarc_segment_bytes", "Bytes of segment files the archive holds", Type::kGauge, {},
      [s](Emitter& e) { e.Value({}, static_cast<double>(s->archive.Stats().total_bytes)); });
  r.AddCollector(
      "streamarc_bucket_segment_bytes",
      "Of streamarc_segment_bytes, those moved to the object store (WARM streams)", Type::kGauge,
      {}, [s](Emitter& e) { e.Value({}, static_cast<double>(s->archive.Stats().bucket_bytes)); });
  r.AddCollector("streamarc_bucket_uploads_total",
                 "Segments moved to the object store, and failed attempts (each tried again later)",
                 Type::kCounter, {"result"}, [s](Emitter& e) {
                   const archive::ArchiveStats st = s->archive.Stats();
                   e.Value({"ok"}, static_cast<double>(st.segments_uploaded));
                   e.Value({"failed"}, static_cast<double>(st.upload_failures));
                 });
  r.AddCollector("streamarc_bucket_uploaded_bytes_total", "Segment bytes moved to the object store",
                 Type::kCounter, {}, [s](Emitter& e) {
                   e.Value({}, static_cast<double>(s->archive.Stats().bytes_uploaded));
                 });
  r.AddCollector(
      "streamarc_leases_held",
      "Streams whose ingest this node owns (several nodes on one PostgreSQL index)", Type::kGauge,
      {}, [s](Emitter& e) { e.Value({}, static_cast<double>(s->archive.Stats().leases_held)); });
  r.AddCollector("streamarc_lease_changes_total",
                 "Stream leases this node took, and lost to another node after they ran out",
                 Type::kCounter, {"event"}, [s](Emitter& e) {
                   const archive::ArchiveStats st = s->archive.Stats();
                   e.Value({"acquired"}, static_cast<double>(st.leases_acquired));
                   e.Value({"lost"}, static_cast<double>(st.leases_lost));
                 });
  r.AddCollector("streamarc_data_dir_free_bytes",
                 "Free bytes (for an unprivileged writer) on the data directory's file system",
                 Type::kGauge, {}, [s](Emitter& e) {
                   auto space = s->env.GetDiskSpace(s->data_dir);
                   if (space.ok()) e.Value({}, static_cast<double>(space->free_bytes));
                 });
  r.AddCollector("streamarc_data_dir_size_bytes", "Size of the data directory's file system",
                 Type::kGauge, {}, [s](Emitter& e) {
                   auto space = s->env.GetDiskSpace(s->data_dir);
                   if (space.ok()) e.Value({}, static_cast<double>(space->total_bytes));
                 });
  r.AddCollector(
      "streamarc_deleted_fragments_total",
      "Fragments deleted, by reason: retention (expired), eviction (byte budget or low disk), "
      "stream_deleted",
      Type::kCounter, {"reason"}, [s](Emitter& e) {
        const archive::ArchiveStats st = s->archive.Stats();
        e.Value({"retention"}, static_cast<double>(st.fragments_expired));
        e.Value({"eviction"}, static_cast<double>(st.fragments_evicted));
        e.Value({"stream_deleted"}, static_cast<double>(st.fragments_deleted_with_stream));
      });
  r.AddCollector(
      "streamarc_deleted_bytes_total",
      "Segment bytes freed by retention, eviction and stream deletion", Type::kCounter, {},
      [s](Emitter& e) { e.Value({}, static_cast<double>(s->archive.Stats().bytes_deleted)); });
  r.AddCollector(
      "streamarc_archive_failed_fragments_total",
      "Fragments the archive could not store (reported with an error)", Type::kCounter, {},
      [s](Emitter& e) { e.Value({}, static_cast<double>(s->archive.Stats().fragments_failed)); });
  if (s->tap) {
    r.AddCollector("streamarc_frametap_dropped_total",
                   "Frame tap (--frame-tap) drops: fragments its decoder could not keep up "
                   "with, and decoded frames pushed out of a slow consumer's queue",
                   Type::kCounter, {"what"}, [s](Emitter& e) {
                     const frametap::TapStats st = s->tap();
                     e.Value({"fragments"}, static_cast<double>(st.fragments_dropped));
                     e.Value({"frames"}, static_cast<double>(st.frames_dropped));
                   });
  }
}

void RegisterMetricsApi(Router& http, const metrics::Registry& registry) {
  http.Route("GET", "/metrics", [&registry](const HttpRequest&) {
    return HttpResponse{
        200, metrics::kContentType, {{"cache-control", "no-cache"}}, registry.Render()};
  });
}

void RegisterReadyApi(Router& http, archive::Archive& archive) {
  http.Route("GET", "/ready", [&archive](const HttpRequest&) {
    const Status s = archive.CheckWritable();
    nlohmann::json j = {{"ready", s.ok()}};
    if (!s.ok()) j["reasons"] = {"the archive cannot write: " + s.ToString()};
    return HttpResponse{s.ok() ? 200 : 503,
                        "application/json",
                        {{"cache-control", "no-cache"}},
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  });
}

}  // namespace streamarc::server
