#include "samples/motion_tracker.h"

#include <algorithm>

namespace streamarc::samples {

std::optional<MotionInterval> MotionTracker::Add(int64_t t_us, double fraction) {
  last_us_ = t_us;
  if (!moving_) {
    if (fraction < options_.on_fraction) return std::nullopt;
    moving_ = true;
    open_ = {t_us, t_us, fraction};
    quiet_since_us_.reset();
    return std::nullopt;
  }
  if (fraction >= options_.off_fraction) {
    open_.score = std::max(open_.score, fraction);
    quiet_since_us_.reset();
    return std::nullopt;
  }
  if (!quiet_since_us_) quiet_since_us_ = t_us;
  if (t_us - *quiet_since_us_ < options_.quiet_us) return std::nullopt;
  moving_ = false;
  open_.end_us = *quiet_since_us_;
  return open_;
}

std::optional<MotionInterval> MotionTracker::Finish() {
  if (!moving_) return std::nullopt;
  moving_ = false;
  open_.end_us = quiet_since_us_ ? *quiet_since_us_ : last_us_;
  return open_;
}

}  // namespace streamarc::samples
