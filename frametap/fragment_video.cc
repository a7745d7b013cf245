#include "frametap/fragment_video.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streamarc::frametap {
namespace {

class VideoCollector final : public mkv::ReaderHandler {
 public:
  VideoCollector(std::string_view cluster, FragmentVideo& out) : cluster_(cluster), out_(out) {}

  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const mkv::TrackInfo& t : tracks) {
      if (t.type == mkv::TrackType::kVideo) {
        out_.track = t;
        has_video_ = true;
        break;
      }
    }
    return Status::Ok();
  }
  Status OnInfo(const mkv::SegmentInfo& info) override {
    scale_ns_ = static_cast<int64_t>(info.timecode_scale_ns);
    return Status::Ok();
  }
  Status OnClusterStart(const mkv::ClusterStart& c) override {
    if (clusters_++ == 0) cluster_start_ns_ = c.timecode * scale_ns_;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (!has_video_ || f.track != out_.track.number) return Status::Ok();
    FragmentFrame frame;
    frame.offset_us = (f.timestamp_ns - cluster_start_ns_) / 1000;
    frame.key = f.key;
    const auto* begin = reinterpret_cast<const uint8_t*>(cluster_.data());
    if (f.data.data() >= begin && f.data.data() + f.data.size() <= begin + cluster_.size()) {
      frame.data = f.data;  // whole in the caller's bytes: no copy
    } else {
      out_.owned.emplace_back(f.data.begin(), f.data.end());
      frame.data = out_.owned.back();
    }
    out_.frames.push_back(frame);
    return Status::Ok();
  }

  bool has_video() const { return has_video_; }

 private:
  std::string_view cluster_;
  FragmentVideo& out_;
  bool has_video_ = false;
  int64_t scale_ns_ = 1'000'000;
  int64_t cluster_start_ns_ = 0;
  int clusters_ = 0;
};

}  // namespace

Result<FragmentVideo> ReadFragmentVideo(std::string_view header, std::string_view cluster) {
  FragmentVideo video;
  VideoCollector collector(cluster, video);
  mkv::Reader reader(collector);
  auto bytes = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  RETURN_IF_ERROR(reader.Feed(bytes(header)));
  RETURN_IF_ERROR(reader.Feed(bytes(cluster)));
  RETURN_IF_ERROR(reader.Finish());
  if (!collector.has_video()) return NotFound("the fragment has no video track");
  return video;
}

Status DecodeFragment(VideoDecoder& decoder, const FragmentVideo& video, bool key_frames_only,
                      int64_t last_offset_us, const std::function<bool(int64_t)>& wanted,
                      const std::function<Status(const FragmentPicture&)>& on_picture) {
  decoder.Reset();
  bool done = false;
  // Hands out what the decoder has; `done` once the last wanted offset has come out (pictures
  // leave in presentation order, so nothing wanted is still inside).
  auto drain = [&]() -> Status {
    while (!done) {
      ASSIGN_OR_RETURN(const AVFrame* picture, decoder.Receive());
      if (picture == nullptr) return Status::Ok();
      const int64_t offset = picture->pts;
      if (wanted(offset)) {
        FragmentPicture p;
        p.offset_us = offset;
        p.key = picture->key_frame != 0;
        p.picture = picture;
        RETURN_IF_ERROR(on_picture(p));
      }
      if (offset >= last_offset_us) done = true;
    }
    return Status::Ok();
  };
  for (const FragmentFrame& f : video.frames) {
    if (done) break;
    if (key_frames_only && !f.key) continue;
    RETURN_IF_ERROR(decoder.Send(f.data, f.offset_us, f.key));
    RETURN_IF_ERROR(drain());
  }
  if (!done) {
    RETURN_IF_ERROR(decoder.Flush());
    RETURN_IF_ERROR(drain());
  }
  // Ready for the next fragment (Reset also makes Send possible again after Flush).
  decoder.Reset();
  return Status::Ok();
}

}  // namespace streamarc::frametap
