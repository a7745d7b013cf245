// N RTMP publishers in one process (peers_bench's load for nginx-rtmp): the input's video
// packets and its AAC packets (unless left out), demuxed once with libavformat, written in
// timestamp order to N FLV-over-RTMP connections in real time,
// camera i starting gop * i / N seconds after the first. One process instead of an ffmpeg per
// camera, whose own cost (~0.4 % of a core each) would swamp the server's. Header-only, like
// bench_media.h; the sender's CPU is measured by its caller.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace streamarc::bench {

struct AvPacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketFree>;

// A demuxer is closed, a muxer freed (after its AVIO is closed): one deleter each.
struct AvInputClose {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct AvOutputFree {
  void operator()(AVFormatContext* c) const {
    if (c->pb != nullptr) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};

// Not thread-safe: driven by one loop that calls Pump as time passes.
class RtmpPublisher {
 public:
  // Reads the packets of the first `seconds` of `input`: its video, and its AAC track when
  // `audio` and it has one (from the first video packet's time on, as camera_stream.h does);
  // false when it cannot.
  bool Load(const std::string& input, double seconds, bool audio) {
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, input.c_str(), nullptr, nullptr) < 0) return false;
    in_.reset(raw);
    if (avformat_find_stream_info(in_.get(), nullptr) < 0) return false;
    video_ = av_find_best_stream(in_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (video_ < 0) return false;
    audio_ = -1;
    if (audio) {
      const int a = av_find_best_stream(in_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
      if (a >= 0 && in_->streams[a]->codecpar->codec_id == AV_CODEC_ID_AAC) audio_ = a;
    }
    AvPacketPtr pkt(av_packet_alloc());
    bool have_first = false;
    double first = 0;  // the first video packet's dts, in seconds (may be below 0)
    while (av_read_frame(in_.get(), pkt.get()) >= 0) {
      const int si = pkt->stream_index;
      if ((si == video_ || si == audio_) && pkt->dts != AV_NOPTS_VALUE) {
        const double dts = static_cast<double>(pkt->dts) * av_q2d(in_->streams[si]->time_base);
        if (si == video_ && !have_first) {
          first = dts;
          have_first = true;
        }
        const double t = dts - first;
        if (si == video_ && t > seconds) break;
        if (have_first && t >= 0) {
          packets_.push_back({AvPacketPtr(av_packet_clone(pkt.get())), t, si == audio_});
        }
      }
      av_packet_unref(pkt.get());
    }
    first_s_ = first;
    // Sent in the order they fall due, whatever the file's interleaving.
    std::stable_sort(packets_.begin(), packets_.end(),
                     [](const Packet& a, const Packet& b) { return a.due_s < b.due_s; });
    return !packets_.empty();
  }

  bool has_audio() const { return audio_ >= 0; }

  // Connects `n` publishers to `url_prefix` + i ("rtmp://127.0.0.1:1935/live/cam"); false when
  // one cannot connect (the ones before stay open until Close).
  bool Open(const std::string& url_prefix, int n, double gop_s) {
    for (int i = 0; i < n; ++i) {
      const std::string url = url_prefix + std::to_string(i);
      AVFormatContext* raw = nullptr;
      if (avformat_alloc_output_context2(&raw, nullptr, "flv", url.c_str()) < 0) return false;
      Camera cam;
      cam.out.reset(raw);
      cam.start_s = gop_s * i / n;
      // Stream 0 video, stream 1 AAC (its AudioSpecificConfig goes out as FLV's AAC header).
      for (const int in : {video_, audio_}) {
        if (in < 0) continue;
        AVStream* st = avformat_new_stream(raw, nullptr);
        if (st == nullptr ||
            avcodec_parameters_copy(st->codecpar, in_->streams[in]->codecpar) < 0) {
          return false;
        }
        st->codecpar->codec_tag = 0;
      }
      raw->flush_packets = 1;  // each FLV tag leaves when written, as a camera's would
      if (avio_open2(&raw->pb, url.c_str(), AVIO_FLAG_WRITE, nullptr, nullptr) < 0) return false;
      // Not seekable: no duration and size to patch at the end (ffmpeg would warn).
      AVDictionary* opts = nullptr;
      av_dict_set(&opts, "flvflags", "no_duration_filesize", 0);
      const int rc = avformat_write_header(raw, &opts);
      av_dict_free(&opts);
      if (rc < 0) return false;
      cameras_.push_back(std::move(cam));
    }
    return true;
  }

  // Writes every packet due `now_s` seconds after the start. A publisher whose write fails
  // is closed and counted.
  void Pump(double now_s) {
    for (Camera& c : cameras_) {
      if (c.out == nullptr) continue;
      const double t = now_s - c.start_s;
      while (c.next < packets_.size() && packets_[c.next].due_s <= t) {
        if (t - packets_[c.next].due_s > worst_lag_s_) worst_lag_s_ = t - packets_[c.next].due_s;
        const Packet& src = packets_[c.next];
        AvPacketPtr p(av_packet_clone(src.pkt.get()));
        const AVRational tb = in_->streams[src.audio ? audio_ : video_]->time_base;
        // Timestamps from the first video packet's, as the camera's clock starts there.
        const int64_t first = static_cast<int64_t>(std::llround(first_s_ / av_q2d(tb)));
        p->stream_index = src.audio ? 1 : 0;
        p->pts -= first;
        p->dts -= first;
        av_packet_rescale_ts(p.get(), tb, c.out->streams[p->stream_index]->time_base);
        ++c.next;
        if (av_write_frame(c.out.get(), p.get()) < 0) {
          ++failed_;
          c.out.reset();
          break;
        }
      }
    }
  }

  bool done() const {
    for (const Camera& c : cameras_) {
      if (c.out != nullptr && c.next < packets_.size()) return false;
    }
    return true;
  }

  // Ends every stream (trailer, then the connection).
  void Close() {
    for (Camera& c : cameras_) {
      if (c.out != nullptr) (void)av_write_trailer(c.out.get());
      c.out.reset();
    }
  }

  double duration_s() const { return packets_.empty() ? 0 : packets_.back().due_s; }
  double worst_lag_s() const { return worst_lag_s_; }
  int failed() const { return failed_; }

 private:
  struct Packet {
    AvPacketPtr pkt;
    double due_s = 0;  // after the camera's start
    bool audio = false;
  };
  struct Camera {
    std::unique_ptr<AVFormatContext, AvOutputFree> out;
    double start_s = 0;
    size_t next = 0;
  };

  std::unique_ptr<AVFormatContext, AvInputClose> in_;
  int video_ = -1, audio_ = -1;
  double first_s_ = 0;  // the first video packet's dts, in seconds
  std::vector<Packet> packets_;
  std::vector<Camera> cameras_;
  double worst_lag_s_ = 0;
  int failed_ = 0;
};

}  // namespace streamarc::bench
