#include "frametap/decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <string>
#include <thread>

namespace streamarc::frametap {
namespace {

Status DecodeStatus(int err, std::string_view what) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof(text));
  std::string message = std::string(what) + ": " + text;
  if (err == AVERROR(ENOMEM)) return ResourceExhausted(message);
  if (err == AVERROR_DECODER_NOT_FOUND) return FailedPrecondition(message);
  return DataLoss(message);
}

// swscale's full-range flags: a JPEG-style (full range) source or target keeps its levels.
bool FullRange(int format) {
  return format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P ||
         format == AV_PIX_FMT_YUVJ444P || format == AV_PIX_FMT_BGR24 || format == AV_PIX_FMT_GRAY8;
}

}  // namespace

void VideoDecoder::CodecContextFree::operator()(AVCodecContext* c) const {
  avcodec_free_context(&c);
}
void VideoDecoder::FrameFree::operator()(AVFrame* f) const { av_frame_free(&f); }
void VideoDecoder::PacketFree::operator()(AVPacket* p) const { av_packet_free(&p); }

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::Open(std::string_view codec_id,
                                                         std::span<const uint8_t> codec_private,
                                                         const DecoderOptions& options) {
  AVCodecID id = AV_CODEC_ID_NONE;
  if (codec_id == "V_MPEG4/ISO/AVC") {
    id = AV_CODEC_ID_H264;
  } else if (codec_id == "V_MPEGH/ISO/HEVC") {
    id = AV_CODEC_ID_HEVC;
  } else {
    return InvalidArgument("the frame tap decodes H.264 and H.265, not " + std::string(codec_id));
  }
  if (codec_private.empty()) {
    return DataLoss(std::string(codec_id) + " track has no CodecPrivate (avcC/hvcC)");
  }
  const AVCodec* codec = avcodec_find_decoder(id);
  if (codec == nullptr) {
    return FailedPrecondition("libavcodec has no decoder for " + std::string(codec_id));
  }

  std::unique_ptr<VideoDecoder> d(new VideoDecoder);
  d->ctx_.reset(avcodec_alloc_context3(codec));
  d->frame_.reset(av_frame_alloc());
  d->packet_.reset(av_packet_alloc());
  if (!d->ctx_ || !d->frame_ || !d->packet_) return ResourceExhausted("allocating a decoder");

  // avcC/hvcC as extradata: libavcodec then reads length-prefixed NAL units.
  auto* extradata =
      static_cast<uint8_t*>(av_mallocz(codec_private.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (extradata == nullptr) return ResourceExhausted("allocating the decoder's extradata");
  std::memcpy(extradata, codec_private.data(), codec_private.size());
  d->ctx_->extradata = extradata;
  d->ctx_->extradata_size = static_cast<int>(codec_private.size());

  int threads = options.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  d->ctx_->thread_count = threads;
  d->ctx_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  // Timestamps pass through untouched, in whatever unit the caller uses.
  d->ctx_->pkt_timebase = AVRational{1, 1'000'000};

  int err = avcodec_open2(d->ctx_.get(), codec, nullptr);
  if (err < 0) return DecodeStatus(err, "opening the " + std::string(codec_id) + " decoder");
  return d;
}

VideoDecoder::~VideoDecoder() = default;

Status VideoDecoder::Send(std::span<const uint8_t> data, int64_t pts, bool key) {
  if (data.empty()) return InvalidArgument("an empty frame");
  // libavcodec reads up to AV_INPUT_BUFFER_PADDING_SIZE past the end: copy into a padded
  // packet (the caller's bytes may be a view into a larger buffer, or not).
  av_packet_unref(packet_.get());
  int err = av_new_packet(packet_.get(), static_cast<int>(data.size()));
  if (err < 0) return DecodeStatus(err, "allocating a packet");
  std::memcpy(packet_->data, data.data(), data.size());
  packet_->pts = pts;
  packet_->dts = AV_NOPTS_VALUE;
  if (key) packet_->flags |= AV_PKT_FLAG_KEY;
  err = avcodec_send_packet(ctx_.get(), packet_.get());
  if (err == AVERROR(EAGAIN)) {
    return FailedPrecondition("the decoder holds pictures: Receive them before sending more");
  }
  if (err < 0) return DecodeStatus(err, "decoding a frame");
  return Status::Ok();
}

Status VideoDecoder::Flush() {
  int err = avcodec_send_packet(ctx_.get(), nullptr);
  if (err < 0 && err != AVERROR_EOF) return DecodeStatus(err, "flushing the decoder");
  return Status::Ok();
}

Result<const AVFrame*> VideoDecoder::Receive() {
  av_frame_unref(frame_.get());
  int err = avcodec_receive_frame(ctx_.get(), frame_.get());
  if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return static_cast<const AVFrame*>(nullptr);
  if (err < 0) return DecodeStatus(err, "decoding a frame");
  // best_effort_timestamp is the packet's pts when the stream has them (it does).
  frame_->pts = frame_->best_effort_timestamp;
  return static_cast<const AVFrame*>(frame_.get());
}

void VideoDecoder::Reset() { avcodec_flush_buffers(ctx_.get()); }

// ---- Converter ----

cv::Size TargetSize(int width, int height, const Target& target) {
  if (target.width > 0 && target.height > 0) return {target.width, target.height};
  if (target.width > 0 && width > 0) {
    int h = static_cast<int>((static_cast<int64_t>(height) * target.width + width / 2) / width);
    return {target.width, std::max(2, h & ~1)};
  }
  if (target.height > 0 && height > 0) {
    int w = static_cast<int>((static_cast<int64_t>(width) * target.height + height / 2) / height);
    return {std::max(2, w & ~1), target.height};
  }
  return {width, height};
}

Converter::~Converter() { sws_freeContext(sws_); }

Status Converter::Prepare(const AVFrame& picture, int dst_format, int dst_width, int dst_height) {
  if (sws_ != nullptr && src_format_ == picture.format && src_width_ == picture.width &&
      src_height_ == picture.height && dst_format_ == dst_format && dst_width_ == dst_width &&
      dst_height_ == dst_height) {
    return Status::Ok();
  }
  sws_freeContext(sws_);
  bool same_size = picture.width == dst_width && picture.height == dst_height;
  // Same size: a fast point "scaler" (only the color conversion runs); else bilinear.
  int flags = same_size ? SWS_POINT : SWS_BILINEAR;
  sws_ = sws_getContext(picture.width, picture.height, static_cast<AVPixelFormat>(picture.format),
                        dst_width, dst_height, static_cast<AVPixelFormat>(dst_format), flags,
                        nullptr, nullptr, nullptr);
  if (sws_ == nullptr) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(picture.format));
    return InvalidArgument(std::string("cannot convert pictures of format ") + (name ? name : "?"));
  }
  // Decoded H.264 is limited range unless flagged full; keep the source's range honest.
  const int* coefficients =
      sws_getCoefficients(picture.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
  int src_full = picture.color_range == AVCOL_RANGE_JPEG || FullRange(picture.format);
  sws_setColorspaceDetails(sws_, coefficients, src_full, coefficients, FullRange(dst_format), 0,
                           1 << 16, 1 << 16);
  src_format_ = picture.format;
  src_width_ = picture.width;
  src_height_ = picture.height;
  dst_format_ = dst_format;
  dst_width_ = dst_width;
  dst_height_ = dst_height;
  return Status::Ok();
}

Status Converter::ToMat(const AVFrame& picture, const Target& target, cv::Mat* out) {
  cv::Size size = TargetSize(picture.width, picture.height, target);
  bool gray = target.format == PixelFormat::kGray;
  int dst_format = gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_BGR24;
  if (Status s = Prepare(picture, dst_format, size.width, size.height); !s.ok()) return s;
  out->create(size, gray ? CV_8UC1 : CV_8UC3);
  uint8_t* dst[4] = {out->data, nullptr, nullptr, nullptr};
  int dst_stride[4] = {static_cast<int>(out->step[0]), 0, 0, 0};
  int rows = sws_scale(sws_, picture.data, picture.linesize, 0, picture.height, dst, dst_stride);
  if (rows <= 0) return InvalidArgument("swscale converted nothing");
  return Status::Ok();
}

Status Converter::ToFrame(const AVFrame& picture, AVFrame* out) {
  if (out->data[0] == nullptr) {
    int err = av_frame_get_buffer(out, 0);
    if (err < 0) return DecodeStatus(err, "allocating a picture");
  }
  if (Status s = Prepare(picture, out->format, out->width, out->height); !s.ok()) return s;
  int rows =
      sws_scale(sws_, picture.data, picture.linesize, 0, picture.height, out->data, out->linesize);
  if (rows <= 0) return InvalidArgument("swscale converted nothing");
  return Status::Ok();
}

}  // namespace streamarc::frametap
