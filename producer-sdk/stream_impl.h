// The Stream behind producer.h: PutFrame packs frames into the content store (stream.cc);
// one upload thread per stream sends the store over PutMedia, reads the ACKs and reconnects
// (upload.cc). Private to producer-sdk/.
//
// The content store. Fragments (one Cluster of unknown size each, as bytes) stay in memory
// from their first frame until PERSISTED; the sum of their bytes never exceeds
// StreamOptions::storage_bytes. The upload cursor walks them in order; a new connection
// starts with a fresh MKV header and resends from the first fragment not yet PERSISTED.
//
// No duplicates. The server persists a fragment only once it has all of it (the open
// fragment of a connection that dies is discarded server-side), and before ending a
// response it sends every PERSISTED it owes. So after an orderly end or an ERROR ack, the
// acks tell the truth. After a lost connection (server killed, network cut), a fragment
// whose bytes all went out may have been committed without its PERSISTED reaching us; for
// those ("in doubt") the SDK asks the server's ListFragments for the producer timestamps
// before resending and skips the ones it finds. What ListFragments answers decides:
// - 200: the fragments it lists are forgotten (fragments_confirmed), the rest resent; 404
//   (no such stream): all resent, and PutMedia then fails the stream with the reason.
// - no answer (unreachable, timed out), or "not now" (5xx from the server or a proxy in
//   front of it, 429, ClientLimitExceeded/Throttling, or a 200 without a Fragments list):
//   no connection is made; the question is asked again after the usual back-off (reported
//   as kDisconnected with the reason). Resending then could double what the server has.
// - a refusal for good (401/403: a key that may write but not read; another 4xx): asking
//   again would never help and retrying forever would stall the stream, so the in-doubt
//   fragments are resent (at least once: a camera's footage matters more than a duplicate,
//   which readers can tell by its repeated producer timestamps), counted in
//   fragments_unverified, and OnUnverifiedResend says so once. Later losses on this stream
//   resend at once without asking again.
// Limit: a commit still in flight on a server that is alive while we query (a network cut,
// not a crash) can also slip past the check.
//
// The data endpoint. PutMedia and ListFragments go to GetDataEndpoint's answer, which names
// the node that owns the stream now; when that node dies another takes its lease and the
// answer changes, and a node that is not the owner refuses PutMedia with
// InvalidEndpointException. So after a failed attempt (a lost or refused connection, a
// stale one, a 5xx, a limit, InvalidEndpointException, an unanswered ListFragments) the
// upload thread asks GetDataEndpoint again before the next one; no answer keeps the old URL.
//
// Threads: PutFrame on the producer's thread, Stop/stats from any, everything else on the
// upload thread. One mutex guards the store and the counters; callbacks run on the upload
// thread without the lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mkv.h"
#include "common/mutex.h"
#include "producer-sdk/ack_parser.h"
#include "producer-sdk/http.h"
#include "producer-sdk/packager.h"
#include "producer-sdk/producer.h"

namespace streamarc::producer {

// curl_global_init/cleanup, held by the client and every stream it opened.
class CurlGlobal {
 public:
  CurlGlobal() : rc_(curl_global_init(CURL_GLOBAL_DEFAULT)) {}
  ~CurlGlobal() {
    if (rc_ == CURLE_OK) curl_global_cleanup();
  }
  bool ok() const { return rc_ == CURLE_OK; }

 private:
  CURLcode rc_;
};

struct StoredFragment {
  uint64_t seq = 0;
  int64_t timecode_ms = 0;  // Cluster Timecode, absolute ms: the ACKs' FragmentTimecode
  mkv::Bytes bytes;         // the Cluster (unknown size) and its blocks
  uint32_t frames = 0;
  bool complete = false;  // a later key frame (or Stop) closed it
  bool persisted = false;
  bool received = false;     // a RECEIVED ack came for it
  bool sent_whole = false;   // every byte went out on some connection: maybe in the archive
  bool sent_once = false;    // some byte went out on some connection
  int64_t first_put_us = 0;  // monotonic, PutFrame of its first frame
};

struct UploadConfig {
  std::string data_endpoint;  // PutMedia base URL: GetDataEndpoint's first answer
  std::string control_endpoint;
  SignContext sign;
  int64_t connect_timeout_ms = 5'000;
};

// How long a control-plane call (and ListFragments) may take once connected.
constexpr int64_t kControlTimeoutMs = 10'000;

// GetDataEndpoint (APIName PUT_MEDIA) for `stream` on `control_endpoint`, signed with `sign`:
// the response whatever its status; kUnavailable when the server cannot be reached (client.cc).
Result<HttpResponse> CallGetDataEndpoint(const std::string& control_endpoint,
                                         const std::string& stream, const SignContext& sign,
                                         int64_t connect_timeout_ms, int64_t now_micros);
// The DataEndpoint of a 200 GetDataEndpoint response; kUnavailable when it has none.
Result<std::string> DataEndpointOf(const HttpResponse& r);

class StreamImpl final : public Stream {
 public:
  StreamImpl(std::shared_ptr<CurlGlobal> curl, const StreamOptions& options, Packager packager,
             UploadConfig upload, StreamCallbacks* callbacks, const Clock& clock);
  ~StreamImpl() override;

  Status PutFrame(const Frame& frame) override EXCLUDES(mu_);
  Status Stop(int64_t timeout_ms) override EXCLUDES(mu_);
  StreamStats stats() const override EXCLUDES(mu_);

  // Starts the upload thread (after construction, so the thread sees a whole object).
  Status Start();

 private:
  using Event = std::function<void(StreamCallbacks&)>;

  // ---- content store (stream.cc), all under mu_ ----
  StoredFragment* FindByTimecode(int64_t timecode_ms) REQUIRES(mu_);
  std::deque<StoredFragment>::iterator IterOf(const StoredFragment& f) REQUIRES(mu_);
  void CloseOpenFragment() REQUIRES(mu_);
  // Makes room for `need` bytes per the overflow policy. OK: room made; otherwise the frame
  // must be dropped (kResourceExhausted) or the stream failed.
  Status MakeRoom(size_t need) REQUIRES(mu_);
  bool DropOldestDroppable() REQUIRES(mu_);
  void EraseFragment(const std::deque<StoredFragment>::iterator& it) REQUIRES(mu_);
  void DropFrame(int64_t pts_us) REQUIRES(mu_);
  void Queue(Event e) REQUIRES(mu_);
  void Wake();
  void Fail(const Status& s) REQUIRES(mu_);

  // ---- upload thread (upload.cc) ----
  void UploadLoop();
  Status StartTransfer();
  void FinishTransfer(CURLcode rc);
  // answered false: ask again after a back-off; `why` says what came back.
  struct DoubtCheck {
    bool answered = true;
    Status why;
  };
  DoubtCheck CheckDoubt() EXCLUDES(mu_);
  DoubtCheck ResendUnverified(const Status& why) EXCLUDES(mu_);
  void ResolveDataEndpoint() EXCLUDES(mu_);
  void OnAcks(std::vector<FragmentAck>& acks);
  void DeliverEvents();
  void CheckPressure();
  bool PeerClosed();
  int64_t BackoffMs();
  static curl_socket_t OpenSocketCb(void* self, curlsocktype, curl_sockaddr* a) noexcept;
  static int CloseSocketCb(void* self, curl_socket_t s) noexcept;
  static size_t HeaderCb(char* buf, size_t size, size_t n, void* self) noexcept;
  static size_t ReadCb(char* buf, size_t size, size_t n, void* self) noexcept;
  static size_t WriteCb(char* buf, size_t size, size_t n, void* self) noexcept;
  size_t Read(char* buf, size_t max) EXCLUDES(mu_);
  size_t Write(const char* buf, size_t n);

  std::shared_ptr<CurlGlobal> curl_global_;
  const StreamOptions opt_;
  const UploadConfig upload_;
  StreamCallbacks* callbacks_;
  StreamCallbacks no_callbacks_;
  const Clock& clock_;

  mutable Mutex mu_;
  CondVar cv_;  // store changes: room made, fragments persisted, failure
  Packager packager_ GUARDED_BY(mu_);
  std::deque<StoredFragment> store_ GUARDED_BY(mu_);
  size_t store_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ GUARDED_BY(mu_) = 0;
  bool open_fragment_ GUARDED_BY(mu_) = false;  // store_.back() is open
  bool skip_until_key_ GUARDED_BY(mu_) =
      false;  // a frame was dropped: the rest of its GOP is useless
  bool have_offset_ GUARDED_BY(mu_) = false;
  int64_t pts_offset_us_ GUARDED_BY(mu_) =
      0;  // added to every PTS: relative timestamps made absolute
  int64_t last_pts_ms_ GUARDED_BY(mu_) = -1;
  StreamStats stats_ GUARDED_BY(mu_);
  std::vector<Event> events_ GUARDED_BY(mu_);
  Status failure_ GUARDED_BY(mu_);           // non-OK: the stream failed for good
  bool ending_ GUARDED_BY(mu_) = false;      // Stop: no more frames; end the body when all is sent
  bool shutdown_ GUARDED_BY(mu_) = false;    // the upload thread must exit
  bool data_ready_ GUARDED_BY(mu_) = false;  // PutFrame appended bytes since the reader last paused
  bool pressure_reported_ GUARDED_BY(mu_) = false;
  int64_t last_latency_report_us_ GUARDED_BY(mu_) = 0;

  // Upload cursor: header bytes first, then fragments by seq.
  mkv::Bytes conn_header_ GUARDED_BY(mu_);
  size_t header_off_ GUARDED_BY(mu_) = 0;
  uint64_t send_seq_ GUARDED_BY(mu_) = 0;
  size_t send_off_ GUARDED_BY(mu_) = 0;
  bool transfer_active_ GUARDED_BY(mu_) = false;
  bool reader_paused_ GUARDED_BY(mu_) = false;

  // Upload thread only (set before it starts).
  std::string data_endpoint_;      // PutMedia and ListFragments go here
  bool resolve_endpoint_ = false;  // the last attempt failed: GetDataEndpoint before the next
  CurlMulti multi_;
  CurlEasy easy_;
  CurlSlist easy_headers_;
  AckStreamParser ack_parser_;
  std::string error_body_;
  std::string error_type_;  // x-amzn-ErrorType of a refused PutMedia
  long http_status_ = 0;
  bool in_doubt_ = false;             // a connection was lost with fragments maybe committed
  Status doubt_refusal_;              // ListFragments refused for good: not asked again
  bool unverified_reported_ = false;  // OnUnverifiedResend was queued
  int attempts_ = 0;                  // failed connections since the last PERSISTED
  int64_t retry_at_us_ = 0;           // monotonic: no new connection before this
  int64_t last_ack_us_ = 0;           // monotonic: staleness
  bool stale_ = false;
  std::atomic<curl_socket_t> socket_{CURL_SOCKET_BAD};  // the PutMedia connection's
  std::mt19937_64 rng_;
  std::thread thread_;
};

}  // namespace streamarc::producer
