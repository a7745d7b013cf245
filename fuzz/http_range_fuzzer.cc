// Feeds arbitrary Range header values to the parser against body lengths chosen by the
// input. A satisfiable answer must lie inside the body; nothing may crash or hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http_range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes pick the body length (small, so edges are hit often), the rest is
  // the header value.
  uint64_t length = (uint64_t{data[0]} << 8) | data[1];
  if (length > 60000) length = UINT64_MAX - (length - 60000);  // near-overflow lengths too
  std::string_view value(reinterpret_cast<const char*>(data + 2), size - 2);
  streamarc::server::RangeRequest r = streamarc::server::ParseRange(value, length);
  if (r.kind == streamarc::server::RangeKind::kSatisfiable) {
    if (r.range.first > r.range.last || r.range.last >= length) abort();
  }
  if (r.kind == streamarc::server::RangeKind::kUnsatisfiable && length > 0 &&
      value.find(',') != std::string_view::npos) {
    abort();  // multi-range requests are served whole, never refused
  }
  return 0;
}
