#include "server/hls_api.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "playback/hls_service.h"
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
HttpResponse Reply(const HttpRequest& req, Result<Content, KvsError> content) {
  if (!content.ok()) return KvsErrorResponse(content.error());
  Content& c = *content;
  if (c.max_age_seconds == 0) {
    return HttpResponse{200, std::move(c.content_type), {{"cache-control", "no-cache"}}, *c.bytes};
  }
  return ServeBody(req, *c.bytes, std::move(c.content_type),
                   {{"cache-control", "max-age=" + std::to_string(c.max_age_seconds)}});
}

HttpResponse CreateSession(HlsService& svc, SessionKind kind, const HttpRequest& req) {
  Result<std::string, KvsError> url = svc.CreateSession(kind, req.body);
  if (!url.ok()) return KvsErrorResponse(url.error());
  nlohmann::json j;
  j[kind == SessionKind::kHls ? "HLSStreamingSessionURL" : "DASHStreamingSessionURL"] = *url;
  return JsonOk(j.dump());
}

}  // namespace

void RegisterHlsApi(Router& http, const ApiContext& ctx) {
  // The handlers run on the worker pool and hold the service by shared_ptr: a job still
  // queued at shutdown keeps it alive. It copies what it needs of `ctx` and refers only to
  // the archive, clock and logger, which the daemon destroys after the pool has drained.
  std::shared_ptr<HlsService> svc =
      playback::NewHlsService(playback::HlsServiceOptions{ctx.data_endpoint, ctx.token_secret},
                              ctx.archive, ctx.clock, ctx.log);
  http.Route("POST", "/getHLSStreamingSessionURL",
             [svc](const HttpRequest& r) { return CreateSession(*svc, SessionKind::kHls, r); });
  http.Route("POST", "/getDASHStreamingSessionURL",
             [svc](const HttpRequest& r) { return CreateSession(*svc, SessionKind::kDash, r); });
  auto get = [&http](const std::string& path, BufferedHandler h) {
    http.Route("GET", path, std::move(h));
  };
  get("/hls/v1/getHLSMasterPlaylist.m3u8",
      [svc](const HttpRequest& r) { return Reply(r, svc->GetMasterPlaylist(r.query)); });
  get("/hls/v1/getHLSMediaPlaylist.m3u8",
      [svc](const HttpRequest& r) { return Reply(r, svc->GetMediaPlaylist(r.query)); });
  get("/dash/v1/getDASHManifest.mpd",
      [svc](const HttpRequest& r) { return Reply(r, svc->GetDashManifest(r.query)); });
  // A named copy of the kind: clang 14 cannot capture a structured binding.
  for (const auto& entry :
       {std::pair{"/hls/v1/", SessionKind::kHls}, std::pair{"/dash/v1/", SessionKind::kDash}}) {
    const std::string prefix = entry.first;
    const SessionKind kind = entry.second;
    get(prefix + "getMP4InitFragment.mp4",
        [svc, kind](const HttpRequest& r) { return Reply(r, svc->GetInitSegment(kind, r.query)); });
    get(prefix + "getMP4MediaFragment.mp4", [svc, kind](const HttpRequest& r) {
      return Reply(r, svc->GetMediaSegment(kind, ContainerFormat::kFragmentedMp4, r.query));
    });
  }
  get("/hls/v1/getTSFragment.ts", [svc](const HttpRequest& r) {
    return Reply(r, svc->GetMediaSegment(SessionKind::kHls, ContainerFormat::kMpegTs, r.query));
  });
}

}  // namespace streamarc::server
