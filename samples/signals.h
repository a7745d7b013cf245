// Ctrl-C and SIGTERM as a plain call rather than a handler: no code runs in signal context,
// so the call may lock, log or stop a consumer (as streamarcd's main does).
//
//   int main() {
//     BlockStopSignals();                           // before any thread exists
//     auto consumer = Consumer::Open(...);
//     StopOnSignal stop([&] { consumer->Stop(); });  // destroyed before the consumer
#pragma once

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace streamarc::samples {

inline sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread started after it.
inline void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Calls `on_stop` once, on a thread of its own, when SIGINT or SIGTERM arrives (after
// BlockStopSignals). Declare it after what `on_stop` uses, so that it goes first.
class StopOnSignal {
 public:
  explicit StopOnSignal(std::function<void()> on_stop)
      : thread_([this, on_stop = std::move(on_stop)] {
          sigset_t set = StopSignals();
          int sig = 0;
          sigwait(&set, &sig);
          if (!done_) on_stop();
        }) {}
  // Wakes the waiting thread (its sigwait consumes the signal) and joins it.
  ~StopOnSignal() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
    thread_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace streamarc::samples
