// Shared by the Matroska tests: a handler that records everything it is told.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/mkv.h"

namespace streamarc::mkv::testing {

struct RecordedFrame {
  uint64_t track;
  int64_t timecode;
  bool key;
  int64_t duration;
  std::vector<uint8_t> data;
  bool operator==(const RecordedFrame&) const = default;
};

class Recorder : public ReaderHandler {
 public:
  Status OnEbmlHeader(const EbmlHeader& h) override {
    doc_types.push_back(h.doc_type);
    events.push_back("ebml");
    return Status::Ok();
  }
  Status OnSegmentStart(uint64_t, std::optional<uint64_t> size) override {
    segment_sizes.push_back(size);
    events.push_back("segment");
    return Status::Ok();
  }
  Status OnInfo(const SegmentInfo& i) override {
    info = i;
    events.push_back("info");
    return Status::Ok();
  }
  Status OnTracks(const std::vector<TrackInfo>& t) override {
    tracks = t;
    events.push_back("tracks");
    return Status::Ok();
  }
  Status OnClusterStart(const ClusterStart& c) override {
    clusters.push_back(c);
    events.push_back("cluster");
    return Status::Ok();
  }
  Status OnFrame(const Frame& f) override {
    frames.push_back({f.track, f.timecode, f.key, f.duration,
                      std::vector<uint8_t>(f.data.begin(), f.data.end())});
    if (keep_events_for_frames) events.push_back("frame");
    return Status::Ok();
  }
  Status OnClusterEnd() override {
    events.push_back("/cluster");
    return Status::Ok();
  }
  Status OnTags(const std::vector<SimpleTag>& t) override {
    tags.push_back(t);
    events.push_back("tags");
    return Status::Ok();
  }
  Status OnSegmentEnd() override {
    events.push_back("/segment");
    return Status::Ok();
  }

  bool keep_events_for_frames = false;
  std::vector<std::string> events;
  std::vector<std::string> doc_types;
  std::vector<std::optional<uint64_t>> segment_sizes;
  SegmentInfo info;
  std::vector<TrackInfo> tracks;
  std::vector<ClusterStart> clusters;
  std::vector<RecordedFrame> frames;
  std::vector<std::vector<SimpleTag>> tags;
};

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds `data` in pieces: piece == 0 means random sizes from `seed` (1 byte to 64 KiB),
// otherwise pieces of exactly `piece` bytes. Returns the first error, or Finish's status.
inline Status FeedInPieces(Reader& reader, std::span<const uint8_t> data, size_t piece,
                           uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> dist(1, 65536);
  size_t p = 0;
  while (p < data.size()) {
    size_t n = piece ? piece : dist(rng);
    if (dist(rng) % 7 == 0 && !piece) n %= 16;  // plenty of tiny splits too
    n = std::min(std::max<size_t>(n, 1), data.size() - p);
    Status s = reader.Feed(data.subspan(p, n));
    if (!s.ok()) return s;
    p += n;
  }
  return reader.Finish();
}

}  // namespace streamarc::mkv::testing
