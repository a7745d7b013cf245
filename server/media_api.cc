#include "server/media_api.h"

namespace streamarc::server {

// Not built yet.
void RegisterMediaApi(HttpServer&, const ApiContext&) {}

}  // namespace streamarc::server
