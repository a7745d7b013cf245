#include "playback/hls_content.h"

#include <algorithm>
#include <utility>

#include "common/digest.h"
#include "playback/api_error.h"
#include "playback/hls.h"

namespace streamarc::playback::hls_internal {

// Names a header in init URLs: the first 8 bytes of its SHA-256, in hex.
std::string HeaderId(std::string_view header) { return Sha256Hex(header).substr(0, 16); }

KvsError Error(KvsErrorType type, std::string message) {
  // The code only matters to logs: the type is what the client sees.
  return {type,
          Status(type == KvsErrorType::kInternalFailure ? Code::kInternal : Code::kInvalidArgument,
                 std::move(message))};
}

Content Text(std::string body, std::string type) {
  return Content{std::make_shared<const std::string>(std::move(body)), std::move(type), 0, {}, 0};
}

Content Segment(std::shared_ptr<const std::string> bytes, std::string type, std::string stream_name,
                int fragments) {
  return Content{std::move(bytes), std::move(type), kSegmentMaxAgeSeconds, std::move(stream_name),
                 fragments};
}

// The tracks of `header` the packagers can carry (the rest are left out).
Result<TrackSelection> Packageable(std::string_view header) {
  ASSIGN_OR_RETURN(std::vector<TrackDescription> tracks, DescribeTracks(header));
  TrackSelection sel;
  for (const TrackDescription& t : tracks) {
    if (CheckPackageable(t).ok()) sel.tracks.push_back(t.number);
  }
  if (sel.tracks.empty()) {
    return InvalidArgument(std::string(kUnsupportedCodecPrefix) + ": no track can be packaged");
  }
  return sel;
}

// The session's rules for its codecs (KVS: track 1 H.264/H.265 or AAC, with CodecPrivate).
// Other tracks the packagers cannot carry are left out of the playlists, not refused.
std::optional<KvsError> CheckCodecs(const std::string& header) {
  auto tracks = DescribeTracks(header);
  if (!tracks.ok()) return PackagingError(tracks.status());
  if (tracks->empty()) return Error(KvsErrorType::kUnsupportedStreamMediaType, "no tracks");
  const TrackDescription& t = tracks->front();
  if (t.codec_id != "V_MPEG4/ISO/AVC" && t.codec_id != "V_MPEGH/ISO/HEVC" &&
      t.codec_id != "A_AAC") {
    return Error(KvsErrorType::kUnsupportedStreamMediaType,
                 "track 1 must be H.264, H.265 or AAC; it is " + t.codec_id);
  }
  if (Status ok = CheckPackageable(t); !ok.ok()) return PackagingError(ok);
  return std::nullopt;
}

bool LowLatencyOff(std::string_view query) {
  auto q = ParseQuery(query);
  if (!q.ok()) return false;
  auto it = q->find("LowLatency");
  return it != q->end() && it->second == "0";
}

// The timeline time of an edge fragment (which has no number yet, or is not persisted).
int64_t EdgeTime(const EdgeFragment& f, SelectorType s) {
  return s == SelectorType::kServerTimestamp ? f.server_timestamp_us : f.producer_timestamp_us;
}

LowLatencyOptions ListParts(const std::vector<PlaylistEntry>& entries, const LiveWindow& lw,
                            int64_t part_target_us, int64_t target_duration_us) {
  LowLatencyOptions ll;
  ll.part_target_us = part_target_us;
  ll.parts.resize(entries.size());
  ll.last_open = lw.last_open;
  if (lw.hint) ll.hint = PlaylistPart{lw.hint->fragment_id, lw.hint->part, 0, false};
  int64_t end_us = 0;
  for (const PlaylistEntry& e : entries) end_us = std::max(end_us, e.start_us + e.duration_us);
  for (size_t i = 0; i < entries.size() && i < lw.edge.size(); ++i) {
    if (!lw.edge[i] ||
        entries[i].start_us + entries[i].duration_us <= end_us - 3 * target_duration_us) {
      continue;
    }
    for (const CutPart& p : lw.edge[i]->parts) {
      ll.parts[i].push_back(PlaylistPart{lw.edge[i]->id, p.index, p.duration_us, p.independent});
    }
  }
  return ll;
}

}  // namespace streamarc::playback::hls_internal
