#include "server/images_api.h"

#include <cstdio>
#include <string>
#include <utility>

#include "playback/hls.h"
#include "server/auth.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

std::string Seconds(int64_t us) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6f", static_cast<double>(us) / 1e6);
  return text;
}

HttpResponse Thumbnail(const frametap::ThumbnailSink& thumbnails, const HttpRequest& req) {
  auto args = playback::ParseQuery(req.query);
  if (!args.ok()) return KvsErrorResponse(KvsErrorFromStatus(args.status()));
  auto it = args->find("StreamName");
  if (it == args->end()) {
    return KvsErrorResponse({KvsErrorType::kMissingParameter,
                             InvalidArgument("StreamName is a required query parameter")});
  }
  if (Status s = archive::ValidateStreamName(it->second); !s.ok()) {
    return KvsErrorResponse(KvsErrorFromStatus(s));
  }
  std::optional<frametap::Thumbnail> t = thumbnails.Latest(it->second);
  if (!t) {
    return KvsErrorResponse(
        {KvsErrorType::kResourceNotFound,
         NotFound("no thumbnail of stream " + it->second +
                  " (it is not tapped, see --frame-tap, or no key frame arrived yet)")});
  }
  return HttpResponse{200,
                      "image/jpeg",
                      {{"cache-control", "no-cache"},
                       {"x-amz-producer-timestamp", Seconds(t->info.producer_timestamp_us)},
                       {"x-amz-server-timestamp", Seconds(t->info.server_timestamp_us)},
                       {"x-amz-fragment-number", t->info.fragment_number}},
                      *t->jpeg};
}

}  // namespace

void RegisterImagesApi(Router& http, const ApiContext& ctx,
                       const playback::ImagesOptions& options) {
  // Held by the handler: a job still queued at shutdown keeps it alive; it refers only to
  // the archive and logger, which the daemon destroys after the pool has drained.
  auto svc = std::make_shared<playback::ImagesService>(ctx.archive, ctx.log, options);
  http.Route("POST", "/getImages", [svc, m = ctx.metrics](const HttpRequest& req) {
    Result<std::string, KvsError> answer = svc->GetImages(req.body);
    if (!answer.ok()) return KvsErrorResponse(answer.error());
    // Answered, so the body named a stream that exists.
    if (m) m->CountOut("images", RequestStream(req), answer->size(), 0);
    return JsonOk(std::move(answer).value());
  });
}

void RegisterThumbnailApi(Router& http, std::shared_ptr<const frametap::ThumbnailSink> thumbnails) {
  http.Route("GET", "/thumbnail", [thumbnails = std::move(thumbnails)](const HttpRequest& req) {
    return Thumbnail(*thumbnails, req);
  });
}

}  // namespace streamarc::server
