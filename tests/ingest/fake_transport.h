// A Transport for PutMedia session tests: records what the session sends, queues what it
// posts, and keeps its timers on a ManualClock so a test fires them by moving the clock.
// The test thread plays the service thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "ingest/put_media_session.h"

namespace streamarc::ingest::testing {

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(const ManualClock& clock) : clock_(clock) {}

  // ---- Transport (service-thread calls record an event each) ----
  void Begin() override { events.push_back("begin"); }
  void Refuse(const KvsError& e) override {
    refusal = e;
    events.push_back("refuse");
  }
  void Write(std::string bytes) override {
    body += bytes;
    events.push_back("ack");
  }
  void SetReading(bool enabled) override {
    reading = enabled;
    events.push_back(enabled ? "resume" : "pause");
  }
  void End() override { events.push_back("end"); }
  void Close() override { events.push_back("close"); }

  // Posts from the test thread (Shutdown's drain) and from other threads (the lookup job,
  // the archive's durable callbacks) are kept apart, so a test can order them.
  void Post(std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    (std::this_thread::get_id() == owner_ ? local_ : remote_).push_back(std::move(task));
    cv_.notify_all();
  }
  void PostAfter(int64_t delay_us, std::function<void()> task) override {
    std::lock_guard<std::mutex> lock(mu_);
    timers_.push_back({clock_.MonotonicMicros() + delay_us, std::move(task)});
  }

  // ---- Test thread ----
  // Runs what the test thread posted, until none is left.
  size_t RunLocal() { return Run(local_); }
  // Runs what other threads posted, until none is left.
  size_t RunRemote() { return Run(remote_); }
  // Waits (up to 10 s) until another thread has posted something, then runs it all.
  bool WaitAndRunRemote() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !remote_.empty(); })) {
        return false;
      }
    }
    RunRemote();
    return true;
  }
  // Runs the timers due at the clock's time, earliest first (and those they arm, if due).
  size_t FireDueTimers() {
    size_t n = 0;
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto due = timers_.end();
        for (auto it = timers_.begin(); it != timers_.end(); ++it) {
          if (it->due_us <= clock_.MonotonicMicros() &&
              (due == timers_.end() || it->due_us < due->due_us)) {
            due = it;
          }
        }
        if (due == timers_.end()) return n;
        task = std::move(due->task);
        timers_.erase(due);
      }
      task();
      ++n;
    }
  }
  // Drops what is queued, unrun, as a server that stops does. Queued tasks hold their
  // session, which holds this transport: a test ends with this to break that cycle.
  void DropAll() {
    std::deque<std::function<void()>> local, remote;
    std::vector<Timer> timers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      local.swap(local_);
      remote.swap(remote_);
      timers.swap(timers_);
    }
    // Destroyed here, outside the lock.
  }
  size_t pending_timers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return timers_.size();
  }
  // Microseconds from now to the earliest pending timer (nullopt: none).
  std::optional<int64_t> next_timer_in() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<int64_t> best;
    for (const Timer& t : timers_) {
      int64_t in = t.due_us - clock_.MonotonicMicros();
      if (!best || in < *best) best = in;
    }
    return best;
  }

  // Event types of the ACKs sent, in order ("BUFFERING", "RECEIVED", ...).
  std::vector<std::string> AckTypes() const {
    std::vector<std::string> out;
    const std::string key = "{\"EventType\":\"";
    for (size_t p = body.find(key); p != std::string::npos; p = body.find(key, p + 1)) {
      size_t start = p + key.size();
      out.push_back(body.substr(start, body.find('"', start) - start));
    }
    return out;
  }
  bool ended() const { return Count("end") > 0; }
  size_t Count(const std::string& event) const {
    size_t n = 0;
    for (const std::string& e : events) n += e == event;
    return n;
  }

  std::vector<std::string> events;  // "begin", "ack", "end", "close", "refuse", ...
  std::string body;                 // the ACK lines
  std::optional<KvsError> refusal;
  bool reading = true;

 private:
  struct Timer {
    int64_t due_us;
    std::function<void()> task;
  };

  size_t Run(std::deque<std::function<void()>>& queue) {
    size_t n = 0;
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue.empty()) return n;
        task = std::move(queue.front());
        queue.pop_front();
      }
      task();
      ++n;
    }
  }

  const ManualClock& clock_;
  const std::thread::id owner_ = std::this_thread::get_id();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> local_;
  std::deque<std::function<void()>> remote_;
  std::vector<Timer> timers_;
};

}  // namespace streamarc::ingest::testing
