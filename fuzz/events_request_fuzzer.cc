// Feeds arbitrary bytes to the PutEvents and ListEvents request parsers (the first byte picks
// one). They must never crash, hang or leak, refuse with kInvalidArgument (or
// kResourceExhausted for too many events) and a message, and whatever they accept must hold
// the constraints the archive and the answers rely on.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "playback/events_request.h"

namespace {

using namespace streamarc;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckStream(const archive::StreamRef& ref) {
  Check(ref.name.empty() != ref.arn.empty());
  if (!ref.name.empty()) Check(archive::ValidateStreamName(ref.name).ok());
}

void CheckText(const std::string& s, bool optional) {
  Check(s.size() <= playback::kMaxEventTextLength && (optional || !s.empty()));
  for (char c : s) Check(c >= ' ' && c <= '~' && c != ';');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    auto r = playback::ParsePutEventsRequest(body);
    if (!r.ok()) {
      Check((r.status().code() == Code::kInvalidArgument ||
             r.status().code() == Code::kResourceExhausted) &&
            !r.status().message().empty());
      return 0;
    }
    CheckStream(r->stream);
    Check(!r->events.empty() && r->events.size() <= archive::kMaxEventsPerPut);
    for (const archive::EventInput& e : r->events) {
      CheckText(e.label, false);
      CheckText(e.source, true);
      Check(e.start_us >= 0 && e.start_us <= e.end_us);
      Check(e.end_us - e.start_us <= archive::kMaxEventDurationUs);
      Check(std::isfinite(e.score) && e.score >= 0 && e.score <= 1);
      if (e.box) {
        Check(e.box->x >= 0 && e.box->y >= 0 && e.box->width >= 1 && e.box->height >= 1);
        Check(e.box->x <= playback::kMaxEventBoxPixels && e.box->y <= playback::kMaxEventBoxPixels);
        Check(e.box->width <= playback::kMaxEventBoxPixels &&
              e.box->height <= playback::kMaxEventBoxPixels);
      }
    }
    // The answer for what was accepted is valid JSON-producing code too.
    Check(!playback::PutEventsResponseJson({"1"}).empty());
  } else {
    auto r = playback::ParseListEventsRequest(body);
    if (!r.ok()) {
      Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
      return 0;
    }
    CheckStream(r->stream);
    Check(r->max_results >= 1 && r->max_results <= archive::kMaxListEventsResults);
    Check(r->start_us >= 0 && r->start_us <= r->end_us);
    CheckText(r->label, true);
    Check(r->next_token.size() <= 4096);
  }
  return 0;
}
