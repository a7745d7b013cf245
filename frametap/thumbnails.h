// A frame-tap sink the server uses: the latest key frame of each tapped stream, kept as a
// small JPEG for the console (GET /thumbnail?StreamName=...).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "frametap/tap.h"

namespace streamarc::frametap {

class ImageEncoder;

struct Thumbnail {
  std::shared_ptr<const std::string> jpeg;
  FrameInfo info;  // the key frame's timestamps and fragment
};

// Thread-safe: OnFrame runs on the tap's delivery thread, Latest on any.
class ThumbnailSink final : public TapSink {
 public:
  // Thumbnails `width` pixels wide (aspect kept; 0: the tap's size), JPEG at `quality`.
  explicit ThumbnailSink(int width = 320, int quality = 75);
  ~ThumbnailSink() override;

  // Key frames only: encodes one and keeps it as the stream's latest.
  void OnFrame(const std::string& stream_name, const cv::Mat& image,
               const FrameInfo& info) override;
  std::optional<Thumbnail> Latest(const std::string& stream_name) const;
  uint64_t encode_failures() const;

 private:
  std::unique_ptr<ImageEncoder> encoder_;  // the delivery thread's alone; null if unusable
  mutable Mutex mu_;
  std::map<std::string, Thumbnail> latest_ GUARDED_BY(mu_);
  uint64_t failures_ GUARDED_BY(mu_) = 0;
};

}  // namespace streamarc::frametap
