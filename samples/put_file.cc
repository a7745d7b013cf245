// put_file: the smallest useful producer. Reads the H.264/H.265 video of a recording with
// libavformat and uploads it with the streamarc producer SDK, printing each ACK.
//
//   export AWS_ACCESS_KEY_ID=any AWS_SECRET_ACCESS_KEY=any
//   streamarc-sample-put-file http://127.0.0.1:8080 mystream recording.mp4
//
// Copy it as a start for a producer of your own: frames in, ACKs out. For cameras, RTSP and
// encoding, streamarc-put (producer-sdk/cli) shows the same SDK behind a GStreamer pipeline.
#include <cstdio>
#include <memory>
#include <string>

extern "C" {
#include <libavformat/avformat.h>
}

#include "producer-sdk/producer.h"

namespace {

using namespace streamarc;

struct InputClose {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

// Callbacks run on the SDK's upload thread.
class PrintAcks : public producer::StreamCallbacks {
 public:
  void OnFragmentAck(const producer::FragmentAck& ack) override {
    static const char* const kNames[] = {"BUFFERING", "RECEIVED", "PERSISTED", "ERROR", "IDLE"};
    std::string error = ack.error_id ? " error=" + std::to_string(ack.error_id) : "";
    std::printf("%-9s timecode=%lld number=%s%s\n", kNames[static_cast<int>(ack.type)],
                static_cast<long long>(ack.timecode), ack.fragment_number.c_str(), error.c_str());
  }
  void OnStreamError(const Status& s) override {
    std::fprintf(stderr, "stream error: %s\n", s.ToString().c_str());
  }
};

int Run(const std::string& endpoint, const std::string& stream_name, const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    return 1;
  }
  std::unique_ptr<AVFormatContext, InputClose> in(raw);
  if (avformat_find_stream_info(in.get(), nullptr) < 0) return 1;
  int index = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) {
    std::fprintf(stderr, "%s has no video\n", path.c_str());
    return 1;
  }
  const AVStream* video = in->streams[index];
  const AVCodecParameters* par = video->codecpar;
  if (par->codec_id != AV_CODEC_ID_H264 && par->codec_id != AV_CODEC_ID_HEVC) {
    std::fprintf(stderr, "only H.264 and H.265 are passed through\n");
    return 1;
  }

  producer::TrackConfig track;
  track.codec = par->codec_id == AV_CODEC_ID_H264 ? producer::Codec::kH264 : producer::Codec::kH265;
  // MP4 and Matroska carry avcC/hvcC (frames are length-prefixed); MPEG-TS and raw .h264 are
  // Annex-B, and the SDK builds the CodecPrivate from the parameter sets itself.
  const bool annex_b = par->extradata_size == 0 || par->extradata[0] == 0;
  if (!annex_b) {
    track.codec_private.assign(reinterpret_cast<const char*>(par->extradata),
                               static_cast<size_t>(par->extradata_size));
  }
  track.width = par->width;
  track.height = par->height;

  producer::ClientOptions client_options;
  client_options.endpoint = endpoint;
  auto client = producer::Client::Create(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  producer::StreamOptions options;
  options.name = stream_name;
  options.media_type = track.codec == producer::Codec::kH264 ? "video/h264" : "video/h265";
  options.tracks = {track};
  // A recording: upload as fast as the server takes it, never drop.
  options.type = producer::StreamingType::kOffline;
  options.overflow = producer::OverflowPolicy::kBlock;
  PrintAcks acks;
  auto stream = (*client)->OpenStream(options, &acks);
  if (!stream.ok()) {
    std::fprintf(stderr, "%s\n", stream.status().ToString().c_str());
    return 1;
  }

  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  const AVRational us = {1, 1'000'000};
  while (av_read_frame(in.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == index && pkt->pts != AV_NOPTS_VALUE) {
      producer::Frame frame;
      // Small timestamps are taken as relative to the stream's start (see producer.h).
      frame.pts_us = av_rescale_q(pkt->pts, video->time_base, us);
      frame.dts_us =
          pkt->dts == AV_NOPTS_VALUE ? frame.pts_us : av_rescale_q(pkt->dts, video->time_base, us);
      frame.duration_us = av_rescale_q(pkt->duration, video->time_base, us);
      frame.key_frame = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      frame.data = {pkt->data, static_cast<size_t>(pkt->size)};
      Status s = (*stream)->PutFrame(frame);
      if (!s.ok()) {
        std::fprintf(stderr, "PutFrame: %s\n", s.ToString().c_str());
        break;
      }
    }
    av_packet_unref(pkt.get());
  }
  // Closes the last fragment and waits for every PERSISTED.
  Status stopped = (*stream)->Stop(60'000);
  auto stats = (*stream)->stats();
  std::printf("%llu frames, %llu fragments persisted: %s\n",
              static_cast<unsigned long long>(stats.frames_put),
              static_cast<unsigned long long>(stats.fragments_persisted),
              stopped.ToString().c_str());
  return stopped.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s ENDPOINT STREAM FILE\n", argv[0]);
    return 2;
  }
  return Run(argv[1], argv[2], argv[3]);
}
