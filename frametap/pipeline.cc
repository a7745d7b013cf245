#include "frametap/pipeline.h"

extern "C" {
#include <libavutil/frame.h>
}

#include <cmath>
#include <cstdlib>

#include "frametap/checkpoint.h"

namespace streamarc::frametap {
namespace {

constexpr char kTagFragmentNumber[] = "AWS_KINESISVIDEO_FRAGMENT_NUMBER";
constexpr char kTagServerTimestamp[] = "AWS_KINESISVIDEO_SERVER_TIMESTAMP";
constexpr char kTagProducerTimestamp[] = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP";
constexpr char kTagContinuationToken[] = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
constexpr char kTagErrorCode[] = "AWS_KINESISVIDEO_ERROR_CODE";
// Far more frames than any decoder holds back (reordering plus frame threads).
constexpr int64_t kMaxReorder = 256;
// Pooled images beyond the queue's: the one the user holds and the one being converted.
constexpr size_t kSpareImages = 3;

}  // namespace

Pipeline::Pipeline(const ConsumerOptions& options, PictureSink& sink, FragmentLedger& ledger)
    : opt_(options), sink_(sink), ledger_(ledger) {}

Pipeline::~Pipeline() = default;

void Pipeline::BeginConnection() {
  if (decoder_) decoder_->Reset();
  gop_.clear();
  replay_.clear();
  in_decoder_.clear();
  in_fragment_ = false;
  skip_through_us_ = last_out_us_;
  ledger_.Disconnected();
}

Status Pipeline::OnIdle() {
  if (in_fragment_ || in_decoder_.empty() || !decoder_ || ended_) return Status::Ok();
  std::vector<mkv::Bytes> gop = std::move(gop_);
  Status s = Drain();
  replay_ = std::move(gop);
  return s;
}

Status Pipeline::OnInfo(const mkv::SegmentInfo& info) {
  scale_ns_ = info.timecode_scale_ns == 0 ? 1'000'000 : info.timecode_scale_ns;
  return Status::Ok();
}

Status Pipeline::OnTracks(const std::vector<mkv::TrackInfo>& tracks) {
  const mkv::TrackInfo* video = nullptr;
  for (const auto& t : tracks) {
    if (t.type == mkv::TrackType::kVideo) {
      video = &t;
      break;
    }
  }
  if (video == nullptr) {
    video_track_ = 0;
    return Status::Ok();
  }
  video_track_ = video->number;
  // Every GetMedia chunk repeats the header: reopen only when the codec really changed.
  if (decoder_ && video->codec_id == codec_id_ && video->codec_private == codec_private_) {
    return Status::Ok();
  }
  if (decoder_) RETURN_IF_ERROR(Drain());
  decoder_.reset();
  in_decoder_.clear();
  auto d =
      VideoDecoder::Open(video->codec_id, video->codec_private, {.threads = opt_.decode_threads});
  if (!d.ok()) return d.status();
  decoder_ = std::move(*d);
  codec_id_ = video->codec_id;
  codec_private_ = video->codec_private;
  hevc_ = codec_id_ == "V_MPEGH/ISO/HEVC";
  // hvcC's lengthSizeMinusOne (byte 21, low two bits).
  nal_length_size_ = hevc_ && codec_private_.size() > 22 ? (codec_private_[21] & 3) + 1 : 4;
  gop_.clear();
  replay_.clear();
  return Status::Ok();
}

Status Pipeline::OnTags(const std::vector<mkv::SimpleTag>& tags) {
  const std::string *number = nullptr, *server = nullptr, *producer = nullptr, *token = nullptr;
  for (const auto& t : tags) {
    if (t.name == kTagFragmentNumber) number = &t.value;
    if (t.name == kTagServerTimestamp) server = &t.value;
    if (t.name == kTagProducerTimestamp) producer = &t.value;
    if (t.name == kTagContinuationToken) token = &t.value;
    if (t.name == kTagErrorCode) {
      // The server failed after the 200 went out: read again from the last fragment done.
      return Unavailable("GetMedia error chunk: " + t.value);
    }
  }
  if (number && server && producer) {
    ASSIGN_OR_RETURN(fragment_server_us_, ParseEpochSecondsTag(*server));
    ASSIGN_OR_RETURN(fragment_producer_us_, ParseEpochSecondsTag(*producer));
    fragment_ = *number;
    in_fragment_ = true;
    ledger_.Begin(fragment_);
  }
  if (token && in_fragment_) {
    in_fragment_ = false;
    ledger_.ReadDone(fragment_, *token);
    if (end_key_seen_) return EndRange();
  }
  return Status::Ok();
}

Status Pipeline::OnClusterStart(const mkv::ClusterStart& cluster) {
  cluster_ns_ = cluster.timecode * static_cast<int64_t>(scale_ns_);
  // KVS's producer timestamp is the cluster's start on the epoch: when the timecodes already
  // are epoch time (ABSOLUTE) they are used as they are, exactly; RELATIVE ones are offsets.
  absolute_ = std::llabs(cluster_ns_ / 1000 - fragment_producer_us_) < 1000;
  return Status::Ok();
}

Status Pipeline::OnFrame(const mkv::Frame& f) {
  if (ended_) return Cancelled("the end of the range");
  if (f.track != video_track_ || !decoder_ || !in_fragment_) return Status::Ok();
  const int64_t producer_us = absolute_
                                  ? f.timestamp_ns / 1000
                                  : fragment_producer_us_ + (f.timestamp_ns - cluster_ns_) / 1000;
  if (opt_.end_producer_us && producer_us >= *opt_.end_producer_us) {
    // The first key frame past the end is still decoded: in an open GOP (HEVC's CRA) the
    // frames right after it in decode order are shown before it and reference it. The first
    // other frame past the end after it ends the range.
    if (end_key_seen_) return EndRange();
    if (f.key) end_key_seen_ = true;
  }
  ++frames_read_;
  if (opt_.sampling.mode == Sampling::Mode::kKeyFramesOnly && !f.key) return Status::Ok();
  if (!replay_.empty()) RETURN_IF_ERROR(Replay(f.data));
  if (hevc_ && opt_.sampling.mode != Sampling::Mode::kKeyFramesOnly) {
    if (f.key) gop_.clear();
    gop_.emplace_back(f.data.begin(), f.data.end());
  }
  const int64_t seq = next_seq_++;
  in_decoder_[seq] = {fragment_, producer_us,
                      fragment_server_us_ + (producer_us - fragment_producer_us_), f.key};
  ledger_.Sent(fragment_);
  Status s = decoder_->Send(f.data, seq, f.key);
  if (!s.ok()) {
    // A corrupt frame: no picture comes of it; the next key frame recovers.
    in_decoder_.erase(seq);
    ledger_.Out(fragment_);
  }
  return Receive();
}

Status Pipeline::Receive() {
  for (;;) {
    auto picture = decoder_->Receive();
    if (!picture.ok()) return Status::Ok();  // a corrupt picture: skipped
    if (*picture == nullptr) return Status::Ok();
    auto it = in_decoder_.find((*picture)->pts);
    if (it == in_decoder_.end()) continue;
    Meta meta = std::move(it->second);
    const int64_t seq = it->first;
    in_decoder_.erase(it);
    // Pictures that never came out (corrupt frames) are forgotten once far behind; reordering
    // keeps a picture back by a few frames only.
    while (!in_decoder_.empty() && in_decoder_.begin()->first < seq - kMaxReorder) {
      in_decoder_.erase(in_decoder_.begin());
    }
    if (!meta.replay) RETURN_IF_ERROR(OnPicture(meta, **picture));
  }
}

bool Pipeline::OpensOpenGop(std::span<const uint8_t> frame) const {
  size_t p = 0;
  while (p + nal_length_size_ < frame.size()) {
    size_t len = 0;
    for (size_t i = 0; i < nal_length_size_; ++i) len = (len << 8) | frame[p + i];
    p += nal_length_size_;
    if (len == 0 || len > frame.size() - p) return false;
    const int type = (frame[p] >> 1) & 0x3f;
    if (type >= 16 && type <= 21) return type != 19 && type != 20;  // BLA, CRA; not IDR
    p += len;
  }
  return false;
}

Status Pipeline::Replay(std::span<const uint8_t> next) {
  std::vector<mkv::Bytes> frames = std::move(replay_);
  replay_.clear();
  if (!OpensOpenGop(next)) return Status::Ok();
  bool key = true;
  for (const mkv::Bytes& data : frames) {
    const int64_t seq = next_seq_++;
    Meta meta;
    meta.replay = true;
    in_decoder_[seq] = std::move(meta);
    if (!decoder_->Send(data, seq, key).ok()) in_decoder_.erase(seq);
    key = false;
    RETURN_IF_ERROR(Receive());
  }
  return Status::Ok();
}

Status Pipeline::Drain() {
  RETURN_IF_ERROR(decoder_->Flush());
  Status s = Receive();
  decoder_->Reset();
  in_decoder_.clear();
  ledger_.Drained();
  return s;
}

Status Pipeline::EndRange() {
  Status s = decoder_ ? Drain() : Status::Ok();
  ended_ = true;
  if (!s.ok()) return s;
  return Cancelled("the end of the range");
}

cv::Mat* Pipeline::FreeImage() {
  // A full-HD BGR picture is 6 MB: allocating one per frame costs page faults that show in
  // the frame rate. A pooled image is free again once only the pool references it (the user
  // dropped every copy of the cv::Mat, or numpy its array); refcount is updated atomically by
  // OpenCV, so it is read atomically here.
  for (cv::Mat& m : images_) {
    if (m.u == nullptr || __atomic_load_n(&m.u->refcount, __ATOMIC_ACQUIRE) == 1) return &m;
  }
  if (images_.size() < opt_.queue_frames + kSpareImages) return &images_.emplace_back();
  return nullptr;  // all held by the user: a fresh one
}

bool Pipeline::Sample(int64_t producer_us) {
  const uint64_t index = frame_index_++;
  switch (opt_.sampling.mode) {
    case Sampling::Mode::kEveryFrame:
    case Sampling::Mode::kKeyFramesOnly:
      return true;
    case Sampling::Mode::kEveryNth:
      return index % static_cast<uint64_t>(opt_.sampling.every_nth) == 0;
    case Sampling::Mode::kFps: {
      // Buckets of 1/fps seconds of producer time: the first picture of each is kept, so the
      // choice does not depend on where reading started.
      // long double: epoch microseconds times a frame rate stay exact in its 64-bit mantissa.
      const auto bucket = static_cast<int64_t>(
          std::floor(static_cast<long double>(producer_us) * opt_.sampling.fps / 1'000'000.0L));
      if (fps_bucket_ && bucket <= *fps_bucket_) return false;
      fps_bucket_ = bucket;
      return true;
    }
  }
  return true;
}

Status Pipeline::OnPicture(const Meta& meta, const AVFrame& picture) {
  ++frames_decoded_;
  if ((skip_through_us_ && meta.producer_us <= *skip_through_us_) ||
      (opt_.end_producer_us && meta.producer_us >= *opt_.end_producer_us)) {
    ledger_.Out(meta.fragment);
    return Status::Ok();
  }
  const uint64_t index = frame_index_;
  const bool keep = Sample(meta.producer_us);
  last_out_us_ = meta.producer_us;
  if (!keep) {
    ledger_.Out(meta.fragment);
    return Status::Ok();
  }
  DecodedFrame frame;
  cv::Mat* slot = FreeImage();
  RETURN_IF_ERROR(converter_.ToMat(picture, opt_.target, slot != nullptr ? slot : &frame.image));
  if (slot != nullptr) frame.image = *slot;  // shares the pooled buffer
  frame.info.producer_timestamp_us = meta.producer_us;
  frame.info.server_timestamp_us = meta.server_us;
  frame.info.fragment_number = meta.fragment;
  frame.info.key_frame = meta.key;
  frame.info.frame_index = index;
  // Queued before Out, so the fragment never looks done while its picture is on the way.
  ledger_.Queued(meta.fragment);
  ledger_.Out(meta.fragment);
  return sink_.Emit(std::move(frame));
}

}  // namespace streamarc::frametap
