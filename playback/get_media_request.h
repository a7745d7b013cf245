// The JSON requests of GetMedia, ListFragments and GetMediaForFragmentList, parsed and
// checked as KVS's API model constrains them (kvs-api.md §2.2, §3), and ListFragments' JSON
// answer. Pure logic, no archive calls, so it builds into a fuzz target on its own (with
// streamarc_common for the stream and timestamp rules). Every refusal is kInvalidArgument with a
// message that names the field, as InvalidArgumentException's Message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::playback {

enum class StartSelectorType {
  kNow,                // the next fragment to be persisted, then live
  kEarliest,           // the oldest fragment kept
  kFragmentNumber,     // the fragment after AfterFragmentNumber
  kServerTimestamp,    // the first fragment whose server timestamp is >= StartTimestamp
  kProducerTimestamp,  // the same with the producer timestamp
  kContinuationToken,  // the fragment after the one the token names
};

struct GetMediaRequest {
  archive::StreamRef stream;
  StartSelectorType type = StartSelectorType::kNow;
  std::string after_fragment_number;  // kFragmentNumber
  int64_t start_timestamp_us = 0;     // k*Timestamp
  std::string continuation_token;     // kContinuationToken (a fragment number here)
};

// ListFragments' default page size (KVS: 100) and bounds.
inline constexpr int kDefaultListMaxResults = 100;
inline constexpr int kMaxListMaxResults = 1000;
// GetMediaForFragmentList takes 1 to this many fragment numbers, each at most once.
inline constexpr size_t kMaxFragmentList = 1000;

struct FragmentListRequest {
  archive::StreamRef stream;
  std::vector<std::string> fragments;  // in the order asked, no number twice
};

Result<GetMediaRequest> ParseGetMediaRequest(std::string_view body);
// The archive's ListRequest (its next_token is the archive's opaque cursor).
Result<archive::ListRequest> ParseListFragmentsRequest(std::string_view body);
Result<FragmentListRequest> ParseFragmentListRequest(std::string_view body);

// {"Fragments":[{FragmentNumber, FragmentSizeInBytes, ProducerTimestamp, ServerTimestamp,
// FragmentLengthInMilliseconds}], "NextToken"?}: timestamps as epoch seconds (numbers).
std::string ListFragmentsResponseJson(const archive::ListResult& result);

}  // namespace streamarc::playback
