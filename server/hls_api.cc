#include "server/hls_api.h"

namespace streamarc::server {

// Not built yet.
void RegisterHlsApi(HttpServer&, const ApiContext&) {}

}  // namespace streamarc::server
