#include "server/clip_api.h"

namespace streamarc::server {

// Not built yet.
void RegisterClipApi(HttpServer&, const ApiContext&) {}

}  // namespace streamarc::server
