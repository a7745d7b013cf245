// The packagers: stored Matroska fragments remuxed by libavformat (no re-encode) into fMP4
// init/media segments, MPEG-TS segments and progressive MP4 clips.
//
// Timestamps. Matroska stores presentation times only. We read each fragment's frames,
// rebase them so the fragment's first frame lands at its start_us, and give each video
// frame a decode time ourselves: the k-th frame in decode order decodes at the k-th
// smallest presentation time, shifted back by the fragment's reorder depth so no frame
// decodes after it presents. That is deterministic per fragment, so segments muxed one by
// one line up when concatenated.
#include "playback/remux.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "playback/remux_av.h"

extern "C" {
#include <libavutil/log.h>
}

namespace streamarc::playback {
namespace {

constexpr AVRational kMicros = {1, 1'000'000};
constexpr AVRational kVideoTimeBase = {1, 90'000};
// Output beyond the payload: boxes, headers.
constexpr size_t kOutputSlack = 64 << 10;

// A frame on the output timeline, in microseconds.
struct TimedPacket {
  av::PacketPtr pkt;
  size_t out_index = 0;  // output stream
  int64_t pts_us = 0;
  int64_t dts_us = 0;
  int64_t duration_us = 0;
};

// The output streams chosen from a demuxer: out index -> demuxer stream index.
struct StreamMap {
  std::vector<int> in_index;
  std::vector<TrackDescription> tracks;
  // Demuxer stream index -> out index, -1 when not selected.
  std::vector<int> out_of_in;
};

// The tracks to package, checked before any FFmpeg work so a codec we cannot carry gets its
// own clear refusal rather than whatever the demuxer says.
Result<std::vector<TrackDescription>> CheckTracks(const std::vector<TrackDescription>& tracks,
                                                  const TrackSelection& selection) {
  std::vector<uint64_t> wanted = selection.tracks;
  if (wanted.empty()) {
    for (const TrackDescription& t : tracks) wanted.push_back(t.number);
  }
  std::vector<TrackDescription> out;
  for (uint64_t number : wanted) {
    auto t = std::find_if(tracks.begin(), tracks.end(),
                          [number](const TrackDescription& d) { return d.number == number; });
    if (t == tracks.end()) {
      return InvalidArgument("track " + std::to_string(number) + " is not in the stream");
    }
    RETURN_IF_ERROR(CheckPackageable(*t));
    bool listed = std::any_of(out.begin(), out.end(),
                              [number](const TrackDescription& d) { return d.number == number; });
    if (!listed) out.push_back(*t);
  }
  if (out.empty()) return InvalidArgument("no track selected");
  return out;
}

AVCodecID CodecOf(const std::string& matroska_codec_id) {
  if (matroska_codec_id == "V_MPEG4/ISO/AVC") return AV_CODEC_ID_H264;
  if (matroska_codec_id == "V_MPEGH/ISO/HEVC") return AV_CODEC_ID_HEVC;
  if (matroska_codec_id.rfind("A_AAC", 0) == 0) return AV_CODEC_ID_AAC;
  return AV_CODEC_ID_NONE;
}

// libavformat's Matroska demuxer does not expose track numbers: it makes one stream per
// video, audio and subtitle track, in header order. `all` is every track of the header.
Result<StreamMap> SelectStreams(AVFormatContext* in, const std::vector<TrackDescription>& all,
                                std::vector<TrackDescription> selected) {
  StreamMap map;
  map.out_of_in.assign(in->nb_streams, -1);
  for (const TrackDescription& t : selected) {
    int stream = 0;
    int found = -1;
    for (const TrackDescription& h : all) {
      bool has_stream = h.matroska_type == 1 || h.matroska_type == 2 || h.matroska_type == 17;
      if (h.number == t.number) {
        if (has_stream) found = stream;
        break;
      }
      if (has_stream) ++stream;
    }
    if (found < 0 || static_cast<unsigned>(found) >= in->nb_streams ||
        in->streams[found]->codecpar->codec_id != CodecOf(t.codec_id)) {
      return InvalidArgument("libavformat did not read track " + std::to_string(t.number) + " as " +
                             t.codec_id);
    }
    map.out_of_in[found] = static_cast<int>(map.in_index.size());
    map.in_index.push_back(found);
  }
  map.tracks = std::move(selected);
  return map;
}

// Opens a demuxer on a fragment after checking its tracks.
struct OpenedFragment {
  std::unique_ptr<av::MemoryDemuxer> demuxer;
  StreamMap map;
};
Result<OpenedFragment> OpenFragment(std::string_view header, std::string_view cluster,
                                    const TrackSelection& selection) {
  ASSIGN_OR_RETURN(std::vector<TrackDescription> all, DescribeTracks(header));
  ASSIGN_OR_RETURN(std::vector<TrackDescription> tracks, CheckTracks(all, selection));
  // The demuxer reads its header up to the first Cluster; a header alone (an init segment)
  // gets an empty one.
  static constexpr char kEmptyCluster[] = {'\x1f', '\x43', '\xb6', '\x75',
                                           '\x83', '\xe7', '\x81', '\x00'};
  if (cluster.empty()) cluster = std::string_view(kEmptyCluster, sizeof(kEmptyCluster));
  OpenedFragment f;
  ASSIGN_OR_RETURN(f.demuxer, av::MemoryDemuxer::Open({header, cluster}));
  ASSIGN_OR_RETURN(f.map, SelectStreams(f.demuxer->ctx(), all, std::move(tracks)));
  return f;
}

Status AddOutputStreams(AVFormatContext* in, const StreamMap& map, AVFormatContext* out, bool mp4) {
  for (size_t i = 0; i < map.in_index.size(); ++i) {
    const AVStream* src = in->streams[map.in_index[i]];
    AVStream* dst = avformat_new_stream(out, nullptr);
    if (dst == nullptr) return ResourceExhausted("no memory for an output stream");
    int err = avcodec_parameters_copy(dst->codecpar, src->codecpar);
    if (err < 0) return av::AvStatus(err, "copying codec parameters");
    dst->codecpar->codec_tag = 0;
    // Matroska does not carry AAC's frame size; the MP4 muxer wants it (1024 for AAC-LC).
    if (dst->codecpar->codec_id == AV_CODEC_ID_AAC && dst->codecpar->frame_size == 0) {
      dst->codecpar->frame_size = 1024;
    }
    // Browsers (Safari) want hvc1 (parameter sets in the sample entry), FFmpeg's default is hev1.
    if (mp4 && dst->codecpar->codec_id == AV_CODEC_ID_HEVC) {
      dst->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    }
    if (dst->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && dst->codecpar->sample_rate > 0) {
      dst->time_base = AVRational{1, dst->codecpar->sample_rate};
    } else {
      dst->time_base = kVideoTimeBase;
    }
  }
  return Status::Ok();
}

// Reads a fragment's frames of the selected streams onto the start_us timeline and gives
// them decode times and durations.
Result<std::vector<TimedPacket>> ReadFragment(av::MemoryDemuxer& demuxer, const StreamMap& map,
                                              int64_t start_us) {
  AVFormatContext* in = demuxer.ctx();
  std::vector<TimedPacket> packets;
  bool have_base = false;
  int64_t base_us = 0;
  for (;;) {
    ASSIGN_OR_RETURN(av::PacketPtr pkt, demuxer.Next());
    if (!pkt) break;
    if (pkt->stream_index < 0 || static_cast<unsigned>(pkt->stream_index) >= in->nb_streams) {
      continue;
    }
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE) return InvalidArgument("a frame has no timestamp");
    const AVRational tb = in->streams[pkt->stream_index]->time_base;
    int64_t ts_us = av_rescale_q(ts, tb, kMicros);
    // The fragment's first block (a key frame of the cut track) anchors the timeline, even
    // when that track is not selected, so audio-only output stays in sync with video.
    if (!have_base) {
      base_us = ts_us;
      have_base = true;
    }
    int out = map.out_of_in[pkt->stream_index];
    if (out < 0) continue;
    TimedPacket p;
    p.out_index = static_cast<size_t>(out);
    p.pts_us = start_us + (ts_us - base_us);
    p.duration_us = pkt->duration > 0 ? av_rescale_q(pkt->duration, tb, kMicros) : 0;
    p.pkt = std::move(pkt);
    packets.push_back(std::move(p));
  }

  // Per stream: decode times from the sorted presentation times, and durations.
  for (size_t s = 0; s < map.in_index.size(); ++s) {
    std::vector<TimedPacket*> track;
    for (TimedPacket& p : packets) {
      if (p.out_index == s) track.push_back(&p);
    }
    if (track.empty()) continue;
    std::vector<int64_t> sorted;
    sorted.reserve(track.size());
    for (const TimedPacket* p : track) sorted.push_back(p->pts_us);
    std::sort(sorted.begin(), sorted.end());
    int64_t reorder = 0;
    for (size_t i = 0; i < track.size(); ++i) {
      reorder = std::max(reorder, sorted[i] - track[i]->pts_us);
    }
    for (size_t i = 0; i < track.size(); ++i) track[i]->dts_us = sorted[i] - reorder;
    int64_t last_delta = 0;
    for (size_t i = 0; i < track.size(); ++i) {
      if (i + 1 < track.size()) {
        last_delta = track[i + 1]->dts_us - track[i]->dts_us;
        track[i]->duration_us = last_delta;
      } else if (track[i]->duration_us <= 0) {
        track[i]->duration_us = last_delta;
      }
    }
  }
  return packets;
}

// Writes packets in decode order across streams, in each output stream's time base, keeping
// decode times strictly increasing per stream (what every muxer requires).
class PacketWriter {
 public:
  explicit PacketWriter(AVFormatContext* out) : out_(out), last_dts_(out->nb_streams, INT64_MIN) {}

  Status Write(std::vector<TimedPacket>& packets) {
    std::stable_sort(
        packets.begin(), packets.end(),
        [](const TimedPacket& a, const TimedPacket& b) { return a.dts_us < b.dts_us; });
    for (TimedPacket& p : packets) {
      AVStream* st = out_->streams[p.out_index];
      AVPacket* pkt = p.pkt.get();
      pkt->stream_index = static_cast<int>(p.out_index);
      pkt->pts = av_rescale_q(p.pts_us, kMicros, st->time_base);
      pkt->dts = av_rescale_q(p.dts_us, kMicros, st->time_base);
      pkt->duration = av_rescale_q(p.duration_us, kMicros, st->time_base);
      pkt->pos = -1;
      int64_t& last = last_dts_[p.out_index];
      if (last != INT64_MIN && pkt->dts <= last) pkt->dts = last + 1;
      if (pkt->pts < pkt->dts) pkt->pts = pkt->dts;
      last = pkt->dts;
      int err = av_interleaved_write_frame(out_, pkt);
      if (err < 0) return av::AvStatus(err, "muxing a frame");
    }
    int err = av_interleaved_write_frame(out_, nullptr);  // drain the interleaving queue
    if (err < 0) return av::AvStatus(err, "muxing the last frames");
    return Status::Ok();
  }

 private:
  AVFormatContext* out_;
  std::vector<int64_t> last_dts_;
};

// fMP4 as HLS and DASH want it: an empty moov (init), then one moof+mdat per fragment whose
// tfdt is the first decode time we give (frag_discont), with moof-relative offsets.
void SetFmp4Options(av::Options& opts) {
  opts.Set("movflags", "empty_moov+default_base_moof+frag_custom+frag_discont+skip_trailer");
  // No edit list (fragments cannot change it later) and no shift to zero: our timeline is
  // the caller's.
  opts.Set("use_editlist", "0");
  opts.Set("avoid_negative_ts", "make_non_negative");
}

struct Fmp4Muxer {
  std::unique_ptr<av::MemoryDemuxer> demuxer;
  StreamMap map;
  std::unique_ptr<av::MemoryMuxer> muxer;
  size_t header_bytes = 0;
};

Result<Fmp4Muxer> OpenFmp4(std::string_view header, std::string_view cluster,
                           const TrackSelection& selection) {
  Fmp4Muxer m;
  ASSIGN_OR_RETURN(OpenedFragment f, OpenFragment(header, cluster, selection));
  m.demuxer = std::move(f.demuxer);
  m.map = std::move(f.map);
  ASSIGN_OR_RETURN(m.muxer, av::MemoryMuxer::Create("mp4"));
  RETURN_IF_ERROR(AddOutputStreams(m.demuxer->ctx(), m.map, m.muxer->ctx(), /*mp4=*/true));
  av::Options opts;
  SetFmp4Options(opts);
  int err = avformat_write_header(m.muxer->ctx(), opts.get());
  if (err < 0) return av::AvStatus(err, "writing the fMP4 header");
  m.header_bytes = m.muxer->Bytes().size();
  return m;
}

// Sets the sequence number in the mfhd box of a segment starting with moof.
Status SetMoofSequence(std::string& segment, uint32_t sequence_number) {
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(segment[at])} << 24) |
           (uint32_t{static_cast<uint8_t>(segment[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(segment[at + 2])} << 8) |
           uint32_t{static_cast<uint8_t>(segment[at + 3])};
  };
  if (segment.size() < 8 || segment.compare(4, 4, "moof") != 0) {
    return Internal("the fMP4 muxer's segment does not start with moof");
  }
  size_t moof_end = std::min<size_t>(be32(0), segment.size());
  for (size_t at = 8; at + 8 <= moof_end;) {
    uint32_t size = be32(at);
    if (size < 8) break;
    if (segment.compare(at + 4, 4, "mfhd") == 0 && at + 16 <= moof_end) {
      for (int i = 0; i < 4; ++i) {
        segment[at + 12 + i] = static_cast<char>((sequence_number >> (24 - 8 * i)) & 0xff);
      }
      return Status::Ok();
    }
    at += size;
  }
  return Internal("the fMP4 muxer's moof has no mfhd");
}

}  // namespace

Result<std::string> Fmp4InitSegment(std::string_view header, const TrackSelection& tracks) {
  ASSIGN_OR_RETURN(Fmp4Muxer m, OpenFmp4(header, {}, tracks));
  return m.muxer->TakeBytes();
}

Result<std::string> Fmp4MediaSegment(const MkvFragment& fragment, const TrackSelection& tracks,
                                     uint32_t sequence_number) {
  ASSIGN_OR_RETURN(Fmp4Muxer m, OpenFmp4(fragment.header, fragment.cluster, tracks));
  m.muxer->Reserve(fragment.cluster.size() + kOutputSlack);
  ASSIGN_OR_RETURN(std::vector<TimedPacket> packets,
                   ReadFragment(*m.demuxer, m.map, fragment.start_us));
  if (packets.empty()) {
    return InvalidArgument("the fragment holds no frames of the selected tracks");
  }
  PacketWriter writer(m.muxer->ctx());
  RETURN_IF_ERROR(writer.Write(packets));
  int err = av_write_frame(m.muxer->ctx(), nullptr);  // frag_custom: close the fragment now
  if (err < 0) return av::AvStatus(err, "writing the fMP4 fragment");
  std::string segment = m.muxer->TakeBytes();
  segment.erase(0, m.header_bytes);
  RETURN_IF_ERROR(SetMoofSequence(segment, sequence_number));
  return segment;
}

Result<std::string> TsSegment(const MkvFragment& fragment, const TrackSelection& tracks) {
  ASSIGN_OR_RETURN(OpenedFragment opened, OpenFragment(fragment.header, fragment.cluster, tracks));
  std::unique_ptr<av::MemoryDemuxer> demuxer = std::move(opened.demuxer);
  StreamMap map = std::move(opened.map);
  ASSIGN_OR_RETURN(auto muxer, av::MemoryMuxer::Create("mpegts"));
  // TS adds about 2-10 % to the payload (188-byte packets, PES headers).
  muxer->Reserve(fragment.cluster.size() + fragment.cluster.size() / 8 + kOutputSlack);
  RETURN_IF_ERROR(AddOutputStreams(demuxer->ctx(), map, muxer->ctx(), /*mp4=*/false));
  ASSIGN_OR_RETURN(std::vector<TimedPacket> packets,
                   ReadFragment(*demuxer, map, fragment.start_us));
  if (packets.empty()) {
    return InvalidArgument("the fragment holds no frames of the selected tracks");
  }
  av::Options opts;
  // Timestamps as given (the muxer would otherwise add its 1.4 s delay), so segments muxed
  // one by one continue each other. The muxer inserts h264/hevc_mp4toannexb and writes
  // AAC as ADTS by itself.
  opts.Set("mpegts_copyts", "1");
  opts.Set("avoid_negative_ts", "make_non_negative");
  int err = avformat_write_header(muxer->ctx(), opts.get());
  if (err < 0) return av::AvStatus(err, "writing the MPEG-TS header");
  PacketWriter writer(muxer->ctx());
  RETURN_IF_ERROR(writer.Write(packets));
  err = av_write_trailer(muxer->ctx());
  if (err < 0) return av::AvStatus(err, "finishing the MPEG-TS segment");
  return muxer->TakeBytes();
}

namespace {

bool SameLayout(const std::vector<TrackDescription>& a, const std::vector<TrackDescription>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].number != b[i].number || a[i].kind != b[i].kind || a[i].codec_id != b[i].codec_id ||
        a[i].codecs != b[i].codecs || a[i].width != b[i].width || a[i].height != b[i].height ||
        a[i].sample_rate != b[i].sample_rate || a[i].channels != b[i].channels) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Mp4Clip> Mp4ClipOf(std::span<const MkvFragment> fragments, const TrackSelection& tracks) {
  if (fragments.empty()) return InvalidArgument("a clip needs at least one fragment");
  const MkvFragment& first = fragments[0];
  ASSIGN_OR_RETURN(std::vector<TrackDescription> layout, DescribeTracks(first.header));
  ASSIGN_OR_RETURN(OpenedFragment opened, OpenFragment(first.header, first.cluster, tracks));
  ASSIGN_OR_RETURN(auto muxer, av::MemoryMuxer::Create("mp4"));
  RETURN_IF_ERROR(AddOutputStreams(opened.demuxer->ctx(), opened.map, muxer->ctx(), /*mp4=*/true));
  av::Options opts;
  // moov first, so a browser plays while downloading; FFmpeg moves it through IoOpen.
  opts.Set("movflags", "+faststart");
  int err = avformat_write_header(muxer->ctx(), opts.get());
  if (err < 0) return av::AvStatus(err, "writing the MP4 header");

  PacketWriter writer(muxer->ctx());
  Mp4Clip clip;
  int64_t min_pts = INT64_MAX, max_end = INT64_MIN;
  for (size_t i = 0; i < fragments.size(); ++i) {
    const MkvFragment& f = fragments[i];
    if (i > 0) {
      if (f.header != first.header) {
        Result<std::vector<TrackDescription>> other = DescribeTracks(f.header);
        if (!other.ok() || !SameLayout(layout, *other)) break;  // the clip ends here
      }
      if (f.cluster.empty()) continue;
      ASSIGN_OR_RETURN(opened, OpenFragment(f.header, f.cluster, tracks));
    }
    ASSIGN_OR_RETURN(std::vector<TimedPacket> packets,
                     ReadFragment(*opened.demuxer, opened.map, f.start_us - first.start_us));
    for (const TimedPacket& p : packets) {
      min_pts = std::min(min_pts, p.pts_us);
      max_end = std::max(max_end, p.pts_us + p.duration_us);
    }
    RETURN_IF_ERROR(writer.Write(packets));
    ++clip.fragments_used;
  }
  if (min_pts == INT64_MAX) {
    return InvalidArgument("the fragments hold no frames of the selected tracks");
  }
  err = av_write_trailer(muxer->ctx());
  if (err < 0) return av::AvStatus(err, "finishing the MP4 clip");
  clip.duration_us = max_end - min_pts;
  clip.bytes = muxer->TakeBytes();
  return clip;
}

void SetFfmpegLogVerbose(bool verbose) { av_log_set_level(verbose ? AV_LOG_INFO : AV_LOG_ERROR); }

}  // namespace streamarc::playback
