// PutMedia: `POST /putMedia` with an endless Matroska body (chunked or sized), answered by a
// stream of ACK events. Per connection: chunked decoder -> mkv::Reader -> Fragmenter ->
// archive Append, all on the service thread except the stream lookup (worker pool) and the
// durable callbacks (archive commit thread), which come back through ResponseWriter::Post.
#pragma once

#include <memory>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/log.h"
#include "fragmenter/fragmenter.h"
#include "playback/live_hub.h"
#include "server/router.h"
#include "server/worker_pool.h"

namespace streamarc::server {

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
};

class PutMediaService {
 public:
  // All references outlive the service, which outlives the HTTP server's connections.
  // Every PERSISTED fragment is published to `hub` for live readers.
  PutMediaService(const PutMediaOptions& options, archive::Archive& archive, WorkerPool& pool,
                  playback::LiveHub& hub, const Clock& clock, Logger& log);
  ~PutMediaService();

  void Register(Router& http);

  // Thread-safe. New PutMedia requests get 503; every live session stops reading, sends
  // the ACKs of the fragments it already handed to the archive, and ends its response.
  // The fragment a session was in the middle of is not stored (its producer resends it).
  void Shutdown();
  // Sessions not finished yet (thread-safe): Shutdown is complete when this reaches 0.
  int active_sessions() const;

  struct Counters {
    uint64_t sessions = 0;
    uint64_t fragments = 0;
    uint64_t persisted = 0;
    uint64_t errors = 0;
  };
  Counters counters() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace streamarc::server
