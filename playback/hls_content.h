// What HlsService hands out, shared by its two halves (private to playback/): bodies and
// errors as the front door sends them, the codec checks of a session, and the pieces of a
// LL-HLS playlist taken from the live edge.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/kvs_error.h"
#include "playback/hls_playlist.h"
#include "playback/hls_service.h"
#include "playback/hls_window.h"
#include "playback/live_edge.h"
#include "playback/remux.h"

namespace streamarc::playback::hls_internal {

inline constexpr int kSegmentMaxAgeSeconds = 3600;

// Names a header in init URLs: the first 8 bytes of its SHA-256, in hex.
std::string HeaderId(std::string_view header);
// A refusal of `type` (the code only matters to logs).
KvsError Error(KvsErrorType type, std::string message);
// A playlist or manifest (no-cache), a segment (cacheable).
Content Text(std::string body, std::string type);
Content Segment(std::shared_ptr<const std::string> bytes, std::string type, std::string stream_name,
                int fragments);
// The tracks of `header` the packagers can carry (the rest are left out).
Result<TrackSelection> Packageable(std::string_view header);
// The session's rules for its codecs (KVS: track 1 H.264/H.265 or AAC, with CodecPrivate).
std::optional<KvsError> CheckCodecs(const std::string& header);

// A session opts out of LL-HLS with LowLatency=0 on its URLs; the master playlist carries it
// into the media playlist URLs (players copy query strings no further).
inline constexpr char kLowLatencyOff[] = "&LowLatency=0";
bool LowLatencyOff(std::string_view query);
// The timeline time of an edge fragment (which has no number yet, or is not persisted).
int64_t EdgeTime(const EdgeFragment& f, SelectorType s);
// The parts to list for `entries` (placed from `lw`): those of the edge's fragments that end
// within three target durations of the playlist's end (the spec drops older ones), and the
// preload hint.
LowLatencyOptions ListParts(const std::vector<PlaylistEntry>& entries, const LiveWindow& lw,
                            int64_t part_target_us, int64_t target_duration_us);

}  // namespace streamarc::playback::hls_internal
