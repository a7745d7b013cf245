#include "server/http_server.h"

#include <libwebsockets.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace streamarc::server {

const std::string* HttpRequest::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

namespace {

constexpr size_t kWriteChunk = 16 * 1024;  // bytes per lws_write: one per writable callback
constexpr unsigned kReadChunk = 64 * 1024;  // bytes per socket read

// Custom (non-lws-token) headers copied into every request. SigV4's SignedHeaders are
// added per request.
constexpr const char* kCustomHeaders[] = {
    "x-amzn-stream-name", "x-amzn-stream-arn", "x-amzn-fragment-timecode-type",
    "x-amzn-producer-start-timestamp", "x-amzn-fragment-acknowledgment-required",
    "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-amz-target",
    "x-amz-user-agent", "amz-sdk-invocation-id", "amz-sdk-request"};

struct TokenHeader {
  lws_token_indexes token;
  const char* name;
};
constexpr TokenHeader kTokenHeaders[] = {
    {WSI_TOKEN_HOST, "host"},
    {WSI_TOKEN_CONNECTION, "connection"},
    {WSI_TOKEN_ORIGIN, "origin"},
    {WSI_TOKEN_HTTP_AUTHORIZATION, "authorization"},
    {WSI_TOKEN_HTTP_CONTENT_LENGTH, "content-length"},
    {WSI_TOKEN_HTTP_CONTENT_TYPE, "content-type"},
    {WSI_TOKEN_HTTP_RANGE, "range"},
    {WSI_TOKEN_HTTP_EXPECT, "expect"},
    {WSI_TOKEN_HTTP_TRANSFER_ENCODING, "transfer-encoding"},
    {WSI_TOKEN_HTTP_USER_AGENT, "user-agent"},
    {WSI_TOKEN_HTTP_IF_NONE_MATCH, "if-none-match"},
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Tasks posted from other threads to the service thread. Shared with every writer, so a
// writer that outlives the server posts into a closed queue harmlessly.
class ServiceQueue {
 public:
  void Post(std::function<void()> task) {
    lws_context* ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ctx_) return;
      tasks_.push_back(std::move(task));
      ctx = ctx_;
    }
    lws_cancel_service(ctx);  // thread-safe: wakes lws_service with EVENT_WAIT_CANCELLED
  }
  void Drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }
  void Open(lws_context* ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = ctx;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = nullptr;
    tasks_.clear();
  }

 private:
  std::mutex mu_;
  lws_context* ctx_ = nullptr;
  std::vector<std::function<void()>> tasks_;
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

}  // namespace

class HttpServer::Impl {
 public:
  struct Session;

  // The thread-safe writer handed to streaming handlers: every call becomes a task on the
  // service thread, addressed by session id (the session may be gone by then).
  class Writer final : public ResponseWriter, public std::enable_shared_from_this<Writer> {
   public:
    Writer(std::shared_ptr<ServiceQueue> q, Impl* impl, uint64_t id)
        : q_(std::move(q)), impl_(impl), id_(id) {}
    void Begin(int status, std::string type, std::vector<Header> headers) override {
      PostToSession([=, this](Session& s) {
        impl_->StartResponse(s, status, type, headers, /*chunked=*/true, 0);
      });
    }
    void Respond(HttpResponse r) override {
      PostToSession([r = std::move(r), this](Session& s) { impl_->SetResponse(s, r); });
    }
    void Write(std::string bytes) override {
      if (bytes.empty()) return;
      queued_ += bytes.size();
      PostToSession([b = std::move(bytes), this](Session& s) mutable {
        size_t n = b.size();
        impl_->QueueChunk(s, OutPiece{std::move(b), nullptr, n});
      });
    }
    void WriteShared(std::shared_ptr<const std::string> bytes) override {
      if (!bytes || bytes->empty()) return;
      queued_ += bytes->size();
      PostToSession([b = std::move(bytes), this](Session& s) mutable {
        size_t n = b->size();
        impl_->QueueChunk(s, OutPiece{{}, std::move(b), n});
      });
    }
    void NotifyWhenDrained(size_t bytes, std::function<void()> task) override {
      PostToSession([bytes, task = std::move(task), this](Session&) mutable {
        // Service thread: queued_ only falls here (in Written), so the check is exact.
        if (queued_.load() <= bytes) {
          drain_task_ = nullptr;
          task();
          return;
        }
        drain_at_ = bytes;
        drain_task_ = std::move(task);
      });
    }
    void End() override {
      PostToSession([this](Session& s) { impl_->QueueEnd(s); });
    }
    void Close() override {
      PostToSession([this](Session& s) { impl_->CloseAfterWrites(s); });
    }
    void SetReading(bool enabled) override {
      PostToSession([enabled](Session& s) { lws_rx_flow_control(s.wsi, enabled ? 1 : 0); });
    }
    size_t queued_bytes() const override { return queued_.load(); }
    void Post(std::function<void()> task) override {
      q_->Post([task = std::move(task), keep = shared_from_this()] { task(); });
    }
    // Service thread: the connection is gone; a pending drain task may hold its handler.
    void Closed() { drain_task_ = nullptr; }
    // Service thread.
    void Written(size_t n) {
      queued_ -= std::min(n, queued_.load());
      if (drain_task_ && queued_.load() <= drain_at_) {
        auto task = std::move(drain_task_);
        drain_task_ = nullptr;
        task();
      }
    }

   private:
    // The task keeps this writer alive until it has run.
    void PostToSession(std::function<void(Session&)> fn) {
      q_->Post([impl = impl_, id = id_, fn = std::move(fn), keep = shared_from_this()] {
        Session* s = impl->Find(id);
        if (s) fn(*s);
      });
    }
    std::shared_ptr<ServiceQueue> q_;
    Impl* impl_;  // valid while q_ is open: tasks run only on the service thread
    uint64_t id_;
    std::atomic<size_t> queued_{0};
    // Service thread only.
    size_t drain_at_ = 0;
    std::function<void()> drain_task_;
  };

  struct Session {
    uint64_t id = 0;
    lws* wsi = nullptr;
    Phase phase = Phase::kReadingBody;
    HttpRequest request;
    BufferedHandler buffered;
    std::unique_ptr<StreamingHandler> streaming;
    std::shared_ptr<Writer> writer;
    uint64_t body_expected = 0;
    bool body_chunked = false;
    // Response
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
  };

  Impl(const HttpServerOptions& o, WorkerPool& pool, Logger& log)
      : opt_(o), pool_(pool), log_(log), queue_(std::make_shared<ServiceQueue>()) {}

  ~Impl() {
    queue_->Close();
    if (ctx_) lws_context_destroy(ctx_);
  }

  Status Start() {
    protocols_[0] = {"http", &Impl::Callback, sizeof(Session*), kReadChunk, 0, nullptr, 0};
    protocols_[1] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};
    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = opt_.port;
    info.iface = opt_.host.c_str();
    info.protocols = protocols_;
    info.user = this;
    info.timeout_secs = static_cast<unsigned>(opt_.body_timeout_seconds);
    // lws reads at most this much per service pass (default 4 KiB): ingest wants big reads.
    info.pt_serv_buf_size = kReadChunk;
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
    // lws_service waits for socket events only: a waker thread keeps the loop turning so
    // the deadline is seen even when nothing more happens.
    std::atomic<bool> done{false};
    std::thread waker([&] {
      while (!done.load()) {
        lws_cancel_service(ctx_);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms_);
    while (std::chrono::steady_clock::now() < deadline) {
      if (lws_service(ctx_, 0) < 0) break;
      bool pending = false;
      for (const auto& [id, session] : sessions_) {
        if (!session->out.empty()) pending = true;
      }
      if (!pending) {
        queue_->Drain();  // writes posted meanwhile
        pending = std::any_of(sessions_.begin(), sessions_.end(),
                              [](const auto& s) { return !s.second->out.empty(); });
        if (!pending) break;
      }
    }
    done.store(true);
    waker.join();
  }

  void Stop() {
    stop_.store(true);
    if (ctx_) lws_cancel_service(ctx_);
  }

  Session* Find(uint64_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  // ---- Responses (service thread) ----

  void StartResponse(Session& s, int status, const std::string& type,
                     const std::vector<Header>& headers, bool chunked, uint64_t length) {
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

  void SetResponse(Session& s, const HttpResponse& r) {
    if (s.response_started) return;
    StartResponse(s, r.status, r.content_type, r.headers, false, r.body.size());
    if (!r.body.empty()) s.out.push_back(OutPiece{r.body});
    s.final = true;
  }

  void QueueChunk(Session& s, OutPiece piece) {
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

  void QueueEnd(Session& s) {
    if (!s.chunked || s.final) return;
    s.out.push_back(OutPiece{"0\r\n\r\n"});
    s.final = true;
    lws_callback_on_writable(s.wsi);
  }

  void CloseAfterWrites(Session& s) {
    s.close_after = true;
    s.final = true;
    lws_callback_on_writable(s.wsi);
  }

  // One write per writable callback. Returns -1 to close the connection.
  int OnWritable(Session& s) {
    if (!s.response_started) {
      return s.close_after ? -1 : 0;
    }
    if (!s.headers_sent) {
      uint8_t buf[LWS_PRE + 4096];
      uint8_t* start = buf + LWS_PRE;
      uint8_t* p = start;
      uint8_t* end = buf + sizeof buf - 1;
      lws_filepos_t len = s.chunked ? LWS_ILLEGAL_HTTP_CONTENT_LEN : s.content_length;
      if (lws_add_http_common_headers(s.wsi, static_cast<unsigned>(s.status),
                                      s.content_type.c_str(), len, &p, end)) {
        return -1;
      }
      auto add = [&](const std::string& name, const std::string& value) {
        std::string n = name + ":";
        return lws_add_http_header_by_name(s.wsi, reinterpret_cast<const uint8_t*>(n.c_str()),
                                           reinterpret_cast<const uint8_t*>(value.data()),
                                           static_cast<int>(value.size()), &p, end);
      };
      for (const Header& h : s.headers) {
        if (add(h.name, h.value)) return -1;
      }
      if (s.chunked && add("transfer-encoding", "chunked")) return -1;
      if (lws_finalize_write_http_header(s.wsi, start, &p, end)) return -1;
      s.headers_sent = true;
      if (!s.out.empty() || s.final) lws_callback_on_writable(s.wsi);
      return 0;
    }
    if (!s.out.empty()) {
      const OutPiece& piece = s.out.front();
      std::string_view front = piece.view();
      size_t n = std::min(kWriteChunk, front.size() - s.out_offset);
      bool last_piece = s.out_offset + n == front.size() && s.out.size() == 1 && s.final;
      uint8_t buf[LWS_PRE + kWriteChunk];
      std::memcpy(buf + LWS_PRE, front.data() + s.out_offset, n);
      int type = last_piece ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
      if (lws_write(s.wsi, buf + LWS_PRE, n, static_cast<lws_write_protocol>(type)) <
          static_cast<int>(n)) {
        return -1;
      }
      s.out_offset += n;
      if (s.out_offset == front.size()) {
        size_t done = piece.counted;
        s.out.pop_front();
        s.out_offset = 0;
        if (done && s.writer) s.writer->Written(done);
      }
      if (!s.out.empty() || s.final) {
        lws_callback_on_writable(s.wsi);
        return 0;
      }
      return 0;
    }
    if (!s.final) return 0;
    // Everything is written.
    if (s.close_after || s.phase == Phase::kReadingBody) return -1;
    s.phase = Phase::kDone;
    return lws_http_transaction_completed(s.wsi) ? -1 : 0;
  }

  // ---- Requests (service thread) ----

  void BeginRequest(lws* wsi, Session*& slot, const char* uri, size_t uri_len) {
    EndSession(slot);  // a previous request on this keep-alive connection
    auto* s = new Session();
    s->id = ++next_id_;
    s->wsi = wsi;
    slot = s;
    sessions_[s->id] = s;
    ReadHead(wsi, uri, uri_len, &s->request);

    const std::string* te = s->request.FindHeader("transfer-encoding");
    s->body_chunked = te && Lower(*te).find("chunked") != std::string::npos;
    if (const std::string* cl = s->request.FindHeader("content-length")) {
      s->body_expected = std::strtoull(cl->c_str(), nullptr, 10);
    }
    const bool has_body = s->body_chunked || s->body_expected > 0;

    const HttpRequest& r = s->request;
    if (auto it = streaming_.find({r.method, r.path}); it != streaming_.end()) {
      s->phase = Phase::kStreaming;
      if (const std::string* expect = r.FindHeader("expect");
          expect && Lower(*expect) == "100-continue") {
        // libwebsockets 4.1 does not answer it; without it curl and the KVS producer wait
        // a second before sending the body.
        static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uint8_t buf[LWS_PRE + sizeof kContinue];
        std::memcpy(buf + LWS_PRE, kContinue, sizeof kContinue - 1);
        if (lws_write(wsi, buf + LWS_PRE, sizeof kContinue - 1, LWS_WRITE_HTTP_HEADERS) < 0) {
          s->close_after = true;
        }
      }
      s->writer = std::make_shared<Writer>(queue_, this, s->id);
      s->streaming = it->second(r, s->writer);
      if (!s->streaming) return;  // the factory already answered through the writer
      if (!has_body) s->streaming->OnBodyEnd();
      return;
    }
    s->buffered = FindBuffered(r);
    if (s->body_chunked) {
      // Buffered routes take Content-Length bodies (every AWS SDK sends one).
      SetResponse(*s, {411, "application/json", {}, "{\"Message\":\"Content-Length required\"}"});
      s->close_after = true;
      return;
    }
    if (s->body_expected > opt_.max_buffered_body) {
      SetResponse(*s, {413, "application/json", {}, "{\"Message\":\"Request body too large\"}"});
      s->close_after = true;
      return;
    }
    s->phase = Phase::kReadingBody;
    if (!has_body) Dispatch(*s);
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

  void ReadHead(lws* wsi, const char* uri, size_t uri_len, HttpRequest* r) {
    char* uri_ptr = nullptr;
    int len = 0;
    static const char* const kMethods[] = {"GET", "POST", "OPTIONS", "PUT", "PATCH",
                                           "DELETE", "CONNECT", "HEAD"};
    int m = lws_http_get_uri_and_method(wsi, &uri_ptr, &len);
    r->method = m >= 0 && m < 8 ? kMethods[m] : "UNKNOWN";
    r->path.assign(uri, uri_len);
    std::string query;
    char frag[1024];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
         ++i) {
      if (!query.empty()) query += '&';
      query += frag;
    }
    r->query = std::move(query);
    std::vector<char> buf(8192);
    for (const TokenHeader& t : kTokenHeaders) {
      int n = lws_hdr_total_length(wsi, t.token);
      if (n <= 0) continue;
      if (static_cast<size_t>(n) + 1 > buf.size()) buf.resize(static_cast<size_t>(n) + 1);
      if (lws_hdr_copy(wsi, buf.data(), static_cast<int>(buf.size()), t.token) >= 0) {
        r->headers.push_back({t.name, buf.data()});
      }
    }
    auto custom = [&](const std::string& name) {
      if (r->FindHeader(name)) return;
      std::string key = name + ":";
      int n = lws_hdr_custom_length(wsi, key.c_str(), static_cast<int>(key.size()));
      if (n < 0) return;
      if (static_cast<size_t>(n) + 1 > buf.size()) buf.resize(static_cast<size_t>(n) + 1);
      if (lws_hdr_custom_copy(wsi, buf.data(), static_cast<int>(buf.size()), key.c_str(),
                              static_cast<int>(key.size())) >= 0) {
        r->headers.push_back({name, buf.data()});
      }
    };
    for (const char* name : kCustomHeaders) custom(name);
    // SigV4 names the headers it signed; copy those too.
    if (const std::string* auth = r->FindHeader("authorization")) {
      size_t at = auth->find("SignedHeaders=");
      if (at != std::string::npos) {
        std::string list = auth->substr(at + 14, auth->find(',', at) - at - 14);
        size_t p = 0;
        while (p < list.size()) {
          size_t q = list.find(';', p);
          if (q == std::string::npos) q = list.size();
          custom(Lower(list.substr(p, q - p)));
          p = q + 1;
        }
      }
    }
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    r->peer = ip;
  }

  // A streaming request keeps receiving its body whatever its response is doing.
  void OnBody(Session& s, const uint8_t* data, size_t len) {
    if (s.streaming) {
      s.streaming->OnBody({data, len});
      return;
    }
    if (s.phase != Phase::kReadingBody) return;  // body after an early answer: drop it
    s.request.body.append(reinterpret_cast<const char*>(data), len);
    if (s.request.body.size() > opt_.max_buffered_body) {
      SetResponse(s, {413, "application/json", {}, "{\"Message\":\"Request body too large\"}"});
      s.close_after = true;
    }
  }

  void OnBodyComplete(Session& s) {
    if (s.streaming) {
      s.streaming->OnBodyEnd();
    } else if (s.phase == Phase::kReadingBody) {
      Dispatch(s);
    }
  }

  void Dispatch(Session& s) {
    s.phase = Phase::kHandling;
    if (!s.buffered) {
      SetResponse(s, {404, "application/json", {{"x-amzn-errortype", "UnknownOperationException"}},
                      "{\"Message\":\"No such operation: " + s.request.method + " " +
                          s.request.path + "\"}"});
      return;
    }
    auto q = queue_;
    bool ok = pool_.Submit([q, this, id = s.id, handler = s.buffered,
                            req = std::move(s.request)]() mutable {
      HttpResponse resp = handler(req);
      q->Post([this, id, resp = std::move(resp)] {
        if (Session* s = Find(id)) SetResponse(*s, resp);
      });
    });
    if (!ok) SetResponse(s, opt_.busy_response);
  }

  void EndSession(Session*& slot) {
    if (!slot) return;
    Session* s = slot;
    slot = nullptr;
    sessions_.erase(s->id);
    if (s->writer) s->writer->Closed();
    if (s->streaming) s->streaming->OnClose();
    delete s;
  }

  static int Callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                      size_t len) noexcept {
    lws_context* ctx = lws_get_context(wsi);
    auto* self = ctx ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
    if (!self) return lws_callback_http_dummy(wsi, reason, user, in, len);
    auto** slot = static_cast<Session**>(user);
    try {
      switch (reason) {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
          self->queue_->Drain();
          return 0;
        case LWS_CALLBACK_HTTP:
          self->BeginRequest(wsi, *slot, static_cast<const char*>(in), len);
          return 0;
        case LWS_CALLBACK_HTTP_BODY:
          if (*slot) self->OnBody(**slot, static_cast<const uint8_t*>(in), len);
          return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
          if (*slot) self->OnBodyComplete(**slot);
          return 0;
        case LWS_CALLBACK_HTTP_WRITEABLE:
          return *slot ? self->OnWritable(**slot) : 0;
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
          if (slot) self->EndSession(*slot);
          return 0;
        default:
          return lws_callback_http_dummy(wsi, reason, user, in, len);
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
  impl_->prefixes_.push_back({{std::move(method), std::move(prefix)}, std::move(handler)});
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
