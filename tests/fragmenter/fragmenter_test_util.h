// Shared by the fragmenter tests: a sink that keeps what it gets, a driver that runs bytes
// through mkv::Reader into a Fragmenter, a builder for synthetic streams, and a re-reader.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mkv.h"
#include "fragmenter/fragmenter.h"
#include "tests/support/mkv_stream.h"

namespace streamarc::fragmenter::testing {

class CollectingSink : public FragmentSink {
 public:
  Status OnFragmentStart(const FragmentHead& head) override {
    heads.push_back(head);
    return Status::Ok();
  }
  Status OnFragment(std::shared_ptr<const Fragment> f) override {
    if (fail_after && fragments.size() >= *fail_after) return IoError("sink: disk full");
    fragments.push_back(std::move(f));
    return Status::Ok();
  }
  std::optional<size_t> fail_after;  // refuse fragments once this many were taken
  std::vector<FragmentHead> heads;
  std::vector<std::shared_ptr<const Fragment>> fragments;
};

struct RunResult {
  Status status;        // of Reader::Feed/Finish
  FragmentError error;  // Fragmenter::ErrorFor(status)
  Stats stats;
};

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds `bytes` through a Reader into a new Fragmenter, in pieces of `piece` bytes (0: random
// sizes from `seed`), then Finish.
inline RunResult RunStream(std::span<const uint8_t> bytes, const Options& options,
                           CollectingSink& sink, const Clock& clock, size_t piece = 0,
                           uint32_t seed = 7) {
  auto f = NewFragmenter(options, sink, clock);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  mkv::Reader reader(**f);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> dist(1, 40000);
  Status s;
  size_t p = 0;
  while (s.ok() && p < bytes.size()) {
    size_t n = piece ? piece : dist(rng);
    n = std::min(n, bytes.size() - p);
    s = reader.Feed(bytes.subspan(p, n));
    p += n;
  }
  if (s.ok()) s = reader.Finish();
  return {s, (*f)->ErrorFor(s), (*f)->stats()};
}

// One frame of a synthetic stream: its bytes are `size` copies of `fill`.
struct SynthFrame {
  uint64_t track;
  int64_t timecode;  // absolute ticks
  bool key;
  size_t size = 100;
  uint8_t fill = 0;
};

inline mkv::TrackInfo VideoTrack(uint64_t number = 1, std::vector<uint8_t> cp = {1, 2, 3}) {
  mkv::TrackInfo t;
  t.number = number;
  t.uid = number;
  t.type = mkv::TrackType::kVideo;
  t.codec_id = "V_MPEG4/ISO/AVC";
  t.codec_private = std::move(cp);
  t.pixel_width = 320;
  t.pixel_height = 240;
  t.default_duration_ns = 40'000'000;
  return t;
}

inline mkv::TrackInfo AudioTrack(uint64_t number = 2) {
  mkv::TrackInfo t;
  t.number = number;
  t.uid = number;
  t.type = mkv::TrackType::kAudio;
  t.codec_id = "A_AAC";
  t.codec_private = {0x11, 0x90};
  t.sampling_frequency = 48000;
  t.channels = 1;
  return t;
}

// Writes synthetic Matroska with mkv::Writer: a header, then clusters and tags.
class StreamBuilder {
 public:
  StreamBuilder& Header(const std::vector<mkv::TrackInfo>& tracks) {
    mkv::Writer w(out_);
    streamarc::testing::WriteMkvHeader(w, tracks);
    return *this;
  }
  StreamBuilder& Cluster(int64_t timecode, const std::vector<SynthFrame>& frames) {
    mkv::Writer w(out_);
    EXPECT_TRUE(w.BeginCluster(timecode).ok());
    for (const SynthFrame& f : frames) {
      std::vector<uint8_t> data(f.size, f.fill);
      EXPECT_TRUE(w.WriteFrame(f.track, f.timecode, f.key, data).ok());
    }
    EXPECT_TRUE(w.EndCluster().ok());
    return *this;
  }
  // A GOP of `n` video frames 40 ticks apart, the first a key frame, in one cluster.
  StreamBuilder& Gop(int64_t timecode, int n, uint64_t track = 1) {
    std::vector<SynthFrame> frames;
    for (int i = 0; i < n; ++i) frames.push_back({track, timecode + 40 * i, i == 0});
    return Cluster(timecode, frames);
  }
  StreamBuilder& Tags(const std::vector<mkv::SimpleTag>& tags) {
    mkv::Writer w(out_);
    w.WriteTags(tags);
    return *this;
  }
  StreamBuilder& EndOfFragment() { return Tags({{"AWS_KINESISVIDEO_END_OF_FRAGMENT", "1"}}); }
  const mkv::Bytes& bytes() const { return out_; }

 private:
  mkv::Bytes out_;
};

// Everything a Reader reports, for re-reading fragments.
struct ReadBack : mkv::ReaderHandler {
  struct F {
    uint64_t track;
    int64_t timecode;
    bool key;
    std::vector<uint8_t> data;
  };
  Status OnTracks(const std::vector<mkv::TrackInfo>& t) override {
    tracks = t;
    return Status::Ok();
  }
  Status OnClusterStart(const mkv::ClusterStart& c) override {
    clusters.push_back(c);
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    frames.push_back({f.track, f.timecode, f.key, {f.data.begin(), f.data.end()}});
    block_offsets.push_back(f.block_offset);
    return Status::Ok();
  }
  std::vector<mkv::TrackInfo> tracks;
  std::vector<mkv::ClusterStart> clusters;
  std::vector<F> frames;
  std::vector<uint64_t> block_offsets;
};

// Reads `header + cluster` of one fragment as a standalone Matroska file.
inline Status ReadFragment(const Fragment& f, ReadBack* out) {
  mkv::Reader r(*out);
  RETURN_IF_ERROR(r.Feed(f.section->header));
  RETURN_IF_ERROR(r.Feed(f.cluster));
  return r.Finish();
}

}  // namespace streamarc::fragmenter::testing
