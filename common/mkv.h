// Matroska (EBML) in and out: a push reader for endless byte streams split anywhere, and a
// writer for the live layout streamarc produces (Segment of unknown size, one Cluster per
// fragment). The element layout is the Matroska spec's (RFC 9559); what the reader accepts
// and refuses is described on Reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace streamarc::mkv {

using Bytes = std::vector<uint8_t>;

// Matroska TrackType values.
enum class TrackType : uint8_t {
  kVideo = 1,
  kAudio = 2,
  kComplex = 3,
  kLogo = 16,
  kSubtitle = 17,
  kButtons = 18,
  kControl = 32,
  kMetadata = 33,
};

struct EbmlHeader {
  std::string doc_type = "matroska";  // "matroska" or "webm"
  uint64_t doc_type_version = 4;
  uint64_t doc_type_read_version = 2;
};

struct SegmentInfo {
  uint64_t timecode_scale_ns = 1'000'000;  // ticks of Cluster/Block timecodes, in ns
  std::optional<double> duration;          // in ticks, as Matroska stores it
  std::string title;
  std::string muxing_app;
  std::string writing_app;
  Bytes segment_uid;  // 16 bytes when present
};

struct TrackInfo {
  uint64_t number = 0;  // TrackNumber, referenced by blocks; >= 1
  uint64_t uid = 0;     // TrackUID; >= 1
  TrackType type = TrackType::kVideo;
  std::string codec_id;  // "V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC", "A_AAC", ...
  Bytes codec_private;
  std::string name;
  uint64_t default_duration_ns = 0;  // 0 when absent
  uint64_t codec_delay_ns = 0;
  // Video
  uint32_t pixel_width = 0;
  uint32_t pixel_height = 0;
  // Audio
  double sampling_frequency = 0;
  uint32_t channels = 0;
  uint32_t bit_depth = 0;
};

struct SimpleTag {
  std::string name;
  std::string value;  // TagString, or TagBinary's bytes
  bool binary = false;
};

struct ClusterStart {
  uint64_t offset = 0;   // stream offset of the Cluster element's ID
  int64_t timecode = 0;  // Cluster Timecode, in ticks
  bool known_size = false;
};

// One frame. `data` is a view valid only during the callback that delivers it: it points
// into the bytes passed to Feed when the whole block arrived in one piece, otherwise into
// the reader's own buffer. Copy it to keep it.
struct Frame {
  uint64_t track = 0;
  // Absolute: Cluster Timecode + the block's relative timecode, in ticks, as stored (a
  // track's CodecDelay is not subtracted).
  int64_t timecode = 0;
  int64_t timestamp_ns = 0;  // timecode * TimecodeScale
  int64_t duration = 0;      // BlockDuration in ticks, 0 when the block gives none
  bool key = false;          // SimpleBlock key flag, or a BlockGroup without ReferenceBlock
  bool invisible = false;
  bool discardable = false;
  bool from_block_group = false;
  uint32_t lace_index = 0;    // position within a laced block (0 when not laced)
  uint64_t block_offset = 0;  // stream offset of the SimpleBlock/BlockGroup element
  std::span<const uint8_t> data;
};

// Receives the reader's events in stream order. Returning a non-OK Status stops the reader:
// the same Status comes back from Feed/Finish and every later call.
class ReaderHandler {
 public:
  virtual ~ReaderHandler() = default;
  // The start of a new stream section. Every section after the first closes the one before
  // (OnSegmentEnd has been called for it); tracks must then be sent again.
  virtual Status OnEbmlHeader(const EbmlHeader&) { return Status::Ok(); }
  // `size` is empty for a Segment of unknown size (live streams).
  virtual Status OnSegmentStart(uint64_t /*offset*/, std::optional<uint64_t> /*size*/) {
    return Status::Ok();
  }
  virtual Status OnInfo(const SegmentInfo&) { return Status::Ok(); }
  virtual Status OnTracks(const std::vector<TrackInfo>&) { return Status::Ok(); }
  virtual Status OnClusterStart(const ClusterStart&) { return Status::Ok(); }
  virtual Status OnFrame(const Frame&) { return Status::Ok(); }
  // A Cluster ended: its known size was reached, or a sibling/parent element began, or
  // Finish was called.
  virtual Status OnClusterEnd() { return Status::Ok(); }
  // One Tags element, its SimpleTags flattened in document order (nested ones after their
  // parent).
  virtual Status OnTags(const std::vector<SimpleTag>&) { return Status::Ok(); }
  virtual Status OnSegmentEnd() { return Status::Ok(); }
};

struct ReaderOptions {
  // Largest element the reader holds in memory or skips over (a block, Tracks, Tags, Void,
  // an unknown element). Segment and Cluster are walked, not held, and are not bounded by
  // this; their children are. Memory use stays under about this much plus 64 KiB.
  uint64_t max_element_size = 64ull << 20;
  // Deepest nesting accepted inside a held element (SimpleTag may nest).
  int max_depth = 16;
  // Check CRC-32 elements inside the held master elements (Info, Tracks, Tags).
  bool verify_crc = true;
  // At most this many tracks per section.
  size_t max_tracks = 64;
};

// A push parser for a Matroska/WebM byte stream that may never end.
//
// Feed bytes in pieces of any size; the reader emits events to the handler as soon as each
// element is complete. It accepts Segments and Clusters of unknown size, Void and CRC-32
// elements anywhere, SeekHead/Cues/Chapters/Attachments (skipped), unknown elements
// (skipped), SimpleBlocks and BlockGroups with Xiph, EBML or fixed-size lacing, and a new EBML
// header or Segment mid-stream (a new section, as when a producer reconnects).
//
// It refuses, with a Status naming the stream offset and the element: an ID or size with an
// invalid length, an element bigger than max_element_size or than its parent, an unknown
// size where Matroska forbids one, nesting deeper than max_depth, a DocType other than
// matroska/webm, a block before Tracks or before its Cluster's Timecode, a block for an
// unknown track (kNotFound), a bad lace, a CRC-32 mismatch (kDataLoss), an element past
// max_element_size (kResourceExhausted); the rest are kInvalidArgument, and a stream that
// ends inside an element is kDataLoss (from Finish). The reader never crashes on any input.
//
// Not thread-safe. The handler must outlive the reader.
class Reader {
 public:
  Reader(ReaderHandler& handler, const ReaderOptions& options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Parses what it can of `bytes`, keeping an incomplete element's bytes for the next call.
  Status Feed(std::span<const uint8_t> bytes);
  // The stream ended. OK when it ended between elements (open unknown-size Segment and
  // Cluster are closed with their end events); kDataLoss when it ended inside an element or
  // inside a Segment/Cluster of known size.
  Status Finish();

  // Stream bytes consumed so far (the offset of the next byte Feed expects).
  uint64_t offset() const;
  // The tracks of the current section (empty before its Tracks element).
  const std::vector<TrackInfo>& tracks() const;
  const SegmentInfo& info() const;
  // Bytes the reader holds for an element that has not fully arrived (for the memory bound).
  size_t buffered_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// How BeginCluster writes a Cluster's size.
enum class ClusterSize {
  // Filled in by EndCluster: what the archive stores and GetMedia serves.
  kKnown,
  // The one-byte "unknown" size (0xFF): what a live producer sends, since it writes each
  // frame as soon as it has it. The Cluster ends where the next Cluster, Tags, Segment or
  // EBML header begins (Reader's rule).
  kUnknown,
};

// Writes Matroska into a caller-owned byte buffer, appending. Not thread-safe; `out` must
// outlive the Writer.
// Layout: EBML header, Segment of unknown size, Info, Tracks, then Clusters (of known size,
// each sized when EndCluster is called, or of unknown size) and Tags, in the order the caller
// asks.
class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}

  void WriteEbmlHeader(const EbmlHeader& header = {});
  // Segment of unknown size: everything written after it belongs to it.
  void BeginSegment();
  void WriteInfo(const SegmentInfo& info);
  void WriteTracks(std::span<const TrackInfo> tracks);
  // Starts a Cluster with `timecode` (absolute, in ticks, >= 0: kInvalidArgument otherwise).
  // kFailedPrecondition while another Cluster is open.
  Status BeginCluster(int64_t timecode, ClusterSize size = ClusterSize::kKnown);
  // Declares that `out` already ends inside an unknown-size Cluster with `timecode`, begun
  // by an earlier Writer, so frames can be appended over time by short-lived Writers (the
  // producer SDK keeps each fragment's bytes, not a Writer). Writes nothing; EndCluster is
  // optional afterwards. The same refusals as BeginCluster.
  Status ResumeCluster(int64_t timecode);
  // Writes a SimpleBlock in the open cluster. `timecode` is absolute, in ticks; it must lie
  // within the 16-bit signed range of the cluster's timecode. When `duration` is positive
  // the frame goes into a BlockGroup with a BlockDuration instead.
  Status WriteFrame(uint64_t track, int64_t timecode, bool key, std::span<const uint8_t> data,
                    int64_t duration = 0);
  // Closes the open Cluster: patches its size (kKnown), or only forgets it (kUnknown: its
  // end is wherever the next element begins). kFailedPrecondition when none is open.
  Status EndCluster();
  // One Tags element holding one Tag (with empty Targets: the whole segment) with these
  // SimpleTags.
  void WriteTags(std::span<const SimpleTag> tags);

  bool cluster_open() const { return cluster_ != OpenCluster::kNone; }

 private:
  enum class OpenCluster { kNone, kKnownSize, kUnknownSize };
  Status CheckClusterStart(int64_t timecode) const;

  Bytes& out_;
  OpenCluster cluster_ = OpenCluster::kNone;
  size_t cluster_size_pos_ = 0;  // kKnownSize: where EndCluster writes the size
  int64_t cluster_timecode_ = 0;
};

}  // namespace streamarc::mkv
