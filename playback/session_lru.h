// Per-session state kept in memory, bounded by a count of sessions: the least recently used
// session goes first. Sessions are named by their token; a forgotten one starts afresh, so
// what is kept here must be something a session can do without (numbering, placements).
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

namespace streamarc::playback {

// Not thread-safe: the owner guards it with its own mutex.
template <typename State>
class SessionLru {
 public:
  explicit SessionLru(size_t max_sessions) : max_sessions_(max_sessions) {}

  // The state of `session`, default-made on first use (evicting the least recently used
  // session when full), and marked most recently used. The reference is valid until the
  // next call.
  State& Get(const std::string& session) {
    auto it = slots_.find(session);
    if (it != slots_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.state;
    }
    if (slots_.size() >= max_sessions_ && !lru_.empty()) {
      slots_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(session);
    it = slots_.emplace(session, Slot{State{}, lru_.begin()}).first;
    return it->second.state;
  }

  // The state of `session` if it is kept, without changing the order.
  const State* Find(const std::string& session) const {
    auto it = slots_.find(session);
    return it == slots_.end() ? nullptr : &it->second.state;
  }

 private:
  struct Slot {
    State state;
    std::list<std::string>::iterator lru;
  };
  const size_t max_sessions_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> lru_;  // most recent first
};

}  // namespace streamarc::playback
