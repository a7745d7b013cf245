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
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include "server/http_conn.h"
#include "server/http_wire.h"
#include "server/tls.h"

namespace streamarc::server {

namespace {

constexpr size_t kWriteChunk = 16 * 1024;   // bytes per lws_write: one per writable callback
constexpr unsigned kReadChunk = 64 * 1024;  // bytes per socket read
// Input kept while a response is pending (pipelined requests); past it we stop reading.
constexpr size_t kMaxPendingInput = 1 << 20;
constexpr char kProtocol[] = "streamarc-http";
// A refused body up to this size is read and dropped to keep the connection; past it, closed.
constexpr uint64_t kMaxDiscardedBody = 64 << 20;
// File descriptors are asked for up to this many (RLIMIT_NOFILE's soft limit, raised toward
// the hard limit, which may be "unlimited").
constexpr rlim_t kMaxOpenFiles = 1 << 20;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Connections that may be closed to make room: 0, waiting for a head; 1, reading a buffered body.
constexpr int kShedTiers = 2;
constexpr char kUvPlugin[] = "libwebsockets-evlib_uv.so";
// Deadlines handled per timer pass, and the pause for socket events before the next pass.
constexpr int kDeadlinesPerPass = 64;
constexpr int64_t kDeadlinesPause = 1000;  // µs

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Raises the soft open-file limit to the hard one (Debian starts services at 1024) and
// returns it: connections are capped from it.
rlim_t RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  const rlim_t want = std::min(rl.rlim_max, kMaxOpenFiles);
  if (rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur;
}

}  // namespace

class HttpServer::Impl final : public SessionHost {
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
    if (!ctx_) {
      AbandonLoop(std::move(loop_));
      return Unavailable("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port));
    }
    // On a foreign loop lws makes the context even when its listening vhost failed.
    lws_vhost* vh = lws_get_vhost_by_name(ctx_, "default");
    if (!vh) {
      lws_context_destroy(ctx_);
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
  static void AbandonLoop(std::unique_ptr<uv_loop_t> loop) {
    static Mutex mu;
    static auto* abandoned = new std::vector<std::unique_ptr<uv_loop_t>>();
    MutexLock lock(mu);
    abandoned->push_back(std::move(loop));
  }

  void Run() {
    // One pass handles what is ready, waiting for it if nothing is (Stop wakes it).
    while (!stop_.load()) uv_run(loop_.get(), UV_RUN_ONCE);
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
      uv_run(loop_.get(), UV_RUN_ONCE);
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
    CountError(headers);
    BeforeOutput(*s.conn);
    s.response_started = true;
    s.phase = Phase::kResponding;
    s.status = status;
    s.content_type = type;
    s.headers = headers;
    s.chunked = chunked;
    s.content_length = length;
    lws_callback_on_writable(s.wsi);
    Schedule(*s.conn);
  }

  void CountError(const std::vector<Header>& headers) const {
    if (!opt_.on_error) return;
    for (const Header& h : headers) {
      if (h.name == "x-amzn-errortype") return opt_.on_error(h.value);
    }
  }

  // Moves the connection to another gauge of HttpServer::ConnectionCounts (null: none).
  static void SetKind(Conn& c, std::atomic<int64_t>* kind) {
    if (c.kind == kind) return;
    if (c.kind) c.kind->fetch_sub(1, std::memory_order_relaxed);
    c.kind = kind;
    if (kind) kind->fetch_add(1, std::memory_order_relaxed);
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
    BeforeOutput(*s.conn);
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
    Schedule(*s.conn);
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
    // A paused body may not time out; a resumed one gets its bytes that arrived meanwhile,
    // and its idle time counts from now.
    if (!s.body_done && s.writer && enabled) {
      s.body_rx_us = NowMicros();
      Schedule(*s.conn);
    }
    Pump(*s.conn);
  }

  // Writes one piece of the current response. Returns -1 to close the connection.
  int OnWritable(Conn& c) {
    c.send_progress_us = NowMicros();  // the socket has room: the client is reading
    if (!c.cur) return 0;
    Session& s = *c.cur;
    if (!s.interim.empty()) {  // "100 Continue" goes before anything else
      std::string bytes = std::move(s.interim);
      s.interim.clear();
      if (!WriteRaw(c.wsi, bytes)) return -1;
      lws_callback_on_writable(c.wsi);
      return 0;
    }
    if (!s.response_started) return s.close_after ? CloseOrLinger(c) : 0;
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
    if (s.close_after || !s.keep_alive) return CloseOrLinger(c);
    s.phase = Phase::kDone;
    if (!s.body_done) {
      // An early answer: the rest of a Content-Length body is read and dropped first; a
      // chunked one cannot be delimited here, so the connection ends.
      return s.body_chunked ? CloseOrLinger(c) : 0;
    }
    FinishRequest(c);
    Pump(c);  // the next request, if it already arrived
    return 0;
  }

  // The current request is answered and read: the connection waits for the next one.
  void FinishRequest(Conn& c) {
    EndSession(c);
    StartWaiting(c);  // for the next head, under the head deadline
    Schedule(c);
  }

  // Ends the connection after its last answer. When the client may still be sending (an
  // error answer, a body not read), what it sends is read and dropped for a while first:
  // closing with bytes unread makes the kernel send a reset, which can destroy the answer in
  // the client's buffer before the client has read it (nginx's lingering close).
  int CloseOrLinger(Conn& c) {
    if (c.linger_until_us) return 0;
    const bool unread = !c.in.empty() || c.closing || (c.cur && !c.cur->body_done);
    if (!unread || opt_.linger_ms <= 0) return -1;
    EndSession(c);
    c.closing = true;
    c.in.clear();
    c.in_off = 0;
    SendCloseNotify(c.wsi);
    if (shutdown(lws_get_socket_fd(c.wsi), SHUT_WR) != 0) return -1;
    c.linger_until_us = NowMicros() + opt_.linger_ms * 1000;
    if (!c.reading) {
      c.reading = true;
      lws_rx_flow_control(c.wsi, 1);
    }
    MakeSheddable(c, 0);  // among the first to go when connections run short
    Schedule(c);
    return 0;
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

  // ---- Deadlines and connection caps (service thread) ----

  // True while response bytes wait for the socket: what the send timeout watches.
  static bool OutputWaiting(const Conn& c) {
    if (lws_partial_buffered(c.wsi)) return true;
    const Session* s = c.cur;
    return s &&
           (!s->interim.empty() || (s->response_started && (!s->headers_sent || !s->out.empty())));
  }

  // Before output is queued: a wait for the socket that begins now is timed from now.
  static void BeforeOutput(Conn& c) {
    if (!OutputWaiting(c)) c.send_progress_us = NowMicros();
  }

  int64_t BodyDeadline(const Session& s) const {
    const uint64_t rate = std::max<uint64_t>(opt_.min_body_bytes_per_second, 1);
    return s.body_since_us + int64_t{opt_.body_timeout_seconds} * 1'000'000 +
           static_cast<int64_t>(s.body_received * 1'000'000 / rate);
  }

  // The earliest deadline that applies to the connection now; kNever when none does (a
  // streaming body, a response being made or waiting for data to send).
  int64_t NextDeadline(const Conn& c) const {
    if (c.linger_until_us) return c.linger_until_us;
    int64_t at = kNever;
    if (!c.cur) {
      at = c.head_since_us + opt_.head_timeout_ms * 1000;
    } else if (!c.cur->body_done && !c.closing) {
      if (!c.cur->writer) {
        at = BodyDeadline(*c.cur);
      } else if (!c.cur->reading_paused) {
        at = c.cur->body_rx_us + int64_t{opt_.body_timeout_seconds} * 1'000'000;
      }
    }
    if (OutputWaiting(c)) at = std::min(at, c.send_progress_us + opt_.send_timeout_ms * 1000);
    return at;
  }

  // Arms the connection's timer for its next deadline unless it fires earlier anyway. When
  // it fires, OnTimer looks again: deadlines only move later as bytes flow, so arming once per
  // state change is enough, not once per read or write.
  //
  // The timers of all connections are one ordered map behind one lws timer: lws keeps its
  // timers in a sorted list, so a timer per connection (or lws_set_timeout per read, as this
  // did for streaming bodies) made every arming walk all the others' timers, O(connections).
  void Schedule(Conn& c) {
    const int64_t at = NextDeadline(c);
    if (at == kNever || (c.timer_at_us != 0 && c.timer_at_us <= at)) return;
    Disarm(c);
    c.timer_at_us = at;
    c.timer_it = deadlines_.emplace(at, &c);
    ArmDeadlines();
  }

  void Disarm(Conn& c) {
    if (c.timer_at_us == 0) return;
    deadlines_.erase(c.timer_it);
    c.timer_at_us = 0;
  }

  // Keeps the lws timer at the earliest deadline, or `min_delay_us` from now if that is later.
  void ArmDeadlines(int64_t min_delay_us = 1) {
    if (deadlines_.empty()) return;
    const int64_t first = deadlines_.begin()->first;
    if (deadline_sul_at_ != 0 && deadline_sul_at_ <= first) return;
    deadline_sul_at_ = first;
    lws_sul_cancel(&deadline_timer_.sul);  // moved earlier: unlisted first (no-op if unlisted)
    lws_sul_schedule(ctx_, 0, &deadline_timer_.sul, &Impl::OnDeadlines,
                     std::max<int64_t>(first - NowMicros(), min_delay_us));
  }

  static void OnDeadlines(lws_sorted_usec_list_t* sul) noexcept {
    Impl* self = lws_container_of(sul, DeadlineTimer, sul)->self;
    self->deadline_sul_at_ = 0;
    const int64_t now = NowMicros();
    // Connections opened together expire together (a flood's 10,000 idle ones): a few at a
    // time, with the sockets served in between, so that producers' acks do not wait for all.
    int budget = kDeadlinesPerPass;
    while (!self->deadlines_.empty() && self->deadlines_.begin()->first <= now) {
      if (budget-- == 0) return self->ArmDeadlines(kDeadlinesPause);
      Conn& c = *self->deadlines_.begin()->second;
      self->Disarm(c);
      try {
        if (self->OnTimer(c) < 0) {
          c.closing = true;
          lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
      } catch (...) {
        // Nothing may cross the C callback: this connection goes, the others are served.
        self->log_.Error("http", "timer threw");
        lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
      }
    }
    self->ArmDeadlines();
  }

  // The connection's timer fired. Returns -1 to close the connection.
  int OnTimer(Conn& c) {
    const int64_t now = NowMicros();
    if (c.linger_until_us) {
      if (now >= c.linger_until_us) return -1;
    } else if (OutputWaiting(c) && now >= c.send_progress_us + opt_.send_timeout_ms * 1000) {
      // The client stopped reading its response: its connection (and whatever the response
      // holds, such as a GetMedia reader slot) is given back.
      log_.Info("http", "send timeout: the client stopped reading", {{"peer", c.peer}});
      return -1;
    } else if (c.cur && c.cur->writer && !c.cur->body_done && !c.cur->reading_paused &&
               !c.closing &&
               now >= c.cur->body_rx_us + int64_t{opt_.body_timeout_seconds} * 1'000'000) {
      // A streaming body (PutMedia) that stopped: the connection is dropped, its session
      // ends as when the producer disconnects.
      log_.Info("http", "body timeout: the streaming request body stopped", {{"peer", c.peer}});
      return -1;
    } else if (!c.cur) {
      if (now >= c.head_since_us + opt_.head_timeout_ms * 1000) {
        if (c.in.empty()) return -1;  // an idle connection is closed quietly
        RefuseHead(c, 408,
                   "The request head did not arrive within " +
                       std::to_string(opt_.head_timeout_ms) + " ms");
      }
    } else if (Session& s = *c.cur;
               !s.body_done && !s.writer && !c.closing && now >= BodyDeadline(s)) {
      // A refused body being dropped after its complete answer: the connection just ends.
      if (s.phase == Phase::kDone) return -1;
      c.closing = true;  // nothing more is read
      s.interim.clear();
      SetResponse(s, LayerError(408, "The request body arrived slower than " +
                                         std::to_string(opt_.min_body_bytes_per_second) +
                                         " bytes per second"));
      CloseAfterWrites(s);  // after the 408, or after the answer already under way
    }
    Schedule(c);
    return 0;
  }

  size_t OpenFrom(const std::string& peer) const {
    auto it = addresses_.find(peer);
    return it == addresses_.end() ? 0 : it->second.open;
  }

  // The connection to close to make room: the one that has waited longest for a request
  // head, else the one that has been reading a buffered body longest; never a streaming
  // request (a producer) or one whose answer is being made or sent. Null: none.
  static Conn* ToShed(std::list<Conn*> (&tiers)[kShedTiers]) {
    for (auto& tier : tiers) {
      if (!tier.empty()) return tier.front();
    }
    return nullptr;
  }

  // Counts a new connection, first closing one (ToShed) when a cap is reached, as nginx
  // reuses idle keep-alive connections when it runs short: a flood of idle or slow
  // connections pushes out its own oldest. False: refuse it (every other one is busy).
  bool Admit(Conn& c) {
    if (OpenFrom(c.peer) >= opt_.max_connections_per_address) {
      if (Conn* victim = ToShed(addresses_.find(c.peer)->second.sheddable)) Shed(*victim);
      if (OpenFrom(c.peer) >= opt_.max_connections_per_address) return false;
    }
    if (open_.load() >= max_connections_) {
      if (Conn* victim = ToShed(sheddable_)) Shed(*victim);
      if (open_.load() >= max_connections_) return false;
    }
    c.counted = true;
    open_.fetch_add(1);
    ++addresses_[c.peer].open;
    return true;
  }

  void Release(Conn& c) {
    Unlist(c);
    if (!c.counted) return;
    c.counted = false;
    open_.fetch_sub(1);
    auto it = addresses_.find(c.peer);
    if (it != addresses_.end() && --it->second.open == 0) addresses_.erase(it);
  }

  // The connection waits for a request head, from now, and may be shed to make room.
  void StartWaiting(Conn& c) {
    c.head_since_us = NowMicros();
    MakeSheddable(c, 0);
  }

  void MakeSheddable(Conn& c, int tier) {
    Unlist(c);
    if (!c.counted) return;
    c.shed_tier = tier;
    c.shed_it = sheddable_[tier].insert(sheddable_[tier].end(), &c);
    std::list<Conn*>& mine = addresses_[c.peer].sheddable[tier];
    c.addr_shed_it = mine.insert(mine.end(), &c);
  }

  void Unlist(Conn& c) {
    if (c.shed_tier < 0) return;
    sheddable_[c.shed_tier].erase(c.shed_it);
    addresses_[c.peer].sheddable[c.shed_tier].erase(c.addr_shed_it);
    c.shed_tier = -1;
  }

  // Closes a connection to make room (ToShed's choice); it no longer counts.
  void Shed(Conn& c) {
    Release(c);
    c.closing = true;
    lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  }

  // A connection over the caps gets 503 and is closed. Its socket's send buffer is empty, so
  // one non-blocking send takes the answer (and if it cannot, the client learns as much from
  // the close); it is not read first, so that a flood costs us an accept and a close each. On
  // a TLS port it is closed before its handshake, unanswered (a handshake costs more).
  void RefuseConnection(lws* wsi) {
    if (!tls_) {
      const HttpResponse r = LayerError(503, "Too many connections; retry later");
      CountError(r.headers);
      const std::string bytes =
          FormatResponseHead(r.status, r.content_type, r.headers, false, r.body.size(), true) +
          r.body;
      (void)!send(lws_get_socket_fd(wsi), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  }

  // ---- Requests (service thread) ----

  // Frames what is in the connection's input: the body of the current request, then, once
  // its response is complete, the next request's head.
  void Pump(Conn& c) {
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
  bool HeadMayBeReady(Conn& c, std::string_view in) {
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
    SetResponse(s, LayerError(status, message));
    s.close_after = true;
    c.closing = true;
  }

  // An answer the HTTP layer makes itself: KVS's error shape, with a request id as every
  // answer through the middleware has.
  HttpResponse LayerError(int status, std::string message) const {
    return WithRequestId(HttpLayerErrorResponse(status, std::move(message)));
  }
  HttpResponse WithRequestId(HttpResponse r) const {
    if (opt_.request_id) r.headers.push_back({"x-amzn-requestid", opt_.request_id()});
    return r;
  }

  Session& NewSession(Conn& c) {
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
    s.body_since_us = NowMicros();
    // libcurl and the KVS producer wait a second for this before sending the body.
    if (head.expect_continue && has_body) {
      BeforeOutput(c);
      s.interim = "HTTP/1.1 100 Continue\r\n\r\n";
    }

    if (auto it = streaming_.find({r.method, r.path}); it != streaming_.end()) {
      // A streaming body must keep coming (its idle deadline runs from its last bytes); its
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
    Unlist(*s.conn);
    if (s.streaming) {
      s.streaming->OnBodyEnd();
    } else if (s.phase == Phase::kReadingBody) {
      Dispatch(s);
    }
  }

  void Dispatch(Session& s) {
    s.phase = Phase::kHandling;
    if (!s.buffered) {
      SetResponse(
          s, WithRequestId(KvsErrorResponse(
                 {KvsErrorType::kUnknownOperation,
                  NotFound("No such operation: " + s.request.method + " " + s.request.path)})));
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
    if (!ok) SetResponse(s, WithRequestId(opt_.busy_response));
  }

  // Ends the connection's current request (its response is complete, or the socket is gone).
  void EndSession(Conn& c) {
    Session* s = c.cur;
    if (!s) return;
    c.cur = nullptr;
    SetKind(c, &idle_);
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
          if (std::exchange(c.first_read, false) && self->tls_ && !EndHandshake(wsi)) {
            self->RefuseHead(c, 400, kPlainHttpOnTlsPort);  // plain HTTP on a TLS port
            return 0;
          }
          c.in.append(static_cast<const char*>(in), len);
          // A streaming body that keeps coming is alive. Its deadline is looked at when its
          // timer fires, not moved on every read.
          if (c.cur && !c.cur->body_done && c.cur->writer) c.cur->body_rx_us = NowMicros();
          self->Pump(c);
          return 0;
        }
        case LWS_CALLBACK_RAW_WRITEABLE:
          return slot && *slot ? self->OnWritable(**slot) : 0;
        case LWS_CALLBACK_RAW_CLOSE:
          if (slot && *slot) {
            self->Disarm(**slot);
            self->Release(**slot);
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
  std::map<std::string, std::unique_ptr<std::atomic<int64_t>>> streaming_open_;
  std::unordered_map<std::string, Address> addresses_;
  std::list<Conn*> sheddable_[kShedTiers];  // oldest first
  lws_protocols protocols_[2];
  std::unique_ptr<uv_loop_t> loop_;  // before ctx_: it outlives the context
  lws_context* ctx_ = nullptr;
  // Every connection's next deadline, behind one lws timer (see Schedule).
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
  for (const auto& [path, open] : impl_->streaming_open_) {
    c.streaming[path] = open->load(std::memory_order_relaxed);
  }
  return c;
}

}  // namespace streamarc::server
