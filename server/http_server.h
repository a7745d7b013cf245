// The HTTP front: libwebsockets on one service thread that never blocks. Buffered requests
// run their handler on the worker pool; streaming requests get their body bytes on the
// service thread and answer through a thread-safe ResponseWriter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/status.h"
#include "server/http.h"
#include "server/kvs_error.h"
#include "server/worker_pool.h"

namespace streamarc::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port; HttpServer::port() tells which
  size_t max_buffered_body = 1 << 20;  // larger buffered bodies get 413
  // A streaming request body (PutMedia) that stalls this long is dropped; for a buffered
  // body, the grace period of its transfer-rate deadline (below).
  int body_timeout_seconds = 30;
  // The request line and headers together; larger heads get 431 (a target over 16 KiB, 414).
  // SigV4 with an STS session token needs about 3 KiB.
  size_t max_head_bytes = 32 << 10;
  // nginx's client_header_timeout: from accept, or from the end of the previous response on a
  // kept-alive connection, the whole next head must arrive within this. A partial head gets
  // 408; an idle connection is closed quietly.
  int64_t head_timeout_ms = 30'000;
  // Apache mod_reqtimeout's MinRate for buffered bodies: one that has not arrived within
  // body_timeout_seconds plus one second per `min_body_bytes_per_second` received gets 408,
  // however often its bytes trickle in. Streaming bodies (PutMedia) are not held to a rate.
  uint64_t min_body_bytes_per_second = 1024;
  // nginx's send_timeout: a response whose client takes no byte for this long is dropped
  // (a GetMedia reader that stopped reading gives back its slot).
  int64_t send_timeout_ms = 60'000;
  // After an error answer that ends the connection, its unread input is read and dropped for
  // up to this long (nginx's lingering close), so that closing with bytes unread (a reset)
  // does not destroy the answer before the client has read it.
  int64_t linger_ms = 2'000;
  // Open connections in all, and from one address. At a cap, one is closed to make room: the
  // one that has waited longest for a request head, else the one reading a buffered body the
  // longest (never a streaming request or a response); when there is none, the new connection
  // gets 503 (on a TLS port it is closed before its handshake). The total is further held to
  // half the open-file limit (the archive needs the rest).
  size_t max_connections = 10'000;
  size_t max_connections_per_address = 1'000;
  // TLS (server/tls.h): a PEM certificate chain and its private key, both or neither. With
  // them the port speaks HTTPS only (HTTP/2 or HTTP/1.1, by ALPN); plain HTTP gets 400.
  std::string tls_cert_file;
  std::string tls_key_file;
  // HTTP/2 on the TLS port (ALPN "h2"): streams one connection may have open at once.
  uint32_t h2_max_concurrent_streams = 100;
  // x-amzn-RequestId for the answers the HTTP layer makes itself (unset: none). Thread-safe.
  std::function<std::string()> request_id;
  // Called with the x-amzn-ErrorType of every error answer as it starts (whoever made it:
  // a handler, the middleware, this layer), on the service thread; it must not block.
  // Unset: none.
  std::function<void(std::string_view error_type)> on_error;
  // Sent when the worker pool's queue is full.
  // Busy is the same everywhere: KVS's ServiceUnavailable (503), which clients retry.
  HttpResponse busy_response = KvsErrorResponse(KvsErrorFromStatus(Unavailable(kBusyMessage)));
};

class HttpServer {
 public:
  // `pool` and `log` outlive the server.
  HttpServer(const HttpServerOptions& options, WorkerPool& pool, Logger& log);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes match the method and the exact path. Set them all before Run.
  void Route(std::string method, std::string path, BufferedHandler handler);
  void RouteStreaming(std::string method, std::string path, StreamingFactory factory);
  // Every path beginning with `prefix` (checked after exact routes).
  void RoutePrefix(std::string method, std::string prefix, BufferedHandler handler);
  // Answers requests that match no route (default: 404).
  void SetFallback(BufferedHandler handler);

  // Creates the libwebsockets context and starts listening.
  Status Start();
  // Services connections until Stop; call from one thread, after Start.
  void Run();
  // Thread-safe and async: Run returns soon after.
  void Stop();
  // Thread-safe: runs `task` on the service thread (dropped once the server stops).
  void Post(std::function<void()> task);
  // Runs `hook` on the service thread once Stop is seen, before Run returns: how endless
  // responses (GetMedia) end cleanly at shutdown. Run then keeps writing for up to
  // `drain_ms` until every queued response byte is on its socket. Set before Run.
  void OnShutdown(std::function<void()> hook, int drain_ms = 500);
  // The port listened on (valid after Start).
  int port() const;
  // Open connections, counted against max_connections. Thread-safe: for tests and metrics.
  size_t connections() const;

  // Open connections by what they are doing: waiting for a request (or lingering after the
  // last answer), serving a buffered request, serving a streaming route (by its path), or
  // speaking HTTP/2.
  struct ConnectionCounts {
    int64_t idle = 0;
    int64_t request = 0;
    int64_t h2 = 0;                            // HTTP/2 connections (any number of requests each)
    std::map<std::string, int64_t> streaming;  // by route path, e.g. "/putMedia"
  };
  // Thread-safe (atomics, no lock): for metrics.
  ConnectionCounts connections_by_kind() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamarc::server
