// The PutEvents wire format, apart from HTTP so it can be tested and fuzzed on its own
// (private to frametap/; users call PutEvents in frametap.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "frametap/frametap.h"

namespace streamarc::frametap {

// The /putEvents body: {"StreamName", "Events":[{"Label", "StartTimestamp", "EndTimestamp",
// "Score", "Box":{"X","Y","Width","Height"}, "Source"}]}, timestamps in epoch seconds with
// fractions (KVS's JSON timestamps). "Box" and "Source" only when set.
std::string PutEventsRequestJson(const std::string& stream_name, const std::vector<Event>& events);

// The answer to a PutEvents of `expected` events: their ids from a 200 {"EventIds":[...]}.
// A KVS error (any other status) becomes NotFound (404), PermissionDenied (401, 403),
// InvalidArgument (other 4xx) or Unavailable (5xx and the rest), its message starting with
// the error type ("ResourceNotFoundException: ...") and the server's Message. A 200 that is
// not that shape, or holds another number of ids, is kDataLoss.
Result<std::vector<std::string>> ParsePutEventsReply(long status, std::string_view body,
                                                     std::string_view error_type, size_t expected);

}  // namespace streamarc::frametap
