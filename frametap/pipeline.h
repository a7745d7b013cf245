// The consumer's reader side: GetMedia's Matroska events in, sampled and converted pictures
// out, with the timestamps that map each back to the archive. Private to frametap/; knows no
// HTTP, so tests feed it a file.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/mkv.h"
#include "frametap/decoder.h"
#include "frametap/frametap.h"
#include "frametap/ledger.h"

namespace streamarc::frametap {

// Where pictures go (the consumer's bounded queue).
class PictureSink {
 public:
  virtual ~PictureSink() = default;
  // Takes a picture the ledger has counted as queued; kCancelled when the consumer stops.
  virtual Status Emit(DecodedFrame frame) = 0;
};

// Not thread-safe: the reader thread drives it (stats are atomic).
class Pipeline : public mkv::ReaderHandler {
 public:
  Pipeline(const ConsumerOptions& options, PictureSink& sink, FragmentLedger& ledger);
  ~Pipeline() override;

  // A new connection begins: what the decoder held is dropped (it will be read again) and
  // pictures up to the last one already handed on are skipped when they come again.
  void BeginConnection();
  // No bytes for a while (the live edge): once a fragment has fully arrived, drains the
  // decoder so its last pictures go out now rather than with the next fragment.
  Status OnIdle();
  // The end of the range was reached: every picture before it has gone out.
  bool ended() const { return ended_; }

  uint64_t frames_read() const { return frames_read_.load(); }
  uint64_t frames_decoded() const { return frames_decoded_.load(); }

  Status OnInfo(const mkv::SegmentInfo& info) override;
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override;
  Status OnTags(const std::vector<mkv::SimpleTag>& tags) override;
  Status OnClusterStart(const mkv::ClusterStart& cluster) override;
  Status OnFrame(const mkv::Frame& frame) override;

 private:
  struct Meta {
    std::string fragment;
    int64_t producer_us = 0;
    int64_t server_us = 0;
    bool key = false;
    bool replay = false;  // a frame decoded again for its references only: not shown
  };
  // Sends nothing more: lets every held picture out, then makes Send possible again.
  Status Drain();
  Status Receive();
  Status OnPicture(const Meta& meta, const AVFrame& picture);
  bool Sample(int64_t producer_us);
  // After the live edge drained the decoder: when `next` opens an open GOP (an HEVC CRA/BLA,
  // whose leading pictures reference the GOP before), decodes that GOP again, unshown.
  Status Replay(std::span<const uint8_t> next);
  bool OpensOpenGop(std::span<const uint8_t> frame) const;
  // A pooled image no one else holds, or nullptr.
  cv::Mat* FreeImage();
  Status EndRange();

  const ConsumerOptions opt_;
  PictureSink& sink_;
  FragmentLedger& ledger_;
  Converter converter_;
  std::deque<cv::Mat> images_;  // the pool (a deque: growing keeps the others in place)
  std::unique_ptr<VideoDecoder> decoder_;
  std::string codec_id_;
  mkv::Bytes codec_private_;
  uint64_t video_track_ = 0;
  bool hevc_ = false;
  size_t nal_length_size_ = 4;
  std::vector<mkv::Bytes> gop_;     // HEVC: the frames sent since the last key frame
  std::vector<mkv::Bytes> replay_;  // HEVC: gop_ as it was when the live edge drained
  uint64_t scale_ns_ = 1'000'000;

  // The fragment being read (from its leading tags).
  std::string fragment_;
  int64_t fragment_producer_us_ = 0;
  int64_t fragment_server_us_ = 0;
  bool in_fragment_ = false;  // leading tags seen, trailing not yet
  int64_t cluster_ns_ = 0;
  bool absolute_ = true;  // block timecodes are epoch time (not relative to a start)

  // Decoder pts (a sequence number) to what the picture is.
  std::map<int64_t, Meta> in_decoder_;
  int64_t next_seq_ = 0;
  std::optional<int64_t> last_out_us_;      // the last picture handed on (or sampled out)
  std::optional<int64_t> skip_through_us_;  // after a reconnect: already handed on
  uint64_t frame_index_ = 0;
  std::optional<int64_t> fps_bucket_;
  bool end_key_seen_ = false;  // a key frame at or past end_producer_us went to the decoder
  bool ended_ = false;

  std::atomic<uint64_t> frames_read_{0};
  std::atomic<uint64_t> frames_decoded_{0};
};

}  // namespace streamarc::frametap
