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

#include <libwebsockets.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <unordered_map>

#include "server/http_conn.h"
#include "server/http_wire.h"

namespace streamarc::server {

const std::string* HttpRequest::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

namespace {

constexpr size_t kWriteChunk = 16 * 1024;   // bytes per lws_write: one per writable callback
constexpr unsigned kReadChunk = 64 * 1024;  // bytes per socket read
// Input kept while a response is pending (pipelined requests); past it we stop reading.
constexpr size_t kMaxPendingInput = 1 << 20;
constexpr char kProtocol[] = "streamarc-http";
// A refused body up to this size is read and dropped to keep the connection; past it, closed.
constexpr uint64_t kMaxDiscardedBody = 64 << 20;

}  // namespace

class HttpServer::Impl final : public SessionHost {
 public:
  Impl(const HttpServerOptions& o, WorkerPool& pool, Logger& log)
      : opt_(o), pool_(pool), log_(log), queue_(std::make_shared<ServiceQueue>()) {}

  ~Impl() override {
    queue_->Close();
    if (ctx_) lws_context_destroy(ctx_);
  }

  Status Start() {
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
    if (opt_.host.find(':') == std::string::npos) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    ctx_ = lws_create_context(&info);
    if (!ctx_) {
      return Unavailable("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port));
    }
    lws_vhost* vh = lws_get_vhost_by_name(ctx_, "default");
    port_ = vh ? lws_get_vhost_listen_port(vh) : opt_.port;
    queue_->Open(ctx_);
    return Status::Ok();
  }

  void Run() {
    while (!stop_.load()) {
      if (lws_service(ctx_, 0) < 0) return;
    }
    if (shutdown_hooks_.empty()) return;
    queue_->Drain();  // what was posted before the hooks run (their writes follow them)
    for (auto& hook : shutdown_hooks_) hook();
    // A timer at the deadline wakes lws_service even when no socket has anything more.
    auto deadline_passed = std::make_shared<bool>(false);  // the timer may outlive this frame
    queue_->PostAfter(int64_t{drain_ms_} * 1000, [deadline_passed] { *deadline_passed = true; });
    auto pending = [this] {
      return std::any_of(sessions_.begin(), sessions_.end(),
                         [](const auto& s) { return !s.second->out.empty(); });
    };
    while (!*deadline_passed) {
      if (lws_service(ctx_, 0) < 0) break;
      if (!pending()) {
        queue_->Drain();  // writes posted meanwhile
        if (!pending()) break;
      }
    }
  }

  void Stop() {
    stop_.store(true);
    if (ctx_) lws_cancel_service(ctx_);
  }

  Session* Find(uint64_t id) override {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  // ---- Responses (service thread) ----

  void StartResponse(Session& s, int status, const std::string& type,
                     const std::vector<Header>& headers, bool chunked, uint64_t length) override {
    if (s.response_started) return;
    s.response_started = true;
    s.phase = Phase::kResponding;
    s.status = status;
    s.content_type = type;
    s.headers = headers;
    s.chunked = chunked;
    s.content_length = length;
    lws_callback_on_writable(s.wsi);
  }

  void SetResponse(Session& s, const HttpResponse& r) override {
    if (s.response_started) return;
    StartResponse(s, r.status, r.content_type, r.headers, false, r.body.size());
    if (!r.body.empty() && s.request.method != "HEAD") s.out.push_back(OutPiece{r.body});
    s.final = true;
  }

  void QueueChunk(Session& s, OutPiece piece) override {
    if (!s.chunked || s.final) {
      if (piece.counted && s.writer) s.writer->Written(piece.counted);
      return;
    }
    char head[24];
    int n = std::snprintf(head, sizeof head, "%zx\r\n", piece.view().size());
    if (piece.shared) {
      // Shared bytes are never touched: the framing goes around them as pieces of its own.
      s.out.push_back(OutPiece{std::string(head, static_cast<size_t>(n))});
      s.out.push_back(std::move(piece));
      s.out.push_back(OutPiece{"\r\n"});
    } else {
      piece.owned.insert(0, head, static_cast<size_t>(n));
      piece.owned += "\r\n";
      s.out.push_back(std::move(piece));
    }
    lws_callback_on_writable(s.wsi);
  }

  void QueueEnd(Session& s) override {
    if (!s.chunked || s.final) return;
    s.out.push_back(OutPiece{"0\r\n\r\n"});
    s.final = true;
    lws_callback_on_writable(s.wsi);
  }

  void CloseAfterWrites(Session& s) override {
    s.close_after = true;
    s.final = true;
    lws_callback_on_writable(s.wsi);
  }

  void SetReading(Session& s, bool enabled) override {
    s.reading_paused = !enabled;
    // A paused body may not time out; a resumed one gets its bytes that arrived meanwhile.
    if (!s.body_done) {
      lws_set_timeout(s.wsi, enabled ? PENDING_TIMEOUT_USER_OK : NO_PENDING_TIMEOUT,
                      enabled ? opt_.body_timeout_seconds : 0);
    }
    Pump(*s.conn);
  }

  // Writes one piece of the current response. Returns -1 to close the connection.
  int OnWritable(Conn& c) {
    if (!c.cur) return 0;
    Session& s = *c.cur;
    if (!s.interim.empty()) {  // "100 Continue" goes before anything else
      std::string bytes = std::move(s.interim);
      s.interim.clear();
      if (!WriteRaw(c.wsi, bytes)) return -1;
      lws_callback_on_writable(c.wsi);
      return 0;
    }
    if (!s.response_started) return s.close_after ? -1 : 0;
    if (!s.headers_sent) {
      // A connection that will not take another request says so.
      const bool close = s.close_after || !s.keep_alive || !s.body_done;
      std::string head = FormatResponseHead(s.status, s.content_type, s.headers, s.chunked,
                                            s.content_length, close);
      if (!WriteRaw(c.wsi, head)) return -1;
      s.headers_sent = true;
      if (!s.out.empty() || s.final) lws_callback_on_writable(c.wsi);
      return 0;
    }
    if (!s.out.empty()) {
      const OutPiece& piece = s.out.front();
      std::string_view front = piece.view();
      size_t n = std::min(kWriteChunk, front.size() - s.out_offset);
      if (!WriteRaw(c.wsi, front.substr(s.out_offset, n))) return -1;
      s.out_offset += n;
      if (s.out_offset == front.size()) {
        size_t done = piece.counted;
        s.out.pop_front();
        s.out_offset = 0;
        if (done && s.writer) s.writer->Written(done);
      }
      if (!s.out.empty() || s.final) lws_callback_on_writable(c.wsi);
      return 0;
    }
    if (!s.final || s.phase == Phase::kDone) return 0;
    // The response is complete.
    if (s.close_after || !s.keep_alive) return -1;
    s.phase = Phase::kDone;
    if (!s.body_done) {
      // An early answer: the rest of a Content-Length body is read and dropped first; a
      // chunked one cannot be delimited here, so the connection ends.
      return s.body_chunked ? -1 : 0;
    }
    FinishRequest(c);
    Pump(c);  // the next request, if it already arrived
    return 0;
  }

  // The current request is answered and read: the connection waits for the next one.
  void FinishRequest(Conn& c) {
    EndSession(c);
    lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, opt_.body_timeout_seconds);  // idle
  }

  static bool WriteRaw(lws* wsi, std::string_view bytes) {
    // lws_write needs LWS_PRE bytes of head room; a partial send is kept and finished by lws.
    uint8_t buf[LWS_PRE + kWriteChunk];
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), kWriteChunk);
      std::memcpy(buf + LWS_PRE, bytes.data(), n);
      if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < static_cast<int>(n)) return false;
      bytes.remove_prefix(n);
    }
    return true;
  }

  // ---- Requests (service thread) ----

  // Frames what is in the connection's input: the body of the current request, then, once
  // its response is complete, the next request's head.
  void Pump(Conn& c) {
    while (!c.closing) {
      std::string_view in = std::string_view(c.in).substr(c.in_off);
      if (!c.cur) {
        if (in.empty()) break;
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

  // Reads stop while the handler pauses its body or too much waits behind a response.
  void UpdateReading(Conn& c) {
    bool want = !(c.cur && c.cur->reading_paused) && c.in.size() < kMaxPendingInput;
    if (want == c.reading) return;
    c.reading = want;
    lws_rx_flow_control(c.wsi, want ? 1 : 0);
  }

  void RefuseHead(Conn& c, int status, const std::string& message) {
    Session& s = NewSession(c);
    s.keep_alive = false;
    s.body_done = true;
    SetResponse(s, {status, "application/json", {}, "{\"Message\":\"" + message + "\"}"});
    s.close_after = true;
    c.closing = true;
  }

  Session& NewSession(Conn& c) {
    auto* s = new Session();
    s->id = ++next_id_;
    s->wsi = c.wsi;
    s->conn = &c;
    c.cur = s;
    sessions_[s->id] = s;
    return *s;
  }

  void BeginRequest(Conn& c, RequestHead head) {
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
    // The head has arrived: a body must keep coming; a response may take as long as it takes.
    lws_set_timeout(c.wsi, has_body ? PENDING_TIMEOUT_USER_OK : NO_PENDING_TIMEOUT,
                    has_body ? opt_.body_timeout_seconds : 0);
    // libcurl and the KVS producer wait a second for this before sending the body.
    if (head.expect_continue && has_body) s.interim = "HTTP/1.1 100 Continue\r\n\r\n";

    if (auto it = streaming_.find({r.method, r.path}); it != streaming_.end()) {
      s.phase = Phase::kStreaming;
      s.writer = std::make_shared<Writer>(queue_, this, s.id);
      s.streaming = it->second(r, s.writer);
      if (s.streaming && !has_body) s.streaming->OnBodyEnd();
      if (!s.interim.empty()) lws_callback_on_writable(c.wsi);
      return;
    }
    s.buffered = FindBuffered(r);
    if (s.body_chunked) {
      // Buffered routes take Content-Length bodies (every AWS SDK sends one).
      s.interim.clear();  // the point of Expect: the body is not wanted
      SetResponse(s, {411, "application/json", {}, "{\"Message\":\"Content-Length required\"}"});
      s.close_after = true;
      return;
    }
    if (head.content_length > opt_.max_buffered_body) {
      // Answered at once; a body we can afford to read is read and dropped, so the client
      // sees the answer instead of a reset, and the connection stays usable.
      s.interim.clear();
      SetResponse(s, {413, "application/json", {}, "{\"Message\":\"Request body too large\"}"});
      if (head.content_length > kMaxDiscardedBody) s.close_after = true;
      return;
    }
    s.phase = Phase::kReadingBody;
    if (!s.interim.empty()) lws_callback_on_writable(c.wsi);
    if (!has_body) Dispatch(s);
  }

  BufferedHandler FindBuffered(const HttpRequest& r) {
    if (auto it = buffered_.find({r.method, r.path}); it != buffered_.end()) return it->second;
    for (const auto& [key, handler] : prefixes_) {
      if (key.first == r.method && r.path.compare(0, key.second.size(), key.second) == 0) {
        return handler;
      }
    }
    return fallback_;
  }

  // A streaming request receives its body whatever its response is doing.
  void OnBody(Session& s, std::string_view bytes) {
    if (s.streaming) {
      s.streaming->OnBody({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      return;
    }
    if (s.phase != Phase::kReadingBody) return;  // body after an early answer: drop it
    s.request.body.append(bytes);
  }

  void OnBodyComplete(Session& s) {
    s.body_done = true;
    lws_set_timeout(s.wsi, NO_PENDING_TIMEOUT, 0);
    if (s.streaming) {
      s.streaming->OnBodyEnd();
    } else if (s.phase == Phase::kReadingBody) {
      Dispatch(s);
    }
  }

  void Dispatch(Session& s) {
    s.phase = Phase::kHandling;
    if (!s.buffered) {
      SetResponse(s, KvsErrorResponse({KvsErrorType::kUnknownOperation,
                                       NotFound("No such operation: " + s.request.method + " " +
                                                s.request.path)}));
      return;
    }
    auto q = queue_;
    bool ok = pool_.Submit(
        [q, this, id = s.id, handler = s.buffered, req = std::move(s.request)]() mutable {
          HttpResponse resp = handler(req);
          q->Post([this, id, resp = std::move(resp)] {
            if (Session* s = Find(id)) SetResponse(*s, resp);
          });
        });
    if (!ok) SetResponse(s, opt_.busy_response);
  }

  // Ends the connection's current request (its response is complete, or the socket is gone).
  void EndSession(Conn& c) {
    Session* s = c.cur;
    if (!s) return;
    c.cur = nullptr;
    sessions_.erase(s->id);
    if (s->writer) s->writer->Closed();
    if (s->streaming) s->streaming->OnClose();
    delete s;
  }

  static int Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
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
          // The first request must arrive within the time-out, like every later one.
          lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, self->opt_.body_timeout_seconds);
          return 0;
        }
        case LWS_CALLBACK_RAW_RX: {
          if (!slot || !*slot) return -1;
          Conn& c = **slot;
          c.in.append(static_cast<const char*>(in), len);
          if (c.cur && !c.cur->body_done) {  // a body that keeps coming is alive
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, self->opt_.body_timeout_seconds);
          }
          self->Pump(c);
          return 0;
        }
        case LWS_CALLBACK_RAW_WRITEABLE:
          return slot && *slot ? self->OnWritable(**slot) : 0;
        case LWS_CALLBACK_RAW_CLOSE:
          if (slot && *slot) {
            self->EndSession(**slot);
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

  const HttpServerOptions opt_;
  WorkerPool& pool_;
  Logger& log_;
  std::shared_ptr<ServiceQueue> queue_;
  HeadLimits head_limits_;
  lws_protocols protocols_[2];
  lws_context* ctx_ = nullptr;
  int port_ = 0;
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

HttpServer::HttpServer(const HttpServerOptions& options, WorkerPool& pool, Logger& log)
    : impl_(std::make_unique<Impl>(options, pool, log)) {}
HttpServer::~HttpServer() = default;

void HttpServer::Route(std::string method, std::string path, BufferedHandler handler) {
  impl_->buffered_[{std::move(method), std::move(path)}] = std::move(handler);
}
void HttpServer::RouteStreaming(std::string method, std::string path, StreamingFactory f) {
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

}  // namespace streamarc::server
