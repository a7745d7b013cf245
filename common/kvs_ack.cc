#include "common/kvs_ack.h"

namespace streamarc::kvs {

std::string_view AckEventTypeName(AckEventType type) {
  switch (type) {
    case AckEventType::kBuffering:
      return "BUFFERING";
    case AckEventType::kReceived:
      return "RECEIVED";
    case AckEventType::kPersisted:
      return "PERSISTED";
    case AckEventType::kError:
      return "ERROR";
    case AckEventType::kIdle:
      return "IDLE";
  }
  return "?";
}

std::optional<AckEventType> ParseAckEventType(std::string_view name) {
  for (AckEventType t : {AckEventType::kBuffering, AckEventType::kReceived,
                         AckEventType::kPersisted, AckEventType::kError, AckEventType::kIdle}) {
    if (name == AckEventTypeName(t)) return t;
  }
  return std::nullopt;
}

std::string_view AckErrorCodeName(AckErrorId id) {
  switch (id) {
    case AckErrorId::kNone:
      return "NONE";
    case AckErrorId::kStreamReadError:
      return "STREAM_READ_ERROR";
    case AckErrorId::kMaxFragmentSizeReached:
      return "MAX_FRAGMENT_SIZE_REACHED";
    case AckErrorId::kMaxFragmentDurationReached:
      return "MAX_FRAGMENT_DURATION_REACHED";
    case AckErrorId::kMaxConnectionDurationReached:
      return "MAX_CONNECTION_DURATION_REACHED";
    case AckErrorId::kFragmentTimecodeLesserThanPrevious:
      return "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS";
    case AckErrorId::kMoreThanOneTrackFound:
      return "MORE_THAN_ONE_TRACK_FOUND";
    case AckErrorId::kInvalidMkvData:
      return "INVALID_MKV_DATA";
    case AckErrorId::kInvalidProducerTimestamp:
      return "INVALID_PRODUCER_TIMESTAMP";
    case AckErrorId::kStreamNotActive:
      return "STREAM_NOT_ACTIVE";
    case AckErrorId::kFragmentMetadataLimitReached:
      return "FRAGMENT_METADATA_LIMIT_REACHED";
    case AckErrorId::kTrackNumberMismatch:
      return "TRACK_NUMBER_MISMATCH";
    case AckErrorId::kFramesMissingForTrack:
      return "FRAMES_MISSING_FOR_TRACK";
    case AckErrorId::kMoreThanAllowedTracksFound:
      return "MORE_THAN_ALLOWED_TRACKS_FOUND";
    case AckErrorId::kKmsKeyAccessDenied:
      return "KMS_KEY_ACCESS_DENIED";
    case AckErrorId::kKmsKeyDisabled:
      return "KMS_KEY_DISABLED";
    case AckErrorId::kKmsKeyValidationError:
      return "KMS_KEY_VALIDATION_ERROR";
    case AckErrorId::kKmsKeyUnavailable:
      return "KMS_KEY_UNAVAILABLE";
    case AckErrorId::kKmsKeyInvalidUsage:
      return "KMS_KEY_INVALID_USAGE";
    case AckErrorId::kKmsKeyInvalidState:
      return "KMS_KEY_INVALID_STATE";
    case AckErrorId::kKmsKeyNotFound:
      return "KMS_KEY_NOT_FOUND";
    case AckErrorId::kStreamDeleted:
      return "STREAM_DELETED";
    case AckErrorId::kInternalError:
      return "INTERNAL_ERROR";
    case AckErrorId::kArchivalError:
      return "ARCHIVAL_ERROR";
  }
  return "UNKNOWN";
}

bool IsRetriedByProducer(AckErrorId id) {
  return id == AckErrorId::kStreamReadError || id == AckErrorId::kMaxConnectionDurationReached ||
         id == AckErrorId::kInternalError || id == AckErrorId::kArchivalError;
}

bool MeansStreamGone(AckErrorId id) {
  return id == AckErrorId::kStreamNotActive || id == AckErrorId::kStreamDeleted;
}

}  // namespace streamarc::kvs
