#include "playback/part_hub.h"

#include <utility>
#include <vector>

namespace streamarc::playback {

uint64_t PartHub::Subscribe(const std::string& stream_name, Listener listener) {
  MutexLock lock(mu_);
  const uint64_t id = next_id_++;
  entries_[id] = Entry{stream_name, std::make_shared<Listener>(std::move(listener))};
  by_stream_.emplace(stream_name, id);
  return id;
}

void PartHub::Unsubscribe(uint64_t id) {
  {
    MutexLock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto range = by_stream_.equal_range(it->second.stream);
    for (auto s = range.first; s != range.second; ++s) {
      if (s->second == id) {
        by_stream_.erase(s);
        break;
      }
    }
    entries_.erase(it);
  }
  // A Publish that copied the listener before the erase may still be running it: wait.
  MutexLock wait(publish_mu_);
}

bool PartHub::HasListeners(std::string_view stream_name) const {
  MutexLock lock(mu_);
  return by_stream_.find(stream_name) != by_stream_.end();
}

void PartHub::Publish(const PartEvent& event) {
  MutexLock publishing(publish_mu_);
  std::vector<std::shared_ptr<Listener>> targets;
  {
    MutexLock lock(mu_);
    auto range = by_stream_.equal_range(event.stream_name);
    for (auto s = range.first; s != range.second; ++s) {
      targets.push_back(entries_.at(s->second).listener);
    }
  }
  // Unsubscribe waits on publish_mu_, so no target can be removed while it runs.
  for (const auto& listener : targets) (*listener)(event);
}

}  // namespace streamarc::playback
