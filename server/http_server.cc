// How we drive libwebsockets, and why not through its HTTP role.
//
// libwebsockets 4.1.6 (Debian 12) keeps an HTTP/1.1 connection in its body state from the end
// of a request body until the response calls lws_http_transaction_completed. Our responses are
// made on the worker pool, so that state lasts a while; when the next pipelined request (or any
// byte of it) is already in lws's read buffer then, lws re-feeds it on every service pass, each
// time raising HTTP_BODY_COMPLETION and consuming nothing, inside one service call: the service
// thread spins at 100 % and never polls again (issue 10: one packet holding a GET and a POST, or
// keep-alive clients such as botocore after a few thousand calls). Stopping the reads with rx
// flow control does not help: in 4.1.6 an rx-flow-controlled HTTP connection also gets no
// WRITEABLE callback, so its response could never be sent.
//
// So lws gives us raw sockets (its raw-skt role: reads, writes, flow control and partial writes
// that work independently) and we frame HTTP/1.1 ourselves (server/http_wire.h): each request
// is read, answered, and only then is the next one on the connection parsed from our own input
// buffer. Pipelined requests are answered in order; a client that floods us while its response
// is pending is simply not read until it is done.
#include "server/http_server.h"

#include <dlfcn.h>
#include <libwebsockets.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "server/http_server_impl.h"
#include "server/tls.h"

namespace streamarc::server {

namespace {

constexpr char kUvPlugin[] = "libwebsockets-evlib_uv.so";

}  // namespace

Status HttpServer::Impl::Start() {
  // Per-session data is one pointer: the connection it belongs to.
  // NOLINTNEXTLINE(bugprone-sizeof-expression)
  protocols_[0] = {kProtocol, &Impl::Callback, sizeof(Conn*), kReadChunk, 0, nullptr, 0};
  protocols_[1] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = opt_.port;
  info.iface = opt_.host.c_str();
  info.protocols = protocols_;
  info.user = this;
  // Every accepted socket is a raw socket bound to our protocol (see the top of the file).
  info.options |= LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
  info.listen_accept_role = "raw-skt";
  info.listen_accept_protocol = kProtocol;
  info.pt_serv_buf_size = kReadChunk;  // lws reads at most this much per pass
  head_limits_.max_head_bytes = opt_.max_head_bytes;
  // libwebsockets 4.1.6 meets EMFILE from accept by returning with the listening socket still
  // readable, so its service loop spins at 100 % (later versions pause accepting). So sockets
  // never get there: connections are held to half the open-file limit, and the archive's
  // files and SQLite have the other half. (lws's own fd_limit_per_thread would stop accepts
  // cleanly too, but below the ulimit it makes every fd lookup a linear search.)
  const rlim_t files = RaiseOpenFileLimit();
  max_connections_ = std::max<size_t>(1, std::min<size_t>(opt_.max_connections, files / 2));
  if (max_connections_ < opt_.max_connections) {
    log_.Warn("http", "connections capped by the open-file limit",
              {{"max_connections", std::to_string(max_connections_)},
               {"open_file_limit", std::to_string(files)}});
  }
  if (opt_.host.find(':') == std::string::npos) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  if (!opt_.tls_cert_file.empty() || !opt_.tls_key_file.empty()) {
    ASSIGN_OR_RETURN(std::string cert, CheckTlsFiles(opt_.tls_cert_file, opt_.tls_key_file));
    ConfigureTls(opt_.tls_cert_file, opt_.tls_key_file, opt_.head_timeout_ms, &info);
    tls_ = true;
    h2_options_.max_concurrent_streams = opt_.h2_max_concurrent_streams;
    h2_options_.max_head_bytes = opt_.max_head_bytes;
    h2_options_.max_headers = head_limits_.max_headers;
    h2_options_.max_buffered_body = opt_.max_buffered_body;
    h2_options_.idle_timeout_ms = opt_.head_timeout_ms;
    h2_options_.body_timeout_ms = int64_t{opt_.body_timeout_seconds} * 1000;
    h2_options_.min_body_bytes_per_second = opt_.min_body_bytes_per_second;
    h2_options_.send_timeout_ms = opt_.send_timeout_ms;
    log_.Info("http", "TLS on", {{"certificate", cert}});
  }
  // The service loop is libuv's (epoll), which lws joins as a foreign loop. lws's own loop
  // polls every socket on each pass: with 10,000 connections that alone took most of the
  // service thread (poll over all of them for every event on any).
  // lws 4.1.6 loads its libuv support as a plugin: said plainly when it is not installed.
  if (void* plugin = dlopen(kUvPlugin, RTLD_LAZY)) {
    dlclose(plugin);
  } else {
    return FailedPrecondition(std::string("libwebsockets' libuv plugin is missing (Debian: ") +
                              "apt-get install libwebsockets-evlib-uv): " + dlerror());
  }
  loop_ = std::make_unique<uv_loop_t>();
  if (uv_loop_init(loop_.get()) != 0) {
    loop_.reset();
    return Internal("cannot start the libuv event loop");
  }
  void* foreign_loops[1] = {loop_.get()};
  info.options |= LWS_SERVER_OPTION_LIBUV;
  info.foreign_loops = foreign_loops;
  ctx_ = lws_create_context(&info);
  // On a foreign loop lws makes the context even when its listening vhost failed.
  lws_vhost* vh = ctx_ ? lws_get_vhost_by_name(ctx_, "default") : nullptr;
  if (!vh) {
    if (ctx_) lws_context_destroy(ctx_);
    ctx_ = nullptr;
    AbandonLoop(std::move(loop_));
    return Unavailable("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port));
  }
  port_ = lws_get_vhost_listen_port(vh);
  queue_->Open(ctx_);
  return Status::Ok();
}

// A context lws 4.1.6 failed to start, destroyed on a foreign loop, frees itself but leaves
// its handles' close callbacks on the loop, pointing at what it freed: that loop must never
// run again. It is kept (reachable, so not a leak) rather than closed; this happens at most
// once per server, at start.
void HttpServer::Impl::AbandonLoop(std::unique_ptr<uv_loop_t> loop) {
  static Mutex mu;
  static auto* abandoned = new std::vector<std::unique_ptr<uv_loop_t>>();
  MutexLock lock(mu);
  abandoned->push_back(std::move(loop));
}

void HttpServer::Impl::Run() {
  // One pass handles what is ready, waiting for it if nothing is (Stop wakes it).
  while (!stop_.load()) uv_run(loop_.get(), UV_RUN_ONCE);
  if (shutdown_hooks_.empty()) return;
  queue_->Drain();  // what was posted before the hooks run (their writes follow them)
  for (auto& hook : shutdown_hooks_) hook();
  for (Conn* c : h2_conns_) c->h2->Shutdown();  // GOAWAY: no new streams
  // A timer at the deadline wakes lws_service even when no socket has anything more.
  auto deadline_passed = std::make_shared<bool>(false);  // the timer may outlive this frame
  queue_->PostAfter(int64_t{drain_ms_} * 1000, [deadline_passed] { *deadline_passed = true; });
  auto pending = [this] {
    return std::any_of(sessions_.begin(), sessions_.end(),
                       [](const auto& s) { return !s.second->out.empty(); }) ||
           std::any_of(h2_conns_.begin(), h2_conns_.end(),
                       [](const Conn* c) { return c->h2->Pending(); });
  };
  while (!*deadline_passed) {
    uv_run(loop_.get(), UV_RUN_ONCE);
    if (!pending()) {
      queue_->Drain();  // writes posted meanwhile
      if (!pending()) break;
    }
  }
}

// Frames what is in the connection's input: the body of the current request, then, once
// its response is complete, the next request's head.
void HttpServer::Impl::Pump(Conn& c) {
  while (!c.closing) {
    std::string_view in = std::string_view(c.in).substr(c.in_off);
    if (!c.cur) {
      if (in.empty() || !HeadMayBeReady(c, in)) break;
      RequestHead head;
      HeadResult r = ParseRequestHead(in, head_limits_, &head);
      if (r.state == HeadParse::kNeedMore) break;
      if (r.state == HeadParse::kError) {
        RefuseHead(c, r.error_status, r.error_message);
        break;
      }
      c.in_off += r.consumed;
      BeginRequest(c, std::move(head));
      continue;
    }
    Session& s = *c.cur;
    if (s.body_done || s.reading_paused || in.empty()) break;
    s.body_received += std::min<uint64_t>(in.size(), s.body_remaining);
    // A chunked body is framed by its handler (PutMedia decodes it): all input is body.
    size_t n = s.body_chunked ? in.size() : std::min<uint64_t>(in.size(), s.body_remaining);
    c.in_off += n;
    if (!s.body_chunked) s.body_remaining -= n;
    OnBody(s, in.substr(0, n));
    if (!s.body_chunked && s.body_remaining == 0) {
      OnBodyComplete(s);
      if (s.phase == Phase::kDone) FinishRequest(c);  // answered early, body now dropped
    }
  }
  c.in.erase(0, c.in_off);
  c.in_off = 0;
  UpdateReading(c);
}

// A head arriving in small pieces is parsed only once it may be complete (its blank line, a
// bare LF, or more than the limit has arrived): parsing it whole again for every piece, a
// byte at a time, would cost the square of its size.
bool HttpServer::Impl::HeadMayBeReady(Conn& c, std::string_view in) {
  if (in.size() > head_limits_.max_head_bytes) return true;
  const size_t from = c.head_scanned > 3 ? c.head_scanned - 3 : 0;
  c.head_scanned = in.size();
  if (in.find("\r\n\r\n", from) != std::string_view::npos) return true;
  for (size_t i = in.find('\n', from); i != std::string_view::npos; i = in.find('\n', i + 1)) {
    if (i == 0 || in[i - 1] != '\r') return true;
  }
  return false;
}

// Reads stop while the handler pauses its body or too much waits behind a response.
void HttpServer::Impl::UpdateReading(Conn& c) {
  bool want = !(c.cur && c.cur->reading_paused) && c.in.size() < kMaxPendingInput;
  if (want == c.reading) return;
  c.reading = want;
  lws_rx_flow_control(c.wsi, want ? 1 : 0);
}

void HttpServer::Impl::RefuseHead(Conn& c, int status, const std::string& message) {
  Session& s = NewSession(c);
  s.keep_alive = false;
  s.body_done = true;
  SetResponse(s, LayerError(status, message));
  s.close_after = true;
  c.closing = true;
}

Session& HttpServer::Impl::NewSession(Conn& c) {
  Unlist(c);
  c.head_scanned = 0;
  auto* s = new Session();
  s->id = ++next_id_;
  s->wsi = c.wsi;
  s->conn = &c;
  c.cur = s;
  sessions_[s->id] = s;
  SetKind(c, &requests_);
  return *s;
}

void HttpServer::Impl::BeginRequest(Conn& c, RequestHead head) {
  Session& s = NewSession(c);
  HttpRequest& r = s.request;
  r.method = std::move(head.method);
  r.path = std::move(head.path);
  r.query = std::move(head.query);
  r.raw_query = std::move(head.raw_query);
  r.headers = std::move(head.headers);
  r.peer = c.peer;
  s.keep_alive = head.keep_alive;
  s.body_chunked = head.chunked;
  s.body_remaining = head.content_length;
  const bool has_body = head.chunked || head.content_length > 0;
  s.body_done = !has_body;
  s.body_since_us = NowMicros();
  // libcurl and the KVS producer wait a second for this before sending the body.
  if (head.expect_continue && has_body) {
    BeforeOutput(c);
    s.interim = "HTTP/1.1 100 Continue\r\n\r\n";
  }

  if (auto it = streaming_.find({r.method, r.path}); it != streaming_.end()) {
    // A streaming body must keep coming (each read restarts lws's idle time-out); its
    // response may take as long as it takes.
    s.body_rx_us = NowMicros();
    s.phase = Phase::kStreaming;
    SetKind(c, streaming_open_.at(r.path).get());
    s.writer = std::make_shared<Writer>(queue_, this, s.id);
    s.streaming = it->second(r, s.writer);
    if (s.streaming && !has_body) s.streaming->OnBodyEnd();
    if (!s.interim.empty()) lws_callback_on_writable(c.wsi);
    Schedule(c);  // a "100 Continue" the client does not read
    return;
  }
  s.buffered = FindBuffered(r);
  if (s.body_chunked) {
    // Buffered routes take Content-Length bodies (every AWS SDK sends one).
    s.interim.clear();  // the point of Expect: the body is not wanted
    SetResponse(s, LayerError(411, "Content-Length required"));
    s.close_after = true;
    return;
  }
  if (head.content_length > opt_.max_buffered_body) {
    // Answered at once; a body we can afford to read is read and dropped, so the client
    // sees the answer instead of a reset, and the connection stays usable.
    s.interim.clear();
    SetResponse(s, LayerError(413, "Request body too large"));
    if (head.content_length > kMaxDiscardedBody) s.close_after = true;
    MakeSheddable(c, 1);
    return;
  }
  s.phase = Phase::kReadingBody;
  if (!s.interim.empty()) lws_callback_on_writable(c.wsi);
  if (has_body) MakeSheddable(c, 1);
  Schedule(c);  // the body's rate deadline
  if (!has_body) Dispatch(s);
}

BufferedHandler HttpServer::Impl::FindBuffered(const HttpRequest& r) {
  // HEAD is GET without the body (RFC 9110 9.3.2): SetResponse leaves the body out.
  const std::string method = r.method == "HEAD" ? std::string("GET") : r.method;
  if (auto it = buffered_.find({method, r.path}); it != buffered_.end()) return it->second;
  for (const auto& [key, handler] : prefixes_) {
    if (key.first == method && r.path.compare(0, key.second.size(), key.second) == 0) {
      return handler;
    }
  }
  return fallback_;
}

// A streaming request receives its body whatever its response is doing.
void HttpServer::Impl::OnBody(Session& s, std::string_view bytes) {
  if (s.streaming) {
    s.streaming->OnBody({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    return;
  }
  if (s.phase != Phase::kReadingBody) return;  // body after an early answer: drop it
  s.request.body.append(bytes);
}

void HttpServer::Impl::OnBodyComplete(Session& s) {
  s.body_done = true;
  Unlist(*s.conn);
  if (s.streaming) {
    s.streaming->OnBodyEnd();
  } else if (s.phase == Phase::kReadingBody) {
    Dispatch(s);
  }
}

void HttpServer::Impl::Dispatch(Session& s) {
  s.phase = Phase::kHandling;
  if (!s.buffered) {
    SetResponse(s,
                WithRequestId(KvsErrorResponse(
                    {KvsErrorType::kUnknownOperation,
                     NotFound("No such operation: " + s.request.method + " " + s.request.path)})));
    return;
  }
  auto q = queue_;
  // The request goes to the worker (its body may be megabytes); the session keeps its method,
  // which decides whether the answer has a body (HEAD), and its path, for the logs.
  HttpRequest req = std::move(s.request);
  s.request.method = req.method;
  s.request.path = req.path;
  bool ok =
      pool_.Submit([q, this, id = s.id, handler = s.buffered, req = std::move(req)]() mutable {
        HttpResponse resp = handler(req);
        q->Post([this, id, resp = std::move(resp)] {
          if (Session* s = Find(id)) SetResponse(*s, resp);
        });
      });
  if (!ok) SetResponse(s, WithRequestId(opt_.busy_response));
}

// Ends the connection's current request (its response is complete, or the socket is gone).
void HttpServer::Impl::EndSession(Conn& c) {
  Session* s = c.cur;
  if (!s) return;
  c.cur = nullptr;
  SetKind(c, &idle_);
  sessions_.erase(s->id);
  if (s->writer) s->writer->Closed();
  if (s->streaming) s->streaming->OnClose();
  delete s;
}

// ---- HTTP/2 (service thread) ----

bool HttpServer::Impl::StartH2(Conn& c) {
  c.h2 = H2Conn::New(c, *this, h2_options_, log_);
  if (!c.h2) return false;
  Disarm(c);  // its streams' deadlines are the h2 session's (its own lws timer)
  SetKind(c, &h2_);
  h2_conns_.insert(&c);
  return true;
}

Session& HttpServer::Impl::OpenStream(Conn& c) {
  Unlist(c);  // a connection with a request under way is not shed to make room
  auto* s = new Session();
  s->id = ++next_id_;
  s->wsi = c.wsi;
  s->conn = &c;
  sessions_[s->id] = s;
  return *s;
}

// As BeginRequest, for a stream: its body is framed by HTTP/2, so a buffered route reads any
// body (with or without content-length) up to the cap.
void HttpServer::Impl::BeginStream(Session& s, uint64_t content_length, int refuse_status,
                                   const std::string& refuse_message) {
  HttpRequest& r = s.request;
  r.peer = s.conn->peer;
  s.body_since_us = NowMicros();
  if (refuse_status) {
    s.phase = Phase::kHandling;
    SetResponse(s, LayerError(refuse_status, refuse_message));
    return;
  }
  if (auto it = streaming_.find({r.method, r.path}); it != streaming_.end()) {
    s.phase = Phase::kStreaming;
    s.writer = std::make_shared<Writer>(queue_, this, s.id);
    s.streaming = it->second(r, s.writer);
    if (s.streaming && s.body_done) s.streaming->OnBodyEnd();
    return;
  }
  s.buffered = FindBuffered(r);
  if (content_length > opt_.max_buffered_body) {
    s.phase = Phase::kHandling;
    SetResponse(s, LayerError(413, "Request body too large"));
    return;
  }
  s.phase = Phase::kReadingBody;
  if (s.body_done) Dispatch(s);
}

void HttpServer::Impl::StreamBody(Session& s, std::string_view bytes) {
  s.body_received += bytes.size();
  if (!s.streaming && s.phase == Phase::kReadingBody &&
      s.request.body.size() + bytes.size() > opt_.max_buffered_body) {
    s.phase = Phase::kHandling;
    SetResponse(s, LayerError(413, "Request body too large"));
    return;
  }
  OnBody(s, bytes);
}

void HttpServer::Impl::StreamBodyEnd(Session& s) {
  s.body_done = true;
  if (s.streaming) {
    s.streaming->OnBodyEnd();
  } else if (s.phase == Phase::kReadingBody) {
    Dispatch(s);
  }
}

void HttpServer::Impl::CloseStream(Session& s) {
  Conn& c = *s.conn;
  sessions_.erase(s.id);
  if (s.writer) s.writer->Closed();
  if (s.streaming) s.streaming->OnClose();
  delete &s;
  if (c.h2 && c.h2->streams() == 0) MakeSheddable(c, 0);  // idle again
}

int HttpServer::Impl::Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                               size_t len) noexcept {
  lws_context* ctx = lws_get_context(wsi);
  auto* self = ctx ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
  if (!self) return 0;
  auto** slot = static_cast<Conn**>(user);
  try {
    switch (reason) {
      case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        self->queue_->Drain();
        return 0;
      case LWS_CALLBACK_RAW_ADOPT: {
        auto* c = new Conn();
        c->wsi = wsi;
        char ip[64] = "";
        lws_get_peer_simple(wsi, ip, sizeof ip);
        c->peer = ip;
        *slot = c;
        if (!self->Admit(*c)) {
          c->closing = true;
          self->RefuseConnection(wsi);
          return 0;
        }
        self->SetKind(*c, &self->idle_);
        // The first request must arrive within the head deadline, like every later one.
        self->StartWaiting(*c);
        self->Schedule(*c);
        return 0;
      }
      case LWS_CALLBACK_RAW_RX: {
        if (!slot || !*slot) return -1;
        Conn& c = **slot;
        if (c.linger_until_us) return 0;  // lingering close: input is dropped
        if (std::exchange(c.first_read, false) && self->tls_) {
          if (!EndHandshake(wsi)) {
            self->RefuseHead(c, 400, kPlainHttpOnTlsPort);  // plain HTTP on a TLS port
            return 0;
          }
          if (NegotiatedH2(wsi) && !self->StartH2(c)) return -1;
        }
        if (c.h2) return c.h2->Receive({static_cast<const char*>(in), len}) ? 0 : -1;
        c.in.append(static_cast<const char*>(in), len);
        // A streaming body that keeps coming is alive. Its deadline is looked at when its
        // timer fires, not moved on every read.
        if (c.cur && !c.cur->body_done && c.cur->writer) c.cur->body_rx_us = NowMicros();
        self->Pump(c);
        return 0;
      }
      case LWS_CALLBACK_RAW_WRITEABLE:
        return slot && *slot ? self->OnWritable(**slot) : 0;
      case LWS_CALLBACK_TIMER:
        return slot && *slot ? self->OnTimer(**slot) : 0;
      case LWS_CALLBACK_RAW_CLOSE:
        if (slot && *slot) {
          self->Disarm(**slot);
          self->Release(**slot);
          if ((*slot)->h2) {
            (*slot)->h2->Closed();
            self->h2_conns_.erase(*slot);
          }
          self->EndSession(**slot);
          self->SetKind(**slot, nullptr);
          delete *slot;
          *slot = nullptr;
        }
        return 0;
      default:
        return 0;
    }
  } catch (const std::exception& e) {
    // Nothing may cross the C callback: drop this connection, keep serving the others.
    self->log_.Error("http", "handler threw", {{"what", e.what()}});
    return -1;
  } catch (...) {
    self->log_.Error("http", "handler threw");
    return -1;
  }
}

HttpServer::HttpServer(const HttpServerOptions& options, WorkerPool& pool, Logger& log)
    : impl_(std::make_unique<Impl>(options, pool, log)) {}
HttpServer::~HttpServer() = default;

void HttpServer::Route(std::string method, std::string path, BufferedHandler handler) {
  impl_->buffered_[{std::move(method), std::move(path)}] = std::move(handler);
}
void HttpServer::RouteStreaming(std::string method, std::string path, StreamingFactory f) {
  auto& open = impl_->streaming_open_[path];
  if (!open) open = std::make_unique<std::atomic<int64_t>>(0);
  impl_->streaming_[{std::move(method), std::move(path)}] = std::move(f);
}
void HttpServer::RoutePrefix(std::string method, std::string prefix, BufferedHandler handler) {
  impl_->prefixes_.emplace_back(std::make_pair(std::move(method), std::move(prefix)),
                                std::move(handler));
}
void HttpServer::SetFallback(BufferedHandler handler) { impl_->fallback_ = std::move(handler); }
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::OnShutdown(std::function<void()> hook, int drain_ms) {
  impl_->shutdown_hooks_.push_back(std::move(hook));
  impl_->drain_ms_ = std::max(impl_->drain_ms_, drain_ms);
}
void HttpServer::Post(std::function<void()> task) { impl_->queue_->Post(std::move(task)); }
int HttpServer::port() const { return impl_->port_; }
size_t HttpServer::connections() const { return impl_->open_.load(); }
HttpServer::ConnectionCounts HttpServer::connections_by_kind() const {
  ConnectionCounts c;
  c.idle = impl_->idle_.load(std::memory_order_relaxed);
  c.request = impl_->requests_.load(std::memory_order_relaxed);
  c.h2 = impl_->h2_.load(std::memory_order_relaxed);
  for (const auto& [path, open] : impl_->streaming_open_) {
    c.streaming[path] = open->load(std::memory_order_relaxed);
  }
  return c;
}

}  // namespace streamarc::server
