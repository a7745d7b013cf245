// Where a HLS/DASH session's fragments stand on its timeline (private to playback/;
// HlsService uses it): a window's playlist entries, placed where the session's earlier
// playlists put them, and their media sequence numbers; and the fragment or init header a
// segment request names, found again when the server has forgotten (a restart) what it
// listed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "playback/hls.h"
#include "playback/hls_playlist.h"
#include "playback/hls_window.h"
#include "playback/live_edge.h"

namespace streamarc::playback::hls_internal {

// A fragment as a segment request finds it, and where on the session's timeline it plays.
struct PlacedFragment {
  archive::FragmentInfo info;
  int64_t start_us = 0;
  // Set for a fragment the live edge has but the archive has not persisted yet.
  std::shared_ptr<const std::string> cluster;
};

// Thread-safe. `archive`, `clock` and `edge` (null without LL-HLS) outlive it. What it
// remembers of sessions is bounded; forgetting costs a lookup, never a wrong answer.
class SessionPlacer {
 public:
  SessionPlacer(archive::Archive& archive, const Clock& clock, LiveEdge* edge)
      : archive_(archive), edge_(edge), windows_(archive, clock) {}

  // The fragments the session's playlist shows now (`token` names the session).
  Result<Window> Select(const SessionParams& s, const std::string& token) {
    return windows_.Select(s, token);
  }
  // The window's playlist entries, placed on the session's timeline where earlier playlists
  // of the session put them (and remembered, for the segment requests that follow).
  std::vector<PlaylistEntry> Entries(const SessionParams& s, const std::string& token,
                                     const Window& w);
  // Media and discontinuity sequence numbers of `entries` (0 for ON_DEMAND).
  void Number(const SessionParams& s, const std::string& token,
              const std::vector<PlaylistEntry>& entries, uint64_t* seq, uint64_t* disc);
  // Where the session placed fragment `name` (a number, or "~<id>" for an edge fragment).
  std::optional<int64_t> StartOf(const std::string& token, const std::string& name) {
    return timeline_.StartOf(token, name);
  }

  // The track header an init URL names (HeaderId). kNotFound when the session shows none.
  Result<std::string> FindHeader(const SessionParams& s, const std::string& token,
                                 const std::string& id);
  // The fragment a segment URL names, by number or DASH $Time$, where the session placed
  // it. `from_edge`: a LL-HLS session, whose playlists list fragments before they are
  // persisted. kPermissionDenied for a fragment outside the session's range, kNotFound for
  // none.
  Result<PlacedFragment> FindFragment(const SessionParams& s, const SegmentQuery& q,
                                      bool from_edge);

 private:
  // `find` in what the session placed; if it is not there (the server restarted, or forgot
  // the session), after placing the session's current window again.
  template <typename Find>
  auto FindPlaced(const SessionParams& s, const std::string& token, Find find)
      -> Result<decltype(find())>;
  // A fragment a LL playlist listed before the archive persisted it.
  std::optional<PlacedFragment> FromEdge(const SessionParams& s, const std::string& token,
                                         const std::string& number);

  archive::Archive& archive_;
  LiveEdge* const edge_;
  WindowSelector windows_;
  LiveSequencer sequencer_;
  SessionTimeline timeline_;
  Mutex headers_mu_;
  std::map<std::string, std::string> headers_
      GUARDED_BY(headers_mu_);  // "stream|HeaderId" → header, bounded
};

}  // namespace streamarc::playback::hls_internal
