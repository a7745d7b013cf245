// The HTTP front: libwebsockets on one service thread that never blocks. Buffered requests
// run their handler on the worker pool; streaming requests get their body bytes on the
// service thread and answer through a thread-safe ResponseWriter.
#pragma once

#include <memory>
#include <string>

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
  // A request whose body stalls this long is dropped (libwebsockets' timeout_secs).
  int body_timeout_seconds = 30;
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

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamarc::server
