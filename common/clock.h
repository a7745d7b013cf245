// Time, injected: nothing reads the system clock directly, so tests can run years of
// retention in milliseconds.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace streamarc {

// Thread-safe. Times are microseconds.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time since the Unix epoch: server timestamps, retention.
  virtual int64_t NowMicros() const = 0;
  // Monotonic time for intervals and deadlines; never goes backwards.
  virtual int64_t MonotonicMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  int64_t MonotonicMicros() const override;
};

// A clock that moves only when told: for tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros = 0) : now_(now_micros), mono_(0) {}
  int64_t NowMicros() const override { return now_.load(); }
  int64_t MonotonicMicros() const override { return mono_.load(); }
  void Set(int64_t now_micros) { now_.store(now_micros); }
  // Moves both clocks forward.
  void Advance(int64_t micros) {
    now_.fetch_add(micros);
    mono_.fetch_add(micros);
  }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> mono_;
};

// "2026-11-22T02:29:09.123Z" (UTC, milliseconds).
std::string FormatIso8601(int64_t micros_since_epoch);

}  // namespace streamarc
