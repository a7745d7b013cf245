// Cuts the fragment still arriving into LL-HLS partial segments (private to playback/; the
// live edge uses it). Pure logic over the frames ingest hands over: no clock, no I/O.
//
// A part holds every frame (of every track) that arrived between two cuts, written as one
// Matroska Cluster, so `header + cluster` remuxes to an fMP4 moof+mdat on its own, exactly
// as a whole fragment does (playback/remux.h). Cuts fall on frames of the cut track (the
// track fragments start on): before such a frame when the part would otherwise outgrow the
// part target (judged with the last gap between the cut track's frames as that frame's
// duration, so parts of a steady stream stay within the target), and before each of its key
// frames, so a key frame always starts an INDEPENDENT part.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/mkv.h"

namespace streamarc::playback {

struct CutFrame {
  uint64_t track = 0;
  int64_t timecode = 0;  // absolute TimecodeScale ticks
  bool key = false;
  bool cut_track = false;
  std::span<const uint8_t> data;
};

struct CutPart {
  uint32_t index = 0;     // 0, 1, ... within the fragment
  int64_t start_ns = 0;   // the part's first frame, on the producer's clock (absolute)
  int64_t offset_us = 0;  // from the fragment's first frame to the part's
  int64_t duration_us = 0;
  bool independent = false;  // starts with a key frame of the cut track
  uint32_t frames = 0;
  std::shared_ptr<const std::string> cluster;  // one Cluster of known size
};

// Not thread-safe: one per open fragment.
class PartCutter {
 public:
  // `target_us` > 0: the part target duration (EXT-X-PART-INF:PART-TARGET).
  PartCutter(int64_t target_us, int64_t timecode_scale_ns);

  // Adds a frame, in the fragment's block order. Returns the part this frame closes, when it
  // starts a new one. A frame the Matroska writer refuses (a timecode out of the cluster's
  // 16-bit range) is dropped and counted.
  std::optional<CutPart> Add(const CutFrame& frame);
  // The fragment is complete (`duration_us` from its first frame, 0 when unknown): its last
  // part, unless it is empty.
  std::optional<CutPart> Finish(int64_t duration_us);

  uint32_t parts() const { return next_index_; }  // closed so far
  uint64_t dropped_frames() const { return dropped_; }

 private:
  std::optional<CutPart> Close(int64_t end_ns);
  int64_t Ns(int64_t ticks) const { return ticks * scale_ns_; }

  const int64_t target_ns_;
  const int64_t scale_ns_;
  mkv::Bytes bytes_;
  std::optional<mkv::Writer> writer_;  // open part
  bool have_first_ = false;
  int64_t fragment_start_ns_ = 0;
  int64_t part_start_ns_ = 0;
  bool part_independent_ = false;
  uint32_t part_frames_ = 0;
  uint32_t next_index_ = 0;
  std::optional<int64_t> last_cut_ns_;  // the cut track's last frame
  int64_t last_gap_ns_ = 0;             // between its last two frames
  uint64_t dropped_ = 0;
};

}  // namespace streamarc::playback
