// Feeds arbitrary bytes to the ListRecordingSpans request parser. It must never crash, hang
// or leak, refuse with kInvalidArgument and a message, and whatever it accepts must hold the
// constraints the archive and the answer rely on (the answer is built for it too).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "playback/recording_spans_request.h"

namespace {

using namespace streamarc;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = playback::ParseListSpansRequest(body);
  if (!r.ok()) {
    Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
    return 0;
  }
  Check(r->stream.name.empty() != r->stream.arn.empty());
  if (!r->stream.name.empty()) Check(archive::ValidateStreamName(r->stream.name).ok());
  Check(r->max_results >= 1 && r->max_results <= archive::kMaxListSpansResults);
  Check(r->min_gap_us >= 0 && r->min_gap_us <= playback::kMaxSpanGapUs);
  Check(r->start_us >= 0 && r->start_us <= r->end_us);
  Check(r->next_token.size() <= 4096);
  // Spans as the parsed range would bound them, through the answer's rounding.
  archive::ListSpansResult result;
  result.spans.push_back({r->start_us, r->end_us, 1, 1});
  result.next_token = r->next_token;
  Check(playback::ListSpansResponseJson(result).size() > 10);
  return 0;
}
