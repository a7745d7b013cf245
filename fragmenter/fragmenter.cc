// The fragmenter's state machine. Input state: the current track section, whether the
// producer's cluster being read started at a cut-track key frame ("kept"), and frames held
// before the first key frame. Output state: the open fragment, written straight into its
// Cluster bytes as frames arrive (one copy of each frame).
#include "fragmenter/fragmenter.h"

#include <algorithm>
#include <limits>

#include "fragmenter/token_bucket.h"
#include "fragmenter/track_section.h"

namespace streamarc::fragmenter {
namespace {

constexpr std::string_view kEndOfFragmentTag = "AWS_KINESISVIDEO_END_OF_FRAGMENT";

// A frame held before its fragment's first key frame arrived.
struct HeldFrame {
  uint64_t track;
  int64_t timecode;
  bool key;
  int64_t duration;
  mkv::Bytes data;
};

class FragmenterImpl final : public Fragmenter {
 public:
  FragmenterImpl(const Options& options, FragmentSink& sink, const Clock& clock)
      : opt_(options),
        sink_(sink),
        clock_(clock),
        fragment_rate_(options.max_fragments_per_second, options.fragment_burst),
        byte_rate_(options.max_bytes_per_second, options.byte_burst) {}

  // ---- mkv::ReaderHandler ----

  Status OnEbmlHeader(const mkv::EbmlHeader& header) override {
    RETURN_IF_ERROR(error_.status);
    ebml_ = header;
    return Status::Ok();
  }

  Status OnSegmentStart(uint64_t, std::optional<uint64_t>) override {
    RETURN_IF_ERROR(error_.status);
    info_ = mkv::SegmentInfo{};
    tracks_.clear();
    have_tracks_ = false;
    return Status::Ok();
  }

  Status OnInfo(const mkv::SegmentInfo& info) override {
    RETURN_IF_ERROR(error_.status);
    info_ = info;
    if (have_tracks_) return UpdateSection();  // Info after Tracks: rare, but honoured
    return Status::Ok();
  }

  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    RETURN_IF_ERROR(error_.status);
    if (tracks.size() > opt_.max_tracks) {
      return Fail(AckErrorId::kMoreThanAllowedTracksFound,
                  ResourceExhausted("fragmenter: the stream has " + std::to_string(tracks.size()) +
                                    " tracks, more than " + std::to_string(opt_.max_tracks)));
    }
    if (tracks.empty()) {
      return Fail(AckErrorId::kInvalidMkvData, InvalidArgument("fragmenter: Tracks is empty"));
    }
    tracks_ = tracks;
    have_tracks_ = true;
    return UpdateSection();
  }

  Status OnClusterStart(const mkv::ClusterStart& cluster) override {
    RETURN_IF_ERROR(error_.status);
    cluster_timecode_ = cluster.timecode;
    cluster_first_frame_ = true;
    cluster_kept_ = false;
    return Status::Ok();
  }

  Status OnFrame(const mkv::Frame& f) override {
    RETURN_IF_ERROR(error_.status);
    last_timecode_ = f.timecode;
    if (!section_ || !have_tracks_) {
      return Fail(AckErrorId::kInvalidMkvData,
                  InvalidArgument("fragmenter: a frame before its Segment's Tracks"));
    }
    if (!TrackIndex(f.track)) {
      return Fail(AckErrorId::kTrackNumberMismatch,
                  InvalidArgument("fragmenter: a frame of track " + std::to_string(f.track) +
                                  ", which is not in Tracks"));
    }
    const bool on_cut_track = section_->cut_track == 0 || f.track == section_->cut_track;
    const bool cut_key = on_cut_track && f.key;
    const bool first_in_cluster = cluster_first_frame_;
    cluster_first_frame_ = false;
    if (first_in_cluster) cluster_kept_ = cut_key;

    bool cut = false;
    if (cut_key) {
      if (!fragment_ || first_in_cluster) {
        cut = true;
      } else if (!cluster_kept_) {
        int64_t lasted_ns = TicksToNs(f.timecode - fragment_->fragment_timecode);
        cut = lasted_ns >= opt_.min_recut_duration_us * 1000;
      }
    }
    if (cut) {
      if (fragment_) RETURN_IF_ERROR(CloseFragment());
      const int64_t timecode = first_in_cluster ? cluster_timecode_ : f.timecode;
      RETURN_IF_ERROR(OpenFragment(timecode, first_in_cluster));
      RETURN_IF_ERROR(TakeBytes(f.data.size()));
      RETURN_IF_ERROR(WriteFrame(f.track, f.timecode, f.key, f.data, f.duration));
      for (const HeldFrame& h : held_) {
        RETURN_IF_ERROR(WriteFrame(h.track, h.timecode, h.key, h.data, h.duration));
      }
      held_.clear();
      held_bytes_ = 0;
      return Status::Ok();
    }
    if (!fragment_) {
      if (on_cut_track) {
        return Fail(
            AckErrorId::kInvalidMkvData,
            InvalidArgument("fragmenter: a non-key frame of track " + std::to_string(f.track) +
                            " at timecode " + std::to_string(f.timecode) +
                            " where a fragment must start (at the start of the "
                            "stream, after END_OF_FRAGMENT or new tracks)"));
      }
      RETURN_IF_ERROR(TakeBytes(f.data.size()));
      return Hold(f);
    }
    RETURN_IF_ERROR(TakeBytes(f.data.size()));
    return WriteFrame(f.track, f.timecode, f.key, f.data, f.duration);
  }

  Status OnClusterEnd() override {
    RETURN_IF_ERROR(error_.status);
    cluster_first_frame_ = false;
    return Status::Ok();
  }

  Status OnTags(const std::vector<mkv::SimpleTag>& tags) override {
    RETURN_IF_ERROR(error_.status);
    bool end_of_fragment = false;
    for (const mkv::SimpleTag& t : tags) {
      if (t.name == kEndOfFragmentTag) {
        end_of_fragment = true;
      } else if (pending_tags_.size() < opt_.max_tags_per_fragment) {
        pending_tags_.push_back(t);
      } else {
        ++stats_.dropped_tags;
      }
    }
    if (end_of_fragment && fragment_) return CloseFragment();
    return Status::Ok();
  }

  Status OnSegmentEnd() override {
    RETURN_IF_ERROR(error_.status);
    if (fragment_) RETURN_IF_ERROR(CloseFragment());
    // Frames still held never met a key frame: no fragment can hold them.
    stats_.dropped_frames += held_.size();
    held_.clear();
    held_bytes_ = 0;
    return Status::Ok();
  }

  // ---- Fragmenter ----

  const FragmentError& error() const override { return error_; }

  FragmentError ErrorFor(const Status& reader_status) const override {
    if (!error_.status.ok()) return error_;
    FragmentError e;
    if (reader_status.ok()) return e;
    e.status = reader_status;
    switch (reader_status.code()) {
      case Code::kDataLoss:
        e.ack = AckErrorId::kStreamReadError;
        break;
      case Code::kNotFound:
        e.ack = AckErrorId::kTrackNumberMismatch;
        break;  // unknown track
      default:
        e.ack = AckErrorId::kInvalidMkvData;
    }
    e.fragment_timecode = fragment_ ? fragment_->fragment_timecode : last_timecode_;
    if (fragment_) e.fragment_index = fragment_->index;
    return e;
  }

  Stats stats() const override { return stats_; }

 private:
  // Keeps the current section when the tracks are the same, otherwise closes the open
  // fragment and starts a new section.
  Status UpdateSection() {
    if (section_ && SameTracks(*section_, ebml_, info_, tracks_)) return Status::Ok();
    if (fragment_) RETURN_IF_ERROR(CloseFragment());
    section_ = BuildTrackSection(++stats_.sections, ebml_, info_, tracks_);
    default_duration_ticks_.clear();
    const int64_t scale = static_cast<int64_t>(section_->info.timecode_scale_ns);
    for (const mkv::TrackInfo& t : section_->tracks) {
      default_duration_ticks_.push_back(
          static_cast<int64_t>(std::min<uint64_t>(t.default_duration_ns, 1ull << 40)) / scale);
    }
    return Status::Ok();
  }

  std::optional<size_t> TrackIndex(uint64_t track) const {
    for (size_t i = 0; i < section_->tracks.size(); ++i) {
      if (section_->tracks[i].number == track) return i;
    }
    return std::nullopt;
  }

  // Ticks to ns, saturating (TimecodeScale is at most 1 s, so only absurd timecodes saturate).
  int64_t TicksToNs(int64_t ticks) const {
    int64_t ns = 0;
    if (__builtin_mul_overflow(ticks, static_cast<int64_t>(section_->info.timecode_scale_ns),
                               &ns)) {
      return ticks < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    }
    return ns;
  }

  // The producer's absolute time of `ticks`, in ns since the epoch; false on overflow.
  bool AbsoluteNs(int64_t ticks, int64_t* out) const {
    int64_t ns = 0;
    if (__builtin_mul_overflow(ticks, static_cast<int64_t>(section_->info.timecode_scale_ns),
                               &ns)) {
      return false;
    }
    if (opt_.timecode_type == TimecodeType::kRelative) {
      int64_t start_ns = 0;
      if (__builtin_mul_overflow(opt_.producer_start_timestamp_ms, int64_t{1'000'000}, &start_ns) ||
          __builtin_add_overflow(ns, start_ns, &ns)) {
        return false;
      }
    }
    *out = ns;
    return true;
  }

  // The data-rate limit, charged after the cut decision so that a refusal is reported
  // against the fragment the frame belongs to.
  Status TakeBytes(size_t n) {
    if (byte_rate_.Take(static_cast<double>(n), clock_.MonotonicMicros())) return Status::Ok();
    return Fail(AckErrorId::kStreamReadError,
                ResourceExhausted("fragmenter: data rate above " +
                                  std::to_string(opt_.max_bytes_per_second) + " bytes/s"));
  }

  int64_t FrameDurationTicks(uint64_t track, int64_t block_duration) const {
    if (block_duration > 0) return block_duration;
    auto i = TrackIndex(track);
    return i ? default_duration_ticks_[*i] : 0;
  }

  Status OpenFragment(int64_t timecode, bool kept) {
    int64_t start_ns = 0;
    if (timecode < 0 || !AbsoluteNs(timecode, &start_ns) || start_ns < 0) {
      return Fail(AckErrorId::kInvalidProducerTimestamp,
                  OutOfRange("fragmenter: fragment timecode " + std::to_string(timecode) +
                             " gives no valid producer timestamp"));
    }
    if (prev_start_ns_ && start_ns <= *prev_start_ns_) {
      return Fail(AckErrorId::kFragmentTimecodeLesserThanPrevious,
                  OutOfRange("fragmenter: fragment timecode " + std::to_string(timecode) +
                             " is not later than the previous fragment's start"),
                  timecode);
    }
    if (!fragment_rate_.Take(1, clock_.MonotonicMicros())) {
      return Fail(AckErrorId::kStreamReadError,
                  ResourceExhausted("fragmenter: more than " +
                                    std::to_string(opt_.max_fragments_per_second) + " fragments/s"),
                  timecode);
    }
    fragment_ = std::make_unique<Fragment>();
    fragment_->index = next_index_++;
    fragment_->section = section_;
    fragment_->fragment_timecode = timecode;
    fragment_->producer_timestamp_ms = start_ns / 1'000'000;
    fragment_->server_timestamp_us = clock_.NowMicros();
    fragment_->kept_producer_cluster = kept;
    fragment_->tags = std::move(pending_tags_);
    pending_tags_.clear();
    fragment_start_ns_ = start_ns;
    fragment_end_ticks_ = timecode;
    started_ = false;
    // Room for a fragment like the last one (plus an eighth): the cluster then grows without
    // copying itself over and over (a 1 MB fragment would be copied ~2 MB more on the way).
    fragment_->cluster.reserve(
        std::min(last_cluster_bytes_ + last_cluster_bytes_ / 8, opt_.max_bytes + (64 << 10)));
    writer_.emplace(fragment_->cluster);
    Status s = writer_->BeginCluster(timecode);
    if (!s.ok()) return Fail(AckErrorId::kInvalidMkvData, s);
    s = sink_.OnFragmentStart(*fragment_);
    if (!s.ok()) return Fail(AckErrorId::kArchivalError, s);
    started_ = true;
    return Status::Ok();
  }

  Status WriteFrame(uint64_t track, int64_t timecode, bool key, std::span<const uint8_t> data,
                    int64_t block_duration) {
    const int64_t start = fragment_->fragment_timecode;
    const int64_t end = timecode + FrameDurationTicks(track, block_duration);
    if (TicksToNs(end - start) > opt_.max_duration_us * 1000) {
      return Fail(
          AckErrorId::kMaxFragmentDurationReached,
          ResourceExhausted("fragmenter: the fragment at timecode " + std::to_string(start) +
                            " lasts longer than " + std::to_string(opt_.max_duration_us / 1000) +
                            " ms (no key frame to cut at)"));
    }
    int64_t frame_ns = 0;
    if (prev_start_ns_ && AbsoluteNs(timecode, &frame_ns) && frame_ns < *prev_start_ns_) {
      return Fail(
          AckErrorId::kFragmentTimecodeLesserThanPrevious,
          OutOfRange("fragmenter: frame timecode " + std::to_string(timecode) + " of track " +
                     std::to_string(track) + " is earlier than the previous fragment's start"));
    }
    if (timecode - start < std::numeric_limits<int16_t>::min()) {
      return Fail(AckErrorId::kFragmentTimecodeLesserThanPrevious,
                  OutOfRange("fragmenter: frame timecode " + std::to_string(timecode) +
                             " lies too far before its fragment's start " + std::to_string(start)));
    }
    const size_t offset = fragment_->cluster.size();
    // A BlockDuration the producer gave is kept (the writer then uses a BlockGroup).
    Status s = writer_->WriteFrame(track, timecode, key, data, block_duration);
    if (!s.ok()) {
      // Out of the 16-bit block range although within max duration: a TimecodeScale too fine
      // for the fragment's length.
      return Fail(AckErrorId::kMaxFragmentDurationReached, s);
    }
    const bool cut_track = section_->cut_track == 0 || track == section_->cut_track;
    if (key && cut_track) {
      fragment_->key_frames.push_back({static_cast<uint32_t>(offset), timecode});
    }
    if (started_) {
      sink_.OnFrameWritten(*fragment_, WrittenFrame{track, timecode, key, cut_track, data});
    }
    ++fragment_->frame_count;
    fragment_end_ticks_ = std::max(fragment_end_ticks_, end);
    if (fragment_->cluster.size() > opt_.max_bytes) {
      return Fail(
          AckErrorId::kMaxFragmentSizeReached,
          ResourceExhausted("fragmenter: the fragment at timecode " + std::to_string(start) +
                            " is larger than " + std::to_string(opt_.max_bytes) + " bytes"));
    }
    return Status::Ok();
  }

  Status CloseFragment() {
    Status s = writer_->EndCluster();
    writer_.reset();
    if (!s.ok()) return Fail(AckErrorId::kInternalError, s);
    fragment_->duration_ms =
        TicksToNs(fragment_end_ticks_ - fragment_->fragment_timecode) / 1'000'000;
    prev_start_ns_ = fragment_start_ns_;
    ++stats_.fragments;
    stats_.frames += fragment_->frame_count;
    stats_.bytes += fragment_->cluster.size();
    last_cluster_bytes_ = fragment_->cluster.size();
    const int64_t timecode = fragment_->fragment_timecode;
    const uint64_t index = fragment_->index;
    std::shared_ptr<const Fragment> done(std::move(fragment_));
    fragment_.reset();
    s = sink_.OnFragment(std::move(done));
    // The ack names the fragment the sink refused, so the producer resends from it.
    if (!s.ok()) return Fail(AckErrorId::kArchivalError, s, timecode, index);
    return Status::Ok();
  }

  // Keeps a frame of another track that came before the cut track's first key frame.
  Status Hold(const mkv::Frame& f) {
    held_.push_back(
        {f.track, f.timecode, f.key, f.duration, mkv::Bytes(f.data.begin(), f.data.end())});
    held_bytes_ += f.data.size();
    if (held_bytes_ > opt_.max_bytes) {
      return Fail(AckErrorId::kMaxFragmentSizeReached,
                  ResourceExhausted("fragmenter: more than " + std::to_string(opt_.max_bytes) +
                                    " bytes before a key frame of track " +
                                    std::to_string(section_->cut_track)));
    }
    auto [lo, hi] = std::minmax_element(
        held_.begin(), held_.end(),
        [](const HeldFrame& a, const HeldFrame& b) { return a.timecode < b.timecode; });
    if (TicksToNs(hi->timecode - lo->timecode) > opt_.max_duration_us * 1000) {
      return Fail(AckErrorId::kMaxFragmentDurationReached,
                  ResourceExhausted("fragmenter: no key frame of track " +
                                    std::to_string(section_->cut_track) + " within " +
                                    std::to_string(opt_.max_duration_us / 1000) + " ms"));
    }
    return Status::Ok();
  }

  // Records the error that stops the session and drops what was not emitted.
  // `timecode` and `index` name the fragment to report when it is not the open one.
  Status Fail(AckErrorId ack, Status status, std::optional<int64_t> timecode = std::nullopt,
              std::optional<uint64_t> index = std::nullopt) {
    error_.status = std::move(status);
    error_.ack = ack;
    error_.fragment_timecode = timecode    ? *timecode
                               : fragment_ ? fragment_->fragment_timecode
                                           : last_timecode_;
    if (index) {
      error_.fragment_index = index;
    } else if (fragment_ && started_) {
      error_.fragment_index = fragment_->index;
    }
    writer_.reset();
    fragment_.reset();
    held_.clear();
    held_bytes_ = 0;
    return error_.status;
  }

  const Options opt_;
  FragmentSink& sink_;
  const Clock& clock_;
  TokenBucket fragment_rate_;
  TokenBucket byte_rate_;
  FragmentError error_;
  Stats stats_;

  // Input: the section being read.
  mkv::EbmlHeader ebml_;
  mkv::SegmentInfo info_;
  std::vector<mkv::TrackInfo> tracks_;
  bool have_tracks_ = false;
  std::shared_ptr<const TrackSection> section_;
  std::vector<int64_t> default_duration_ticks_;  // per section_->tracks entry
  int64_t cluster_timecode_ = 0;
  bool cluster_first_frame_ = false;  // the next frame is its cluster's first
  bool cluster_kept_ = false;         // the current cluster started at a cut-track key frame
  int64_t last_timecode_ = 0;         // of the last frame seen, for error reports
  std::vector<HeldFrame> held_;
  size_t held_bytes_ = 0;
  std::vector<mkv::SimpleTag> pending_tags_;

  // Output: the open fragment.
  std::unique_ptr<Fragment> fragment_;
  std::optional<mkv::Writer> writer_;     // writes fragment_->cluster
  bool started_ = false;                  // OnFragmentStart succeeded for fragment_
  int64_t fragment_start_ns_ = 0;         // absolute producer time of fragment_
  int64_t fragment_end_ticks_ = 0;        // latest frame end so far
  std::optional<int64_t> prev_start_ns_;  // of the last emitted fragment
  uint64_t next_index_ = 0;
  size_t last_cluster_bytes_ = 0;  // the size of the last emitted fragment's cluster
};

}  // namespace

Result<std::unique_ptr<Fragmenter>> NewFragmenter(const Options& options, FragmentSink& sink,
                                                  const Clock& clock) {
  if (options.max_duration_us <= 0 || options.max_bytes == 0 || options.max_tracks == 0) {
    return InvalidArgument("fragmenter: max_duration_us, max_bytes and max_tracks must be > 0");
  }
  // Durations are compared in ns; a day keeps that far from overflow and is far beyond any
  // GOP.
  if (options.max_duration_us > 86'400'000'000) {
    return InvalidArgument("fragmenter: max_duration_us above one day");
  }
  if (options.min_recut_duration_us < 0 ||
      options.min_recut_duration_us > options.max_duration_us) {
    return InvalidArgument("fragmenter: min_recut_duration_us must lie in [0, max_duration_us]");
  }
  if ((options.max_fragments_per_second > 0 && options.fragment_burst < 1) ||
      (options.max_bytes_per_second > 0 && options.byte_burst <= 0)) {
    return InvalidArgument("fragmenter: a rate limit needs a positive burst");
  }
  if (options.timecode_type == TimecodeType::kRelative && options.producer_start_timestamp_ms < 0) {
    return InvalidArgument("fragmenter: negative producer start timestamp");
  }
  return std::unique_ptr<Fragmenter>(std::make_unique<FragmenterImpl>(options, sink, clock));
}

}  // namespace streamarc::fragmenter
