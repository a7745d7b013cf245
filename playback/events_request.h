// The JSON requests of PutEvents and ListEvents (our API, in KVS's JSON style: epoch-second
// timestamps, StreamName or StreamARN, NextToken paging), parsed and checked, and their JSON
// answers. Pure logic, no archive calls, so it builds into a fuzz target on its own
// (fuzz/events_request_fuzzer.cc). Refusals name the field: kInvalidArgument
// (InvalidArgumentException), or kResourceExhausted (ClientLimitExceededException) for more
// than archive::kMaxEventsPerPut events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::playback {

// A Label, and a Source when given: 1 to 256 of [A-Za-z0-9 _.:/=+@-] (KVS's tag-value
// characters, ASCII only).
inline constexpr size_t kMaxEventTextLength = 256;
// Box fields are whole pixels: X and Y 0..65535, Width and Height 1..65535.
inline constexpr int64_t kMaxEventBoxPixels = 65'535;
// ListEvents' default page size; MaxResults may be 1..archive::kMaxListEventsResults.
inline constexpr int kDefaultListEventsMaxResults = 100;

struct PutEventsRequest {
  archive::StreamRef stream;
  // 1..kMaxEventsPerPut events, each with start <= end <= start + 24 h and 0 <= Score <= 1.
  std::vector<archive::EventInput> events;
};

// {"StreamName"|"StreamARN", "Events": [{"Label", "StartTimestamp", "EndTimestamp", "Score",
// "Box"?: {"X","Y","Width","Height"}, "Source"?}]}
Result<PutEventsRequest> ParsePutEventsRequest(std::string_view body);
// {"StreamName"|"StreamARN", "TimestampRange"?: {"StartTimestamp","EndTimestamp"}, "Label"?,
// "MaxResults"?, "NextToken"?}: TimestampRange is required unless NextToken is given (the
// token then carries the range and label).
Result<archive::ListEventsRequest> ParseListEventsRequest(std::string_view body);

// {"EventIds": [...]}, in the order the events were given.
std::string PutEventsResponseJson(const std::vector<std::string>& ids);
// {"Events": [{"EventId","Label","StartTimestamp","EndTimestamp","Score","Box"?,"Source"?}],
// "NextToken"?}
std::string ListEventsResponseJson(const archive::ListEventsResult& result);

}  // namespace streamarc::playback
