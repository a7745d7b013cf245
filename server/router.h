// Where handlers are registered. A Router wraps every handler it registers on the HttpServer
// so that its middleware chain runs first, for buffered and streaming routes alike: the one
// place every request passes. The daemon's chain (daemon.cc): request id, then the request
// guard (Host, Origin, CORS: request_guard.h), then authentication once it exists.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/http.h"
#include "server/http_server.h"
#include "server/kvs_error.h"

namespace streamarc::server {

struct Middleware {
  // Answers a request before its handler (a refusal, a CORS preflight), or nullopt to let
  // the handler run. Called on the service thread for streaming routes and on a worker for
  // buffered ones: it must be thread-safe and must not block.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> check;
  // Headers added to the response, whoever made it: the handler, or a middleware's `check`
  // (for a streaming route, to what it Begins or Responds). A header the response already
  // has is not added again. Same threading as `check`. May be empty.
  std::function<std::vector<Header>(const HttpRequest&)> response_headers;
};

// Adds x-amzn-RequestId, unique per request, to every response (KVS sends it on all of
// them; clients log it). `ids` outlives the routes.
Middleware RequestIdMiddleware(RequestIds& ids);

class Router {
 public:
  // No middleware: handlers see every request (tests and benchmarks of one API).
  explicit Router(HttpServer& http);
  // Also answers requests that match no route, after the middleware (so an unknown path
  // and a CORS preflight pass it too). `http` outlives the registered handlers' use; the
  // router itself may go away once routes are registered. Checks run in chain order and
  // the first answer wins; every middleware's headers go on every response.
  Router(HttpServer& http, std::vector<Middleware> chain);
  Router(HttpServer& http, Middleware middleware);

  // As HttpServer's, with the middleware in front.
  void Route(std::string method, std::string path, BufferedHandler handler);
  void RouteStreaming(std::string method, std::string path, StreamingFactory factory);
  // A streamed response to a small request body (GetMedia's JSON): the body (Content-Length,
  // at most `max_body` bytes) is collected first, so the middleware sees the whole request
  // (a signature covers the body); then `factory` gets it in `request.body`. The handler it
  // returns is told OnClose only. Every call is on the service thread.
  void RouteWithBody(std::string method, std::string path, size_t max_body,
                     StreamingFactory factory);
  void RoutePrefix(std::string method, std::string prefix, BufferedHandler handler);
  void SetFallback(BufferedHandler handler);
  // HttpServer::OnShutdown (not a route: no middleware).
  void OnShutdown(std::function<void()> hook);

 private:
  BufferedHandler Wrap(BufferedHandler handler) const;
  StreamingFactory Wrap(StreamingFactory factory) const;
  StreamingFactory WrapCollecting(size_t max_body, StreamingFactory factory) const;

  HttpServer& http_;
  std::shared_ptr<const std::vector<Middleware>> chain_;  // null: none
};

}  // namespace streamarc::server
