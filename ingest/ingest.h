// PutMedia's wire pieces that are pure functions: the ACK events of the response stream, in
// KVS's exact JSON shape, and the session headers the fragmenter needs. The chunked body
// decoder is in ingest/chunked.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/kvs_ack.h"
#include "common/status.h"
#include "fragmenter/fragmenter.h"

namespace streamarc::ingest {

// The event types and their names are KVS's ACK vocabulary, shared with the producer SDK.
using kvs::AckEventType;

// One ACK event. Which fields go out depends on the type (see FormatAck).
struct AckEvent {
  AckEventType type = AckEventType::kIdle;
  // The producer's cluster Timecode as sent (fragmenter::FragmentHead::fragment_timecode).
  std::optional<int64_t> fragment_timecode;
  std::string fragment_number;                        // decimal digits; empty: not known (left out)
  kvs::AckErrorId error_id = kvs::AckErrorId::kNone;  // kError only

  static AckEvent Buffering(int64_t timecode, std::string number) {
    return {AckEventType::kBuffering, timecode, std::move(number)};
  }
  static AckEvent Received(int64_t timecode, std::string number) {
    return {AckEventType::kReceived, timecode, std::move(number)};
  }
  static AckEvent Persisted(int64_t timecode, std::string number) {
    return {AckEventType::kPersisted, timecode, std::move(number)};
  }
  static AckEvent Error(int64_t timecode, std::string number, kvs::AckErrorId id) {
    return {AckEventType::kError, timecode, std::move(number), id};
  }
  static AckEvent Idle() { return {}; }
};

// The event as KVS writes it, one flat JSON object with keys in KVS's order:
//   {"EventType":"PERSISTED","FragmentTimecode":1663277247152,"FragmentNumber":"9134..."}
//   {"EventType":"ERROR","FragmentTimecode":0,"FragmentNumber":"9134...",
//    "ErrorCode":"FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS","ErrorId":4004}
//   {"EventType":"IDLE"}
// FragmentTimecode is left out when unknown (IDLE), FragmentNumber when empty; ErrorCode and
// ErrorId appear only on ERROR. The producer SDK's parser matches the key names exactly and
// takes at most 1024 characters per ACK; a fragment number is digits only, anything else is
// JSON-escaped. No trailing newline: see FormatAckLine.
std::string FormatAck(const AckEvent& event);

// FormatAck plus the "\n" that separates ACKs on PutMedia's response stream.
std::string FormatAckLine(const AckEvent& event);

// x-amzn-fragment-timecode-type: "ABSOLUTE" or "RELATIVE" (exactly, as KVS documents).
Result<fragmenter::TimecodeType> ParseTimecodeType(std::string_view header);

// x-amzn-producer-start-timestamp, "<seconds>.<millis>", to ms since the epoch. The KVS C
// producer prints the millis with "%llu" (not zero-padded: 5 ms is ".5"), so a fraction of
// 1-3 digits is read as a whole number of milliseconds; a longer fraction can only come from
// a decimal writer and is read as a decimal fraction (truncated to ms). No fraction: whole
// seconds.
Result<int64_t> ParseProducerStartTimestampMs(std::string_view header);

}  // namespace streamarc::ingest
