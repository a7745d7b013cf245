#include "playback/hls_playlist.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "common/clock.h"

namespace streamarc::playback {
namespace {

// Seconds with three decimals, as EXTINF and KVS's playlists write them.
std::string Seconds(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%03" PRId64, us / 1'000'000, (us % 1'000'000) / 1000);
  return buf;
}

// xs:duration for the MPD: "PT12.345S".
std::string XsDuration(int64_t us) { return "PT" + Seconds(std::max<int64_t>(us, 0)) + "S"; }

// What goes into an XML attribute: the URLs carry '&'.
std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int64_t Millis(int64_t us) { return us >= 0 ? us / 1000 : -((-us + 999) / 1000); }

std::string Track(uint64_t track) { return "&TrackNumber=" + std::to_string(track); }

std::string InitUrl(std::string_view token, uint64_t track, std::string_view init_id) {
  return "getMP4InitFragment.mp4?SessionToken=" + std::string(token) + Track(track) +
         "&InitId=" + std::string(init_id);
}

const TrackDescription* FirstOfKind(const StreamShape& shape, TrackKind kind) {
  for (const TrackDescription& t : shape.tracks) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

}  // namespace

std::vector<PlaylistEntry> BuildEntries(std::span<const PlaylistFragment> fragments,
                                        const PlaylistFragment* previous, DiscontinuityMode mode) {
  std::vector<PlaylistEntry> out;
  out.reserve(fragments.size());
  const PlaylistFragment* prev = previous;
  // The earliest start the next entry may have on the timeline.
  std::optional<int64_t> next_free;
  auto advance = [&next_free](int64_t start_us, int64_t duration_us) {
    next_free = start_us + std::max(duration_us, kMinTimelineStepMicros);
  };
  if (previous) advance(previous->placed_us.value_or(previous->start_us), previous->duration_us);
  for (const PlaylistFragment& f : fragments) {
    PlaylistEntry e;
    e.number = f.number;
    e.recorded_us = f.start_us;
    e.start_us = std::max(f.placed_us.value_or(f.start_us), next_free.value_or(INT64_MIN));
    e.duration_us = f.duration_us;
    advance(e.start_us, e.duration_us);
    // The first entry of the list always gets its own init segment reference.
    e.new_header = out.empty() || (prev && prev->header != f.header);
    const bool header_changed = prev && prev->header != f.header;
    e.init_id = f.header_id;
    switch (mode) {
      case DiscontinuityMode::kAlways:
        e.discontinuity = true;
        break;
      case DiscontinuityMode::kNever:
        e.discontinuity = header_changed;
        break;
      case DiscontinuityMode::kOnDiscontinuity:
        e.discontinuity = header_changed ||
                          (prev && std::llabs(f.start_us - (prev->start_us + prev->duration_us)) >
                                       kDiscontinuityToleranceMicros);
        break;
    }
    out.push_back(std::move(e));
    prev = &f;
  }
  return out;
}

std::string MasterPlaylist(const SessionParams& session, std::string_view token,
                           const StreamShape& shape) {
  const TrackDescription* video = FirstOfKind(shape, TrackKind::kVideo);
  const TrackDescription* audio = FirstOfKind(shape, TrackKind::kAudio);
  const TrackDescription* main = video ? video : audio;
  std::string codecs;
  for (const TrackDescription* t : {video, audio}) {
    if (t && !t->codecs.empty()) codecs += (codecs.empty() ? "" : ",") + t->codecs;
  }
  std::string m = "#EXTM3U\n#EXT-X-VERSION:";
  m += session.container == ContainerFormat::kMpegTs ? "3\n" : "7\n";
  m += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  const std::string base = "getHLSMediaPlaylist.m3u8?SessionToken=" + std::string(token);
  const bool separate_audio =
      session.container == ContainerFormat::kFragmentedMp4 && video && audio;
  if (separate_audio) {
    m += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,"
         "URI=\"" +
         base + Track(audio->number) + "\"\n";
  }
  m += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(std::max<int64_t>(shape.bandwidth, 1));
  if (!codecs.empty()) m += ",CODECS=\"" + codecs + "\"";
  if (video && video->width > 0 && video->height > 0) {
    m += ",RESOLUTION=" + std::to_string(video->width) + "x" + std::to_string(video->height);
  }
  if (separate_audio) m += ",AUDIO=\"audio\"";
  m += "\n";
  if (session.container == ContainerFormat::kMpegTs || !main) {
    m += base + "\n";
  } else {
    m += base + Track(main->number) + "\n";
  }
  return m;
}

std::string MediaPlaylist(const SessionParams& session, std::string_view token,
                          const MediaPlaylistOptions& options,
                          std::span<const PlaylistEntry> entries) {
  const bool ts = session.container == ContainerFormat::kMpegTs;
  int64_t longest_us = 1'000'000;
  for (const PlaylistEntry& e : entries) longest_us = std::max(longest_us, e.duration_us);
  std::string m = "#EXTM3U\n#EXT-X-VERSION:";
  m += ts ? "3\n" : "7\n";
  // Rounded up: every EXTINF, rounded to the nearest second, must not exceed it.
  m += "#EXT-X-TARGETDURATION:" + std::to_string((longest_us + 999'999) / 1'000'000) + "\n";
  const LowLatencyOptions* ll = options.low_latency;
  if (ll) {
    // Blocking reloads (_HLS_msn/_HLS_part) are answered; players keep 3 part targets back
    // (the spec's floor is two). No EXT-X-RENDITION-REPORT: each session's playlists are one
    // rendition per track, and audio and video playlists share their parts' boundaries and
    // reload independently, so there is no other rendition's position worth reporting.
    m += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=" +
         Seconds(3 * ll->part_target_us) + "\n";
    m += "#EXT-X-PART-INF:PART-TARGET=" + Seconds(ll->part_target_us) + "\n";
  }
  m += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(options.media_sequence) + "\n";
  if (options.discontinuity_sequence > 0) {
    m += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(options.discontinuity_sequence) + "\n";
  }
  if (session.mode == PlaybackMode::kOnDemand) m += "#EXT-X-PLAYLIST-TYPE:VOD\n";
  m += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  const std::string track = options.track ? Track(options.track) : std::string();
  auto part_uri = [&](const PlaylistPart& p) {
    return "getMP4PartFragment.mp4?SessionToken=" + std::string(token) + track +
           "&LiveFragment=" + std::to_string(p.fragment_id) + "&Part=" + std::to_string(p.index);
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    const PlaylistEntry& e = entries[i];
    if (e.discontinuity) m += "#EXT-X-DISCONTINUITY\n";
    if (!ts && e.new_header) {
      m += "#EXT-X-MAP:URI=\"" + InitUrl(token, options.track, e.init_id) + "\"\n";
    }
    if (session.display_timestamp) {
      m += "#EXT-X-PROGRAM-DATE-TIME:" + FormatIso8601(e.start_us) + "\n";
    }
    if (ll && i < ll->parts.size()) {
      for (const PlaylistPart& p : ll->parts[i]) {
        m += "#EXT-X-PART:DURATION=" + Seconds(p.duration_us) + ",URI=\"" + part_uri(p) + "\"" +
             (p.independent ? ",INDEPENDENT=YES" : "") + "\n";
      }
    }
    if (ll && ll->last_open && i + 1 == entries.size()) break;  // still arriving
    m += "#EXTINF:" + Seconds(e.duration_us) + ",\n";
    m += ts ? "getTSFragment.ts" : "getMP4MediaFragment.mp4";
    m += "?FragmentNumber=" + e.number + "&SessionToken=" + std::string(token) + track + "\n";
  }
  if (ll && ll->hint) m += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + part_uri(*ll->hint) + "\"\n";
  if (options.ended) m += "#EXT-X-ENDLIST\n";
  return m;
}

std::string DashManifest(const SessionParams& session, std::string_view token,
                         const StreamShape& shape, const ManifestOptions& options,
                         std::span<const PlaylistEntry> entries) {
  int64_t first_ms = entries.empty() ? 0 : Millis(entries.front().start_us);
  int64_t end_us = 0, longest_us = 1'000'000;
  for (const PlaylistEntry& e : entries) {
    end_us = std::max(end_us, e.start_us + e.duration_us);
    longest_us = std::max(longest_us, e.duration_us);
  }
  std::string m = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  m += "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
       "xmlns:kvs=\"https://kinesisvideo.amazonaws.com/ns/dash\" "
       "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" minBufferTime=\"" +
       XsDuration(longest_us) + "\"";
  if (options.dynamic) {
    // Timeline times are milliseconds from availabilityStartTime.
    m += " type=\"dynamic\" availabilityStartTime=\"" +
         FormatIso8601(options.availability_start_us) + "\" publishTime=\"" +
         FormatIso8601(options.now_us) + "\" minimumUpdatePeriod=\"PT1S\"" +
         " timeShiftBufferDepth=\"" +
         XsDuration(entries.empty() ? longest_us : end_us - entries.front().start_us) + "\"" +
         " suggestedPresentationDelay=\"" + XsDuration(3 * longest_us) + "\">\n";
  } else {
    m += " type=\"static\" mediaPresentationDuration=\"" +
         XsDuration(entries.empty() ? 0 : end_us - entries.front().start_us) + "\">\n";
  }
  m += "  <Period id=\"0\" start=\"PT0S\">\n";
  const std::string init_id = entries.empty() ? std::string() : entries.front().init_id;
  for (const TrackDescription& t : shape.tracks) {
    if (t.kind == TrackKind::kOther) continue;
    const bool video = t.kind == TrackKind::kVideo;
    m += std::string("    <AdaptationSet contentType=\"") + (video ? "video" : "audio") +
         "\" mimeType=\"" + (video ? "video/mp4" : "audio/mp4") +
         "\" segmentAlignment=\"true\" startWithSAP=\"1\">\n";
    m += "      <Representation id=\"" + std::to_string(t.number) + "\" codecs=\"" +
         XmlEscape(t.codecs) + "\" bandwidth=\"" +
         std::to_string(std::max<int64_t>(shape.bandwidth, 1)) + "\"";
    if (video && t.width > 0) {
      m += " width=\"" + std::to_string(t.width) + "\" height=\"" + std::to_string(t.height) + "\"";
    }
    if (!video && t.sample_rate > 0) {
      m += " audioSamplingRate=\"" + std::to_string(t.sample_rate) + "\"";
    }
    m += ">\n";
    const std::string media = "getMP4MediaFragment.mp4?SessionToken=" + std::string(token) +
                              Track(t.number) + "&Time=$Time$";
    m += "        <SegmentTemplate timescale=\"1000\" presentationTimeOffset=\"" +
         std::to_string(options.dynamic ? 0 : first_ms) + "\" initialization=\"" +
         XmlEscape(InitUrl(token, t.number, init_id)) + "\" media=\"" + XmlEscape(media) +
         "\">\n          <SegmentTimeline>\n";
    for (const PlaylistEntry& e : entries) {
      const int64_t t_ms = Millis(e.start_us);
      // Each segment's d reaches the next one's t when they touch, so rounding to
      // milliseconds leaves no holes.
      m += "            <S t=\"" + std::to_string(t_ms) + "\" d=\"" +
           std::to_string(std::max<int64_t>(Millis(e.start_us + e.duration_us) - t_ms, 1)) + "\"";
      if (session.display_timestamp) {
        m += " kvs:ts=\"" + std::to_string(Millis(e.recorded_us)) + "\"";
      }
      if (session.display_fragment_number) m += " kvs:fn=\"" + e.number + "\"";
      m += "/>\n";
    }
    m += "          </SegmentTimeline>\n        </SegmentTemplate>\n      </Representation>\n"
         "    </AdaptationSet>\n";
  }
  m += "  </Period>\n</MPD>\n";
  return m;
}

LiveSequencer::Numbering LiveSequencer::Assign(const std::string& session,
                                               std::span<const PlaylistEntry> window,
                                               uint64_t floor) {
  MutexLock lock(mu_);
  State& s = sessions_.Get(session);
  Numbering n;
  if (window.empty()) {
    n.media_sequence = s.numbers.empty() ? floor : s.last_seq + 1;
    n.discontinuity_sequence = s.last_disc;
    return n;
  }
  // The discontinuity value of an entry counts the markers up to and including its own.
  uint64_t seq0 = 0, disc0 = 0;
  bool anchored = false;
  for (size_t i = 0; i < window.size() && !anchored; ++i) {
    auto known = s.numbers.find(window[i].number);
    if (known == s.numbers.end() || known->second.first < i) continue;
    seq0 = known->second.first - i;
    uint64_t disc = known->second.second;
    for (size_t k = i; k > 0; --k) disc -= window[k].discontinuity ? 1 : 0;
    disc0 = disc;
    anchored = true;
  }
  if (!anchored) {
    seq0 = s.numbers.empty() ? floor : std::max(floor, s.last_seq + 1);
    disc0 = s.last_disc + (window[0].discontinuity ? 1 : 0);
  }
  s.numbers.clear();
  uint64_t disc = disc0;
  for (size_t i = 0; i < window.size(); ++i) {
    if (i > 0 && window[i].discontinuity) ++disc;
    s.numbers[window[i].number] = {seq0 + i, disc};
  }
  s.last_seq = seq0 + window.size() - 1;
  s.last_disc = disc;
  n.media_sequence = seq0;
  n.discontinuity_sequence = disc0 - (window[0].discontinuity && disc0 > 0 ? 1 : 0);
  return n;
}

void SessionTimeline::Recall(const std::string& session, std::span<PlaylistFragment> fragments,
                             PlaylistFragment* previous) {
  MutexLock lock(mu_);
  const State* s = sessions_.Find(session);
  if (!s) return;
  auto recall = [s](PlaylistFragment& f) {
    if (auto it = s->by_number.find(f.number); it != s->by_number.end()) f.placed_us = it->second;
  };
  for (PlaylistFragment& f : fragments) recall(f);
  if (previous) recall(*previous);
}

void SessionTimeline::Remember(const std::string& session, std::span<const PlaylistEntry> entries) {
  if (entries.empty()) return;
  MutexLock lock(mu_);
  State& s = sessions_.Get(session);
  for (const PlaylistEntry& e : entries) {
    if (auto old = s.by_number.find(e.number); old != s.by_number.end()) {
      s.by_start.erase(old->second);
    }
    // The newest listing wins a start another fragment held (placed before a restart).
    if (auto taken = s.by_start.find(e.start_us); taken != s.by_start.end()) {
      s.by_number.erase(taken->second);
      s.by_start.erase(taken);
    }
    s.by_number[e.number] = e.start_us;
    s.by_start[e.start_us] = e.number;
  }
  // Two listings' worth: a player may still ask for what slid out of the last one.
  const size_t keep = 2 * entries.size() + 16;
  while (s.by_start.size() > keep) {
    s.by_number.erase(s.by_start.begin()->second);
    s.by_start.erase(s.by_start.begin());
  }
}

std::optional<int64_t> SessionTimeline::StartOf(const std::string& session,
                                                const std::string& number) {
  MutexLock lock(mu_);
  const State* s = sessions_.Find(session);
  if (!s) return std::nullopt;
  auto it = s->by_number.find(number);
  if (it == s->by_number.end()) return std::nullopt;
  return it->second;
}

std::optional<SessionTimeline::Placement> SessionTimeline::At(const std::string& session,
                                                              int64_t time_ms) {
  MutexLock lock(mu_);
  const State* s = sessions_.Find(session);
  if (!s || time_ms < 0 || time_ms > INT64_MAX / 1000 - 1) return std::nullopt;
  // The manifest wrote Millis(start): starts from time_ms to time_ms + 999 µs (starts are at
  // least kMinTimelineStepMicros apart, so at most one).
  auto it = s->by_start.lower_bound(time_ms * 1000);
  if (it == s->by_start.end() || Millis(it->first) != time_ms) return std::nullopt;
  return Placement{it->second, it->first};
}

}  // namespace streamarc::playback
