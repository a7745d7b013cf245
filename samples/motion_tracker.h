// Motion intervals from per-frame "how much moved" figures, with hysteresis: motion starts
// when enough pixels move, and ends only after a quiet spell, so one object crossing the
// scene gives one interval however its speed varies. Pure logic, no OpenCV: streamarc-motion
// feeds it the foreground fraction of each frame.
#pragma once

#include <cstdint>
#include <optional>

namespace streamarc::samples {

struct MotionTrackerOptions {
  double on_fraction = 0.002;   // motion starts when at least this share of pixels moves
  double off_fraction = 0.001;  // and goes on while at least this share moves
  int64_t quiet_us = 500'000;   // an interval ends after this long below off_fraction
};

struct MotionInterval {
  int64_t start_us = 0;  // the first moving frame's time
  int64_t end_us = 0;    // the first still frame's time (the last frame's if cut short)
  double score = 0;      // the largest moving fraction seen in it
};

// Not thread-safe. Times must not go backwards.
class MotionTracker {
 public:
  explicit MotionTracker(const MotionTrackerOptions& options = {}) : options_(options) {}

  // One frame at `t_us` with `fraction` of its pixels moving; the interval this frame
  // closes, if it closes one.
  std::optional<MotionInterval> Add(int64_t t_us, double fraction);
  // The interval still open at the end of the input (the end of a range, Ctrl-C).
  std::optional<MotionInterval> Finish();

 private:
  MotionTrackerOptions options_;
  bool moving_ = false;
  MotionInterval open_;
  std::optional<int64_t> quiet_since_us_;
  int64_t last_us_ = 0;
};

}  // namespace streamarc::samples
