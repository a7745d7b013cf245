// The video of one stored fragment (the archive's track_info header + one Cluster, as
// GetMedia serves it): the first video track's codec and frames, with each frame's time as
// an offset from the fragment's start. What GetImages and the in-server tap decode. Shared
// inside streamarc; users see frametap/frametap.h.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mkv.h"
#include "common/status.h"
#include "frametap/decoder.h"

namespace streamarc::frametap {

struct FragmentFrame {
  int64_t offset_us = 0;  // presentation time minus the Cluster's Timecode
  bool key = false;
  std::span<const uint8_t> data;  // a view into the cluster bytes passed in, or into `owned`
};

struct FragmentVideo {
  mkv::TrackInfo track;                     // the first video track
  std::vector<FragmentFrame> frames;        // that track's frames, in stored (decode) order
  std::vector<std::vector<uint8_t>> owned;  // bytes of frames that arrived laced or split
};

// Parses `header` + `cluster`. The frames' `data` views point into `cluster` (keep it alive)
// or into FragmentVideo::owned. Errors: kNotFound when the header has no video track,
// kInvalidArgument / kDataLoss for Matroska the reader refuses.
Result<FragmentVideo> ReadFragmentVideo(std::string_view header, std::string_view cluster);

// One picture decoded from a fragment, by DecodeFragment.
struct FragmentPicture {
  int64_t offset_us = 0;  // the frame's FragmentFrame::offset_us
  bool key = false;
  const AVFrame* picture = nullptr;  // valid during the callback only
};

// Decodes `video`'s frames from the start (a fragment starts with a key frame) and calls
// `on_picture` for each picture whose offset `wanted` accepts, in presentation order, then
// stops as soon as `last_offset_us` (the largest offset wanted) has been delivered.
// `decoder` is reset first and may be reused for the next fragment of the same codec.
// `on_picture` returning non-OK stops decoding with that status. Decode errors: kDataLoss.
Status DecodeFragment(VideoDecoder& decoder, const FragmentVideo& video, bool key_frames_only,
                      int64_t last_offset_us, const std::function<bool(int64_t offset_us)>& wanted,
                      const std::function<Status(const FragmentPicture&)>& on_picture);

}  // namespace streamarc::frametap
