// Live fan-out of persisted fragments to GetMedia readers and the frame tap; parts() carries
// the fragment still arriving to the LL-HLS edge. PutMedia publishes each fragment once it is
// PERSISTED; every subscriber of that stream gets the same immutable bytes, with no copy per
// reader.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "archive/archive.h"
#include "common/mutex.h"
#include "playback/part_hub.h"

namespace streamarc::playback {

struct LiveFragment {
  std::string stream_name;
  archive::FragmentInfo info;  // number, timestamps, duration, size, track_info (header)
  // The fragment's bytes as stored (one Cluster). Null when nobody was subscribed to the
  // stream when the fragment was handed to the archive: read it with Archive::ReadFragment.
  std::shared_ptr<const std::string> cluster;
};
using LiveFragmentPtr = std::shared_ptr<const LiveFragment>;

// Thread-safe.
class LiveHub {
 public:
  // Runs on the publishing thread (the archive's commit thread), in fragment order per
  // stream: it must not block and must not call Subscribe/Unsubscribe.
  using Listener = std::function<void(const LiveFragmentPtr&)>;

  // Returns an id for Unsubscribe. After Unsubscribe returns, the listener is not running
  // and will not run again.
  uint64_t Subscribe(const std::string& stream_name, Listener listener) EXCLUDES(mu_);
  // As Subscribe, for every stream whose name `match` accepts (the frame tap's patterns).
  // `match` runs on any thread under the hub's lock: it must be quick and must not block.
  using Matcher = std::function<bool(const std::string& stream_name)>;
  uint64_t SubscribeMatching(Matcher match, Listener listener) EXCLUDES(mu_);
  void Unsubscribe(uint64_t id) EXCLUDES(mu_, publish_mu_);
  bool HasListeners(const std::string& stream_name) const EXCLUDES(mu_);
  void Publish(const LiveFragmentPtr& fragment) EXCLUDES(mu_, publish_mu_);

  // The fragments still arriving, frame by frame, before they are persisted (LL-HLS).
  PartHub& parts() { return parts_; }

 private:
  struct Entry {
    std::string stream;
    std::shared_ptr<Listener> listener;
  };
  // Held while listeners run, so Unsubscribe can wait for a running listener to return.
  Mutex publish_mu_ ACQUIRED_BEFORE(mu_);
  mutable Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::multimap<std::string, uint64_t> by_stream_ GUARDED_BY(mu_);
  std::map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  std::map<uint64_t, Matcher> matchers_ GUARDED_BY(mu_);  // ids in entries_ (stream "")
  PartHub parts_;
};

}  // namespace streamarc::playback
