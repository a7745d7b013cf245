#include "playback/images.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "frametap/decoder.h"
#include "frametap/fragment_video.h"
#include "frametap/image_encoder.h"

namespace streamarc::playback {
namespace {

int64_t StartOf(const archive::FragmentInfo& f, archive::TimestampType type) {
  return type == archive::TimestampType::kProducer ? f.producer_timestamp_us
                                                   : f.server_timestamp_us;
}

// Holds one of the service's decode slots for a call.
class Slot {
 public:
  Slot(std::atomic<int>& running, int max) : running_(running) {
    taken_ = running_.fetch_add(1) < max;
    if (!taken_) running_.fetch_sub(1);
  }
  ~Slot() {
    if (taken_) running_.fetch_sub(1);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  bool taken() const { return taken_; }

 private:
  std::atomic<int>& running_;
  bool taken_ = false;
};

// The stored frame shown at `offset_us`: the last one presented at or before it; -1 if none.
int64_t FrameAt(const frametap::FragmentVideo& video, int64_t offset_us) {
  int64_t best = -1;
  for (const frametap::FragmentFrame& f : video.frames) {
    if (f.offset_us <= offset_us && f.offset_us > best) best = f.offset_us;
  }
  return best;
}

}  // namespace

std::vector<InstantPlan> PlanImages(const std::vector<archive::FragmentInfo>& fragments,
                                    archive::TimestampType type,
                                    const std::vector<int64_t>& instants) {
  std::vector<InstantPlan> plans;
  plans.reserve(instants.size());
  size_t next = 0;  // the first fragment starting after the instant (instants ascend)
  for (int64_t t : instants) {
    while (next < fragments.size() && StartOf(fragments[next], type) <= t) ++next;
    InstantPlan p;
    p.instant_us = t;
    if (next > 0) {
      const archive::FragmentInfo& f = fragments[next - 1];
      const int64_t offset = t - StartOf(f, type);
      // A fragment's duration may end at its last frame's start (a KVS producer sends no
      // frame durations); that frame shows until the next fragment, which the join tolerance
      // of recorded spans allows for. A longer gap is an outage: no media.
      const int64_t shown_after = type == archive::TimestampType::kProducer
                                      ? archive::kSpanJoinProducerUs
                                      : archive::kSpanJoinServerUs;
      if (offset <= f.duration_us + shown_after) {
        p.fragment = static_cast<int>(next - 1);
        p.offset_us = offset;
      }
    }
    plans.push_back(p);
  }
  return plans;
}

ImagesService::ImagesService(archive::Archive& archive, Logger& log, const ImagesOptions& options)
    : archive_(archive), log_(log), options_(options) {}

Result<std::string, KvsError> ImagesService::GetImages(std::string_view body) {
  auto request = ParseGetImagesRequest(body);
  if (!request.ok()) return KvsErrorFromStatus(request.status());
  auto stream = archive_.DescribeStream(request->stream);
  if (!stream.ok()) return KvsErrorFromStatus(stream.status());
  if (stream->retention_hours == 0) {
    return KvsError{KvsErrorType::kNoDataRetention,
                    FailedPrecondition("the stream keeps no data (DataRetentionInHours is 0)")};
  }
  Slot slot(running_, options_.max_concurrent);
  if (!slot.taken()) {
    return KvsError{KvsErrorType::kClientLimitExceeded,
                    ResourceExhausted("too many GetImages calls at once; try again")};
  }
  auto images = Render(*request, archive::StreamRef::Name(stream->name));
  if (!images.ok()) return std::move(images).error();
  return GetImagesResponseJson(*images, ImagesNextToken(*request));
}

Result<std::vector<ImageResult>, KvsError> ImagesService::Render(const GetImagesRequest& request,
                                                                 const archive::StreamRef& ref) {
  const std::vector<int64_t> instants = PageInstants(request);
  std::vector<ImageResult> images(instants.size());
  for (size_t i = 0; i < instants.size(); ++i) {
    images[i].timestamp_us = instants[i];
    images[i].error = "NO_MEDIA";
  }
  if (instants.empty()) return images;

  // Every fragment that may hold one of the instants: those starting up to one fragment's
  // longest duration before the first.
  std::vector<archive::FragmentInfo> fragments;
  archive::ListRequest list;
  list.stream = ref;
  list.type = request.type;
  list.start_us = std::max<int64_t>(0, instants.front() - options_.max_fragment_duration_us);
  list.end_us = instants.back();
  list.max_results = 1000;
  Status listed = archive::ForEachFragment(archive_, list, [&](archive::FragmentInfo& f) {
    fragments.push_back(std::move(f));
    return true;
  });
  if (!listed.ok()) return KvsErrorFromStatus(listed);
  const std::vector<InstantPlan> plans = PlanImages(fragments, request.type, instants);

  std::map<int, std::vector<size_t>> by_fragment;  // fragment -> its instants, ascending
  for (size_t i = 0; i < plans.size(); ++i) {
    if (plans[i].fragment >= 0) by_fragment[plans[i].fragment].push_back(i);
  }
  frametap::ImageOptions io;
  io.format = request.format == ImagesFormat::kJpeg ? frametap::ImageFormat::kJpeg
                                                    : frametap::ImageFormat::kPng;
  io.jpeg_quality = request.jpeg_quality;
  io.width = request.width;
  io.height = request.height;
  auto encoder = frametap::ImageEncoder::Create(io);
  if (!encoder.ok()) return KvsErrorFromStatus(encoder.status());

  std::unique_ptr<frametap::VideoDecoder> decoder;
  std::string codec_id;
  mkv::Bytes codec_private;
  // Decodes each fragment once, from its key frame, for all of its instants.
  for (const auto& entry : by_fragment) {
    // Named copies: clang 14 cannot capture a structured binding in the lambdas below.
    const std::vector<size_t>& members = entry.second;
    const archive::FragmentInfo& info = fragments[static_cast<size_t>(entry.first)];
    auto fail = [&](const Status& s) {
      log_.Warn("getimages", "cannot make images of a fragment",
                {{"stream", info.stream_name}, {"fragment", info.number}, {"error", s.ToString()}});
      for (size_t i : members) images[i].error = "MEDIA_ERROR";
    };
    auto cluster = archive_.ReadFragment(ref, info.number);
    if (!cluster.ok()) {
      // Retention may remove a fragment between the listing and the read.
      if (cluster.status().code() != Code::kNotFound) fail(cluster.status());
      continue;
    }
    auto video = frametap::ReadFragmentVideo(info.track_info, *cluster);
    if (!video.ok()) {
      fail(video.status());
      continue;
    }
    if (!decoder || codec_id != video->track.codec_id ||
        codec_private != video->track.codec_private) {
      auto opened = frametap::VideoDecoder::Open(video->track.codec_id, video->track.codec_private,
                                                 {.threads = options_.decode_threads});
      if (!opened.ok()) {
        decoder.reset();
        fail(opened.status());
        continue;
      }
      decoder = std::move(opened).value();
      codec_id = video->track.codec_id;
      codec_private = video->track.codec_private;
    }
    std::map<int64_t, std::vector<size_t>> by_frame;  // frame offset -> instants showing it
    for (size_t i : members) {
      const int64_t frame = FrameAt(*video, plans[i].offset_us);
      if (frame >= 0) by_frame[frame].push_back(i);
    }
    if (by_frame.empty()) continue;
    Status s = frametap::DecodeFragment(
        *decoder, *video, /*key_frames_only=*/false, by_frame.rbegin()->first,
        [&](int64_t offset) { return by_frame.count(offset) > 0; },
        [&](const frametap::FragmentPicture& p) -> Status {
          ASSIGN_OR_RETURN(std::string bytes, (*encoder)->Encode(*p.picture));
          for (size_t i : by_frame[p.offset_us]) images[i].content = bytes;
          return Status::Ok();
        });
    if (!s.ok()) {
      fail(s);
      decoder.reset();  // start clean at the next fragment
      continue;
    }
    // A picture the decoder never produced (a broken reference) is a media error.
    for (const auto& [frame, shown] : by_frame) {
      for (size_t i : shown) {
        if (!images[i].content) images[i].error = "MEDIA_ERROR";
      }
    }
  }
  return images;
}

}  // namespace streamarc::playback
