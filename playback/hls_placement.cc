#include "playback/hls_placement.h"

#include <algorithm>
#include <limits>

#include "playback/hls_content.h"

namespace streamarc::playback::hls_internal {
namespace {

using archive::FragmentInfo;
using archive::StreamRef;

constexpr int64_t kLiveSequenceStepMicros = 10'000;  // see LiveSequencer's floor
constexpr size_t kMaxRememberedHeaders = 256;

Status OutsideSession(const SessionParams& s) {
  return PermissionDenied("The fragment is outside the time range of this streaming session (" +
                          std::string(PlaybackModeName(s.mode)) + " of stream " + s.stream_name +
                          ")");
}

}  // namespace

std::vector<PlaylistEntry> SessionPlacer::Entries(const SessionParams& s, const std::string& token,
                                                  const Window& w) {
  auto to_playlist = [&](const FragmentInfo& f) {
    PlaylistFragment p;
    p.number = f.number;
    p.start_us = SelectorTime(f, s.selector);
    p.duration_us = f.duration_us;
    p.header = f.track_info;
    p.header_id = HeaderId(f.track_info);
    return p;
  };
  std::vector<PlaylistFragment> list;
  list.reserve(w.fragments.size());
  for (const FragmentInfo& f : w.fragments) list.push_back(to_playlist(f));
  std::optional<PlaylistFragment> prev;
  if (w.previous) prev = to_playlist(*w.previous);
  {
    // Remember the headers just named, so their init segments are found without a search.
    MutexLock lock(headers_mu_);
    for (const FragmentInfo& f : w.fragments) {
      if (headers_.size() > kMaxRememberedHeaders) headers_.clear();
      headers_.emplace(s.stream_name + "|" + HeaderId(f.track_info), f.track_info);
    }
  }
  timeline_.Recall(token, list, prev ? &*prev : nullptr);
  std::vector<PlaylistEntry> entries = BuildEntries(list, prev ? &*prev : nullptr, s.discontinuity);
  timeline_.Remember(token, entries);
  return entries;
}

template <typename Find>
auto SessionPlacer::FindPlaced(const SessionParams& s, const std::string& token, Find find)
    -> Result<decltype(find())> {
  if (auto found = find()) return found;
  ASSIGN_OR_RETURN(Window w, windows_.Select(s, token));
  Entries(s, token, w);
  return find();
}

void SessionPlacer::Number(const SessionParams& s, const std::string& token,
                           const std::vector<PlaylistEntry>& entries, uint64_t* seq,
                           uint64_t* disc) {
  *seq = 0;
  *disc = 0;
  if (s.mode == PlaybackMode::kOnDemand) return;
  // A floor that grows with time, so a restart (which forgets the numbering) never makes
  // the sequence go backwards for a player that keeps refreshing.
  const int64_t base = s.has_start ? s.start_us : s.created_us - kMaxRangeMicros;
  const int64_t first = entries.empty() ? base : entries.front().start_us;
  const uint64_t floor =
      static_cast<uint64_t>(std::max<int64_t>(0, (first - base) / kLiveSequenceStepMicros));
  auto n = sequencer_.Assign(token, entries, floor);
  *seq = n.media_sequence;
  *disc = n.discontinuity_sequence;
}

Result<std::string> SessionPlacer::FindHeader(const SessionParams& s, const std::string& token,
                                              const std::string& id) {
  {
    // Keyed by stream: a session's token names only its own stream's headers.
    MutexLock lock(headers_mu_);
    if (auto it = headers_.find(s.stream_name + "|" + id); it != headers_.end()) {
      return it->second;
    }
  }
  // Not seen since the server started: search what the session shows now.
  ASSIGN_OR_RETURN(Window w, windows_.Select(s, token));
  if (w.previous) w.fragments.push_back(*w.previous);
  for (const FragmentInfo& f : w.fragments) {
    if (HeaderId(f.track_info) == id) return f.track_info;
  }
  return NotFound("No such initialization segment in this session");
}

Result<PlacedFragment> SessionPlacer::FindFragment(const SessionParams& s, const SegmentQuery& q,
                                                   bool from_edge) {
  const StreamRef ref = StreamRef::Name(s.stream_name);
  if (!q.fragment_number.empty()) {
    auto stored = archive_.GetFragment(ref, q.fragment_number);
    if (!stored.ok() && stored.status().code() == Code::kNotFound && from_edge) {
      // Listed by a LL playlist before it was persisted: serve it from the live edge.
      if (auto pending = FromEdge(s, q.token, q.fragment_number)) {
        if (!InSessionRange(s, SelectorTime(pending->info, s.selector))) {
          return OutsideSession(s);
        }
        return *pending;
      }
    }
    ASSIGN_OR_RETURN(FragmentInfo f, std::move(stored));
    // The token grants its range of its stream (GetFragment looked in that stream only).
    if (!InSessionRange(s, SelectorTime(f, s.selector))) return OutsideSession(s);
    ASSIGN_OR_RETURN(std::optional<int64_t> start,
                     FindPlaced(s, q.token, [&] { return timeline_.StartOf(q.token, f.number); }));
    // Not in the session's window (any more): served at its own time.
    const int64_t at = start.value_or(SelectorTime(f, s.selector));
    return PlacedFragment{std::move(f), at};
  }
  if (!q.has_time) return InvalidArgument("FragmentNumber is required");
  // DASH $Time$: the fragment the manifest placed in that millisecond.
  ASSIGN_OR_RETURN(std::optional<SessionTimeline::Placement> placed,
                   FindPlaced(s, q.token, [&] { return timeline_.At(q.token, q.time_ms); }));
  if (placed) {
    ASSIGN_OR_RETURN(FragmentInfo f, archive_.GetFragment(ref, placed->number));
    if (!InSessionRange(s, SelectorTime(f, s.selector))) return OutsideSession(s);
    return PlacedFragment{std::move(f), placed->start_us};
  }
  // Outside the session's window: the fragment starting in that millisecond of its own time.
  if (q.time_ms > std::numeric_limits<int64_t>::max() / 1000) {
    return NotFound("No fragment starts at Time=" + std::to_string(q.time_ms));
  }
  ASSIGN_OR_RETURN(FragmentInfo f,
                   archive_.FirstAtOrAfter(ref, ArchiveType(s.selector), q.time_ms * 1000));
  if (SelectorTime(f, s.selector) / 1000 != q.time_ms) {
    return NotFound("No fragment starts at Time=" + std::to_string(q.time_ms));
  }
  if (!InSessionRange(s, SelectorTime(f, s.selector))) return OutsideSession(s);
  const int64_t at = SelectorTime(f, s.selector);
  return PlacedFragment{std::move(f), at};
}

std::optional<PlacedFragment> SessionPlacer::FromEdge(const SessionParams& s,
                                                      const std::string& token,
                                                      const std::string& number) {
  const EdgeView view = edge_->Follow(s.stream_name);
  for (const EdgeFragmentPtr& f : view.fragments) {
    if (!f->complete || f->number != number) continue;
    PlacedFragment p;
    p.info.number = f->number;
    p.info.stream_name = s.stream_name;
    p.info.producer_timestamp_us = f->producer_timestamp_us;
    p.info.server_timestamp_us = f->server_timestamp_us;
    p.info.duration_us = f->duration_us;
    p.info.track_info = *f->header;
    std::optional<int64_t> placed = timeline_.StartOf(token, number);
    if (!placed) placed = timeline_.StartOf(token, "~" + std::to_string(f->id));
    p.start_us = placed.value_or(EdgeTime(*f, s.selector));
    p.cluster = f->cluster;
    return p;
  }
  return std::nullopt;
}

}  // namespace streamarc::playback::hls_internal
