// The JSON request of ListRecordingSpans (our API, in KVS's JSON style like ListEvents:
// epoch-second timestamps, StreamName or StreamARN, NextToken paging), parsed and checked, and
// its JSON answer. Pure logic, no archive calls, so it builds into a fuzz target on its own
// (fuzz/recording_spans_request_fuzzer.cc). Every refusal is kInvalidArgument
// (InvalidArgumentException) with a message naming the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::playback {

inline constexpr int kDefaultListSpansMaxResults = 1000;
// MinGapSeconds at most 10 years (the longest retention): a larger gap merges nothing more.
inline constexpr int64_t kMaxSpanGapUs = int64_t{archive::kMaxRetentionHours} * 3'600'000'000;

// {"StreamName"|"StreamARN", "TimestampRange"?: {"StartTimestamp","EndTimestamp"},
// "TimestampType"?: "PRODUCER_TIMESTAMP" (default) | "SERVER_TIMESTAMP",
// "MinGapSeconds"?: number >= 0 (default 0), "MaxResults"?: 1..10000 (default 1000),
// "NextToken"?}: TimestampRange is required unless NextToken is given (the token then carries
// the range, type and gap).
Result<archive::ListSpansRequest> ParseListSpansRequest(std::string_view body);

// {"Spans": [{"StartTimestamp","EndTimestamp","FragmentCount","SizeInBytes"}],
// "NextToken"?}: epoch seconds at millisecond precision, the start rounded down and the end
// up, so a span always covers its fragments.
std::string ListSpansResponseJson(const archive::ListSpansResult& result);

}  // namespace streamarc::playback
