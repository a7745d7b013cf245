// PutEvents: one signed JSON POST to /putEvents through the producer SDK's libcurl wrapper
// (producer-sdk/http.h), the same request path every control-plane call takes.
#include <algorithm>
#include <cstddef>

#include "common/clock.h"
#include "frametap/events_json.h"
#include "frametap/frametap.h"
#include "producer-sdk/http.h"

namespace streamarc::frametap {

namespace {
constexpr int64_t kConnectTimeoutMs = 5'000;
constexpr int64_t kTimeoutMs = 15'000;
// The server takes at most this many events per call (archive::kMaxEventsPerPut; the
// consumer library does not link the archive).
constexpr size_t kEventsPerCall = 100;
}  // namespace

Result<std::vector<std::string>> PutEvents(const EventsClientOptions& options,
                                           const std::vector<Event>& events) {
  if (events.empty()) return std::vector<std::string>{};
  producer::SignContext sign;
  sign.region = options.region.empty() ? "us-west-2" : options.region;
  // A server without configured keys (loopback) accepts any signature, so unsigned use
  // needs no keys; a server with keys refuses these placeholders with its own error.
  sign.credentials = {options.access_key.empty() ? "ANONYMOUS" : options.access_key,
                      options.secret_key.empty() ? "anonymous" : options.secret_key, ""};
  sign.user_agent = "streamarc-frametap";
  ASSIGN_OR_RETURN(sign.ca_cert, producer::ResolveCaCert(options.ca_cert));
  SystemClock clock;
  std::vector<std::string> ids;
  for (size_t at = 0; at < events.size(); at += kEventsPerCall) {
    const std::vector<Event> batch(
        events.begin() + static_cast<std::ptrdiff_t>(at),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), at + kEventsPerCall)));
    ASSIGN_OR_RETURN(producer::HttpResponse r,
                     producer::PostJson(options.endpoint, "/putEvents",
                                        PutEventsRequestJson(options.stream_name, batch), sign,
                                        kConnectTimeoutMs, kTimeoutMs, clock.NowMicros()));
    ASSIGN_OR_RETURN(std::vector<std::string> batch_ids,
                     ParsePutEventsReply(r.status, r.body, r.error_type, batch.size()));
    ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
  }
  return ids;
}

}  // namespace streamarc::frametap
