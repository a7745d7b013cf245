#include "playback/hls_cache.h"

namespace streamarc::playback {

Result<SegmentCache::Value> SegmentCache::GetOrMake(const std::string& key, const Maker& make) {
  std::shared_ptr<Pending> pending;
  {
    MutexLock lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++stats_.hits;
      return it->second.value;
    }
    if (auto it = pending_.find(key); it != pending_.end()) {
      // One remux in flight per key: wait for it rather than doing the same work twice.
      std::shared_ptr<Pending> other = it->second;
      ++stats_.waits;
      while (!other->done) done_cv_.Wait(mu_);
      if (!other->status.ok()) return other->status;
      return other->value;
    }
    pending = std::make_shared<Pending>();
    pending_[key] = pending;
    ++stats_.misses;
  }
  Result<std::string> made = make();
  // The bound counts size(); a remux reserves its output up front (the fragment's size plus
  // 64 KiB), and that spare room would stay with the entry: 512 small segments would hold
  // 32 MiB more than counted (found by tests/soak). Copied to fit outside the lock.
  if (made.ok() && made->capacity() - made->size() > made->size() / 8 + 4096) {
    made->shrink_to_fit();
  }
  MutexLock lock(mu_);
  pending->done = true;
  pending_.erase(key);
  if (made.ok()) {
    pending->value = std::make_shared<const std::string>(std::move(made).value());
    InsertLocked(key, pending->value);
  } else {
    pending->status = made.status();
  }
  done_cv_.NotifyAll();
  if (!pending->status.ok()) return pending->status;
  return pending->value;
}

void SegmentCache::InsertLocked(const std::string& key, Value value) {
  if (value->size() > max_bytes_ || max_entries_ == 0) return;  // would evict everything
  lru_.push_front(key);
  bytes_ += value->size();
  entries_[key] = Entry{std::move(value), lru_.begin()};
  while (entries_.size() > max_entries_ || bytes_ > max_bytes_) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.value->size();
    entries_.erase(victim);
    lru_.pop_back();
    ++stats_.evictions;
  }
}

SegmentCacheStats SegmentCache::Stats() const {
  MutexLock lock(mu_);
  SegmentCacheStats s = stats_;
  s.entries = entries_.size();
  s.bytes = bytes_;
  return s;
}

}  // namespace streamarc::playback
