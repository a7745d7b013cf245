#include "server/hls_api.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "playback/hls_service.h"
#include "server/http_range.h"
#include "server/kvs_error.h"
#include "server/playback_error.h"

namespace streamarc::server {
namespace {

using playback::ContainerFormat;
using playback::Content;
using playback::HlsService;
using playback::Outcome;
using playback::SessionKind;

// --- CORS for /hls/v1/ and /dash/v1/ (players in pages of any origin) -------------------
// Kept together here until the middleware takes CORS over for every route.
HttpResponse WithCors(HttpResponse r) {
  r.headers.push_back({"access-control-allow-origin", "*"});
  r.headers.push_back(
      {"access-control-expose-headers", "Content-Length, Content-Range, Accept-Ranges"});
  return r;
}

HttpResponse CorsPreflight(const HttpRequest&) {
  HttpResponse r{204, "text/plain", {}, ""};
  r.headers = {{"access-control-allow-origin", "*"},
               {"access-control-allow-methods", "GET, HEAD, OPTIONS"},
               {"access-control-allow-headers", "Range, Origin, Accept, Content-Type"},
               {"access-control-max-age", "86400"}};
  return r;
}
// ----------------------------------------------------------------------------------------

// A playlist as it is; a segment with its cache lifetime and Range honoured.
HttpResponse Reply(const HttpRequest& req, Outcome<Content> content) {
  if (!content.ok()) return WithCors(KvsErrorResponse(content.error()));
  Content& c = *content;
  if (c.max_age_seconds == 0) {
    return WithCors(
        HttpResponse{200, std::move(c.content_type), {{"cache-control", "no-cache"}}, *c.bytes});
  }
  return WithCors(ServeBody(req, *c.bytes, std::move(c.content_type),
                            {{"cache-control", "max-age=" + std::to_string(c.max_age_seconds)}}));
}

HttpResponse CreateSession(HlsService& svc, SessionKind kind, const HttpRequest& req) {
  Outcome<std::string> url = svc.CreateSession(kind, req.body);
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
    http.Route("OPTIONS", path, CorsPreflight);
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
