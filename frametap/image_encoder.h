// Still images for GetImages and the console's thumbnails: a decoded picture (or a BGR
// cv::Mat) scaled by swscale and encoded as JPEG (libavcodec's mjpeg) or PNG (png). Shared
// inside streamarc; not part of frametap's public header.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "common/status.h"
#include "frametap/decoder.h"

struct AVCodecContext;
struct AVFrame;

namespace streamarc::frametap {

enum class ImageFormat { kJpeg, kPng };

struct ImageOptions {
  ImageFormat format = ImageFormat::kJpeg;
  int jpeg_quality = 80;  // 1 (smallest) .. 100 (best), as KVS's FormatConfig JPEGQuality
  // Output size; 0 keeps the source's, one of the two 0 keeps the aspect ratio (TargetSize).
  int width = 0;
  int height = 0;
};

// One image encoder. The codec context is opened for a size and reopened only when the
// output size changes. Not thread-safe: one per worker.
class ImageEncoder {
 public:
  // kInvalidArgument for a quality outside 1..100 or a negative size.
  static Result<std::unique_ptr<ImageEncoder>> Create(const ImageOptions& options);
  ~ImageEncoder();
  ImageEncoder(const ImageEncoder&) = delete;
  ImageEncoder& operator=(const ImageEncoder&) = delete;

  // The encoded file (JFIF / PNG bytes) of a decoded picture.
  Result<std::string> Encode(const AVFrame& picture);
  // The same for an 8-bit BGR (CV_8UC3) or gray (CV_8UC1) image.
  Result<std::string> Encode(const cv::Mat& image);

 private:
  explicit ImageEncoder(const ImageOptions& options) : options_(options) {}
  Status Open(int width, int height);

  struct CodecContextFree {
    void operator()(AVCodecContext* c) const;
  };
  struct FrameFree {
    void operator()(AVFrame* f) const;
  };
  const ImageOptions options_;
  std::unique_ptr<AVCodecContext, CodecContextFree> ctx_;
  std::unique_ptr<AVFrame, FrameFree> frame_;  // the encoder's input, in its pixel format
  Converter converter_;
};

}  // namespace streamarc::frametap
