// The camera stream the load generators send (putmedia_load, peers_bench): the first seconds of
// a real input (H.264, and AAC when it has it) re-written as the KVS producer lays it out, with
// each block's due time so that a sender can pace video and audio in real time. Header-only,
// like bench_media.h.
#pragma once

#include <cstdint>
#include <fstream>
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
  std::vector<Piece> pieces;  // one per block, in stream order
  std::vector<Cluster> clusters;
  double duration_s = 0;  // from the first cluster's start to the last one's end
  // What the stream carries, for the benchmarks' "input:" line. Bytes are the blocks' payloads.
  size_t video_bytes = 0, audio_bytes = 0;
  int width = 0, height = 0;
  bool audio = false;
  double sample_rate = 0;
  int channels = 0;
};

struct StreamOptions {
  double seconds = 20;  // whole GOPs up to this long
  int64_t base_ms = 0;  // the first cluster's absolute timecode (ms since the epoch)
  bool audio = true;    // keep the input's AAC track, when it has one
};

// Collects the first video track's frames and the first AAC track's, from the first video frame
// on, until a video frame lies `limit_ms` past the first.
class FrameLoader : public mkv::ReaderHandler {
 public:
  struct F {
    int64_t t;  // ms after the first video frame
    bool key;
    mkv::Bytes data;
  };

  Status OnInfo(const mkv::SegmentInfo& i) override {
    if (i.timecode_scale_ns != 1'000'000) return InvalidArgument("timecodes not in ms");
    return Status::Ok();
  }
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const mkv::TrackInfo& t : tracks) {
      if (t.type == mkv::TrackType::kVideo && video_track.number == 0) video_track = t;
      if (t.codec_id == "A_AAC" && audio_track.number == 0 && !t.codec_private.empty()) {
        audio_track = t;
      }
    }
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track == video_track.number) {
      if (first < 0) first = f.timecode;
      if (f.timecode - first > limit_ms) return Cancelled("enough");
      video.push_back({f.timecode - first, f.key, mkv::Bytes(f.data.begin(), f.data.end())});
    } else if (f.track == audio_track.number && first >= 0 && f.timecode >= first) {
      audio.push_back({f.timecode - first, true, mkv::Bytes(f.data.begin(), f.data.end())});
    }
    return Status::Ok();
  }

  int64_t limit_ms = 0;
  mkv::TrackInfo video_track, audio_track;  // number 0: none
  std::vector<F> video, audio;
  int64_t first = -1;
};

// Re-writes the input as the KVS producer (producer-sdk/packager.cc) lays it out: an EBML
// header (DocTypeVersion 2), a Segment and Info, Tracks (video 1, AAC 2 with the input's
// AudioSpecificConfig), then one Cluster of unknown size per GOP, starting at the video key
// frame, with block timecodes absolute (ms since the epoch from `base_ms`) and the audio and
// video blocks interleaved in timestamp order, as a producer puts them. False when the input
// cannot be read or has no video.
inline bool BuildStream(const std::string& input, const StreamOptions& o, Stream* s) {
  const auto seconds_ms = static_cast<int64_t>(o.seconds * 1000);
  FrameLoader l;
  l.limit_ms = seconds_ms + 3000;  // the first key frame past `seconds`, whatever the GOP
  mkv::Reader r(l);
  std::ifstream in(input, std::ios::binary);
  std::vector<char> buf(1 << 20);
  Status st = Status::Ok();
  while (st.ok() && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    st = r.Feed({reinterpret_cast<const uint8_t*>(buf.data()), n});
  }
  if (!st.ok() && st.code() != Code::kCancelled) return false;
  if (l.video.empty()) return false;
  if (!o.audio) l.audio.clear();

  mkv::TrackInfo video = l.video_track;
  video.number = video.uid = 1;
  std::vector<mkv::TrackInfo> tracks = {video};
  s->audio = !l.audio.empty();
  if (s->audio) {
    mkv::TrackInfo audio = l.audio_track;
    audio.number = audio.uid = 2;
    tracks.push_back(audio);
    s->sample_rate = audio.sampling_frequency;
    s->channels = static_cast<int>(audio.channels);
  }
  s->width = static_cast<int>(video.pixel_width);
  s->height = static_cast<int>(video.pixel_height);

  mkv::Writer w(s->bytes);
  mkv::EbmlHeader eh;
  eh.doc_type_version = 2;
  w.WriteEbmlHeader(eh);
  w.BeginSegment();
  mkv::SegmentInfo info;
  info.segment_uid.assign(16, 0);
  for (int i = 0; i < 8; ++i) info.segment_uid[i] = static_cast<uint8_t>(o.base_ms >> (8 * i));
  info.muxing_app = info.writing_app = "streamarc-bench";
  w.WriteInfo(info);
  w.WriteTracks(tracks);
  s->header_end = s->bytes.size();

  int64_t end_ms = l.video.back().t;
  size_t vi = 0, ai = 0;
  while (vi < l.video.size()) {
    const bool is_audio = ai < l.audio.size() && l.audio[ai].t < l.video[vi].t;
    const FrameLoader::F& f = is_audio ? l.audio[ai++] : l.video[vi++];
    const int64_t tc = o.base_ms + f.t;
    if (!is_audio && f.key) {
      // Whole GOPs only: the body ends at a cluster's end, as a producer's would.
      if (f.t > seconds_ms) {
        end_ms = f.t;
        break;
      }
      if (w.cluster_open()) {
        (void)w.EndCluster();
        s->clusters.back().end = s->bytes.size();
      }
      (void)w.BeginCluster(tc, mkv::ClusterSize::kUnknown);
      s->clusters.push_back({tc, 0});
    }
    if (!w.cluster_open()) continue;  // before the first key frame: nothing to decode
    (void)w.WriteFrame(is_audio ? 2 : 1, tc, f.key, f.data);
    (is_audio ? s->audio_bytes : s->video_bytes) += f.data.size();
    s->pieces.push_back({s->bytes.size(), f.t / 1000.0});
  }
  if (s->clusters.empty()) return false;
  (void)w.EndCluster();
  s->clusters.back().end = s->bytes.size();
  s->duration_s = (end_ms - (s->clusters.front().timecode - o.base_ms)) / 1000.0;
  return true;
}

// "H.264 1920x1080 4.1 Mbit/s + AAC 48 kHz mono 64 kbit/s" (or "..., video only").
inline std::string Describe(const Stream& s) {
  char out[160];
  const double d = s.duration_s > 0 ? s.duration_s : 1;
  if (!s.audio) {
    std::snprintf(out, sizeof out, "H.264 %dx%d %.1f Mbit/s, video only", s.width, s.height,
                  s.video_bytes * 8 / 1e6 / d);
  } else {
    std::snprintf(out, sizeof out, "H.264 %dx%d %.1f Mbit/s + AAC %.0f kHz %s %.0f kbit/s", s.width,
                  s.height, s.video_bytes * 8 / 1e6 / d, s.sample_rate / 1000,
                  s.channels == 1   ? "mono"
                  : s.channels == 2 ? "stereo"
                                    : "multichannel",
                  s.audio_bytes * 8 / 1e3 / d);
  }
  return out;
}

}  // namespace streamarc::bench
