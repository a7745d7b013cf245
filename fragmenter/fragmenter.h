// Frames in, fragments out: the fragmenter turns one PutMedia session's Matroska events into
// KVS fragments (key-frame aligned, timestamped, within KVS's limits). Pure logic: no
// sockets, no disk; the server wires mkv::Reader -> Fragmenter -> FragmentSink.
//
// What a fragment is here. It starts at a key frame of the cut track (the first video track
// in Tracks; with no video track, any track) and holds every frame of every track that
// arrived from that key frame up to the next cut, in arrival order. Cuts happen:
//  - at a producer Cluster whose first frame is a cut-track key frame: such a cluster is kept
//    as it is, one cluster = one fragment, as KVS does (the KVS producer SDK and
//    GStreamer's matroskamux write these), its Timecode kept as the fragment timecode;
//  - inside any other cluster (ffmpeg starts clusters with audio; clusters may hold several
//    GOPs or part of one) at a cut-track key frame, once the open fragment has lasted
//    Options::min_recut_duration_us: the stream is re-cut at key frames;
//  - at an AWS_KINESISVIDEO_END_OF_FRAGMENT tag, at the end of a Segment (a new EBML header,
//    or the end of the body) and when the tracks change (a new track section).
// Frames of other tracks that arrive before the first cut-track key frame (ffmpeg often
// writes an audio frame first) are held and written right after that key frame, so every
// fragment's first block is a cut-track key frame; each track's own frame order is kept.
//
// Bytes, as GetMedia will serve them. A fragment's bytes are
//   TrackSection::header  (EBML header, Segment of unknown size, Info, Tracks; shared)
//   [KVS's per-fragment Tags, inserted by GetMedia later]
//   Fragment::cluster     (one Cluster of known size, written by mkv::Writer)
// so `header + cluster` alone is a complete, playable Matroska file. The header is
// re-serialised from the parsed Info and Tracks (not the producer's bytes): SeekHead, Cues,
// CRC-32 and Void are dropped, Duration is left out (live), SegmentUID is kept.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/kvs_ack.h"
#include "common/mkv.h"
#include "common/status.h"

namespace streamarc::fragmenter {

// The fragmenter states every refusal as the KVS ACK ErrorId that ingest sends for it
// (common/kvs_ack.h).
using kvs::AckErrorId;

// x-amzn-fragment-timecode-type.
enum class TimecodeType { kAbsolute, kRelative };

struct Options {
  // ---- Session (from PutMedia's headers) ----
  TimecodeType timecode_type = TimecodeType::kAbsolute;
  // x-amzn-producer-start-timestamp in ms since the epoch; added to cluster timecodes when
  // timecode_type is kRelative.
  int64_t producer_start_timestamp_ms = 0;

  // ---- Cutting ----
  // Inside clusters that do not start at a key frame, a key frame ends the open fragment
  // only once it has lasted this long; keeps intra-only video and audio-only streams (where
  // every frame is a key frame) from turning every frame into a fragment.
  int64_t min_recut_duration_us = 1'000'000;

  // ---- Limits (KVS's defaults; duration more lenient than KVS's 10 s) ----
  int64_t max_duration_us = 20'000'000;  // 4002 MAX_FRAGMENT_DURATION_REACHED
  size_t max_bytes = 50 << 20;           // 4001 MAX_FRAGMENT_SIZE_REACHED (cluster bytes)
  size_t max_tracks = 3;                 // 4012 MORE_THAN_ALLOWED_TRACKS_FOUND
  // Per-stream rates, as token buckets on Clock::MonotonicMicros: a bucket holds up to its
  // burst and refills at its rate; a fragment start takes one fragment token, a frame its
  // size in byte tokens. An empty bucket refuses the stream with 4000 STREAM_READ_ERROR:
  // KVS has no ACK id for throttling (it reads slower), and 4000 makes the producer SDK
  // resend the fragment on a new connection instead of dropping it. 0 disables a limit.
  double max_fragments_per_second = 5;
  double fragment_burst = 10;
  double max_bytes_per_second = 12.5e6;
  double byte_burst = 25e6;
  // Producer tags (other than END_OF_FRAGMENT) kept per fragment; more are dropped and
  // counted in Stats::dropped_tags.
  size_t max_tags_per_fragment = 10;
};

// The stream's header, shared by every fragment until the tracks change. Immutable.
struct TrackSection {
  uint64_t id = 0;  // 1, 2, ... within one Fragmenter
  mkv::EbmlHeader ebml;
  mkv::SegmentInfo info;  // Duration cleared
  std::vector<mkv::TrackInfo> tracks;
  uint64_t cut_track = 0;  // the TrackNumber fragments start on (first video, else 0: any)
  mkv::Bytes header;       // EBML header + Segment (unknown size) + Info + Tracks
};

// What is known when a fragment opens: enough for a BUFFERING ack.
struct FragmentHead {
  uint64_t index = 0;  // 0, 1, ... within this session, in emission order
  std::shared_ptr<const TrackSection> section;
  // The producer's fragment timecode, in TimecodeScale ticks: the kept cluster's Timecode, or
  // the key frame's timecode for a re-cut fragment. ACKs carry it as FragmentTimecode.
  int64_t fragment_timecode = 0;
  int64_t producer_timestamp_ms = 0;  // absolute, ms since the epoch
  int64_t server_timestamp_us = 0;    // Clock::NowMicros when the fragment's first frame came
};

// A cut-track key frame's block inside Fragment::cluster.
struct KeyFrame {
  uint32_t offset = 0;   // of the SimpleBlock/BlockGroup element, from the Cluster ID
  int64_t timecode = 0;  // absolute, ticks
};

struct Fragment : FragmentHead {
  mkv::Bytes cluster;       // one Cluster of known size
  int64_t duration_ms = 0;  // from the fragment timecode to the end of its last frame
  uint32_t frame_count = 0;
  std::vector<KeyFrame> key_frames;    // in cluster order; key_frames[0].offset is the first block
  bool kept_producer_cluster = false;  // the producer's cluster, kept as it was
  // Producer tags received since the previous fragment opened (END_OF_FRAGMENT excluded).
  std::vector<mkv::SimpleTag> tags;
};

// One block of the open fragment, as written into its cluster.
struct WrittenFrame {
  uint64_t track = 0;
  int64_t timecode = 0;  // absolute, TimecodeScale ticks (as in the cluster)
  bool key = false;
  bool cut_track = false;  // of the track fragments start on (key frames there start a GOP)
  std::span<const uint8_t> data;
};

// Receives the fragmenter's output, in order. Returning non-OK stops the fragmenter: the
// session ends with 5001 ARCHIVAL_ERROR (the sink's job is to persist).
class FragmentSink {
 public:
  virtual ~FragmentSink() = default;
  // A fragment opened (its first key frame arrived). Optional: for BUFFERING acks.
  virtual Status OnFragmentStart(const FragmentHead&) { return Status::Ok(); }
  // A fragment is complete. It is immutable and may be shared with live readers.
  virtual Status OnFragment(std::shared_ptr<const Fragment> fragment) = 0;
  // A frame was written into the open fragment (`head`, the one OnFragmentStart announced),
  // in the fragment's block order: what a live view can show before the fragment is
  // complete (LL-HLS parts). `frame.data` is valid during the call only. Optional; must not
  // block (it runs on the session's thread, between two frames).
  virtual void OnFrameWritten(const FragmentHead& /*head*/, const WrittenFrame& /*frame*/) {}
};

// Why the session was refused: what to log and what to send in the ERROR ack.
struct FragmentError {
  Status status;  // OK when there was no error
  AckErrorId ack = AckErrorId::kNone;
  // The timecode for the ack's FragmentTimecode: the open fragment's (the refused one's when
  // the sink refused a complete fragment), or the offending frame's when none was open.
  int64_t fragment_timecode = 0;
  // That fragment's index when OnFragmentStart had been called for it (the server may then
  // know its FragmentNumber); empty otherwise.
  std::optional<uint64_t> fragment_index;
};

struct Stats {
  uint64_t fragments = 0;
  uint64_t frames = 0;
  uint64_t bytes = 0;  // cluster bytes emitted
  uint64_t sections = 0;
  uint64_t dropped_tags = 0;
  // Frames of other tracks held for a key frame of the cut track that never came before
  // their Segment ended.
  uint64_t dropped_frames = 0;
};

// A ReaderHandler: feed it the events of an mkv::Reader reading one PutMedia body. Any
// non-OK Status it returns stops the session; error() then says why, the fragment that was
// open is discarded and every fragment emitted before stays valid. The end of the Segment
// (Reader::Finish at the end of the body) emits the last fragment.
//
// Not thread-safe: one per PutMedia session, driven by that session's thread. The sink and
// the clock outlive it.
class Fragmenter : public mkv::ReaderHandler {
 public:
  // The error that stopped the session; status is OK while it runs.
  virtual const FragmentError& error() const = 0;
  // What to report for a non-OK Status from Reader::Feed/Finish: the fragmenter's own error
  // when it caused the stop, otherwise the reader's: 4000 STREAM_READ_ERROR for a truncated
  // or corrupt stream (kDataLoss: the producer resends), 4010 for a block of a track that is
  // not in Tracks (kNotFound), 4006 INVALID_MKV_DATA for the rest.
  virtual FragmentError ErrorFor(const Status& reader_status) const = 0;
  virtual Stats stats() const = 0;
};

// Refuses Options it cannot honour (negative or zero limits where a positive one is needed).
Result<std::unique_ptr<Fragmenter>> NewFragmenter(const Options& options, FragmentSink& sink,
                                                  const Clock& clock);

}  // namespace streamarc::fragmenter
