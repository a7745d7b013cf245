#include "server/http_range.h"

namespace streamarc::server {

// Not built yet: the whole body.
HttpResponse ServeBody(const HttpRequest&, std::string body, std::string content_type,
                       std::vector<Header> extra_headers) {
  return HttpResponse{200, std::move(content_type), std::move(extra_headers), std::move(body)};
}

}  // namespace streamarc::server
