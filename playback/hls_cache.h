// A bounded LRU of remuxed segments shared by every viewer, so 200 players at a live edge
// cost one remux per segment: a request for a key whose remux is already running waits for
// that remux instead of starting its own.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/mutex.h"
#include "common/status.h"

namespace streamarc::playback {

struct SegmentCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;  // made by this caller
  uint64_t waits = 0;   // waited for another caller's remux of the same key
  uint64_t evictions = 0;
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// Thread-safe. Errors are not cached (the next caller tries again).
class SegmentCache {
 public:
  using Value = std::shared_ptr<const std::string>;
  using Maker = std::function<Result<std::string>()>;

  SegmentCache(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The cached value for `key`, or `make()`'s result (stored when it succeeds). `make` runs
  // on the calling thread without the cache lock held.
  Result<Value> GetOrMake(const std::string& key, const Maker& make);
  SegmentCacheStats Stats() const;

 private:
  struct Pending {  // fields guarded by mu_ (the analysis cannot name it from here)
    bool done = false;
    Status status;
    Value value;
  };
  struct Entry {
    Value value;
    std::list<std::string>::iterator lru;
  };
  void InsertLocked(const std::string& key, Value value) REQUIRES(mu_);

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable Mutex mu_;
  CondVar done_cv_;  // a Pending became done
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // most recent first
  size_t bytes_ GUARDED_BY(mu_) = 0;
  SegmentCacheStats stats_ GUARDED_BY(mu_);
};

}  // namespace streamarc::playback
