// HTTP Range requests (RFC 9110 §14) for bodies held in memory: clips and HLS/DASH segments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/http.h"

namespace streamarc::server {

// A parsed Range header for a body of known length.
struct ByteRange {
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
};
enum class RangeKind {
  kNone,           // no Range, another unit, malformed or multi-range: serve the whole body
  kSatisfiable,    // `range` holds the bytes to send (clamped to the body)
  kUnsatisfiable,  // 416
};
struct RangeRequest {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;
};
// Parses a Range header value against a body of `length` bytes. Never fails: what it cannot
// read it ignores (kNone), as RFC 9110 lets a server do.
RangeRequest ParseRange(std::string_view value, uint64_t length);

// Answers `request` with `body`: 200 with the whole body, 206 with the one range asked for
// (bytes=a-b, a-, -n), or 416 for a range outside the body. Sets Accept-Ranges and
// Content-Range. Multi-range requests get the whole body (200), which RFC 9110 allows.
HttpResponse ServeBody(const HttpRequest& request, std::string body, std::string content_type,
                       std::vector<Header> extra_headers = {});

}  // namespace streamarc::server
