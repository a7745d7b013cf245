// LL-HLS request parsing: the blocking reload directives (_HLS_msn, _HLS_part) of a playlist
// query and the part address (LiveFragment, Part) of a part query, then the verdict on what
// parsed against a few live ends: no crash, and a verdict that waits names a fragment at or
// after the live end's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "playback/hls_low_latency.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamarc::playback;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)ParsePartAddress(in);
  auto r = ParseBlockingRequest(in);
  if (!r.ok()) return 0;
  if (r->has_part && !r->has_msn) std::abort();  // the parser must refuse it
  for (const LiveEnd& end : {LiveEnd{0, 0, false, 0}, LiveEnd{10, 3, true, 500},
                             LiveEnd{UINT64_MAX, 0, true, UINT64_MAX - 1}}) {
    for (int64_t target : {int64_t{1}, int64_t{333'000}, int64_t{2'000'000}}) {
      Decision d = Decide(*r, end, target, 6);
      if (d.verdict == Verdict::kWait && d.want.fragment_id < end.fragment_id) std::abort();
    }
  }
  return 0;
}
