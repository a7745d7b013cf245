// Private to the HTTP front (server/http_server*.cc): the server's state on its service thread.
// Its methods are defined in three files: http_server.cc (the context, the lws callback and
// the requests), http_respond.cc (HTTP/1.1 responses and the end of a request) and
// http_limits.cc (deadlines and connection caps).
#pragma once

#include <libwebsockets.h>
#include <sys/resource.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/http2_conn.h"
#include "server/http_conn.h"
#include "server/http_server.h"
#include "server/http_wire.h"

namespace streamarc::server {

inline constexpr size_t kWriteChunk = 16 * 1024;   // bytes per lws_write: one per writable callback
inline constexpr unsigned kReadChunk = 64 * 1024;  // bytes per socket read
// Input kept while a response is pending (pipelined requests); past it we stop reading.
inline constexpr size_t kMaxPendingInput = 1 << 20;
inline constexpr char kProtocol[] = "streamarc-http";
// A refused body up to this size is read and dropped to keep the connection; past it, closed.
inline constexpr uint64_t kMaxDiscardedBody = 64 << 20;
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Connections that may be closed to make room: 0, waiting for a head; 1, reading a buffered body.
inline constexpr int kShedTiers = 2;
// Deadlines handled per timer pass, and the pause for socket events before the next pass.
inline constexpr int kDeadlinesPerPass = 64;
inline constexpr int64_t kDeadlinesPause = 1000;  // µs

// Raises the soft open-file limit to the hard one (Debian starts services at 1024) and
// returns it: connections are capped from it.
rlim_t RaiseOpenFileLimit();

class HttpServer::Impl final : public SessionHost, public H2Host {
 public:
  Impl(const HttpServerOptions& o, WorkerPool& pool, Logger& log)
      : opt_(o), pool_(pool), log_(log), queue_(std::make_shared<ServiceQueue>()) {}

  ~Impl() override {
    queue_->Close();
    if (ctx_) {
      lws_sul_cancel(&deadline_timer_.sul);
      lws_context_destroy(ctx_);
    }
    if (loop_) {
      // lws closes its handles on the loop as it runs: run it until none is left.
      uv_run(loop_.get(), UV_RUN_DEFAULT);
      uv_loop_close(loop_.get());
    }
  }

  Status Start();
  static void AbandonLoop(std::unique_ptr<uv_loop_t> loop);
  void Run();
  void Stop() {
    stop_.store(true);
    if (ctx_) lws_cancel_service(ctx_);
  }

  Session* Find(uint64_t id) override {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  void StartResponse(Session& s, int status, const std::string& type,
                     const std::vector<Header>& headers, bool chunked, uint64_t length) override;
  void CountError(const std::vector<Header>& headers) const;
  // Moves the connection to another gauge of HttpServer::ConnectionCounts (null: none).
  static void SetKind(Conn& c, std::atomic<int64_t>* kind) {
    if (c.kind == kind) return;
    if (c.kind) c.kind->fetch_sub(1, std::memory_order_relaxed);
    c.kind = kind;
    if (kind) kind->fetch_add(1, std::memory_order_relaxed);
  }

  void SetResponse(Session& s, const HttpResponse& r) override;
  void QueueChunk(Session& s, OutPiece piece) override;
  void QueueEnd(Session& s) override;
  void CloseAfterWrites(Session& s) override;
  void SetReading(Session& s, bool enabled) override;
  // Writes one piece of the current response. Returns -1 to close the connection.
  int OnWritable(Conn& c);
  // The current request is answered and read: the connection waits for the next one.
  void FinishRequest(Conn& c);
  // Ends the connection after its last answer. When the client may still be sending (an
  // error answer, a body not read), what it sends is read and dropped for a while first:
  // closing with bytes unread makes the kernel send a reset, which can destroy the answer in
  // the client's buffer before the client has read it (nginx's lingering close).
  int CloseOrLinger(Conn& c);
  static bool WriteRaw(lws* wsi, std::string_view bytes);
  // True while response bytes wait for the socket: what the send timeout watches.
  static bool OutputWaiting(const Conn& c);
  // Before output is queued: a wait for the socket that begins now is timed from now.
  static void BeforeOutput(Conn& c);
  int64_t BodyDeadline(const Session& s) const;
  // The earliest deadline that applies to the connection now; kNever when none does (a
  // streaming body, a response being made or waiting for data to send).
  int64_t NextDeadline(const Conn& c) const;
  // Arms the connection's timer for its next deadline unless it fires earlier anyway. When
  // it fires, OnTimer looks again: deadlines only move later as bytes flow, so arming once per
  // state change is enough, not once per read or write.
  //
  // The timers of all HTTP/1.1 connections are one ordered map behind one lws timer: lws
  // keeps its timers in a sorted list, so a timer per connection (or lws_set_timeout per
  // read, as this did for streaming bodies) made every arming walk all the others' timers,
  // O(connections) each.
  void Schedule(Conn& c);
  void Disarm(Conn& c);
  // Keeps the lws timer at the earliest deadline, or `min_delay_us` from now if that is later.
  void ArmDeadlines(int64_t min_delay_us = 1);
  static void OnDeadlines(lws_sorted_usec_list_t* sul) noexcept;
  // The connection's timer fired. Returns -1 to close the connection.
  int OnTimer(Conn& c);
  size_t OpenFrom(const std::string& peer) const;
  // The connection to close to make room: the one that has waited longest for a request
  // head, else the one that has been reading a buffered body longest; never a streaming
  // request (a producer) or one whose answer is being made or sent. Null: none.
  static Conn* ToShed(std::list<Conn*> (&tiers)[kShedTiers]);
  // Counts a new connection, first closing one (ToShed) when a cap is reached, as nginx
  // reuses idle keep-alive connections when it runs short: a flood of idle or slow
  // connections pushes out its own oldest. False: refuse it (every other one is busy).
  bool Admit(Conn& c);
  void Release(Conn& c);
  // The connection waits for a request head, from now, and may be shed to make room.
  void StartWaiting(Conn& c);
  void MakeSheddable(Conn& c, int tier);
  void Unlist(Conn& c);
  // Closes a connection to make room (ToShed's choice); it no longer counts.
  void Shed(Conn& c);
  // A connection over the caps gets 503 and is closed. Its socket's send buffer is empty, so
  // one non-blocking send takes the answer (and if it cannot, the client learns as much from
  // the close); it is not read first, so that a flood costs us an accept and a close each. On
  // a TLS port it is closed before its handshake, unanswered (a handshake costs more).
  void RefuseConnection(lws* wsi);
  // Frames what is in the connection's input: the body of the current request, then, once
  // its response is complete, the next request's head.
  void Pump(Conn& c);
  // A head arriving in small pieces is parsed only once it may be complete (its blank line, a
  // bare LF, or more than the limit has arrived): parsing it whole again for every piece, a
  // byte at a time, would cost the square of its size.
  bool HeadMayBeReady(Conn& c, std::string_view in);
  // Reads stop while the handler pauses its body or too much waits behind a response.
  void UpdateReading(Conn& c);
  void RefuseHead(Conn& c, int status, const std::string& message);
  // An answer the HTTP layer makes itself: KVS's error shape, with a request id as every
  // answer through the middleware has.
  HttpResponse LayerError(int status, std::string message) const {
    return WithRequestId(HttpLayerErrorResponse(status, std::move(message)));
  }

  HttpResponse WithRequestId(HttpResponse r) const {
    if (opt_.request_id) r.headers.push_back({"x-amzn-requestid", opt_.request_id()});
    return r;
  }

  Session& NewSession(Conn& c);
  void BeginRequest(Conn& c, RequestHead head);
  BufferedHandler FindBuffered(const HttpRequest& r);
  // A streaming request receives its body whatever its response is doing.
  void OnBody(Session& s, std::string_view bytes);
  void OnBodyComplete(Session& s);
  void Dispatch(Session& s);
  // Ends the connection's current request (its response is complete, or the socket is gone).
  void EndSession(Conn& c);

  // ---- HTTP/2 (http2_conn.h; defined in http_server.cc) ----
  // The connection's ALPN chose "h2": its bytes go to an nghttp2 session from now on.
  bool StartH2(Conn& c);
  Session& OpenStream(Conn& c) override;
  void BeginStream(Session& s, uint64_t content_length, int refuse_status,
                   const std::string& refuse_message) override;
  void StreamBody(Session& s, std::string_view bytes) override;
  void StreamBodyEnd(Session& s) override;
  void CloseStream(Session& s) override;
  void CountErrorAnswer(const std::vector<Header>& headers) override { CountError(headers); }
  HttpResponse ErrorAnswer(int status, std::string message) override {
    return LayerError(status, std::move(message));
  }

  static int Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                      size_t len) noexcept;

  const HttpServerOptions opt_;
  WorkerPool& pool_;
  Logger& log_;
  std::shared_ptr<ServiceQueue> queue_;
  HeadLimits head_limits_;
  // Connection caps: what is open, in all and per address, and who waits for a head (oldest
  // first: the first shed when a cap is reached).
  struct Address {
    size_t open = 0;
    std::list<Conn*> sheddable[kShedTiers];
  };
  size_t max_connections_ = 0;  // opt_.max_connections within the open-file limit
  std::atomic<size_t> open_{0};
  // Open connections by kind (HttpServer::ConnectionCounts); a streaming route's gauge is
  // made when it is registered, before Run, and never removed.
  std::atomic<int64_t> idle_{0};
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> h2_{0};  // HTTP/2 connections, whatever their streams do
  H2Options h2_options_;        // set in Start
  std::unordered_set<Conn*> h2_conns_;
  std::map<std::string, std::unique_ptr<std::atomic<int64_t>>> streaming_open_;
  std::unordered_map<std::string, Address> addresses_;
  std::list<Conn*> sheddable_[kShedTiers];  // oldest first
  lws_protocols protocols_[2];
  std::unique_ptr<uv_loop_t> loop_;  // the service loop (see Start); outlives the context
  lws_context* ctx_ = nullptr;
  // Every HTTP/1.1 connection's next deadline, behind one lws timer (see Schedule).
  std::multimap<int64_t, Conn*> deadlines_;
  struct DeadlineTimer {  // standard layout, for lws_container_of
    lws_sorted_usec_list_t sul;
    Impl* self;
  } deadline_timer_{{}, this};
  int64_t deadline_sul_at_ = 0;  // when deadline_timer_ fires (0: not armed)
  int port_ = 0;
  bool tls_ = false;  // the port speaks TLS (set in Start)
  std::atomic<bool> stop_{false};
  std::vector<std::function<void()>> shutdown_hooks_;
  int drain_ms_ = 0;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Session*> sessions_;
  std::map<std::pair<std::string, std::string>, BufferedHandler> buffered_;
  std::map<std::pair<std::string, std::string>, StreamingFactory> streaming_;
  std::vector<std::pair<std::pair<std::string, std::string>, BufferedHandler>> prefixes_;
  BufferedHandler fallback_;
};

}  // namespace streamarc::server
