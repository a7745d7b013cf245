#include "fragmenter/ack_error.h"

namespace streamarc::fragmenter {

std::string_view AckErrorCodeName(AckErrorId id) {
  switch (id) {
    case AckErrorId::kNone: return "NONE";
    case AckErrorId::kStreamReadError: return "STREAM_READ_ERROR";
    case AckErrorId::kMaxFragmentSizeReached: return "MAX_FRAGMENT_SIZE_REACHED";
    case AckErrorId::kMaxFragmentDurationReached: return "MAX_FRAGMENT_DURATION_REACHED";
    case AckErrorId::kMaxConnectionDurationReached: return "MAX_CONNECTION_DURATION_REACHED";
    case AckErrorId::kFragmentTimecodeLesserThanPrevious:
      return "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS";
    case AckErrorId::kMoreThanOneTrackFound: return "MORE_THAN_ONE_TRACK_FOUND";
    case AckErrorId::kInvalidMkvData: return "INVALID_MKV_DATA";
    case AckErrorId::kInvalidProducerTimestamp: return "INVALID_PRODUCER_TIMESTAMP";
    case AckErrorId::kStreamNotActive: return "STREAM_NOT_ACTIVE";
    case AckErrorId::kFragmentMetadataLimitReached: return "FRAGMENT_METADATA_LIMIT_REACHED";
    case AckErrorId::kTrackNumberMismatch: return "TRACK_NUMBER_MISMATCH";
    case AckErrorId::kFramesMissingForTrack: return "FRAMES_MISSING_FOR_TRACK";
    case AckErrorId::kMoreThanAllowedTracksFound: return "MORE_THAN_ALLOWED_TRACKS_FOUND";
    case AckErrorId::kInternalError: return "INTERNAL_ERROR";
    case AckErrorId::kArchivalError: return "ARCHIVAL_ERROR";
  }
  return "UNKNOWN";
}

bool IsRetriedByProducer(AckErrorId id) {
  return id == AckErrorId::kStreamReadError || id == AckErrorId::kMaxConnectionDurationReached ||
         id == AckErrorId::kInternalError || id == AckErrorId::kArchivalError;
}

}  // namespace streamarc::fragmenter
