#include "frametap/thumbnails.h"

#include "frametap/image_encoder.h"

namespace streamarc::frametap {

ThumbnailSink::ThumbnailSink(int width, int quality) {
  ImageOptions o;
  o.format = ImageFormat::kJpeg;
  o.jpeg_quality = quality;
  o.width = width;
  auto e = ImageEncoder::Create(o);
  // Only a quality outside 1..100 or a negative width fails; the defaults hold.
  if (e.ok()) encoder_ = std::move(e).value();
}

ThumbnailSink::~ThumbnailSink() = default;

void ThumbnailSink::OnFrame(const std::string& stream_name, const cv::Mat& image,
                            const FrameInfo& info) {
  if (!info.key_frame) return;
  Result<std::string> jpeg = encoder_ ? encoder_->Encode(image) : InvalidArgument("no encoder");
  MutexLock lock(mu_);
  if (!jpeg.ok()) {
    ++failures_;
    return;
  }
  latest_[stream_name] =
      Thumbnail{std::make_shared<const std::string>(std::move(jpeg).value()), info};
}

std::optional<Thumbnail> ThumbnailSink::Latest(const std::string& stream_name) const {
  MutexLock lock(mu_);
  auto it = latest_.find(stream_name);
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

uint64_t ThumbnailSink::encode_failures() const {
  MutexLock lock(mu_);
  return failures_;
}

}  // namespace streamarc::frametap
