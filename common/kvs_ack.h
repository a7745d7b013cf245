// KVS's PutMedia acknowledgement vocabulary (kvs-api.md §2.1): the ACK event types and the
// ERROR ids with their ErrorCode strings and what a producer does on each. One definition
// for both ends: the fragmenter refuses with an id, ingest writes the event, the producer
// SDK reads it and decides whether to resend. Standard library only, so the SDK can use it
// without gaining dependencies. Thread-safe (no state).
#pragma once

#include <optional>
#include <string_view>

namespace streamarc::kvs {

// An ACK's EventType.
enum class AckEventType { kBuffering, kReceived, kPersisted, kError, kIdle };

// "BUFFERING", "RECEIVED", "PERSISTED", "ERROR", "IDLE".
std::string_view AckEventTypeName(AckEventType type);
// The inverse, matched case-sensitively as KVS's own parser does; nullopt for anything else.
std::optional<AckEventType> ParseAckEventType(std::string_view name);

// The ErrorId of an ERROR ack. Values are KVS's, on the wire as numbers. A producer may
// receive ids not listed here (a newer service); it treats them as not retried.
enum class AckErrorId : int {
  kNone = 0,
  kStreamReadError = 4000,  // retried by the producer SDK
  kMaxFragmentSizeReached = 4001,
  kMaxFragmentDurationReached = 4002,
  kMaxConnectionDurationReached = 4003,  // retried by the producer SDK
  kFragmentTimecodeLesserThanPrevious = 4004,
  kMoreThanOneTrackFound = 4005,
  kInvalidMkvData = 4006,
  kInvalidProducerTimestamp = 4007,
  kStreamNotActive = 4008,  // the stream is deleted or not active
  kFragmentMetadataLimitReached = 4009,
  kTrackNumberMismatch = 4010,
  kFramesMissingForTrack = 4011,
  kMoreThanAllowedTracksFound = 4012,
  kKmsKeyAccessDenied = 4500,
  kKmsKeyDisabled = 4501,
  kKmsKeyValidationError = 4502,
  kKmsKeyUnavailable = 4503,
  kKmsKeyInvalidUsage = 4504,
  kKmsKeyInvalidState = 4505,
  kKmsKeyNotFound = 4506,
  kStreamDeleted = 4507,  // the PIC's id; KVS's Java enum lacks it
  kInternalError = 5000,  // retried by the producer SDK
  kArchivalError = 5001,  // retried by the producer SDK
};

// The ErrorCode string KVS sends next to the id: "MAX_FRAGMENT_SIZE_REACHED", ... (the Java
// SDK's AckErrorCode names; the PIC's enum names for 4009-4012 and 4507, which the Java enum
// lacks). "UNKNOWN" for an id not listed above.
std::string_view AckErrorCodeName(AckErrorId id);

// True for the ids after which the KVS producer SDK resends the fragment on a new
// connection instead of dropping it (4000, 4003, 5000, 5001).
bool IsRetriedByProducer(AckErrorId id);

// True for the ids that say the stream itself is gone (4008, 4507): a producer stops the
// stream rather than dropping one fragment and going on.
bool MeansStreamGone(AckErrorId id);

}  // namespace streamarc::kvs
