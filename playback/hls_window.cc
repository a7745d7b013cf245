#include "playback/hls_window.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>

namespace streamarc::playback {
namespace {

using archive::FragmentInfo;
using archive::StreamRef;
using archive::TimestampType;

// Live windows are looked up by time, widening from this guess of a fragment's length.
constexpr int64_t kWindowGuessMicros = 4'000'000;
// Replay progress is remembered for this many sessions at most.
constexpr size_t kMaxReplaySessions = 4096;

}  // namespace

TimestampType ArchiveType(SelectorType s) {
  return s == SelectorType::kProducerTimestamp ? TimestampType::kProducer : TimestampType::kServer;
}

int64_t SelectorTime(const FragmentInfo& f, SelectorType s) {
  return s == SelectorType::kProducerTimestamp ? f.producer_timestamp_us : f.server_timestamp_us;
}

// Fragments with `type` time in [start, end], ascending, at most `max` (paged through the
// archive's 1000-row pages). With producer time, duplicates of a start time collapse to the
// largest fragment number, as KVS does.
Result<std::vector<FragmentInfo>> WindowSelector::Range(const SessionParams& s, TimestampType type,
                                                        int64_t start, int64_t end, size_t max) {
  std::vector<FragmentInfo> out;
  archive::ListRequest lr;
  lr.stream = StreamRef::Name(s.stream_name);
  lr.type = type;
  lr.start_us = start;
  lr.end_us = end;
  lr.max_results = max >= 999 ? 1000 : static_cast<int>(max) + 1;
  RETURN_IF_ERROR(archive::ForEachFragment(archive_, lr, [&](FragmentInfo& f) {
    if (type == TimestampType::kProducer && !out.empty() &&
        out.back().producer_timestamp_us == f.producer_timestamp_us) {
      if (f.number > out.back().number) out.back() = std::move(f);
      return true;
    }
    out.push_back(std::move(f));
    // One spare row, so a duplicate start time at the cut still collapses.
    return out.size() <= max;
  }));
  return out;
}

// The last `n` (+1 for context) fragments with `type` time at most `until`, not before
// `floor`: looked up by time, widening the span until enough are found.
Result<std::vector<FragmentInfo>> WindowSelector::Tail(const SessionParams& s, TimestampType type,
                                                       int64_t floor, int64_t until, size_t n) {
  int64_t span = kWindowGuessMicros * static_cast<int64_t>(n + 1);
  while (true) {
    const int64_t from = std::max(floor, until - span);
    ASSIGN_OR_RETURN(auto found, Range(s, type, from, until, SIZE_MAX));
    if (found.size() > n || from == floor || span >= kMaxRangeMicros) {
      if (found.size() > n + 1) found.erase(found.begin(), found.end() - (n + 1));
      return found;
    }
    span *= 4;
  }
}

// LIVE_REPLAY: fragments from Start appear one by one, each once the session has run as long
// as the fragments before it last, so gaps in the recording cost no waiting. Returns the
// newest shown fragment's time (nullopt: none yet); sets *ended once a replay with an
// EndTimestamp has shown everything up to it.
Result<std::optional<int64_t>> WindowSelector::AdvanceReplay(const SessionParams& s,
                                                             const std::string& token,
                                                             bool* ended) {
  ReplayState st;
  {
    MutexLock lock(replay_mu_);
    if (auto it = replay_.find(token); it != replay_.end()) st = it->second;
  }
  const TimestampType type = ArchiveType(s.selector);
  const int64_t elapsed = clock_.NowMicros() - s.created_us;
  const int64_t end = s.has_end ? s.end_us : std::numeric_limits<int64_t>::max() / 2;
  bool more = true;
  while (more && (!st.started || st.shown_us <= elapsed)) {
    // The next fragments after the newest shown one, in timeline order.
    ASSIGN_OR_RETURN(auto next, Range(s, type, st.started ? st.last_ts : s.start_us, end, 64));
    more = false;
    for (FragmentInfo& f : next) {
      const int64_t ts = SelectorTime(f, s.selector);
      if (st.started && (ts < st.last_ts || (ts == st.last_ts && f.number <= st.last_number))) {
        continue;  // shown already
      }
      more = true;
      if (st.started && st.shown_us > elapsed) break;  // not due yet
      st.started = true;
      st.last_number = f.number;
      st.last_ts = ts;
      st.shown_us += f.duration_us;
    }
  }
  *ended = s.has_end && st.started && !more;
  {
    MutexLock lock(replay_mu_);
    if (replay_.size() > kMaxReplaySessions) replay_.clear();  // sessions re-count from Start
    replay_[token] = st;
  }
  if (!st.started) return std::optional<int64_t>();
  return std::optional<int64_t>(st.last_ts);
}

Result<Window> WindowSelector::Select(const SessionParams& s, const std::string& token) {
  Window w;
  const size_t n = static_cast<size_t>(s.max_results);
  std::vector<FragmentInfo> found;
  switch (s.mode) {
    case PlaybackMode::kOnDemand: {
      ASSIGN_OR_RETURN(found, Range(s, ArchiveType(s.selector), s.start_us, s.end_us, n));
      if (found.size() > n) found.resize(n);
      w.fragments = std::move(found);
      w.ended = true;
      return w;
    }
    case PlaybackMode::kLive: {
      auto latest = archive_.Latest(StreamRef::Name(s.stream_name));
      if (!latest.ok()) {
        if (latest.status().code() == Code::kNotFound) return w;  // all expired: empty
        return latest.status();
      }
      ASSIGN_OR_RETURN(found, Tail(s, TimestampType::kServer, 0, latest->server_timestamp_us, n));
      break;
    }
    case PlaybackMode::kLiveReplay: {
      ASSIGN_OR_RETURN(std::optional<int64_t> until, AdvanceReplay(s, token, &w.ended));
      if (!until) return w;  // nothing recorded from Start on yet
      ASSIGN_OR_RETURN(found, Tail(s, ArchiveType(s.selector), s.start_us, *until, n));
      break;
    }
  }
  if (found.size() > n) {
    w.previous = std::move(found.front());
    found.erase(found.begin());
  }
  w.fragments = std::move(found);
  return w;
}

LiveWindow MergeEdge(Window archive_window, const EdgeView& edge, SelectorType selector,
                     size_t max_complete) {
  LiveWindow out;
  out.window = std::move(archive_window);
  std::vector<archive::FragmentInfo>& list = out.window.fragments;
  out.edge.assign(list.size(), nullptr);
  std::map<std::string, size_t> by_number;
  for (size_t i = 0; i < list.size(); ++i) by_number[list[i].number] = i;
  int64_t last_time =
      list.empty() ? std::numeric_limits<int64_t>::min() : SelectorTime(list.back(), selector);
  uint64_t next_unlisted = edge.next_id;
  for (const EdgeFragmentPtr& f : edge.fragments) {
    if (f->complete) {
      if (auto it = by_number.find(f->number); it != by_number.end()) {
        out.edge[it->second] = f;
        continue;
      }
    }
    archive::FragmentInfo info;
    info.producer_timestamp_us = f->producer_timestamp_us;
    info.server_timestamp_us = f->server_timestamp_us;
    const int64_t t = SelectorTime(info, selector);
    if (t <= last_time) continue;  // older than what the archive shows
    if (!f->complete && f->parts.empty()) {
      next_unlisted = f->id;  // nothing to show of it yet
      break;
    }
    info.number = f->complete ? f->number : "~" + std::to_string(f->id);
    if (f->complete) {
      info.duration_us = f->duration_us;
    } else {
      for (const CutPart& p : f->parts) info.duration_us += p.duration_us;
    }
    info.track_info = *f->header;
    list.push_back(std::move(info));
    out.edge.push_back(f);
    last_time = t;
    out.last_open = !f->complete;
  }
  const size_t complete = list.size() - (out.last_open ? 1 : 0);
  const size_t drop = complete > max_complete ? complete - max_complete : 0;
  if (drop > 0) {
    out.window.previous = list[drop - 1];
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(drop));
    out.edge.erase(out.edge.begin(), out.edge.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  if (out.last_open) {
    const EdgeFragment& open = *out.edge.back();
    out.hint = {open.id, static_cast<uint32_t>(open.parts.size())};
    out.end_fragment_id = open.id;
  } else {
    // Until the edge has seen a fragment start it cannot tell whether one is under way (whose
    // parts it could not serve): no hint then.
    if (!edge.fragments.empty()) out.hint = {next_unlisted, 0};
    out.end_fragment_id = next_unlisted - 1;
  }
  return out;
}

}  // namespace streamarc::playback
