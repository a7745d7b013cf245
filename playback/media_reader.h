// GetMedia, GetMediaForFragmentList and ListFragments as a service that knows no HTTP.
//
// A GetMedia reader sends the archived backlog from its StartSelector, then follows the live
// edge through the LiveHub: fragments committed while the backlog is read arrive once each,
// in number order. A reader whose client lags stops being fed live fragments and catches up
// from the archive once it has drained, so a slow client never holds up ingest or other
// readers. Deleting a stream ends its readers (the archive tells the service; no polling).
//
// The reader drives a MediaTransport (one streamed response). The HTTP front implements it
// over its ResponseWriter and maps a KvsError to KVS's error shape; tests use a fake.
// Archive reads run as jobs on the caller's job runner (the worker pool), never on the
// thread that calls GetMedia (the HTTP service thread) nor on the archive's commit thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/kvs_error.h"
#include "common/log.h"
#include "common/status.h"
#include "playback/get_media_request.h"
#include "playback/live_hub.h"

namespace streamarc::playback {

struct MediaOptions {
  // KVS allows 3 concurrent GetMedia connections per stream; the next one is refused with
  // ConnectionLimitExceededException.
  int max_get_media_per_stream = 3;
  // A reader whose unsent bytes pass this stops being fed live fragments and catches up
  // from the archive once it has drained to `resume_queued_bytes`: a slow reader never
  // holds up ingest, the commit thread or other readers.
  size_t max_reader_queued_bytes = 16u << 20;
  size_t resume_queued_bytes = 4u << 20;
  // Fragments read from the archive per job (then the job yields to others).
  int backlog_batch = 8;
};

// One streamed response. Thread-safe: called from job-runner threads, the archive's commit
// thread (WriteShared, queued_bytes: these must not block) and the caller's thread. Calls
// after the client left are ignored.
class MediaTransport {
 public:
  virtual ~MediaTransport() = default;
  // Starts the successful response (Matroska chunks follow, "video/webm" as KVS says).
  virtual void Begin() = 0;
  // Answers with KVS's exception instead; only before Begin. The response is complete.
  virtual void Fail(const KvsError& error) = 0;
  virtual void Write(std::string bytes) = 0;
  // Immutable bytes shared with other readers (a live fragment's chunk), with no copy.
  virtual void WriteShared(std::shared_ptr<const std::string> bytes) = 0;
  // Bytes written but not yet taken by the client.
  virtual size_t queued_bytes() const = 0;
  // Runs `task` once queued_bytes() is at most `bytes` (possibly at once, but never inside
  // this call). A later call replaces a pending one; dropped if the client leaves first.
  virtual void NotifyWhenDrained(size_t bytes, std::function<void()> task) = 0;
  // Runs `task` later on the transport's own thread, even after the client left.
  virtual void Post(std::function<void()> task) = 0;
  // The response is complete.
  virtual void End() = 0;
  // Drops the connection (after what was queued).
  virtual void Close() = 0;
};

// A request in flight, held by the front while its connection lives.
class MediaRequest {
 public:
  virtual ~MediaRequest() = default;
  // The client is gone: stop reading and release its slot. Never blocks (the cleanup that
  // may wait runs as a job).
  virtual void Stop() = 0;
};

// Runs `job` later on another thread; false when it cannot be queued (the server is busy).
using JobRunner = std::function<bool(std::function<void()> job)>;

// Thread-safe. Readers and queued jobs keep the service alive, so it may be dropped by its
// creator at any time; `archive`, `hub`, `clock` and `log` must outlive every job `jobs` runs.
class MediaService {
 public:
  // Registers for the archive's stream-deletion events (removed when the service dies).
  static std::shared_ptr<MediaService> Create(const MediaOptions& options,
                                              archive::Archive& archive, LiveHub& hub,
                                              JobRunner jobs, const Clock& clock, Logger& log);
  virtual ~MediaService() = default;

  // GetMedia. Never blocks: the stream is looked up in a job, then `out` gets Fail (404 for
  // an unknown or deleting stream, ConnectionLimitExceeded past the per-stream limit, 400
  // for a fragment number the stream never issued) or Begin and chunks until the client
  // leaves, the stream is deleted, or EndAll. Busy (Fail at once) when no job can be queued.
  virtual std::shared_ptr<MediaRequest> GetMedia(GetMediaRequest request,
                                                 std::shared_ptr<MediaTransport> out) = 0;

  // GetMediaForFragmentList: every named fragment is checked first (an unknown one is
  // kNotFound before anything is sent); then the chunks go out in the order asked, paced by
  // the client. A fragment that expires in between becomes an error chunk (4000).
  virtual std::shared_ptr<MediaRequest> GetMediaForFragmentList(
      FragmentListRequest request, std::shared_ptr<MediaTransport> out) = 0;

  // ListFragments. Blocks on the archive: call it from a worker thread.
  virtual Result<archive::ListResult> ListFragments(const archive::ListRequest& request) = 0;

  // Server shutdown: every GetMedia response ends with its last chunk (the front still
  // calls Stop as its connections close). Never blocks.
  virtual void EndAll() = 0;
};

}  // namespace streamarc::playback
