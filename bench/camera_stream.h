// The camera stream the load generators send (putmedia_load, peers_bench): the first seconds of
// a real H.264 input re-written as the KVS producer lays it out, with each frame's due time so
// that a sender can pace it in real time. Header-only, like bench_media.h.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/mkv.h"

namespace streamarc::bench {

struct Piece {
  size_t end = 0;    // the stream's bytes up to here are due...
  double due_s = 0;  // ...this many seconds after the connection starts
};

struct Cluster {
  int64_t timecode = 0;
  size_t end = 0;  // offset just past the cluster
};

struct Stream {
  mkv::Bytes bytes;
  size_t header_end = 0;
  std::vector<Piece> pieces;
  std::vector<Cluster> clusters;
  double duration_s = 0;
};

class FrameLoader : public mkv::ReaderHandler {
 public:
  Status OnInfo(const mkv::SegmentInfo& i) override {
    info = i;
    return Status::Ok();
  }
  Status OnTracks(const std::vector<mkv::TrackInfo>& t) override {
    tracks = t;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track != tracks[0].number) return Status::Ok();
    if (first < 0) first = f.timecode;
    if (f.timecode - first > limit_ms) return Cancelled("enough");
    frames.push_back({f.timecode - first, f.key, mkv::Bytes(f.data.begin(), f.data.end())});
    return Status::Ok();
  }
  struct F {
    int64_t t;
    bool key;
    mkv::Bytes data;
  };
  mkv::SegmentInfo info;
  std::vector<mkv::TrackInfo> tracks;
  std::vector<F> frames;
  int64_t first = -1;
  int64_t limit_ms = 0;
};

// Re-writes the input's video as the KVS producer lays it out: one cluster per GOP, block
// timecodes absolute (ms since the epoch from `base_ms`).
inline bool BuildStream(const std::string& input, double seconds, int64_t base_ms, Stream* s) {
  std::ifstream in(input, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  FrameLoader l;
  l.limit_ms = static_cast<int64_t>(seconds * 1000) + 3000;
  mkv::Reader r(l);
  Status st = r.Feed(file);
  if (!st.ok() && st.code() != Code::kCancelled) return false;
  if (l.tracks.empty() || l.frames.empty()) return false;

  mkv::Writer w(s->bytes);
  w.WriteEbmlHeader();
  w.BeginSegment();
  w.WriteInfo({});
  std::vector<mkv::TrackInfo> video = {l.tracks[0]};
  w.WriteTracks(video);
  s->header_end = s->bytes.size();
  for (const auto& f : l.frames) {
    int64_t tc = base_ms + f.t;
    // Whole GOPs only: the body ends at a cluster's end, as a producer's would.
    if (f.key && f.t > static_cast<int64_t>(seconds * 1000)) break;
    if (f.key) {
      if (w.cluster_open()) {
        (void)w.EndCluster();
        s->clusters.back().end = s->bytes.size();
      }
      (void)w.BeginCluster(tc);
      s->clusters.push_back({tc, 0});
    }
    if (!w.cluster_open()) continue;
    (void)w.WriteFrame(l.tracks[0].number, tc, f.key, f.data);
    s->pieces.push_back({s->bytes.size(), f.t / 1000.0});
  }
  (void)w.EndCluster();
  s->clusters.back().end = s->bytes.size();
  s->duration_s = l.frames.back().t / 1000.0;
  return true;
}

}  // namespace streamarc::bench
