// streamarcd on a fast wall clock, for the soak test (tests/soak/README.md): the same program
// (server/streamarcd_main.h) whose wall clock runs --time-speed times real time, so that a
// stream's one-hour retention rolls over in seconds. Only the wall clock runs fast (server
// timestamps, segment windows, retention, session expiry); the monotonic clock, and with it
// every timeout and rate limit, is real time. The retention sweep runs every
// --sweep-interval-ms of real time to keep up.
//
// SIGUSR1 stops the wall clock (logged as "soak clock frozen now_us=N"), the next one starts
// it again ("soak clock running"): the test's read-back sees what retention kept at one
// instant, with nothing expiring meanwhile.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/streamarcd_main.h"

namespace {

using streamarc::Clock;
using streamarc::SystemClock;

class FastWallClock final : public Clock {
 public:
  explicit FastWallClock(int64_t speed)
      : speed_(speed), wall0_(SystemClock().NowMicros()), mono0_(SystemClock().MonotonicMicros()) {}
  int64_t NowMicros() const override {
    std::lock_guard<std::mutex> l(mu_);
    return NowLocked();
  }
  int64_t MonotonicMicros() const override { return SystemClock().MonotonicMicros(); }
  // Stops the wall clock, or starts it again from where it stopped; returns its time.
  int64_t Toggle() {
    std::lock_guard<std::mutex> l(mu_);
    wall0_ = NowLocked();
    mono0_ = MonotonicMicros();
    frozen_ = !frozen_;
    return wall0_;
  }
  bool frozen() const {
    std::lock_guard<std::mutex> l(mu_);
    return frozen_;
  }
  int64_t start() const { return start_; }

 private:
  int64_t NowLocked() const {
    return frozen_ ? wall0_ : wall0_ + speed_ * (MonotonicMicros() - mono0_);
  }
  const int64_t speed_;
  const int64_t start_ = SystemClock().NowMicros();
  mutable std::mutex mu_;
  int64_t wall0_, mono0_;  // the wall clock read wall0_ at monotonic time mono0_
  bool frozen_ = false;
};

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): only an allocation failure can throw here.
int main(int argc, char** argv) {
  int64_t speed = 1;
  int64_t sweep_ms = 1'000;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--time-speed" && i + 1 < argc) {
      speed = std::atoll(argv[++i]);
    } else if (a == "--sweep-interval-ms" && i + 1 < argc) {
      sweep_ms = std::atoll(argv[++i]);
    } else {
      args.push_back(a);
    }
  }
  if (speed < 1 || sweep_ms < 1) {
    std::fprintf(stderr, "soak_streamarcd: --time-speed and --sweep-interval-ms must be >= 1\n");
    return 2;
  }
  FastWallClock clock(speed);
  std::fprintf(stderr, "soak clock speed=%lld start_us=%lld\n", static_cast<long long>(speed),
               static_cast<long long>(clock.start()));

  // Blocked before any other thread starts, so only the waiter below takes it.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  std::thread freezer([&] {
    int sig = 0;
    while (sigwait(&usr1, &sig) == 0) {
      const int64_t now = clock.Toggle();
      std::fprintf(stderr, "soak clock %s now_us=%lld\n", clock.frozen() ? "frozen" : "running",
                   static_cast<long long>(now));
    }
  });
  freezer.detach();  // waits for signals for ever; the process's exit ends it
  return streamarc::server::StreamarcdMain(args, clock, [&](streamarc::server::Config& c) {
    c.sweep_interval_us = sweep_ms * 1000;
    // The segment cache (512 by default) would take the HLS readers ~7 minutes to fill,
    // growing all the while; 32 fill in the first seconds.
    c.hls_cache_entries = 32;
  });
}
