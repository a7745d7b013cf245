// A clock for tests that run the daemon in process: it follows real time (so rate limits
// and timeouts behave as in production) plus whatever the test jumped it by.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "common/clock.h"

namespace streamarc::testing {

// Thread-safe.
class JumpingClock {
 public:
  JumpingClock() : clock_(SystemClock().NowMicros()) {
    ticker_ = std::thread([this] {
      auto last = std::chrono::steady_clock::now();
      while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        auto now = std::chrono::steady_clock::now();
        if (!frozen_) {
          clock_.Advance(std::chrono::duration_cast<std::chrono::microseconds>(now - last).count());
        }
        last = now;
      }
    });
  }
  ~JumpingClock() {
    stop_ = true;
    ticker_.join();
  }
  JumpingClock(const JumpingClock&) = delete;
  JumpingClock& operator=(const JumpingClock&) = delete;

  // Moves wall and monotonic time forward together (time really passed: timers fire).
  void Jump(int64_t micros) { clock_.Advance(micros); }
  // Moves the wall clock alone, either way, as a corrected or mis-set system clock does; the
  // monotonic clock is untouched. (A real-time tick landing in between may be lost: 2 ms.)
  void JumpWall(int64_t micros) { clock_.Set(clock_.NowMicros() + micros); }
  // Stops following real time: from here on only Jump moves the clock, so a check of what is
  // due after a jump does not depend on how fast the machine answers.
  void Freeze() { frozen_ = true; }
  const Clock& clock() const { return clock_; }

 private:
  ManualClock clock_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  std::thread ticker_;
};

}  // namespace streamarc::testing
