#include "playback/part_cutter.h"

#include <algorithm>
#include <utility>

namespace streamarc::playback {
namespace {
constexpr int64_t kSlackNs = 2'000'000;
}  // namespace

PartCutter::PartCutter(int64_t target_us, int64_t timecode_scale_ns)
    : target_ns_(std::max<int64_t>(target_us, 1) * 1000),
      scale_ns_(std::max<int64_t>(timecode_scale_ns, 1)) {}

std::optional<CutPart> PartCutter::Add(const CutFrame& f) {
  const int64_t t = Ns(f.timecode);
  std::optional<CutPart> closed;
  if (f.cut_track) {
    if (writer_ && part_frames_ > 0) {
      // Would this frame (lasting about the last gap) push the part past the target? With a
      // little slack: millisecond timecodes make gaps of 33 and 34 ms at 30 fps, and the
      // fragment's end, which closes its last part, is only known when it comes.
      const bool too_long = t + last_gap_ns_ - part_start_ns_ > target_ns_ - kSlackNs;
      if (too_long || f.key) closed = Close(t);
    }
    if (last_cut_ns_ && t > *last_cut_ns_) last_gap_ns_ = t - *last_cut_ns_;
    last_cut_ns_ = t;
  }
  if (!writer_) {
    if (!have_first_) {
      have_first_ = true;
      fragment_start_ns_ = t;
    }
    bytes_.clear();
    writer_.emplace(bytes_);
    if (!writer_->BeginCluster(std::max<int64_t>(f.timecode, 0)).ok()) {
      writer_.reset();
      ++dropped_;
      return closed;
    }
    part_start_ns_ = t;
    part_independent_ = f.cut_track && f.key;
    part_frames_ = 0;
  }
  if (writer_->WriteFrame(f.track, f.timecode, f.key, f.data).ok()) {
    ++part_frames_;
  } else {
    ++dropped_;
  }
  return closed;
}

std::optional<CutPart> PartCutter::Finish(int64_t duration_us) {
  if (!writer_) return std::nullopt;
  // Parts end where the fragment ends, so they add up to its EXTINF; a fragment whose
  // duration ends before its last part starts (no block durations) lends that part a gap.
  int64_t end = fragment_start_ns_ + duration_us * 1000;
  if (end <= part_start_ns_) end = part_start_ns_ + std::max<int64_t>(last_gap_ns_, 1000);
  return Close(end);
}

std::optional<CutPart> PartCutter::Close(int64_t end_ns) {
  if (!writer_) return std::nullopt;
  const bool ok = writer_->EndCluster().ok();
  writer_.reset();
  if (!ok || part_frames_ == 0) return std::nullopt;
  CutPart p;
  p.index = next_index_++;
  p.start_ns = part_start_ns_;
  p.offset_us = (part_start_ns_ - fragment_start_ns_) / 1000;
  p.duration_us = std::max<int64_t>(end_ns - part_start_ns_, 0) / 1000;
  p.independent = part_independent_;
  p.frames = part_frames_;
  p.cluster = std::make_shared<const std::string>(bytes_.begin(), bytes_.end());
  return p;
}

}  // namespace streamarc::playback
