// A fixed set of threads running queued jobs: disk, SQLite and remuxing go here, never on
// the HTTP service thread. In common/ so that ingest/ and playback/ services can take one.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace streamarc {

// Thread-safe. Jobs run in submission order per thread; the destructor finishes the queued
// jobs and joins.
class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full (the caller answers "busy") or the pool is stopping.
  bool Submit(std::function<void()> job);
  size_t queued() const;

 private:
  void Loop();

  const size_t max_queued_;
  mutable Mutex mu_;
  CondVar cv_;  // a job queued, or stopping
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace streamarc
