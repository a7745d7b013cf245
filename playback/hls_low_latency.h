// LL-HLS request arithmetic (private to playback/; HlsService uses it): the blocking reload
// directives of a media playlist request and the part request's address, and when such a
// request is answered (RFC 8216bis 6.2.5.2). Pure logic: the edge's position in, a verdict out.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "playback/live_edge.h"

namespace streamarc::playback {

// _HLS_msn / _HLS_part of a media playlist request (other parameters are ignored).
struct BlockingRequest {
  bool has_msn = false;
  uint64_t msn = 0;
  bool has_part = false;
  uint32_t part = 0;
};
// kInvalidArgument: a value that is not a decimal number in range, or _HLS_part without
// _HLS_msn (the spec's 400).
Result<BlockingRequest> ParseBlockingRequest(std::string_view query);

// LiveFragment= / Part= of a part request. kInvalidArgument when malformed or absent.
struct PartAddress {
  uint64_t fragment_id = 0;
  uint32_t part = 0;
};
Result<PartAddress> ParsePartAddress(std::string_view query);

// Where a LL playlist ends now.
struct LiveEnd {
  uint64_t msn = 0;          // the last entry's media sequence number
  uint32_t parts = 0;        // parts listed for it
  bool open = false;         // it is still arriving (parts only)
  uint64_t fragment_id = 0;  // its edge id (for a fragment only the archive had: the id just
                             // before the next one the edge will see)
};

// How many parts a request may ask beyond the last one listed (the spec's Advance Part
// Limit): three part targets' worth, at least three.
uint32_t AdvancePartLimit(int64_t part_target_us);

enum class Verdict { kNow, kWait, kTooFar };
struct Decision {
  Verdict verdict = Verdict::kNow;
  EdgeWant want;  // kWait: what to wait for
};
// `parts_per_segment`: about how many parts a segment has (to count parts ahead across a
// segment boundary).
Decision Decide(const BlockingRequest& request, const LiveEnd& end, int64_t part_target_us,
                uint32_t parts_per_segment);

}  // namespace streamarc::playback
