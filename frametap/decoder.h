// Video decoding for the frame tap, GetImages and thumbnails (shared inside streamarc; users
// see frametap/frametap.h). libavcodec decodes H.264/H.265 as Matroska stores them
// (length-prefixed NAL units, parameter sets in CodecPrivate); swscale converts a picture
// to BGR or gray at any size, straight into a cv::Mat or into an AVFrame for an encoder.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <string_view>

#include "common/status.h"

struct AVCodecContext;
struct AVFrame;
struct AVPacket;
struct SwsContext;

namespace streamarc::frametap {

enum class PixelFormat { kBgr, kGray };

struct DecoderOptions {
  // libavcodec threads; 0 picks one per core. Frame threading adds about this many frames
  // of delay, which throughput wants and a lone key frame does not: Flush() drains it.
  int threads = 0;
};

// One video track's decoder. Not thread-safe: one owner drives Send/Receive.
class VideoDecoder {
 public:
  // `codec_id`: Matroska's ("V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC"); `codec_private` the
  // track's avcC/hvcC. kInvalidArgument for other codecs, kDataLoss for a bad CodecPrivate.
  static Result<std::unique_ptr<VideoDecoder>> Open(std::string_view codec_id,
                                                    std::span<const uint8_t> codec_private,
                                                    const DecoderOptions& options = {});
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  // One frame's bytes as a Matroska block holds them; `pts` comes back on its picture (any
  // unit; pictures leave in presentation order). A corrupt frame is kDataLoss and the
  // decoder stays usable (the next key frame recovers).
  Status Send(std::span<const uint8_t> data, int64_t pts, bool key);
  // No more input until Reset: lets the pictures held for reordering and threading out.
  Status Flush();
  // The next picture, or nullptr when the decoder needs input (or is drained after Flush).
  // Valid until the next call on this decoder.
  Result<const AVFrame*> Receive();
  // Drops what is buffered (a jump in the input); after Flush, makes Send possible again.
  void Reset();

 private:
  VideoDecoder() = default;

  struct CodecContextFree {
    void operator()(AVCodecContext* c) const;
  };
  struct FrameFree {
    void operator()(AVFrame* f) const;
  };
  struct PacketFree {
    void operator()(AVPacket* p) const;
  };
  std::unique_ptr<AVCodecContext, CodecContextFree> ctx_;
  std::unique_ptr<AVFrame, FrameFree> frame_;
  std::unique_ptr<AVPacket, PacketFree> packet_;
};

// A picture's target: pixel format and size (0 keeps the source's; one of the two 0 keeps
// the aspect ratio).
struct Target {
  PixelFormat format = PixelFormat::kBgr;
  int width = 0;
  int height = 0;
};

// The size a picture of `width`x`height` gets for `target`.
cv::Size TargetSize(int width, int height, const Target& target);

// swscale, with its context cached while the source and target stay the same. Not
// thread-safe: one per decoder thread.
class Converter {
 public:
  Converter() = default;
  ~Converter();
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  // Converts into `out` (reallocated only when its size or type differs: CV_8UC3 for
  // BGR, CV_8UC1 for gray).
  Status ToMat(const AVFrame& picture, const Target& target, cv::Mat* out);
  // Converts into `out`, whose format, width and height the caller set (an encoder's
  // input); its buffers are allocated here when missing.
  Status ToFrame(const AVFrame& picture, AVFrame* out);

 private:
  Status Prepare(const AVFrame& picture, int dst_format, int dst_width, int dst_height);

  SwsContext* sws_ = nullptr;
  int src_format_ = -1, src_width_ = 0, src_height_ = 0;
  int dst_format_ = -1, dst_width_ = 0, dst_height_ = 0;
};

}  // namespace streamarc::frametap
