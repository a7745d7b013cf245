// The MKV packager: turns the application's frames into the byte layout a KVS producer
// sends on PutMedia (kvs-api.md §4): once per connection an EBML header, a Segment of
// unknown size, Info and Tracks; then per fragment a Cluster of unknown size (so its bytes
// can go out as frames arrive, without waiting for the fragment to end) with an absolute
// timecode in ms and SimpleBlocks holding length-prefixed H.264/H.265 or raw AAC.
//
// Not thread-safe: the Stream calls it under its own lock.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/mkv.h"
#include "common/status.h"
#include "producer-sdk/producer.h"

namespace streamarc::producer {

class Packager {
 public:
  // Fails on a track set the packager cannot write (numbers, duplicate tracks, AAC without
  // an AudioSpecificConfig, more than 3 tracks).
  static Result<Packager> Create(const std::vector<TrackConfig>& tracks);

  // True once every video track's CodecPrivate is known (given, or built from its first key
  // frame): only then can the header be written and clusters start.
  bool ready() const { return ready_; }
  // EBML header + Segment (unknown size) + Info + Tracks. Valid once ready().
  const mkv::Bytes& header() const { return header_; }

  // Converts a frame's payload to what the block stores (Annex-B -> length-prefixed), and
  // for the first key frame of a video track without CodecPrivate, builds avcC/hvcC from its
  // parameter sets. kInvalidArgument for an unknown track or a first key frame without
  // SPS/PPS (the frame is then dropped by the caller).
  Status Convert(const Frame& frame, mkv::Bytes& out);

  // The track frames start fragments on: the first video track, else the first track.
  uint64_t cut_track() const { return cut_track_; }
  const TrackConfig* track(uint64_t number) const;

  // A Cluster of unknown size with `timecode_ms` (>= 0), appended to `out` (mkv::Writer's
  // ClusterSize::kUnknown).
  [[nodiscard]] static Status AppendClusterStart(int64_t timecode_ms, mkv::Bytes& out);
  // A SimpleBlock at `cluster_timecode_ms` + `relative_ms`, appended to `out`, which must end
  // inside the Cluster AppendClusterStart began with `cluster_timecode_ms`.
  [[nodiscard]] static Status AppendSimpleBlock(int64_t cluster_timecode_ms, uint64_t track,
                                                int16_t relative_ms, bool key,
                                                std::span<const uint8_t> payload, mkv::Bytes& out);

 private:
  Packager() = default;
  Status BuildCodecPrivate(TrackConfig& t, std::span<const uint8_t> annexb);
  void MaybeBuildHeader();

  std::vector<TrackConfig> tracks_;
  uint64_t cut_track_ = 1;
  bool ready_ = false;
  mkv::Bytes header_;
  mkv::Bytes segment_uid_;
};

}  // namespace streamarc::producer
