#include "archive/sync_pool.h"

namespace streamarc::archive {

SyncPool::SyncPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

SyncPool::~SyncPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void SyncPool::Drain(std::unique_lock<std::mutex>& lock) {
  while (job_ && next_ < count_) {
    const size_t i = next_++;
    const std::function<void(size_t)>& job = *job_;
    lock.unlock();
    job(i);
    lock.lock();
    if (++done_ == count_) done_cv_.notify_all();
  }
}

void SyncPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || (job_ && next_ < count_); });
    if (stop_) return;
    Drain(lock);
  }
}

void SyncPool::RunAll(size_t n, const std::function<void(size_t)>& job) {
  if (n <= 1 || threads_.empty()) {
    for (size_t i = 0; i < n; ++i) job(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &job;
  count_ = n;
  next_ = 0;
  done_ = 0;
  work_cv_.notify_all();
  Drain(lock);  // the caller works too
  done_cv_.wait(lock, [&] { return done_ == n; });
  job_ = nullptr;
}

}  // namespace streamarc::archive
