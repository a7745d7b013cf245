// Feeds arbitrary bytes to the PutEvents answer parser as the body of a 200 and of an error
// (the first byte picks the status). It must never crash, hang or leak; a 200 it accepts
// holds exactly the ids asked for, and an error is never OK.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "frametap/events_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr long kStatuses[] = {200, 400, 403, 404, 500, 503};
  const long status = kStatuses[data[0] % 6];
  const size_t expected = data[0] / 6 % 4;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = streamarc::frametap::ParsePutEventsReply(status, body, "SomeException", expected);
  if (status != 200 && r.ok()) std::abort();
  if (r.ok() && r->size() != expected) std::abort();
  return 0;
}
