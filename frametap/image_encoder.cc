#include "frametap/image_encoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

#include <string>

namespace streamarc::frametap {
namespace {

Status EncodeStatus(int err, std::string_view what) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof(text));
  std::string message = std::string(what) + ": " + text;
  if (err == AVERROR(ENOMEM)) return ResourceExhausted(message);
  return Internal(message);
}

// KVS's JPEGQuality 1..100 onto mjpeg's fixed quantizer scale 31 (worst) .. 2 (best).
int QScale(int quality) { return 2 + ((100 - quality) * 29 + 49) / 99; }

}  // namespace

void ImageEncoder::CodecContextFree::operator()(AVCodecContext* c) const {
  avcodec_free_context(&c);
}
void ImageEncoder::FrameFree::operator()(AVFrame* f) const { av_frame_free(&f); }

Result<std::unique_ptr<ImageEncoder>> ImageEncoder::Create(const ImageOptions& options) {
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100) {
    return InvalidArgument("JPEG quality must be 1 to 100");
  }
  if (options.width < 0 || options.height < 0) return InvalidArgument("a negative image size");
  return std::unique_ptr<ImageEncoder>(new ImageEncoder(options));
}

ImageEncoder::~ImageEncoder() = default;

Status ImageEncoder::Open(int width, int height) {
  if (ctx_ && ctx_->width == width && ctx_->height == height) return Status::Ok();
  const bool jpeg = options_.format == ImageFormat::kJpeg;
  const AVCodec* codec = avcodec_find_encoder(jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG);
  if (codec == nullptr) {
    return FailedPrecondition(std::string("libavcodec has no ") + (jpeg ? "mjpeg" : "png") +
                              " encoder");
  }
  ctx_.reset(avcodec_alloc_context3(codec));
  frame_.reset(av_frame_alloc());
  if (!ctx_ || !frame_) return ResourceExhausted("allocating an image encoder");
  ctx_->width = width;
  ctx_->height = height;
  ctx_->time_base = AVRational{1, 25};
  // Full-range 4:2:0 is what JFIF means; PNG stores RGB.
  ctx_->pix_fmt = jpeg ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_RGB24;
  if (jpeg) {
    ctx_->color_range = AVCOL_RANGE_JPEG;
    ctx_->flags |= AV_CODEC_FLAG_QSCALE;
    ctx_->global_quality = FF_QP2LAMBDA * QScale(options_.jpeg_quality);
  }
  ctx_->thread_count = 1;  // one image is small work; parallelism comes from the callers
  int err = avcodec_open2(ctx_.get(), codec, nullptr);
  if (err < 0) {
    ctx_.reset();
    return EncodeStatus(err, "opening the image encoder");
  }
  frame_->format = ctx_->pix_fmt;
  frame_->width = width;
  frame_->height = height;
  frame_->color_range = ctx_->color_range;
  return Status::Ok();
}

Result<std::string> ImageEncoder::Encode(const AVFrame& picture) {
  Target target;
  target.width = options_.width;
  target.height = options_.height;
  const cv::Size size = TargetSize(picture.width, picture.height, target);
  if (size.width <= 0 || size.height <= 0) return InvalidArgument("an empty picture");
  RETURN_IF_ERROR(Open(size.width, size.height));
  RETURN_IF_ERROR(converter_.ToFrame(picture, frame_.get()));
  if (options_.format == ImageFormat::kJpeg) frame_->quality = ctx_->global_quality;
  int err = avcodec_send_frame(ctx_.get(), frame_.get());
  if (err < 0) return EncodeStatus(err, "encoding an image");
  struct PacketFree {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
  };
  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  if (!packet) return ResourceExhausted("allocating a packet");
  err = avcodec_receive_packet(ctx_.get(), packet.get());
  if (err < 0) return EncodeStatus(err, "encoding an image");
  return std::string(reinterpret_cast<const char*>(packet->data), packet->size);
}

Result<std::string> ImageEncoder::Encode(const cv::Mat& image) {
  if (image.empty() || image.depth() != CV_8U || (image.channels() != 3 && image.channels() != 1)) {
    return InvalidArgument("an image encoder takes 8-bit BGR or gray pictures");
  }
  // A view of the Mat's pixels as a picture: no copy, no ownership (no buffer refs).
  std::unique_ptr<AVFrame, FrameFree> view(av_frame_alloc());
  if (!view) return ResourceExhausted("allocating a picture");
  view->format = image.channels() == 3 ? AV_PIX_FMT_BGR24 : AV_PIX_FMT_GRAY8;
  view->width = image.cols;
  view->height = image.rows;
  view->data[0] = image.data;
  view->linesize[0] = static_cast<int>(image.step[0]);
  view->color_range = AVCOL_RANGE_JPEG;
  return Encode(*view);
}

}  // namespace streamarc::frametap
