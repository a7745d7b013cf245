#include "server/web_api.h"

#include <string>
#include <utility>

namespace streamarc::server {

void RegisterWebApi(Router& http, std::shared_ptr<const WebSite> site) {
  auto serve = [site = std::move(site)](const HttpRequest& r) { return site->Serve(r); };
  http.Route("GET", "/", serve);
  http.RoutePrefix("GET", "/web/", serve);
}

}  // namespace streamarc::server
