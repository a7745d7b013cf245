// KVS's PutMedia ACK error ids and their ErrorCode strings: the vocabulary in which the
// fragmenter reports a refused stream and ingest writes the ERROR event.
#pragma once

#include <string_view>

namespace streamarc::fragmenter {

// The ErrorId of an ERROR ack (kvs-api.md §2.1). Values are KVS's, on the wire as numbers.
enum class AckErrorId : int {
  kNone = 0,
  kStreamReadError = 4000,              // retried by the producer SDK
  kMaxFragmentSizeReached = 4001,
  kMaxFragmentDurationReached = 4002,
  kMaxConnectionDurationReached = 4003,  // retried by the producer SDK
  kFragmentTimecodeLesserThanPrevious = 4004,
  kMoreThanOneTrackFound = 4005,
  kInvalidMkvData = 4006,
  kInvalidProducerTimestamp = 4007,
  kStreamNotActive = 4008,
  kFragmentMetadataLimitReached = 4009,
  kTrackNumberMismatch = 4010,
  kFramesMissingForTrack = 4011,
  kMoreThanAllowedTracksFound = 4012,
  kInternalError = 5000,  // retried by the producer SDK
  kArchivalError = 5001,  // retried by the producer SDK
};

// The ErrorCode string KVS sends next to the id: "MAX_FRAGMENT_SIZE_REACHED", ... (the Java
// SDK's AckErrorCode names; the PIC's enum names for 4009-4012, which the Java enum lacks).
// "UNKNOWN" for an id not listed above.
std::string_view AckErrorCodeName(AckErrorId id);

// True for the ids after which the KVS producer SDK resends the fragment on a new
// connection instead of dropping it (4000, 4003, 5000, 5001).
bool IsRetriedByProducer(AckErrorId id);

}  // namespace streamarc::fragmenter
