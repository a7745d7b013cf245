// N RTMP publishers in one process (peers_bench's load for nginx-rtmp): the input's video
// packets, demuxed once with libavformat, written to N FLV-over-RTMP connections in real time,
// camera i starting gop * i / N seconds after the first. One process instead of an ffmpeg per
// camera, whose own cost (~0.4 % of a core each) would swamp the server's. Header-only, like
// bench_media.h; the sender's CPU is measured by its caller.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

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
  // Reads the video packets of the first `seconds` of `input`; false when it cannot.
  bool Load(const std::string& input, double seconds) {
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, input.c_str(), nullptr, nullptr) < 0) return false;
    in_.reset(raw);
    if (avformat_find_stream_info(in_.get(), nullptr) < 0) return false;
    video_ = av_find_best_stream(in_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (video_ < 0) return false;
    const AVRational tb = in_->streams[video_]->time_base;
    AvPacketPtr pkt(av_packet_alloc());
    int64_t first = AV_NOPTS_VALUE;
    while (av_read_frame(in_.get(), pkt.get()) >= 0) {
      if (pkt->stream_index == video_ && pkt->dts != AV_NOPTS_VALUE) {
        if (first == AV_NOPTS_VALUE) first = pkt->dts;
        const double t = static_cast<double>(pkt->dts - first) * av_q2d(tb);
        if (t > seconds) break;
        packets_.push_back({AvPacketPtr(av_packet_clone(pkt.get())), t});
      }
      av_packet_unref(pkt.get());
    }
    first_dts_ = first;
    return !packets_.empty();
  }

  // Connects `n` publishers to `url_prefix` + i ("rtmp://127.0.0.1:1935/live/cam"); false when
  // one cannot connect (the ones before stay open until Close).
  bool Open(const std::string& url_prefix, int n, double gop_s) {
    const AVStream* src = in_->streams[video_];
    for (int i = 0; i < n; ++i) {
      const std::string url = url_prefix + std::to_string(i);
      AVFormatContext* raw = nullptr;
      if (avformat_alloc_output_context2(&raw, nullptr, "flv", url.c_str()) < 0) return false;
      Camera cam;
      cam.out.reset(raw);
      cam.start_s = gop_s * i / n;
      AVStream* st = avformat_new_stream(raw, nullptr);
      if (st == nullptr || avcodec_parameters_copy(st->codecpar, src->codecpar) < 0) return false;
      st->codecpar->codec_tag = 0;
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
    const AVRational tb = in_->streams[video_]->time_base;
    for (Camera& c : cameras_) {
      if (c.out == nullptr) continue;
      const double t = now_s - c.start_s;
      while (c.next < packets_.size() && packets_[c.next].due_s <= t) {
        if (t - packets_[c.next].due_s > worst_lag_s_) worst_lag_s_ = t - packets_[c.next].due_s;
        AvPacketPtr p(av_packet_clone(packets_[c.next].pkt.get()));
        p->stream_index = 0;
        p->pts -= first_dts_;
        p->dts -= first_dts_;
        av_packet_rescale_ts(p.get(), tb, c.out->streams[0]->time_base);
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
  };
  struct Camera {
    std::unique_ptr<AVFormatContext, AvOutputFree> out;
    double start_s = 0;
    size_t next = 0;
  };

  std::unique_ptr<AVFormatContext, AvInputClose> in_;
  int video_ = -1;
  int64_t first_dts_ = 0;
  std::vector<Packet> packets_;
  std::vector<Camera> cameras_;
  double worst_lag_s_ = 0;
  int failed_ = 0;
};

}  // namespace streamarc::bench
