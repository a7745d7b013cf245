#include "common/worker_pool.h"

namespace streamarc {

WorkerPool::WorkerPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::Submit(std::function<void()> job) {
  {
    MutexLock lock(mu_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.NotifyOne();
  return true;
}

size_t WorkerPool::queued() const {
  MutexLock lock(mu_);
  return jobs_.size();
}

void WorkerPool::Loop() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(mu_);
      while (!stopping_ && jobs_.empty()) cv_.Wait(mu_);
      if (jobs_.empty()) return;  // stopping, and the queue is drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace streamarc
