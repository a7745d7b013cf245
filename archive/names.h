// Numbers and tokens the archive hands out (private to archive/): stream versions, fragment
// numbers, pagination tokens, and small encodings. Stream names and ARNs are
// common/kvs_request.h's.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace streamarc::archive {

inline constexpr size_t kFragmentNumberDigits = 47;

// 20 random alphanumerics, like KVS's stream versions. Not thread-safe (owns its engine).
class VersionMaker {
 public:
  VersionMaker() : rng_(std::random_device{}()) {}
  std::string Next();
  uint64_t Random64() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

// A fragment number: "9", the 20-digit sequence number, then the archive's 26-digit
// suffix (its random id), 47 digits in all. Equal length makes text order numeric order,
// and the sequence number comes first, so numbers sort by arrival across the server.
std::string FormatFragmentNumber(uint64_t seq, std::string_view suffix);
std::string FragmentNumberSuffix(uint64_t archive_id);
// The sequence number, or kInvalidArgument when `number` is not one of this archive's.
Result<uint64_t> ParseFragmentNumber(std::string_view number, std::string_view suffix);

// ListFragments continuation state, encoded as an opaque base64 token with a checksum.
struct ListCursor {
  int64_t stream_id = 0;
  int type = 0;  // 0 producer, 1 server
  int64_t end_us = 0;
  int64_t last_ts = 0;
  int64_t last_seq = 0;
};
std::string EncodeCursor(const ListCursor& c);
Result<ListCursor> DecodeCursor(std::string_view token);

// ListEvents continuation state: the query (stream, range, label) and the last event
// returned, encoded like ListCursor.
struct EventCursor {
  int64_t stream_id = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
  std::string label;
  int64_t last_start_us = 0;
  int64_t last_id = 0;
};
std::string EncodeEventCursor(const EventCursor& c);
// kInvalidArgument "invalid NextToken" for anything EncodeEventCursor did not write.
Result<EventCursor> DecodeEventCursor(std::string_view token);

// ListRecordingSpans continuation state: the query and the end of the last span returned
// (the next page holds the spans starting after it), encoded like ListCursor.
struct SpanCursor {
  int64_t stream_id = 0;
  int type = 0;  // 0 producer, 1 server
  int64_t start_us = 0;
  int64_t end_us = 0;
  int64_t min_gap_us = 0;
  int64_t after_end_us = 0;
};
std::string EncodeSpanCursor(const SpanCursor& c);
// kInvalidArgument "invalid NextToken" for anything EncodeSpanCursor did not write.
Result<SpanCursor> DecodeSpanCursor(std::string_view token);

// Key-frame offsets as LEB128 deltas (ascending offsets expected; any order round-trips).
std::string EncodeOffsets(const std::vector<uint32_t>& offsets);
Result<std::vector<uint32_t>> DecodeOffsets(std::string_view blob);

uint32_t Crc32(std::string_view data, uint32_t crc = 0);

}  // namespace streamarc::archive
