// A mutex, its scoped lock and a condition variable that clang's -Wthread-safety can check.
//
// libstdc++'s std::mutex carries no capability attributes, so state annotated with
// GUARDED_BY(mu_) is only checked when mu_ is a streamarc::Mutex. The macros expand to
// nothing under GCC; the clang build (scripts/build.sh --clang) turns the analysis on with
// -Werror. Waiting on a CondVar with a predicate: write the loop in the caller,
//   while (!ready_) cv_.Wait(mu_);
// because a lambda predicate is analysed as a separate function that holds no lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define SA_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SA_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) SA_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY SA_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) SA_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) SA_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) SA_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) SA_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) SA_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) SA_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SA_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) SA_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) SA_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) SA_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) SA_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS SA_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace streamarc {

class CondVar;

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds the lock where it cannot see it (a callback that
  // is documented to run under it). Checks nothing at run time.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope; Unlock/Lock let a scope drop the lock around a callback.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    held_ = false;
    mu_.Unlock();
  }
  void Lock() ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

class CondVar {
 public:
  // Releases `mu` while waiting, holds it again on return. Wakes spuriously: loop.
  void Wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, until `deadline` at the latest. True when woken before it.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  template <class Rep, class Period>
  bool WaitFor(Mutex& mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace streamarc
