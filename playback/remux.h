// Packaging stored fragments for players: fragmented MP4 (HLS/DASH), MPEG-TS (HLS) and
// progressive MP4 (GetClip), remuxed by libavformat from the stored Matroska bytes with no
// re-encode. Pure functions of their input: no disk, no archive; thread-safe; callers run
// them on worker threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace streamarc::playback {

// One stored fragment: `header + cluster` is a complete Matroska file.
struct MkvFragment {
  std::string_view header;   // archive::FragmentInfo::track_info
  std::string_view cluster;  // the fragment's stored bytes
  // Where the fragment starts on the output timeline, in microseconds. The packagers rebase
  // the fragment's own timestamps so its first frame lands here (the caller picks producer
  // or server time, and an origin that keeps MPEG-TS's 33-bit clock from wrapping).
  int64_t start_us = 0;
};

enum class TrackKind { kVideo, kAudio, kOther };

struct TrackDescription {
  uint64_t number = 0;  // Matroska TrackNumber
  TrackKind kind = TrackKind::kOther;
  int matroska_type = 0;  // Matroska TrackType (1 video, 2 audio, 17 subtitle...)
  std::string codec_id;   // Matroska CodecID: "V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC", "A_AAC"
  std::string codecs;     // RFC 6381 for HLS CODECS= / DASH codecs=: "avc1.64001f", "mp4a.40.2"
  bool has_codec_private = false;
  int width = 0, height = 0;
  int sample_rate = 0, channels = 0;
};

// The tracks of a header section, in header order. `codecs` is empty for codecs the
// packagers do not handle and for a CodecPrivate too short to read.
Result<std::vector<TrackDescription>> DescribeTracks(std::string_view header);

// How the packagers' refusals read, so handlers map them to KVS's exceptions:
//  - kFailedPrecondition "missing CodecPrivate ...": MissingCodecPrivateDataException;
//  - kInvalidArgument "unsupported codec ...": UnsupportedStreamMediaTypeException.
// Anything else is malformed or unreadable stored data (kInvalidArgument, kDataLoss).
inline constexpr const char* kMissingCodecPrivatePrefix = "missing CodecPrivate";
inline constexpr const char* kUnsupportedCodecPrefix = "unsupported codec";
bool IsMissingCodecPrivate(const Status& status);
bool IsUnsupportedCodec(const Status& status);
// OK when the packagers can carry `track` (H.264, H.265 or AAC with a readable CodecPrivate).
Status CheckPackageable(const TrackDescription& track);

// Which tracks go into the output (Matroska track numbers); empty means every track (and then
// every track must be packageable). A number not in the header is kInvalidArgument.
struct TrackSelection {
  std::vector<uint64_t> tracks;
};

// fMP4 init segment (ftyp + moov) for `header`. Errors: kInvalidArgument for codecs MP4
// cannot carry here or missing CodecPrivate (the caller maps it to KVS's
// MissingCodecPrivateDataException / UnsupportedStreamMediaTypeException).
Result<std::string> Fmp4InitSegment(std::string_view header, const TrackSelection& tracks);

// One fMP4 media segment (moof + mdat) holding the whole fragment. `sequence_number` goes
// into mfhd; tfdt is the first sample's decode time on the start_us timeline (video with
// B-frames decodes a frame or two before it presents, so keep start_us >= 1 s: a
// negative decode time cannot be written and the segment would be shifted later by it).
// Timescales: 90 kHz for video, the sample rate for audio.
Result<std::string> Fmp4MediaSegment(const MkvFragment& fragment, const TrackSelection& tracks,
                                     uint32_t sequence_number);

// One self-contained MPEG-TS segment (PAT/PMT first, H.264/H.265 with in-band parameter
// sets, AAC in ADTS) holding the whole fragment.
Result<std::string> TsSegment(const MkvFragment& fragment, const TrackSelection& tracks);

// A progressive MP4 (moov first, so a browser plays it while it downloads) of consecutive
// fragments; timestamps start at 0 at the first fragment's start_us. Fragments whose header
// differs from the first one's in codec or track layout end the clip early (the result
// tells how many were used).
struct Mp4Clip {
  std::string bytes;
  size_t fragments_used = 0;
  int64_t duration_us = 0;
};
Result<Mp4Clip> Mp4ClipOf(std::span<const MkvFragment> fragments, const TrackSelection& tracks);

// FFmpeg logs to stderr on its own (e.g. "Starting second pass" for every clip). Keeps it to
// errors unless `verbose`. Process-wide, like FFmpeg's log itself: call once from main.
void SetFfmpegLogVerbose(bool verbose);

}  // namespace streamarc::playback
