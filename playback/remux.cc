#include "playback/remux.h"

namespace streamarc::playback {

// Not built yet.
Result<std::vector<TrackDescription>> DescribeTracks(std::string_view) {
  return Status(Code::kInternal, "DescribeTracks" " is not built yet");
}
Result<std::string> Fmp4InitSegment(std::string_view, const TrackSelection&) {
  return Status(Code::kInternal, "Fmp4InitSegment" " is not built yet");
}
Result<std::string> Fmp4MediaSegment(const MkvFragment&, const TrackSelection&, uint32_t) {
  return Status(Code::kInternal, "Fmp4MediaSegment" " is not built yet");
}
Result<std::string> TsSegment(const MkvFragment&, const TrackSelection&) {
  return Status(Code::kInternal, "TsSegment" " is not built yet");
}
Result<Mp4Clip> Mp4ClipOf(std::span<const MkvFragment>, const TrackSelection&) {
  return Status(Code::kInternal, "Mp4ClipOf" " is not built yet");
}

}  // namespace streamarc::playback
