// The PutMedia response body: newline-separated ACK JSON objects arriving in pieces of any
// size (curl hands over whatever the socket gave). Pure; fuzzed (fuzz/ack_parser_fuzzer.cc).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "producer-sdk/producer.h"

namespace streamarc::producer {

// One ACK object, e.g. {"EventType":"PERSISTED","FragmentTimecode":1663277247152,
// "FragmentNumber":"9134...","ErrorId":5000,"ErrorCode":"INTERNAL_ERROR"}. Names are
// matched case-sensitively as KVS's own parser does; unknown keys are ignored. kInvalidArgument
// for anything that is not such an object (unknown EventType included).
Result<FragmentAck> ParseAck(std::string_view json);

// Splits the response body into lines and parses each. Not thread-safe.
class AckStreamParser {
 public:
  // A line longer than this is malformed: KVS's parser caps an ACK at 1024 chars.
  static constexpr size_t kMaxLine = 4096;

  // Appends the ACKs completed by `bytes` to `acks`; counts malformed lines (skipped: a
  // garbled ACK must not stop the upload, the fragment is resent when its PERSISTED never
  // comes).
  void Feed(std::string_view bytes, std::vector<FragmentAck>& acks);
  size_t malformed() const { return malformed_; }

 private:
  void Line(std::string_view line, std::vector<FragmentAck>& acks);
  std::string partial_;
  bool skipping_ = false;  // inside an over-long line
  size_t malformed_ = 0;
};

}  // namespace streamarc::producer
