#include "server/hls_api.h"

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>

#include "playback/hls_service.h"
#include "server/auth.h"
#include "server/http_range.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

using playback::ContainerFormat;
using playback::Content;
using playback::HlsService;
using playback::SessionKind;

// A playlist as it is; a segment with its cache lifetime and Range honoured. CORS (any
// origin: these URLs carry their own session token) comes from the request guard.
// Segments are counted in `metrics` (null: not) under the session's stream.
HttpResponse Reply(const HttpRequest& req, Result<Content, KvsError> content,
                   ServerMetrics* metrics) {
  if (!content.ok()) return KvsErrorResponse(content.error());
  Content& c = *content;
  if (c.max_age_seconds == 0) {
    return HttpResponse{200, std::move(c.content_type), {{"cache-control", "no-cache"}}, *c.bytes};
  }
  HttpResponse r = ServeBody(req, *c.bytes, std::move(c.content_type),
                             {{"cache-control", "max-age=" + std::to_string(c.max_age_seconds)}});
  if (metrics && r.status / 100 == 2 && !c.stream_name.empty()) {
    const bool dash = req.path.rfind("/dash/", 0) == 0;
    metrics->CountOut(dash ? "dash" : "hls", c.stream_name, r.body.size(),
                      static_cast<uint64_t>(c.fragments));
  }
  return r;
}

// A request that may wait for the live edge (LL-HLS), answered through its writer from
// whichever thread has the answer. GETs carry no body.
class WriterResponder final : public playback::Responder {
 public:
  WriterResponder(const HttpRequest& head, std::shared_ptr<ResponseWriter> w,
                  ServerMetrics* metrics)
      : head_(head), w_(std::move(w)), metrics_(metrics) {}
  void Send(Result<Content, KvsError> content) override {
    w_->Respond(Reply(head_, std::move(content), metrics_));
  }
  void PostAfter(int64_t delay_us, std::function<void()> task) override {
    w_->PostAfter(delay_us, std::move(task));
  }

 private:
  const HttpRequest head_;  // for Range
  std::shared_ptr<ResponseWriter> w_;
  ServerMetrics* const metrics_;
};

class NoBody final : public StreamingHandler {
 public:
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {}
  void OnClose() override {}
};

// A GET whose answer may be parked: the service thread hands it to a worker at once.
template <typename Call>
StreamingFactory Parkable(WorkerPool& pool, ServerMetrics* metrics, Call call) {
  return [&pool, metrics, call](
             const HttpRequest& head,
             std::shared_ptr<ResponseWriter> w) -> std::unique_ptr<StreamingHandler> {
    auto out = std::make_shared<WriterResponder>(head, std::move(w), metrics);
    if (!pool.Submit([call, out, query = head.query] { call(query, out); })) {
      out->Send(KvsError{KvsErrorType::kServiceUnavailable, Unavailable(kBusyMessage)});
    }
    return std::make_unique<NoBody>();
  };
}

// The token records the key that signed the request (the middleware checked the signature).
HttpResponse CreateSession(HlsService& svc, SessionKind kind, const HttpRequest& req,
                           const AuthState* auth) {
  const std::string signer = auth ? SignerOf(req, *auth->Current()) : std::string();
  Result<std::string, KvsError> url = svc.CreateSession(kind, req.body, signer);
  if (!url.ok()) return KvsErrorResponse(url.error());
  nlohmann::json j;
  j[kind == SessionKind::kHls ? "HLSStreamingSessionURL" : "DASHStreamingSessionURL"] = *url;
  return JsonOk(j.dump());
}

}  // namespace

void RegisterHlsApi(Router& http, const ApiContext& ctx) { RegisterHlsApi(http, ctx, {}); }

void RegisterHlsApi(Router& http, const ApiContext& ctx, const HlsApiOptions& options) {
  // The handlers run on the worker pool and hold the service by shared_ptr: a job still
  // queued at shutdown keeps it alive. It copies what it needs of `ctx` and refers only to
  // the archive, clock and logger, which the daemon destroys after the pool has drained.
  playback::HlsServiceOptions so{ctx.data_endpoint, ctx.token_secret};
  so.low_latency = options.low_latency;
  so.part_target_us = options.part_target_us;
  so.cache_entries = options.cache_entries;
  so.submit = [&pool = ctx.pool](std::function<void()> job) { return pool.Submit(std::move(job)); };
  if (ctx.auth) {
    so.check_key = [auth = ctx.auth](const std::string& key, const std::string& stream) {
      return CheckSessionKey(*auth->Current(), key, stream);
    };
  }
  std::shared_ptr<HlsService> svc =
      playback::NewHlsService(std::move(so), ctx.archive, ctx.clock, ctx.log, &ctx.hub.parts());
  http.OnShutdown([svc] { svc->Shutdown(); });
  http.Route("POST", "/getHLSStreamingSessionURL", [svc, auth = ctx.auth](const HttpRequest& r) {
    return CreateSession(*svc, SessionKind::kHls, r, auth.get());
  });
  http.Route("POST", "/getDASHStreamingSessionURL", [svc, auth = ctx.auth](const HttpRequest& r) {
    return CreateSession(*svc, SessionKind::kDash, r, auth.get());
  });
  auto get = [&http](const std::string& path, BufferedHandler h) {
    http.Route("GET", path, std::move(h));
  };
  ServerMetrics* const m = ctx.metrics;
  get("/hls/v1/getHLSMasterPlaylist.m3u8",
      [svc](const HttpRequest& r) { return Reply(r, svc->GetMasterPlaylist(r.query), nullptr); });
  // Blocking playlist reloads and preload-hinted parts (LL-HLS) wait for the live edge.
  http.RouteStreaming("GET", "/hls/v1/getHLSMediaPlaylist.m3u8",
                      Parkable(ctx.pool, ctx.metrics, [svc](const std::string& q, auto out) {
                        svc->GetMediaPlaylist(q, std::move(out));
                      }));
  http.RouteStreaming("GET", "/hls/v1/getMP4PartFragment.mp4",
                      Parkable(ctx.pool, ctx.metrics, [svc](const std::string& q, auto out) {
                        svc->GetPartSegment(q, std::move(out));
                      }));
  get("/dash/v1/getDASHManifest.mpd",
      [svc](const HttpRequest& r) { return Reply(r, svc->GetDashManifest(r.query), nullptr); });
  // A named copy of the kind: clang 14 cannot capture a structured binding.
  for (const auto& entry :
       {std::pair{"/hls/v1/", SessionKind::kHls}, std::pair{"/dash/v1/", SessionKind::kDash}}) {
    const std::string prefix = entry.first;
    const SessionKind kind = entry.second;
    get(prefix + "getMP4InitFragment.mp4", [svc, kind, m](const HttpRequest& r) {
      return Reply(r, svc->GetInitSegment(kind, r.query), m);
    });
    get(prefix + "getMP4MediaFragment.mp4", [svc, kind, m](const HttpRequest& r) {
      return Reply(r, svc->GetMediaSegment(kind, ContainerFormat::kFragmentedMp4, r.query), m);
    });
  }
  get("/hls/v1/getTSFragment.ts", [svc, m](const HttpRequest& r) {
    return Reply(r, svc->GetMediaSegment(SessionKind::kHls, ContainerFormat::kMpegTs, r.query), m);
  });
}

}  // namespace streamarc::server
