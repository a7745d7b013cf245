// The PutMedia service and its per-request session, knowing no HTTP. A session takes the
// request's headers and its raw body bytes, runs them through the chunked decoder (when the
// body is chunked), the Matroska reader, the fragmenter and the archive, and answers with a
// stream of ACK events (ingest/ingest.h) through a Transport the HTTP front implements.
//
// Threads: a session lives on one service thread (the HTTP front's). The stream lookup runs
// on a WorkerPool and the durable callbacks on the archive's commit thread; both come back
// through Transport::Post. Idle ACKs and the idle timeout run on Transport::PostAfter
// timers, one pending per session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "fragmenter/fragmenter.h"
#include "playback/live_hub.h"

namespace streamarc::metrics {
class Registry;
}  // namespace streamarc::metrics

namespace streamarc::ingest {

// One PutMedia response, as the session drives it. Implemented by the HTTP front over its
// response writer and by tests with a fake. Every call but Post and PostAfter comes on the
// service thread; calls after the client went away must be harmless no-ops.
class Transport {
 public:
  virtual ~Transport() = default;
  // The ACK stream begins (200, application/json, streamed until End).
  virtual void Begin() = 0;
  // A refusal before Begin, as KVS's exception (the front maps it in its one place,
  // server/kvs_error.h): ConnectionLimitExceeded while another producer streams to the
  // stream, ServiceUnavailable when busy or shutting down, ResourceNotFound, InvalidArgument
  // for bad headers. The session then calls Close.
  virtual void Refuse(const KvsError& error) = 0;
  // ACK bytes (whole lines) on the response stream.
  virtual void Write(std::string bytes) = 0;
  // Stops (false) or resumes (true) reading the request body: back-pressure.
  virtual void SetReading(bool enabled) = 0;
  // The response is complete.
  virtual void End() = 0;
  // Closes the connection once what is queued is written (the rest of the body is unread).
  virtual void Close() = 0;
  // Thread-safe: runs `task` on the service thread, even after the client went away
  // (dropped only once the service thread stops for good).
  virtual void Post(std::function<void()> task) = 0;
  // Thread-safe: as Post, after about `delay_us` microseconds.
  virtual void PostAfter(int64_t delay_us, std::function<void()> task) = 0;
};

// The request head, as the session needs it: each field is the header's value, if present.
struct PutMediaRequest {
  std::optional<std::string> stream_name;               // x-amzn-stream-name
  std::optional<std::string> stream_arn;                // x-amzn-stream-arn
  std::optional<std::string> timecode_type;             // x-amzn-fragment-timecode-type
  std::optional<std::string> producer_start_timestamp;  // x-amzn-producer-start-timestamp
  std::optional<std::string> ack_required;              // x-amzn-fragment-acknowledgment-required
  // Transfer-Encoding: chunked. The body then carries chunk framing, which the session
  // decodes and which ends the body (libwebsockets 4.1 does not decode it).
  bool chunked = false;
};

struct PutMediaOptions {
  fragmenter::Options limits;  // session fields are filled from each request's headers
  // With no body bytes for this long, an IDLE ack goes out (and again each period).
  int64_t idle_ack_interval_us = 3'000'000;
  // With no body bytes for this long, the session ends.
  int64_t idle_timeout_us = 30'000'000;
  // A second PutMedia for a stream is accepted only while the first has been quiet this
  // long (a producer rotating its connection); otherwise ConnectionLimitExceeded.
  int64_t rotation_quiet_us = 1'000'000;
  // Body bytes held while the stream is being looked up; past this, reading pauses.
  size_t max_pending_bytes = 4 << 20;
  // Where the service registers its metrics (streamarc_ingest_*, the PERSISTED ack latency,
  // error acks); null: none. Outlives the service.
  metrics::Registry* metrics = nullptr;
};

// One PutMedia request. Service thread only. The HTTP front holds it for the request's
// lifetime and feeds it; callbacks in flight keep it alive past that.
class PutMediaSession {
 public:
  virtual ~PutMediaSession() = default;
  // Raw body bytes as they arrive (chunk framing included when the request is chunked).
  virtual void OnBody(std::span<const uint8_t> bytes) = 0;
  // A body of known length has fully arrived (not called for chunked bodies).
  virtual void OnBodyEnd() = 0;
  // The client is gone; the transport ignores further calls. Fragments already handed to
  // the archive are still stored.
  virtual void OnClose() = 0;
};

class PutMediaService {
 public:
  // All references outlive the service; the service outlives the sessions' HTTP front (the
  // sessions themselves keep its state alive for callbacks still in flight). Every
  // PERSISTED fragment is published to `hub` for live readers.
  PutMediaService(const PutMediaOptions& options, archive::Archive& archive, WorkerPool& pool,
                  playback::LiveHub& hub, const Clock& clock, Logger& log);
  ~PutMediaService();
  PutMediaService(const PutMediaService&) = delete;
  PutMediaService& operator=(const PutMediaService&) = delete;

  // Service thread. Checks the head and looks the stream up on the pool; a refusal goes out
  // through `transport` (and the session ignores the body). Never null.
  std::shared_ptr<PutMediaSession> Open(const PutMediaRequest& request,
                                        std::shared_ptr<Transport> transport);

  // Thread-safe. New sessions are refused (503); every live session stops reading, sends
  // the ACKs of the fragments it already handed to the archive, and ends its response.
  // The fragment a session was in the middle of is not stored (its producer resends it).
  void Shutdown();
  // Sessions not finished yet (thread-safe): Shutdown is complete when this reaches 0.
  int active_sessions() const;
  // Blocks until active_sessions() is 0 or `timeout` has passed; true if it is 0. Not on
  // the service thread, which the sessions need to finish.
  bool WaitUntilIdle(std::chrono::microseconds timeout);

  struct Counters {
    uint64_t sessions = 0;
    uint64_t fragments = 0;
    uint64_t persisted = 0;
    uint64_t errors = 0;
  };
  Counters counters() const;  // thread-safe

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace streamarc::ingest
