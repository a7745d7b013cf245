// Private to the HTTP front: HTTP/2 (RFC 9113) on a TLS connection whose ALPN chose "h2",
// served by an nghttp2 server session over the raw socket that libwebsockets hands us (its own
// HTTP/2 role is kept out of the way: see server/tls.h).
//
// Every stream is one request, a Session as on HTTP/1.1, run through the same routes and
// handlers (H2Host is the server). The connection only frames: request heads become
// HttpRequests, DATA becomes body bytes, and the responses the handlers make become HEADERS and
// DATA (a data provider that defers while the Session's queue is empty and is resumed when the
// writer adds to it). Flow control holds back a fast sender: a stream's DATA is acknowledged
// (WINDOW_UPDATE) only as its handler takes it, and a streaming handler that pauses its body
// (ResponseWriter::SetReading) leaves it unacknowledged. Everything runs on the service
// thread and never blocks.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "server/http.h"
#include "server/http_conn.h"

namespace streamarc::server {

struct H2Options {
  uint32_t max_concurrent_streams = 100;
  size_t max_head_bytes = 32 << 10;  // the header list, counted as RFC 9113 6.5.2 does
  size_t max_headers = 128;
  size_t max_buffered_body = 1 << 20;
  int64_t idle_timeout_ms = 30'000;  // no stream open: the connection ends (GOAWAY)
  int64_t body_timeout_ms = 30'000;  // a streaming body that stalls: its stream is reset
  uint64_t min_body_bytes_per_second = 1024;
  int64_t send_timeout_ms = 60'000;  // a stream (or the socket) that takes no byte: reset
};

// What an HTTP/2 connection needs from the server. Service thread.
class H2Host {
 public:
  virtual ~H2Host() = default;
  // A new request on `c`: a Session registered under a new id (its `stream_id` is set by the
  // caller).
  virtual Session& OpenStream(Conn& c) = 0;
  // The request's head has arrived (`s.request` filled; `s.body_done` when it has no body).
  // `refuse_status` not 0: answer that error (with `refuse_message`) instead of routing it.
  virtual void BeginStream(Session& s, uint64_t content_length, int refuse_status,
                           const std::string& refuse_message) = 0;
  virtual void StreamBody(Session& s, std::string_view bytes) = 0;
  virtual void StreamBodyEnd(Session& s) = 0;
  // The stream is gone: the Session is unregistered and deleted.
  virtual void CloseStream(Session& s) = 0;
  // Counts an error answer (by its x-amzn-errortype header).
  virtual void CountErrorAnswer(const std::vector<Header>& headers) = 0;
  // An answer the HTTP layer makes itself, in KVS's error shape.
  virtual HttpResponse ErrorAnswer(int status, std::string message) = 0;
};

// One HTTP/2 connection. Service thread only; owned by its Conn.
class H2Conn {
 public:
  // Queues the server's SETTINGS. Null if nghttp2 cannot make a session.
  static std::unique_ptr<H2Conn> New(Conn& c, H2Host& host, const H2Options& options, Logger& log);
  ~H2Conn();
  H2Conn(const H2Conn&) = delete;
  H2Conn& operator=(const H2Conn&) = delete;

  // Bytes read from the socket. False: close the connection now.
  bool Receive(std::string_view bytes);
  // The socket can take bytes. False: close the connection now.
  bool OnWritable();
  // The connection's timer fired. False: close the connection now.
  bool OnTimer();
  // The server stops: GOAWAY, no new stream; the open ones may finish.
  void Shutdown();
  // The socket is gone: every stream is closed (CloseStream).
  void Closed();
  // Bytes wait to be written (for the shutdown drain).
  bool Pending() const;
  size_t streams() const { return streams_.size(); }

  // The response side of a stream (the server's SessionHost calls, for `s.stream_id` != 0).
  void StartResponse(Session& s, int status, const std::string& type,
                     const std::vector<Header>& headers, bool chunked, uint64_t length);
  void SetResponse(Session& s, const HttpResponse& r);
  void QueueChunk(Session& s, OutPiece piece);
  void QueueEnd(Session& s);
  void CloseAfterWrites(Session& s);
  void SetReading(Session& s, bool enabled);

 private:
  H2Conn(Conn& c, H2Host& host, const H2Options& options, Logger& log);
  struct SessionDel {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };

  // nghttp2's callbacks (noexcept trampolines: `user` is the H2Conn).
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept;
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user) noexcept;
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept;
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user) noexcept;
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user) noexcept;
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user) noexcept;
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* user) noexcept;

  Session* Find(int32_t stream_id) const;
  void EndOfHead(Session& s);
  void EndOfBody(Session& s);
  void Feed(Session& s, std::string_view bytes);
  void Submit(Session& s);
  void Resume(Session& s);
  void Reset(Session& s, uint32_t error_code);
  // Asks for a writable callback when nghttp2 has something to send, and re-arms the timer.
  void Kick();
  int64_t NextDeadline() const;
  int64_t StreamDeadline(const Session& s) const;

  Conn& c_;
  H2Host& host_;
  const H2Options opt_;
  Logger& log_;
  std::map<int32_t, Session*> streams_;
  // Per stream, while its head arrives: the header list's size, :authority, what to refuse.
  struct HeadState {
    size_t bytes = 0;
    size_t count = 0;
    std::string target;
    std::string authority;
    uint64_t content_length = 0;
    int refuse_status = 0;
    std::string refuse_message;
  };
  std::map<int32_t, HeadState> heads_;
  int64_t idle_since_us_ = 0;    // no stream open since then
  bool output_waiting_ = false;  // bytes wait for the socket (the send timeout runs)
  bool going_away_ = false;      // GOAWAY queued: the connection ends once it is sent
  bool closed_ = false;          // the socket is gone: callbacks do nothing
  // Last: destroyed first, while the state its callbacks could touch still exists.
  std::unique_ptr<nghttp2_session, SessionDel> session_;
};

}  // namespace streamarc::server
