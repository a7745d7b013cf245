// Private to the HTTP front (server/http_server*.cc, http2_conn.cc): the state of one connection
// and of the request it is serving, and the thread-safe ResponseWriter that streaming handlers
// write through.
#pragma once

#include <libwebsockets.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "server/http.h"

namespace streamarc::server {

// Steady-clock microseconds: every deadline of the HTTP front.
inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Tasks posted from other threads to the service thread, and timers armed on it. Shared with
// every writer, so a writer that outlives the server posts into a closed queue harmlessly.
class ServiceQueue {
 public:
  void Post(std::function<void()> task);
  // Thread-safe: `task` runs on the service thread after about `delay_us`, on a
  // libwebsockets timer (lws_sul_schedule is not thread-safe, so the timer is armed there).
  void PostAfter(int64_t delay_us, std::function<void()> task);
  // Service thread: runs what was posted.
  void Drain();
  void Open(lws_context* ctx);
  // Once the service thread has stopped for good, before the context is destroyed: drops
  // the queued tasks and the pending timers, unrun.
  void Close();

 private:
  // Standard layout, so lws_container_of finds it from the `sul` lws hands back.
  struct Timer {
    lws_sorted_usec_list_t sul;
    ServiceQueue* queue;
  };
  struct Pending {
    std::unique_ptr<Timer> timer;
    std::function<void()> task;
  };
  static void OnTimer(lws_sorted_usec_list_t* sul) noexcept;
  void Arm(int64_t delay_us, std::function<void()> task);

  Mutex mu_;
  lws_context* ctx_ GUARDED_BY(mu_) = nullptr;  // null once closed
  std::vector<std::function<void()>> tasks_ GUARDED_BY(mu_);
  // Service thread (and Close, after it): the armed timers, owned here until they fire.
  std::unordered_map<Timer*, Pending> timers_;
};

enum class Phase { kReadingBody, kHandling, kStreaming, kResponding, kDone };

// One piece of a response waiting for the socket: owned bytes, or bytes shared with other
// connections (a live fragment many readers receive). `counted` is what the piece adds to
// the writer's queued_bytes (the payload; chunk framing is not counted).
struct OutPiece {
  std::string owned;
  std::shared_ptr<const std::string> shared;
  size_t counted = 0;
  std::string_view view() const { return shared ? std::string_view(*shared) : owned; }
};

class Writer;
struct Conn;
class H2Conn;

// One request on a connection, from its head to the last byte of its response. Service thread.
struct Session {
  uint64_t id = 0;
  lws* wsi = nullptr;
  Conn* conn = nullptr;  // the connection it arrived on (outlives it)
  Phase phase = Phase::kReadingBody;
  HttpRequest request;
  BufferedHandler buffered;
  std::unique_ptr<StreamingHandler> streaming;
  std::shared_ptr<Writer> writer;
  // Request body
  bool body_chunked = false;    // framed by the handler; the connection closes after it
  uint64_t body_remaining = 0;  // Content-Length bytes still to come
  bool body_done = false;       // the whole request has arrived
  bool reading_paused = false;  // the streaming handler asked for a pause (back-pressure)
  bool keep_alive = true;       // the client allows another request on this connection
  int64_t body_since_us = 0;    // a buffered body's rate deadline counts from here
  uint64_t body_received = 0;   // its bytes so far
  int64_t body_rx_us = 0;       // a streaming body's bytes last arrived (its idle deadline)
  // Response
  std::string interim;  // "100 Continue", written before the response
  bool response_started = false;
  bool headers_sent = false;
  bool chunked = false;
  bool final = false;        // nothing more will be queued
  bool close_after = false;  // close once the queue drains
  int status = 200;
  std::string content_type;
  std::vector<Header> headers;
  uint64_t content_length = 0;
  std::deque<OutPiece> out;
  size_t out_offset = 0;
  // HTTP/2 (server/http2_conn.h): the request's stream on conn->h2, 0 on HTTP/1.1.
  int32_t stream_id = 0;
  bool ended = false;             // the response is complete (End, or a whole response)
  bool deferred = false;          // nghttp2 waits for `out` to fill (resume it then)
  bool body_end_pending = false;  // END_STREAM came while `pending_in` waits
  std::string pending_in;         // DATA held (unacknowledged) while the handler pauses its body
  bool answered = false;          // the response's END_STREAM is sent: more body is dropped
  uint64_t discarded = 0;         // body bytes dropped since
  int64_t send_progress_us = 0;   // the stream's output last moved, or began to wait
  int64_t body_progress_us = 0;   // a streaming body last received bytes
};

// One TCP connection. Requests on it are served one at a time, in order. Service thread.
struct Conn {
  lws* wsi = nullptr;
  std::string peer;
  std::string in;           // received, not yet framed: the current body's rest, pipelined requests
  size_t in_off = 0;        // bytes of `in` already consumed
  size_t head_scanned = 0;  // bytes of `in` (from in_off) known to hold no complete head
  Session* cur = nullptr;
  bool closing = false;    // a refused head: nothing more is read
  bool reading = true;     // rx flow control state last set
  bool first_read = true;  // nothing received yet (on a TLS port: the handshake is under way)
  // Deadlines (steady-clock microseconds; see HttpServerOptions).
  int64_t head_since_us = 0;     // the wait for the next head began (while cur is null)
  int64_t send_progress_us = 0;  // the socket last took bytes, or output began to wait
  int64_t linger_until_us = 0;   // lingering close: input is dropped until then (0: not)
  int64_t timer_at_us = 0;       // when the connection's timer fires (0: not armed)
  // HTTP/1.1: the connection's place in the server's deadlines (deadline_at_us 0: none).
  // HTTP/2 connections arm their own lws timer (timer_at_us) instead.
  int64_t deadline_at_us = 0;
  std::multimap<int64_t, Conn*>::iterator deadline_it;
  // Connection caps: counted in the totals; in the lists of connections that may be shed to
  // make room (tier 0: waiting for a head, or lingering; tier 1: reading a buffered body).
  bool counted = false;
  // The open-connection gauge of what it is doing now (idle, a request, a streaming route);
  // null before admission and after close. See HttpServer::Connections.
  std::atomic<int64_t>* kind = nullptr;
  int shed_tier = -1;                       // -1: in no list
  std::list<Conn*>::iterator shed_it;       // in the server's list of its tier
  std::list<Conn*>::iterator addr_shed_it;  // in its address's list of its tier
  // HTTP/2 (ALPN "h2"): the connection's frames go through it; `cur` stays null.
  std::unique_ptr<H2Conn> h2;
};

// What a Writer needs from the server, on the service thread.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual Session* Find(uint64_t id) = 0;
  virtual void StartResponse(Session& s, int status, const std::string& type,
                             const std::vector<Header>& headers, bool chunked, uint64_t length) = 0;
  virtual void SetResponse(Session& s, const HttpResponse& r) = 0;
  virtual void QueueChunk(Session& s, OutPiece piece) = 0;
  virtual void QueueEnd(Session& s) = 0;
  virtual void CloseAfterWrites(Session& s) = 0;
  virtual void SetReading(Session& s, bool enabled) = 0;
};

// The thread-safe writer handed to streaming handlers: every call becomes a task on the
// service thread, addressed by session id (the session may be gone by then).
class Writer final : public ResponseWriter, public std::enable_shared_from_this<Writer> {
 public:
  // `host` is used only by tasks that run on the service thread while `q` is open.
  Writer(std::shared_ptr<ServiceQueue> q, SessionHost* host, uint64_t id)
      : q_(std::move(q)), host_(host), id_(id) {}
  void Begin(int status, std::string type, std::vector<Header> headers) override;
  void Respond(HttpResponse r) override;
  void Write(std::string bytes) override;
  void WriteShared(std::shared_ptr<const std::string> bytes) override;
  void NotifyWhenDrained(size_t bytes, std::function<void()> task) override;
  void End() override;
  void Close() override;
  void SetReading(bool enabled) override;
  size_t queued_bytes() const override { return queued_.load(); }
  void Post(std::function<void()> task) override;
  void PostAfter(int64_t delay_us, std::function<void()> task) override;
  // Service thread: the connection is gone; a pending drain task may hold its handler.
  void Closed() { drain_task_ = nullptr; }
  // Service thread: `n` counted bytes reached the socket.
  void Written(size_t n);

 private:
  // The task keeps this writer alive until it has run.
  void PostToSession(std::function<void(Session&)> fn);
  std::shared_ptr<ServiceQueue> q_;
  SessionHost* host_;
  uint64_t id_;
  std::atomic<size_t> queued_{0};
  // Service thread only.
  size_t drain_at_ = 0;
  std::function<void()> drain_task_;
};

}  // namespace streamarc::server
