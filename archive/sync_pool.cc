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
  while (files_ && next_ < files_->size()) {
    const size_t i = next_++;
    WritableFile* f = (*files_)[i];
    lock.unlock();
    Status s = f->Sync();
    lock.lock();
    results_[i] = std::move(s);
    if (++done_ == files_->size()) done_cv_.notify_all();
  }
}

void SyncPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || (files_ && next_ < files_->size()); });
    if (stop_) return;
    Drain(lock);
  }
}

std::vector<Status> SyncPool::SyncAll(const std::vector<WritableFile*>& files) {
  if (files.size() <= 1 || threads_.empty()) {
    std::vector<Status> out;
    out.reserve(files.size());
    for (WritableFile* f : files) out.push_back(f->Sync());
    return out;
  }
  std::unique_lock<std::mutex> lock(mu_);
  files_ = &files;
  results_.assign(files.size(), Status::Ok());
  next_ = 0;
  done_ = 0;
  work_cv_.notify_all();
  Drain(lock);  // the caller works too
  done_cv_.wait(lock, [&] { return done_ == files.size(); });
  files_ = nullptr;
  return std::move(results_);
}

}  // namespace streamarc::archive
