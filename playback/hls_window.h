// Which fragments a session's playlist shows now (private to playback/; HlsService uses it):
// ON_DEMAND its range, LIVE the newest fragments, LIVE_REPLAY the fragments from Start as
// far as the session's clock has got.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "playback/hls.h"
#include "playback/hls_low_latency.h"
#include "playback/live_edge.h"

namespace streamarc::playback {

// The archive's name for the session's selector, and a fragment's time under it.
archive::TimestampType ArchiveType(SelectorType s);
int64_t SelectorTime(const archive::FragmentInfo& f, SelectorType s);

// What a playlist shows: fragments ascending, with the one just before them for context.
struct Window {
  std::vector<archive::FragmentInfo> fragments;
  std::optional<archive::FragmentInfo> previous;
  bool ended = false;  // nothing more will be added (EXT-X-ENDLIST)
};

// Thread-safe. `archive` and `clock` outlive it. Remembers each LIVE_REPLAY session's
// progress (bounded: a forgotten session re-counts from Start, as after a restart).
class WindowSelector {
 public:
  WindowSelector(archive::Archive& archive, const Clock& clock)
      : archive_(archive), clock_(clock) {}

  // At most s.max_results fragments (plus `previous`). `token` names the session.
  Result<Window> Select(const SessionParams& s, const std::string& token);

 private:
  // How far a LIVE_REPLAY session has got.
  struct ReplayState {
    bool started = false;
    std::string last_number;  // the newest fragment shown
    int64_t last_ts = 0;
    int64_t shown_us = 0;  // total duration of the fragments shown
  };

  Result<std::vector<archive::FragmentInfo>> Range(const SessionParams& s,
                                                   archive::TimestampType type, int64_t start,
                                                   int64_t end, size_t max);
  Result<std::vector<archive::FragmentInfo>> Tail(const SessionParams& s,
                                                  archive::TimestampType type, int64_t floor,
                                                  int64_t until, size_t n);
  Result<std::optional<int64_t>> AdvanceReplay(const SessionParams& s, const std::string& token,
                                               bool* ended);

  archive::Archive& archive_;
  const Clock& clock_;
  Mutex replay_mu_;
  std::map<std::string, ReplayState> replay_ GUARDED_BY(replay_mu_);  // by session token
};

// A LIVE window of the archive extended with the live edge: the edge's fragments newer than
// the archive's newest (complete but not yet persisted, and the one still arriving, named
// "~<id>" until it has a number), at most `max_complete` complete ones in all (the oldest go
// to `previous`).
struct LiveWindow {
  Window window;
  std::vector<EdgeFragmentPtr> edge;  // one per window fragment: its edge fragment, or null
  bool last_open = false;             // the last fragment is still arriving
  // The next part to come (EXT-X-PRELOAD-HINT); none before the edge has seen a fragment.
  std::optional<PartAddress> hint;
  uint64_t end_fragment_id = 0;  // LiveEnd::fragment_id of the last fragment
};
LiveWindow MergeEdge(Window archive_window, const EdgeView& edge, SelectorType selector,
                     size_t max_complete);

}  // namespace streamarc::playback
