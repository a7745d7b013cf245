// The browser console's route: GET / and GET /web/... answered from a WebSite (web_site.h:
// the URL layout, what is served and what is refused).
#pragma once

#include <memory>

#include "server/router.h"
#include "server/web_site.h"

namespace streamarc::server {

// GET / and GET /web/... through `http`'s middleware.
void RegisterWebApi(Router& http, std::shared_ptr<const WebSite> site);

}  // namespace streamarc::server
