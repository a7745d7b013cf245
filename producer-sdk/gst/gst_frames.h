// What the streamarcsink element and the streamarc-put CLI share: turning negotiated caps
// into a producer::TrackConfig and GStreamer buffers into producer::Frames. Private to
// producer-sdk/ (GStreamer types are the point here, so this header is not public).
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "producer-sdk/producer.h"

namespace streamarc::producer::gst {

// The caps asked of h264parse/h265parse: length-prefixed access units with the parameter
// sets in codec_data (avcC/hvcC), which the SDK takes as CodecPrivate as is.
inline constexpr const char* kH264AvcCaps = "video/x-h264,stream-format=avc,alignment=au";
inline constexpr const char* kH265HvcCaps = "video/x-h265,stream-format=hvc1,alignment=au";

// The codec, CodecPrivate and picture size of video caps: video/x-h264 or video/x-h265,
// either length-prefixed with codec_data (avc, hvc1, hev1) or Annex-B byte-stream (then
// CodecPrivate stays empty and the SDK builds it from the first key frame); or AAC
// (audio/mpeg mpegversion=4 stream-format=raw, codec_data = AudioSpecificConfig).
// kInvalidArgument for anything else, or for a NAL length prefix other than 4 bytes.
Result<TrackConfig> TrackFromCaps(const GstCaps* caps, uint64_t track_number);

// "video/h264" or "video/h265": a stream's MediaType for the codec.
const char* MediaTypeFor(Codec codec);

// Maps buffer timestamps (nanoseconds, any origin) to producer timestamps (microseconds
// since the Unix epoch): the first buffer is stamped with the wall-clock time it arrived
// and later ones keep their distance from it, so the archive's producer timestamps are
// real times while the frame spacing stays exactly the pipeline's. With `original` set the
// buffer timestamps are taken as epoch times already (kvssink's use-original-pts).
// Not thread-safe: one per stream, used from its streaming thread.
class TimestampMapper {
 public:
  explicit TimestampMapper(bool original = false) : original_(original) {}
  // `ts_ns` is a running time (or, with `original`, an epoch time) in nanoseconds; `now_us`
  // is the wall-clock time, used for the first buffer only.
  int64_t Map(int64_t ts_ns, int64_t now_us);
  bool original() const { return original_; }
  void Reset() { offset_us_.reset(); }

 private:
  bool original_;
  std::optional<int64_t> offset_us_;
};

// A buffer's PTS and DTS as running times (ns) in `segment`, which is how the tracks of one
// pipeline share a time line (x264enc, for one, stamps buffers 1000 h into its segment).
// Without a TIME segment the raw timestamps are returned. DTS keeps its distance from PTS
// (it may lie before the segment start). False when the buffer has no timestamp.
bool RunningTimes(GstBuffer* buffer, const GstSegment* segment, int64_t* pts_ns, int64_t* dts_ns);

// A mapped buffer seen as a Frame; the frame's data points into the mapping, which lives as
// long as this object (PutFrame copies it).
class BufferFrame {
 public:
  // kInvalidArgument when the buffer has no timestamp at all or cannot be mapped.
  // `segment` (may be null) turns the buffer's timestamps into running times first,
  // unless the mapper takes original timestamps.
  static Result<std::unique_ptr<BufferFrame>> Make(GstBuffer* buffer, const GstSegment* segment,
                                                   uint64_t track, TimestampMapper& mapper,
                                                   int64_t now_us);
  ~BufferFrame();
  BufferFrame(const BufferFrame&) = delete;
  BufferFrame& operator=(const BufferFrame&) = delete;
  const Frame& frame() const { return frame_; }

 private:
  BufferFrame() = default;
  GstBuffer* buffer_ = nullptr;  // a reference we hold while mapped
  GstMapInfo map_{};
  Frame frame_;
};

// Frame rate from the caps' framerate field; 0 when absent or variable.
double FrameRateOf(const GstCaps* caps);

// A GError's message, and the GError freed.
std::string TakeErrorMessage(GError* error);

}  // namespace streamarc::producer::gst
