// What one PutMedia session tells the live edge (LL-HLS, playback::PartHub) while it streams
// (private to ingest/): the fragment still arriving, start and frames, while someone follows
// the stream; and each complete fragment once the archive has numbered it, before it is
// persisted. Not thread-safe: its session's service thread only. `hub` outlives it.
#pragma once

#include <memory>
#include <string>

#include "fragmenter/fragmenter.h"
#include "playback/part_hub.h"

namespace streamarc::ingest {

class PartFeed {
 public:
  explicit PartFeed(playback::PartHub& hub) : hub_(hub) {}

  // A fragment opened; it goes to the edge, frame by frame, only if `retained` (a stream
  // without retention keeps nothing to list) and someone follows `stream` now.
  void FragmentStart(const std::string& stream, const fragmenter::FragmentHead& head,
                     bool retained);
  void Frame(const std::string& stream, const fragmenter::WrittenFrame& f);
  // Whether the complete fragment goes to the edge: also one whose start came before its
  // first listener. Asked before the archive takes the fragment (its bytes are then shared).
  bool WantsFragment(const std::string& stream) const { return on_ || hub_.HasListeners(stream); }
  // The complete fragment, numbered `number`; `cluster` its bytes as they will be stored.
  void FragmentEnd(const std::string& stream, const fragmenter::Fragment& f,
                   const std::string& number, std::shared_ptr<const std::string> cluster);

 private:
  // An event of `type` with the fragment's header and timestamps.
  playback::PartEvent HeadEvent(playback::PartEvent::Type type, const std::string& stream,
                                const fragmenter::FragmentHead& head);
  // The section's Matroska header, made once per section and shared.
  std::shared_ptr<const std::string> Header(
      const std::shared_ptr<const fragmenter::TrackSection>& section);

  playback::PartHub& hub_;
  bool on_ = false;  // the open fragment goes to the edge
  std::shared_ptr<const fragmenter::TrackSection> section_;
  std::shared_ptr<const std::string> header_;  // section_'s header, shared
};

}  // namespace streamarc::ingest
