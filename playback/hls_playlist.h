// The text of HLS playlists and DASH manifests, and the numbering that keeps a live
// playlist's media sequence stable across refreshes. Pure logic over fragment metadata the
// caller looked up (no archive, no HTTP).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "playback/hls.h"
#include "playback/remux.h"
#include "playback/session_lru.h"

namespace streamarc::playback {

// A gap or overlap larger than this between consecutive fragments is a discontinuity.
inline constexpr int64_t kDiscontinuityToleranceMicros = 50'000;
// The least a fragment advances the timeline, however short it is: the MPD's timescale is
// milliseconds, and two segments must never share a start.
inline constexpr int64_t kMinTimelineStepMicros = 1'000;

// One fragment as the playlist sees it.
struct PlaylistFragment {
  std::string number;
  int64_t start_us = 0;  // on the session's timeline (the selector's timestamp)
  int64_t duration_us = 0;
  std::string_view header;  // the fragment's track info (Matroska header), for change checks
  // Names the header in init segment URLs (the caller's choice, e.g. a hash of it): the
  // same header always gives the same URL, however the window slides.
  std::string header_id;
  // Where an earlier playlist of the same session placed this fragment (SessionTimeline), so
  // a sliding window keeps its times on refresh. Empty: place it afresh.
  std::optional<int64_t> placed_us = std::nullopt;
};

// One playlist line group: a fragment and what precedes it.
struct PlaylistEntry {
  std::string number;
  // Where the fragment plays: its own time, pushed later when that falls before the previous
  // entry's end (see BuildEntries). The segment's media is served at this time too.
  int64_t start_us = 0;
  int64_t recorded_us = 0;  // the fragment's own timestamp (the selector's)
  int64_t duration_us = 0;
  bool discontinuity = false;  // EXT-X-DISCONTINUITY before this fragment
  bool new_header = false;     // the track info changed here (a new EXT-X-MAP)
  std::string init_id;         // header_id of the header in force (InitId= in init URLs)
};

// Places `fragments` (ascending by their own time) on the session's timeline and marks
// discontinuities per `mode`. `previous`, when given, is the fragment just before the first
// one (outside the window), so a sliding window places and marks its first entry the same
// way on every refresh.
//
// Placement: a fragment starts at its placed_us if it has one, else at its own time, but
// never before the previous entry ends (nor less than kMinTimelineStepMicros after its
// start). Server timestamps are arrival times, so a producer resending its backlog delivers
// fragments milliseconds apart, each seconds long; producer clocks jump back. Pushing such
// fragments later keeps every timeline (DASH `S@t`, HLS program date time, the media's own
// decode times) strictly increasing and without overlaps; gaps stay gaps.
//
// Discontinuities are judged on the fragments' own times, as KVS does (an overlap beyond the
// tolerance is marked even though placement closed it). A change of track info is always a
// discontinuity (HLS needs one for a new EXT-X-MAP), whatever the mode.
std::vector<PlaylistEntry> BuildEntries(std::span<const PlaylistFragment> fragments,
                                        const PlaylistFragment* previous, DiscontinuityMode mode);

// What the master playlist and the manifest need to know about the stream.
struct StreamShape {
  std::vector<TrackDescription> tracks;  // from DescribeTracks of a representative header
  int64_t bandwidth = 0;                 // bits per second, estimated from fragment sizes
};

// Master playlist: one variant; with fMP4 each track has its own media playlist (audio as
// an EXT-X-MEDIA rendition), with MPEG-TS one media playlist carries every track.
std::string MasterPlaylist(const SessionParams& session, std::string_view token,
                           const StreamShape& shape);

// LL-HLS (RFC 8216bis): the partial segments of the newest entries, named by the live edge's
// fragment id and their index (getMP4PartFragment.mp4?...&LiveFragment=ID&Part=K).
struct PlaylistPart {
  uint64_t fragment_id = 0;
  uint32_t index = 0;
  int64_t duration_us = 0;
  bool independent = false;  // starts with a key frame
};
struct LowLatencyOptions {
  int64_t part_target_us = 0;  // EXT-X-PART-INF:PART-TARGET
  // Per entry (empty, or one per entry): the parts listed before its EXTINF.
  std::vector<std::vector<PlaylistPart>> parts;
  // The last entry is still arriving: its parts only, with no EXTINF and URI yet.
  bool last_open = false;
  // EXT-X-PRELOAD-HINT:TYPE=PART, the next part (duration unused); the spec makes it optional.
  std::optional<PlaylistPart> hint;
};

struct MediaPlaylistOptions {
  uint64_t track = 0;  // TrackNumber in the segment URLs (0: none, MPEG-TS with all tracks)
  uint64_t media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  bool ended = false;  // EXT-X-ENDLIST (ON_DEMAND, or a LIVE_REPLAY that reached its end)
  // EXT-X-PROGRAM-DATE-TIME (when the session displays fragment timestamps) is each entry's
  // placed start, so it grows with the media's own times.
  // Non-null: a Low-Latency HLS playlist (players without LL-HLS ignore its tags and play
  // the whole segments as before).
  const LowLatencyOptions* low_latency = nullptr;
};
std::string MediaPlaylist(const SessionParams& session, std::string_view token,
                          const MediaPlaylistOptions& options,
                          std::span<const PlaylistEntry> entries);

struct ManifestOptions {
  bool dynamic = false;  // LIVE / LIVE_REPLAY
  int64_t now_us = 0;    // publishTime
  // Dynamic only: the wall-clock time at which the session's timeline reads 0. The epoch
  // when the timeline is server time; for producer time (or a replay) the caller maps the
  // timeline onto now, so players find the live edge.
  int64_t availability_start_us = 0;
};
// DASH MPD: one AdaptationSet per video/audio track, SegmentTemplate with a
// SegmentTimeline in milliseconds (each S@t an entry's placed start; kvs:ts its own
// timestamp), segments addressed by $Time$.
std::string DashManifest(const SessionParams& session, std::string_view token,
                         const StreamShape& shape, const ManifestOptions& options,
                         std::span<const PlaylistEntry> entries);

// Gives a sliding playlist window's fragments media and discontinuity sequence numbers that
// stay the same on every refresh of one session: the first entry already numbered on an
// earlier refresh anchors the rest. A window with nothing in common with the last one
// continues from the last number, or from `floor` if that is higher (a number that grows
// with time, so numbers never go backwards after a restart forgets the state).
// Thread-safe; remembers at most `max_sessions` sessions (least recently used go first).
class LiveSequencer {
 public:
  explicit LiveSequencer(size_t max_sessions = 4096) : sessions_(max_sessions) {}

  struct Numbering {
    uint64_t media_sequence = 0;
    uint64_t discontinuity_sequence = 0;
  };
  Numbering Assign(const std::string& session, std::span<const PlaylistEntry> window,
                   uint64_t floor);

 private:
  struct State {
    std::map<std::string, std::pair<uint64_t, uint64_t>> numbers;  // fragment → (seq, disc)
    uint64_t last_seq = 0;
    uint64_t last_disc = 0;
  };
  Mutex mu_;
  SessionLru<State> sessions_ GUARDED_BY(mu_);
};

// Where each session's playlists placed their fragments (BuildEntries), so that a refresh of a
// sliding window places them the same way, and a segment request, by fragment number or by
// DASH $Time$, is served at the time its playlist gave it. Forgetting is safe for a fixed
// range (placing it again gives the same times); a live window re-places from its `previous`.
// Thread-safe; remembers at most `max_sessions` sessions (least recently used go first), each
// with about two listings' worth of fragments (the oldest placed go first).
class SessionTimeline {
 public:
  explicit SessionTimeline(size_t max_sessions = 128) : sessions_(max_sessions) {}

  // Sets placed_us on `fragments` and *previous (may be null) where this session placed them.
  void Recall(const std::string& session, std::span<PlaylistFragment> fragments,
              PlaylistFragment* previous);
  // Remembers where `entries` were placed.
  void Remember(const std::string& session, std::span<const PlaylistEntry> entries);

  // The placed start of fragment `number`, if the session placed it.
  std::optional<int64_t> StartOf(const std::string& session, const std::string& number);
  struct Placement {
    std::string number;
    int64_t start_us = 0;
  };
  // The fragment the session placed to start within millisecond `time_ms` (DASH $Time$).
  std::optional<Placement> At(const std::string& session, int64_t time_ms);

 private:
  struct State {
    std::map<std::string, int64_t> by_number;
    std::map<int64_t, std::string> by_start;
  };
  Mutex mu_;
  SessionLru<State> sessions_ GUARDED_BY(mu_);
};

}  // namespace streamarc::playback
