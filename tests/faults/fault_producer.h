// The fault suite's producer and its checks: a camera made of real H.264 (ffmpeg at test
// time) fed through our producer SDK in real time, which records every frame it put and
// every PERSISTED ack it saw; and the read-back of a stream through the running server
// (ListFragments, then GetMediaForFragmentList per fragment) checked against both.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"

namespace streamarc::faults {

// The SDK client every fault-suite camera uses: the server at `url`, dummy credentials (a
// loopback streamarcd without keys accepts any), a 1 s connect timeout.
producer::ClientOptions ClientFor(const std::string& url);

// 0.5 s fragments, quick reconnects (20 ms backing off to 200 ms), a content store large
// enough that no outage here drops anything.
producer::StreamOptions CameraOptions();

// The camera's picture: one pass of real H.264, looped by the producers. `stored[i]` is frame
// i as Matroska stores it (every NAL unit with a 4-byte length instead of its start code),
// worked out here from the Annex-B bytes without the SDK's code.
struct Source {
  std::vector<producer_test::InputFrame> frames;  // decode order
  std::vector<std::string> stored;
  int64_t frame_ms = 0;  // one frame's time
  int64_t loop_ms = 0;   // one pass
  // AAC for cameras with sound (AddAudio): access units of 1024 samples covering one pass.
  producer_test::AacInput audio;
};

// `seconds` of `size` video at `fps`, a key frame every `gop` frames.
Result<Source> MakeSource(int seconds, int fps, int gop, const std::string& size,
                          const std::string& bitrate = "");

struct AckRecord {
  std::string number;
  int64_t timecode_ms = 0;
};

// Adds a pass of AAC (ffmpeg, 48 kHz stereo) to `source`, for FaultProducers with sound.
Status AddAudio(Source* source);

// One camera: an SDK stream fed the source in a loop at the source's frame rate, with
// absolute wall-clock timestamps from `base_ms` on. Thread-safe: callbacks come from the
// SDK's thread, the accessors from the test's.
class FaultProducer : public producer::StreamCallbacks {
 public:
  // `with_audio`: a second track, the source's AAC (AddAudio), interleaved with the video as
  // a muxer would.
  FaultProducer(const Source& source, std::string stream_name, bool with_audio = false);
  ~FaultProducer() override;

  // Opens the stream (creating it) and starts putting frames. `base_ms` 0: the wall clock now.
  // `speed` times real time (then start in the past: the timestamps run ahead of the clock).
  Status Start(const producer::ClientOptions& client, producer::StreamOptions options,
               int64_t base_ms = 0, int speed = 1);
  // Stops putting frames (joins the thread); the stream stays open.
  void StopPutting();
  // StopPutting, then Stream::Stop(timeout_ms): every fragment PERSISTED, or why not.
  Status Finish(int64_t timeout_ms);

  // Waits until more than `count` PERSISTED acks were seen; false at the deadline.
  bool WaitForPersisted(size_t count, std::chrono::milliseconds deadline);
  // Waits until more than `count` ERROR acks were seen; false at the deadline.
  bool WaitForErrors(size_t count, std::chrono::milliseconds deadline);

  size_t persisted() const;
  size_t errors() const;
  std::vector<AckRecord> acks() const;
  std::vector<producer::FragmentAck> error_acks() const;
  std::vector<Status> stream_errors() const;
  int dropped_frames() const { return dropped_frames_; }
  int dropped_fragments() const { return dropped_fragments_; }
  // The last PutFrame refusal, if any.
  Status put_status() const;
  producer::StreamStats stats() const;
  const std::string& name() const { return name_; }
  const Source& source() const { return source_; }
  // Timecode (ms) -> source frame index, of every frame put. Only after StopPutting.
  const std::map<int64_t, size_t>& sent() const { return sent_; }

  void OnFragmentAck(const producer::FragmentAck& a) override;
  void OnDroppedFrame(int64_t) override { ++dropped_frames_; }
  void OnDroppedFragment(int64_t) override { ++dropped_fragments_; }
  void OnStreamError(const Status& s) override;

 private:
  void Run(int64_t base_ms, int speed);

  const Source& source_;
  const std::string name_;
  const bool with_audio_;
  std::unique_ptr<producer::Client> client_;
  std::unique_ptr<producer::Stream> stream_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::map<int64_t, size_t> sent_;  // written by thread_ only, read after it joined

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AckRecord> acks_;
  std::vector<producer::FragmentAck> error_acks_;
  std::vector<Status> stream_errors_;
  Status put_status_;
  std::atomic<int> dropped_frames_{0}, dropped_fragments_{0};
};

// One stored fragment as the server hands it out.
struct ReadFrame {
  int64_t timecode_ms = 0;
  bool key = false;
  std::string data;
};
struct ReadFragment {
  std::string number;
  int64_t producer_ms = 0;
  int64_t server_ms = 0;
  uint64_t size = 0;
  std::vector<ReadFrame> frames;
  std::string error;  // why the fragment could not be read, "" if it could
};

// Every fragment of `stream` through `server_url`: ListFragments over all time, then
// GetMediaForFragmentList for each, parsed. Sorted by producer timestamp. gtest failures for
// calls that fail.
std::vector<ReadFragment> ReadStream(const std::string& server_url, const std::string& stream);

// What the check of one producer found.
struct Tally {
  size_t acked = 0;           // distinct fragments with a PERSISTED ack
  size_t acked_lost = 0;      // acked, not readable or not identical (goal 0)
  size_t evicted = 0;         // acked, gone by the eviction policy (a prefix of the stream)
  size_t fragments = 0;       // stored
  size_t frames_checked = 0;  // stored frames compared byte for byte
  size_t frames_missing = 0;  // put, not stored (after the first stored fragment)
  size_t frames_duplicated = 0;
  size_t frames_wrong = 0;  // stored bytes that are not what was put at that time
  size_t index_errors = 0;  // overlapping or repeated producer timestamps, empty fragments
};

// Checks `stored` (ReadStream of the producer's stream, after FaultProducer::Finish) against
// what `p` put and saw acknowledged, reporting each problem as a gtest failure (the first
// few of each kind in full):
//  - every PERSISTED ack names a stored fragment with that producer timestamp, readable and
//    holding exactly the bytes put at its frames' times;
//  - the index: fragment numbers and producer timestamps unique, fragments not overlapping,
//    each starting with a key frame;
//  - the timeline: every frame put from the first stored fragment on is stored once.
// With `allow_evicted_prefix`, acked fragments older than the oldest stored one may be gone
// (the eviction policy deletes the oldest first); without it, none may.
Tally CheckStream(const FaultProducer& p, const std::vector<ReadFragment>& stored,
                  bool allow_evicted_prefix);

}  // namespace streamarc::faults
