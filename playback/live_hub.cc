#include "playback/live_hub.h"

#include <vector>

namespace streamarc::playback {

uint64_t LiveHub::Subscribe(const std::string& stream_name, Listener listener) {
  MutexLock lock(mu_);
  uint64_t id = next_id_++;
  entries_[id] = Entry{stream_name, std::make_shared<Listener>(std::move(listener))};
  by_stream_.emplace(stream_name, id);
  return id;
}

uint64_t LiveHub::SubscribeMatching(Matcher match, Listener listener) {
  MutexLock lock(mu_);
  uint64_t id = next_id_++;
  entries_[id] = Entry{"", std::make_shared<Listener>(std::move(listener))};
  matchers_[id] = std::move(match);
  return id;
}

void LiveHub::Unsubscribe(uint64_t id) {
  {
    MutexLock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    matchers_.erase(id);
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

bool LiveHub::HasListeners(const std::string& stream_name) const {
  MutexLock lock(mu_);
  if (by_stream_.count(stream_name) > 0) return true;
  for (const auto& [id, match] : matchers_) {
    if (match(stream_name)) return true;
  }
  return false;
}

void LiveHub::Publish(const LiveFragmentPtr& fragment) {
  MutexLock publishing(publish_mu_);
  std::vector<std::pair<uint64_t, std::shared_ptr<Listener>>> targets;
  {
    MutexLock lock(mu_);
    auto range = by_stream_.equal_range(fragment->stream_name);
    for (auto s = range.first; s != range.second; ++s) {
      targets.emplace_back(s->second, entries_.at(s->second).listener);
    }
    for (const auto& [id, match] : matchers_) {
      if (match(fragment->stream_name)) targets.emplace_back(id, entries_.at(id).listener);
    }
  }
  for (auto& [id, listener] : targets) {
    {
      // Skip a listener unsubscribed since the copy (Unsubscribe waits on publish_mu_, so
      // this only happens when a listener unsubscribes another one: not allowed, but cheap
      // to guard).
      MutexLock lock(mu_);
      if (!entries_.count(id)) continue;
    }
    (*listener)(fragment);
  }
}

}  // namespace streamarc::playback
