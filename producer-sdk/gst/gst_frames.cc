#include "producer-sdk/gst/gst_frames.h"

#include <cstring>

namespace streamarc::producer::gst {
namespace {

// The NAL length size an avcC or hvcC declares (lengthSizeMinusOne + 1); 0 when the record
// is too short to say.
int NalLengthSize(Codec codec, const std::string& record) {
  if (codec == Codec::kH264) {
    if (record.size() < 5) return 0;
    return (static_cast<uint8_t>(record[4]) & 0x3) + 1;
  }
  if (record.size() < 22) return 0;
  return (static_cast<uint8_t>(record[21]) & 0x3) + 1;
}

}  // namespace

Result<TrackConfig> TrackFromCaps(const GstCaps* caps, uint64_t track_number) {
  if (caps == nullptr || gst_caps_get_size(caps) == 0) return InvalidArgument("empty caps");
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  std::string name = gst_structure_get_name(s);
  TrackConfig track;
  track.number = track_number;
  if (name == "audio/mpeg") {
    // AAC in raw access units; codec_data is the AudioSpecificConfig.
    int version = 0, rate = 0, channels = 0;
    const char* format = gst_structure_get_string(s, "stream-format");
    const GValue* v = gst_structure_get_value(s, "codec_data");
    if (!gst_structure_get_int(s, "mpegversion", &version) || version != 4 ||
        (format != nullptr && std::strcmp(format, "raw") != 0) || v == nullptr ||
        !GST_VALUE_HOLDS_BUFFER(v)) {
      return InvalidArgument("audio must be AAC (mpegversion=4, stream-format=raw, codec_data)");
    }
    track.codec = Codec::kAac;
    track.name = "audio";
    GstBuffer* cd = gst_value_get_buffer(v);
    GstMapInfo map;
    if (!gst_buffer_map(cd, &map, GST_MAP_READ)) return InvalidArgument("unreadable codec_data");
    track.codec_private.assign(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(cd, &map);
    if (gst_structure_get_int(s, "rate", &rate)) track.sample_rate = rate;
    if (gst_structure_get_int(s, "channels", &channels)) track.channels = channels;
    return track;
  }
  if (name == "video/x-h264") {
    track.codec = Codec::kH264;
  } else if (name == "video/x-h265") {
    track.codec = Codec::kH265;
  } else {
    return InvalidArgument("unsupported caps " + name + " (H.264/H.265 video or AAC audio only)");
  }
  const char* format = gst_structure_get_string(s, "stream-format");
  bool byte_stream = format == nullptr || std::strcmp(format, "byte-stream") == 0;
  if (!byte_stream) {
    const GValue* v = gst_structure_get_value(s, "codec_data");
    if (v == nullptr || !GST_VALUE_HOLDS_BUFFER(v)) {
      return InvalidArgument(name + " stream-format=" + format + " without codec_data");
    }
    GstBuffer* cd = gst_value_get_buffer(v);
    GstMapInfo map;
    if (!gst_buffer_map(cd, &map, GST_MAP_READ)) return InvalidArgument("unreadable codec_data");
    track.codec_private.assign(reinterpret_cast<const char*>(map.data), map.size);
    gst_buffer_unmap(cd, &map);
    int length_size = NalLengthSize(track.codec, track.codec_private);
    if (length_size != 4) {
      // The SDK takes 4-byte length prefixes; parsers write 4 unless passed through from a
      // file that chose otherwise.
      return InvalidArgument("codec_data declares " + std::to_string(length_size) +
                             "-byte NAL lengths; only 4 is supported");
    }
  }
  int width = 0, height = 0;
  if (gst_structure_get_int(s, "width", &width)) track.width = width;
  if (gst_structure_get_int(s, "height", &height)) track.height = height;
  return track;
}

const char* MediaTypeFor(Codec codec) {
  switch (codec) {
    case Codec::kH264:
      return "video/h264";
    case Codec::kH265:
      return "video/h265";
    case Codec::kAac:
      return "audio/aac";
  }
  return "video/h264";
}

int64_t TimestampMapper::Map(int64_t ts_ns, int64_t now_us) {
  int64_t us = ts_ns / 1000;
  if (original_) return us;
  if (!offset_us_) offset_us_ = now_us - us;
  return us + *offset_us_;
}

bool RunningTimes(GstBuffer* buffer, const GstSegment* segment, int64_t* pts_ns, int64_t* dts_ns) {
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  GstClockTime dts = GST_BUFFER_DTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = dts;
  if (!GST_CLOCK_TIME_IS_VALID(dts)) dts = pts;
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return false;
  int64_t pts_rt = static_cast<int64_t>(pts);
  if (segment != nullptr && segment->format == GST_FORMAT_TIME) {
    guint64 rt = 0;
    if (gst_segment_to_running_time_full(segment, GST_FORMAT_TIME, pts, &rt) == 1) {
      pts_rt = static_cast<int64_t>(rt);
    } else {
      pts_rt = 0;  // before the segment start: clipped to it
    }
  }
  *pts_ns = pts_rt;
  *dts_ns = pts_rt - (static_cast<int64_t>(pts) - static_cast<int64_t>(dts));
  return true;
}

Result<std::unique_ptr<BufferFrame>> BufferFrame::Make(GstBuffer* buffer, const GstSegment* segment,
                                                       uint64_t track, TimestampMapper& mapper,
                                                       int64_t now_us) {
  int64_t pts = 0, dts = 0;
  if (!RunningTimes(buffer, mapper.original() ? nullptr : segment, &pts, &dts)) {
    return InvalidArgument("a buffer without a timestamp");
  }
  std::unique_ptr<BufferFrame> f(new BufferFrame());
  if (!gst_buffer_map(buffer, &f->map_, GST_MAP_READ)) {
    return InvalidArgument("a buffer that cannot be mapped");
  }
  f->buffer_ = gst_buffer_ref(buffer);
  // The mapper's origin is fixed by the first decode time, so the first frame's DTS lands
  // on "now" and its PTS (later, with B-frames) after it.
  int64_t mapped_dts = mapper.Map(dts, now_us);
  int64_t mapped_pts = mapper.Map(pts, now_us);
  f->frame_.track = track;
  f->frame_.pts_us = mapped_pts;
  f->frame_.dts_us = mapped_dts;
  GstClockTime duration = GST_BUFFER_DURATION(buffer);
  f->frame_.duration_us = GST_CLOCK_TIME_IS_VALID(duration) ? duration / 1000 : 0;
  f->frame_.key_frame = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  f->frame_.data = {f->map_.data, f->map_.size};
  return f;
}

BufferFrame::~BufferFrame() {
  if (buffer_ != nullptr) {
    gst_buffer_unmap(buffer_, &map_);
    gst_buffer_unref(buffer_);
  }
}

double FrameRateOf(const GstCaps* caps) {
  if (caps == nullptr || gst_caps_get_size(caps) == 0) return 0;
  int num = 0, den = 0;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_get_fraction(s, "framerate", &num, &den) || den == 0) return 0;
  return static_cast<double>(num) / den;
}

std::string TakeErrorMessage(GError* error) {
  if (error == nullptr) return "unknown error";
  std::string m = error->message ? error->message : "unknown error";
  g_error_free(error);
  return m;
}

}  // namespace streamarc::producer::gst
