// Real media made at test time, and what ffprobe says about it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace streamarc::testing {

// Names of the media MakeMedia knows how to make.
inline constexpr const char* kH264AacMkv = "h264_aac.mkv";              // ffmpeg libx264 + AAC
inline constexpr const char* kH264AacPipeMkv = "h264_aac_pipe.mkv";     // same, written to a pipe
inline constexpr const char* kH265Mkv = "h265.mkv";                     // ffmpeg libx265
inline constexpr const char* kGstX264Mkv = "gst_x264.mkv";              // x264enc ! matroskamux
inline constexpr const char* kGstStreamableMkv = "gst_streamable.mkv";  // matroskamux streamable
inline constexpr const char* kGstX264OpusMkv = "gst_x264_opus.mkv";     // + opusenc, streamable
inline constexpr const char* kVp9OpusWebm = "vp9_opus.webm";            // ffmpeg libvpx-vp9 + Opus

// Returns the path of the named medium, making it with ffmpeg or GStreamer the first time
// (cached under the build tree; safe when several test processes ask at once).
Result<std::string> MakeMedia(const std::string& name);

struct ProbePacket {
  int stream_index = 0;
  int64_t pts = 0;  // in the stream's time base (Matroska: TimecodeScale ticks)
  bool key = false;
  int64_t size = 0;
};

// `ffprobe -show_packets` of a file, in file order. `quiet`: ffprobe reports nothing, not
// even errors (a GetMedia chunk stream makes it complain at every new Segment).
Result<std::vector<ProbePacket>> ProbePackets(const std::string& path, bool quiet = false);

struct ProbeTime {
  std::string type;  // the stream's codec type: "video", "audio"
  double pts_s = 0;  // presentation time in seconds
  bool key = false;
};

// Every audio and video packet with a pts that ffprobe reads from a file or URL, in read
// order; `extra` goes before the input (e.g. {"-live_start_index", "0"}). An error when
// ffprobe fails.
Result<std::vector<ProbeTime>> ProbeTimes(const std::string& input,
                                          const std::vector<std::string>& extra = {});

// The duration ffprobe reports for the container, in seconds.
Result<double> ProbeDuration(const std::string& input);

}  // namespace streamarc::testing
