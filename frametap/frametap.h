// streamarc::frametap: decoded frames of a stream, as cv::Mat, live or over any past range.
//
// A Consumer reads GetMedia over HTTP (so it runs on any machine that reaches the server;
// requests are SigV4-signed when keys are given), decodes H.264/H.265 with libavcodec on
// its own thread, converts with swscale, and hands each frame out with the timestamps that
// map it back to the archive: producer time, server time and fragment number.
//
//   streamarc::frametap::ConsumerOptions o;
//   o.endpoint = "http://127.0.0.1:8080";
//   o.stream_name = "cam1";
//   o.start.type = streamarc::frametap::StartType::kEarliest;
//   auto consumer = streamarc::frametap::Consumer::Open(o);
//   (*consumer)->Run([](const cv::Mat& bgr, const streamarc::frametap::FrameInfo& info) {
//     ...;  // detect something
//     return true;  // false stops
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "frametap/decoder.h"
#include "frametap/frame_info.h"

namespace streamarc::frametap {

// GetMedia's StartSelectorType.
enum class StartType {
  kNow,
  kEarliest,
  kProducerTimestamp,
  kServerTimestamp,
  kFragmentNumber,
  kContinuationToken,
};

struct StartSelector {
  StartType type = StartType::kNow;
  int64_t timestamp_us = 0;  // kProducerTimestamp, kServerTimestamp: epoch microseconds
  std::string value;         // kFragmentNumber, kContinuationToken
};

struct Sampling {
  enum class Mode { kEveryFrame, kEveryNth, kFps, kKeyFramesOnly };
  Mode mode = Mode::kEveryFrame;
  int every_nth = 1;  // kEveryNth
  double fps = 0;     // kFps: at most this many frames per second of producer time
};

// What happens when the callback is slower than decoding.
enum class Overflow {
  kBlock,  // decoding waits (and so does reading: the server keeps the rest)
  kDrop,   // the newest frame is dropped and counted
};

struct ConsumerOptions {
  std::string endpoint;  // "http://host:port" (a GetDataEndpoint answer works as is)
  std::string stream_name;
  std::string stream_arn;  // instead of stream_name
  StartSelector start;
  // Stop after the last frame whose producer timestamp is below this (epoch microseconds).
  std::optional<int64_t> end_producer_us;
  Sampling sampling;
  Target target;  // BGR at source size by default
  size_t queue_frames = 8;
  Overflow overflow = Overflow::kBlock;
  // The last fragment fully handled is kept here (written atomically); when the file exists
  // at Open, reading resumes right after it and `start` is ignored.
  std::string checkpoint_path;
  // SigV4: requests are signed when access_key is set.
  std::string region = "us-west-2";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  // CA certificates (PEM file) to trust for an https endpoint; empty: $AWS_CA_BUNDLE, else
  // the system's store.
  std::string ca_cert;
  int decode_threads = 0;  // 0: one per core
  // Reconnects after a network loss or a server restart, resuming after the last fragment
  // handed out; gives up (Run returns the error) after this many failures in a row.
  int max_reconnects = 20;
  int64_t reconnect_backoff_ms = 200;  // doubled per failure in a row, at most 5 s
};

// FrameInfo (producer/server time, fragment number, key flag): frametap/frame_info.h.

struct ConsumerStats {
  uint64_t frames_read = 0;       // frames received from the server
  uint64_t frames_decoded = 0;    // pictures the decoder produced
  uint64_t frames_delivered = 0;  // pictures handed to the callback / Next
  uint64_t frames_dropped = 0;    // Overflow::kDrop
  uint64_t fragments_done = 0;    // fragments fully handled (the checkpoint's unit)
  uint64_t reconnects = 0;
};

struct DecodedFrame {
  cv::Mat image;
  FrameInfo info;
};

// Thread-safety: Next/Run from one thread; Stop and stats from any.
class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Open(const ConsumerOptions& options);
  virtual ~Consumer() = default;

  // The next frame; std::nullopt at the end of the range (or after Stop). An error when
  // the server refuses the stream or reconnecting gave up.
  virtual Result<std::optional<DecodedFrame>> Next() = 0;
  // Waits up to `timeout_ms` until Next would not block (a frame is queued, the range
  // ended, it failed or was stopped); false on timeout. For callers that must look at
  // something else while they wait (Python's Ctrl-C).
  virtual bool WaitReady(int64_t timeout_ms) = 0;
  // Calls `callback` for each frame until the end, Stop, or the callback returns false.
  // The frame's image is valid during the call only; clone it to keep it.
  virtual Status Run(const std::function<bool(const cv::Mat&, const FrameInfo&)>& callback) = 0;
  virtual void Stop() = 0;
  virtual ConsumerStats stats() const = 0;
};

// Analysis events (the server's /putEvents), for detectors that store what they found.
struct Box {
  int x = 0, y = 0, width = 0, height = 0;  // pixels
};
struct Event {
  std::string label;
  int64_t start_us = 0;  // producer time, epoch microseconds
  int64_t end_us = 0;
  double score = 0;
  std::optional<Box> box;
  std::string source;
};
struct EventsClientOptions {
  std::string endpoint;
  std::string stream_name;
  std::string region = "us-west-2";
  std::string access_key;
  std::string secret_key;
  std::string ca_cert;  // as ConsumerOptions::ca_cert
};
// Stores `events` with PutEvents (one call per 100, the server's limit per call); returns
// their ids in order. A failed call ends it: the events of the calls before it are stored.
Result<std::vector<std::string>> PutEvents(const EventsClientOptions& options,
                                           const std::vector<Event>& events);

}  // namespace streamarc::frametap
