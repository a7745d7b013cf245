#include "server/events_api.h"

#include <memory>

#include "playback/events.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

HttpResponse Answer(Result<std::string, KvsError> r) {
  if (!r.ok()) return KvsErrorResponse(r.error());
  return JsonOk(std::move(r).value());
}

}  // namespace

void RegisterEventsApi(Router& http, const ApiContext& ctx) {
  auto svc = std::make_shared<playback::EventsService>(ctx.archive);
  http.Route("POST", "/putEvents",
             [svc](const HttpRequest& req) { return Answer(svc->PutEvents(req.body)); });
  http.Route("POST", "/listEvents",
             [svc](const HttpRequest& req) { return Answer(svc->ListEvents(req.body)); });
}

}  // namespace streamarc::server
