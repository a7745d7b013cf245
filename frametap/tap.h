// The in-server frame tap: the server hands it each persisted fragment of the streams it is
// configured to tap; the tap decodes on its own worker thread (never the ingest or HTTP
// service thread) and gives the decoded frames (cv::Mat + FrameInfo) to registered sinks,
// each on its own delivery thread. Nothing here blocks the caller: a full decode queue drops
// the new fragment, a slow sink's full queue drops its oldest frame, and both are counted.
// Knows no server and no playback: the server wires its live fragment fan-out to Offer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "frametap/decoder.h"
#include "frametap/frame_info.h"

namespace streamarc::frametap {

// One persisted fragment: the archive's track_info header and its Cluster, as stored.
struct TapFragment {
  std::string stream_name;
  std::string fragment_number;
  int64_t producer_timestamp_us = 0;  // the fragment's start
  int64_t server_timestamp_us = 0;
  std::string header;
  std::shared_ptr<const std::string> cluster;  // shared with other live readers, not copied
};

// Receives decoded frames. Called on this sink's own delivery thread, one frame at a time
// in each stream's order; may be slow (the oldest frames it has not taken are dropped and
// counted, so it always gets the newest).
class TapSink {
 public:
  virtual ~TapSink() = default;
  // `image` is the tap's (TapOptions::target) and valid during the call; clone to keep it.
  virtual void OnFrame(const std::string& stream_name, const cv::Mat& image,
                       const FrameInfo& info) = 0;
};

struct TapOptions {
  size_t max_queued_fragments = 8;  // waiting for the decoder; more are dropped
  size_t sink_queue_frames = 4;     // waiting for each sink; the oldest are dropped
  bool key_frames_only = false;     // decode only key frames (thumbnails need no more)
  Target target;                    // BGR at source size by default
  int decode_threads = 1;           // libavcodec threads of each stream's decoder
};

struct TapStats {
  uint64_t fragments_offered = 0;
  uint64_t fragments_dropped = 0;  // the decode queue was full
  uint64_t fragments_failed = 0;   // no video, or media the decoder refused
  uint64_t frames_decoded = 0;
  uint64_t frames_delivered = 0;  // summed over sinks
  uint64_t frames_dropped = 0;    // pushed out of a full sink queue (summed over sinks)
};

// Thread-safe. The destructor stops decoding (fragments still queued are dropped), hands
// the frames already queued for each sink to it, and joins the threads.
class FrameTap {
 public:
  static std::unique_ptr<FrameTap> Create(const TapOptions& options);
  virtual ~FrameTap() = default;

  // Frames decoded from now on also go to `sink`.
  virtual void AddSink(std::shared_ptr<TapSink> sink) = 0;
  // Queues a fragment for decoding; never blocks. False when it was dropped (queue full,
  // no cluster bytes, or stopping).
  virtual bool Offer(TapFragment fragment) = 0;
  // Blocks until every fragment offered before the call is decoded and its frames are
  // queued for (not necessarily taken by) the sinks: for tests and orderly shutdown.
  virtual void WaitDecoded() = 0;
  virtual TapStats stats() const = 0;
};

}  // namespace streamarc::frametap
