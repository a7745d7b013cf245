#include "server/http2_conn.h"

#include <libwebsockets.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "server/http_wire.h"

namespace streamarc::server {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Flow-control windows: what a client may send ahead of its handler, per stream and for the
// whole connection (a PutMedia at 1 MiB per round trip is far above a camera's rate; a paused
// stream holds at most its window).
constexpr uint32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;
// Bytes taken from nghttp2 per writable callback.
constexpr size_t kWriteBatch = 64 << 10;
// The rest of a body whose answer is complete (an early error) is read and dropped up to this
// much, so that the client sees the answer; past it, the stream is reset (NO_ERROR).
constexpr uint64_t kMaxDiscardedBody = 64 << 20;

// Headers that HTTP/2 forbids (RFC 9113 8.2.2): HTTP/1.1 framing, never sent on a stream.
bool ConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  // nghttp2 copies both (no NO_COPY flag), so they need to live only through the submit call.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): nghttp2's nv is not const-correct
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool WriteSocket(lws* wsi, std::string_view bytes) {
  // lws_write needs LWS_PRE bytes of head room; a partial send is kept and finished by lws.
  std::string buf(LWS_PRE + bytes.size(), '\0');
  std::memcpy(buf.data() + LWS_PRE, bytes.data(), bytes.size());
  auto* p = reinterpret_cast<unsigned char*>(buf.data() + LWS_PRE);
  return lws_write(wsi, p, bytes.size(), LWS_WRITE_RAW) >= static_cast<int>(bytes.size());
}

}  // namespace

H2Conn::H2Conn(Conn& c, H2Host& host, const H2Options& options, Logger& log)
    : c_(c), host_(host), opt_(options), log_(log) {}

H2Conn::~H2Conn() { closed_ = true; }

std::unique_ptr<H2Conn> H2Conn::New(Conn& c, H2Host& host, const H2Options& options, Logger& log) {
  std::unique_ptr<H2Conn> h(new H2Conn(c, host, options, log));
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return nullptr;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Conn::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Conn::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Conn::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Conn::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Conn::OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &H2Conn::OnFrameSend);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return nullptr;
  }
  // DATA is acknowledged as handlers take it (nghttp2_session_consume), not on arrival.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session* session = nullptr;
  const int rv = nghttp2_session_server_new2(&session, cbs, h.get(), opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(opt);
  if (rv != 0) return nullptr;
  h->session_.reset(session);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(options.max_head_bytes)},
  };
  if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) !=
          0) {
    return nullptr;
  }
  h->idle_since_us_ = NowMicros();
  h->Kick();
  return h;
}

// ---- The socket (service thread) ----

bool H2Conn::Receive(std::string_view bytes) {
  const ssize_t n = nghttp2_session_mem_recv(
      session_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (n < 0) {
    // Not HTTP/2 at all (a bad preface), a flood, or a broken callback: nothing to answer.
    log_.Info("http2", "connection dropped", {{"peer", c_.peer}, {"why", nghttp2_strerror(n)}});
    return false;
  }
  Kick();
  return true;
}

bool H2Conn::OnWritable() {
  c_.send_progress_us = NowMicros();  // the socket has room: the client is reading
  std::string out;
  while (out.size() < kWriteBatch) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n < 0) return false;
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (!out.empty() && !WriteSocket(c_.wsi, out)) return false;
  const bool want_write = nghttp2_session_want_write(session_.get()) != 0;
  // nghttp2 is done with the connection (a GOAWAY it sent after a protocol error), or our own
  // GOAWAY is out and no stream is left.
  if (!want_write &&
      (!nghttp2_session_want_read(session_.get()) || (going_away_ && streams_.empty()))) {
    return false;
  }
  Kick();
  return true;
}

bool H2Conn::Pending() const {
  return nghttp2_session_want_write(session_.get()) != 0 || lws_partial_buffered(c_.wsi) != 0;
}

void H2Conn::Kick() {
  if (closed_) return;
  const bool waiting = Pending();
  if (waiting) lws_callback_on_writable(c_.wsi);
  if (waiting && !output_waiting_) c_.send_progress_us = NowMicros();
  output_waiting_ = waiting;
  const int64_t at = NextDeadline();
  if (at == kNever || (c_.timer_at_us != 0 && c_.timer_at_us <= at)) return;
  c_.timer_at_us = at;
  lws_set_timer_usecs(c_.wsi, std::max<int64_t>(at - NowMicros(), 1));
}

void H2Conn::Shutdown() {
  if (going_away_ || closed_) return;
  going_away_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  Kick();
}

void H2Conn::Closed() {
  closed_ = true;
  heads_.clear();
  std::map<int32_t, Session*> streams;
  streams.swap(streams_);
  for (auto& [id, s] : streams) host_.CloseStream(*s);
}

// ---- Deadlines ----

int64_t H2Conn::StreamDeadline(const Session& s) const {
  // A head still arriving (HEADERS, then CONTINUATIONs) must end within the idle timeout.
  if (heads_.count(s.stream_id)) return s.body_since_us + opt_.idle_timeout_ms * 1000;
  int64_t at = kNever;
  if (!s.body_done && s.answered) {
    at = s.body_progress_us + opt_.body_timeout_ms * 1000;  // the rest of an unwanted body
  } else if (!s.body_done && s.writer) {
    // A streaming body must keep coming, unless its handler paused it.
    if (!s.reading_paused && s.pending_in.empty()) {
      at = s.body_progress_us + opt_.body_timeout_ms * 1000;
    }
  } else if (!s.body_done && s.phase == Phase::kReadingBody) {  // a buffered body
    const uint64_t rate = std::max<uint64_t>(opt_.min_body_bytes_per_second, 1);
    at = s.body_since_us + opt_.body_timeout_ms * 1000 +
         static_cast<int64_t>(s.body_received * 1'000'000 / rate);
  }
  if (!s.out.empty()) at = std::min(at, s.send_progress_us + opt_.send_timeout_ms * 1000);
  return at;
}

int64_t H2Conn::NextDeadline() const {
  int64_t at = kNever;
  if (streams_.empty()) at = idle_since_us_ + opt_.idle_timeout_ms * 1000;
  if (output_waiting_) at = std::min(at, c_.send_progress_us + opt_.send_timeout_ms * 1000);
  for (const auto& [id, s] : streams_) at = std::min(at, StreamDeadline(*s));
  return at;
}

bool H2Conn::OnTimer() {
  const int64_t now = NowMicros();
  if (output_waiting_ && now >= c_.send_progress_us + opt_.send_timeout_ms * 1000) {
    log_.Info("http2", "send timeout: the client stopped reading", {{"peer", c_.peer}});
    return false;
  }
  if (streams_.empty() && now >= idle_since_us_ + opt_.idle_timeout_ms * 1000) {
    if (going_away_) return false;  // the GOAWAY could not even be sent
    Shutdown();                     // an idle connection ends politely
    idle_since_us_ = now;           // and is closed if that GOAWAY is not taken in time
  }
  std::vector<Session*> expired;
  for (const auto& [id, s] : streams_) {
    if (now >= StreamDeadline(*s)) expired.push_back(s);
  }
  for (Session* s : expired) {
    if (heads_.count(s->stream_id)) {
      log_.Info("http2", "a request head did not complete in time", {{"peer", c_.peer}});
      Reset(*s, NGHTTP2_CANCEL);
    } else if (!s->out.empty() && now >= s->send_progress_us + opt_.send_timeout_ms * 1000) {
      // The client stopped reading this stream (it gives it no window): its stream, and
      // whatever its response holds (a GetMedia reader slot), is given back.
      log_.Info("http2", "send timeout: the client stopped reading a stream",
                {{"peer", c_.peer}, {"path", s->request.path}});
      Reset(*s, NGHTTP2_CANCEL);
    } else if (s->answered) {
      Reset(*s, NGHTTP2_NO_ERROR);  // its answer is out; the rest of its body stopped coming
    } else if (!s->writer && s->phase == Phase::kReadingBody) {
      SetResponse(*s, host_.ErrorAnswer(408, "The request body arrived slower than " +
                                                 std::to_string(opt_.min_body_bytes_per_second) +
                                                 " bytes per second"));
    } else {
      log_.Info("http2", "a streaming request body stalled",
                {{"peer", c_.peer}, {"path", s->request.path}});
      Reset(*s, NGHTTP2_CANCEL);
    }
    // Not again before it closes.
    s->body_since_us = s->body_progress_us = s->send_progress_us = kNever / 2;
  }
  Kick();
  return true;
}

// ---- Requests ----

Session* H2Conn::Find(int32_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second;
}

int H2Conn::OnBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                           void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  if (self->closed_ || frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  try {
    Session& s = self->host_.OpenStream(self->c_);
    s.stream_id = frame->hd.stream_id;
    s.body_since_us = NowMicros();  // the head's deadline counts from here
    self->streams_[s.stream_id] = &s;
    self->heads_[s.stream_id] = HeadState{};
    return 0;
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;  // nothing may cross the C callback
  }
}

int H2Conn::OnHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame, const uint8_t* name,
                     size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                     void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // trailers are ignored
  }
  auto it = self->heads_.find(frame->hd.stream_id);
  Session* s = self->Find(frame->hd.stream_id);
  if (it == self->heads_.end() || !s) return 0;
  HeadState& h = it->second;
  try {
    h.bytes += namelen + valuelen + 32;  // RFC 9113 6.5.2's measure of a header list
    ++h.count;
    if (h.refuse_status) return 0;
    if (h.bytes > self->opt_.max_head_bytes || h.count > self->opt_.max_headers) {
      h.refuse_status = 431;
      h.refuse_message =
          "The request head is larger than " + std::to_string(self->opt_.max_head_bytes) + " bytes";
      return 0;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      s->request.method = v;
    } else if (n == ":path") {
      h.target = v;
    } else if (n == ":authority") {
      h.authority = v;
    } else if (n.empty() || n[0] != ':') {
      if (n == "content-length") {
        // nghttp2 has checked it is a number that matches the DATA that follows.
        std::from_chars(v.data(), v.data() + v.size(), h.content_length);
      }
      s->request.headers.push_back({std::string(n), std::string(v)});
    }
    return 0;
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

void H2Conn::EndOfHead(Session& s) {
  auto it = heads_.find(s.stream_id);
  if (it == heads_.end()) return;
  HeadState h = std::move(it->second);
  heads_.erase(it);
  if (!h.refuse_status) {
    RequestHead target;
    if (h.target.empty() || h.target[0] != '/' || !SplitTarget(h.target, &target)) {
      h.refuse_status = 400;
      h.refuse_message = "Malformed request target";
    } else {
      s.request.path = std::move(target.path);
      s.request.query = std::move(target.query);
      s.request.raw_query = std::move(target.raw_query);
    }
  }
  // HTTP/2 names the host in :authority; the Host check and SigV4 (which signs "host") read it
  // as on HTTP/1.1.
  if (!s.request.FindHeader("host") && !h.authority.empty()) {
    s.request.headers.push_back({"host", std::move(h.authority)});
  }
  s.body_progress_us = NowMicros();
  host_.BeginStream(s, h.content_length, h.refuse_status, h.refuse_message);
}

void H2Conn::EndOfBody(Session& s) {
  if (!s.pending_in.empty()) {
    s.body_end_pending = true;  // after the held bytes, when the handler resumes
    return;
  }
  if (s.body_done) return;
  s.body_done = true;
  host_.StreamBodyEnd(s);
}

int H2Conn::OnFrameRecv(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                        void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  if (self->closed_) return 0;
  Session* s = self->Find(frame->hd.stream_id);
  if (!s) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  try {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->body_done = end_stream;
      self->EndOfHead(*s);
    } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
               end_stream) {
      self->EndOfBody(*s);
    }
    return 0;
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

void H2Conn::Feed(Session& s, std::string_view bytes) {
  const int32_t id = s.stream_id;
  s.body_progress_us = NowMicros();
  host_.StreamBody(s, bytes);
  // Taken: the client may send as much again.
  nghttp2_session_consume(session_.get(), id, bytes.size());
}

int H2Conn::OnDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                        const uint8_t* data, size_t len, void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  Session* s = self->closed_ ? nullptr : self->Find(stream_id);
  if (!s) {
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  if (s->answered) {
    // Dropped, but acknowledged: the client finishes sending and reads the answer.
    s->discarded += len;
    s->body_progress_us = NowMicros();
    nghttp2_session_consume(session, stream_id, len);
    if (s->discarded > kMaxDiscardedBody) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }
  try {
    const std::string_view bytes(reinterpret_cast<const char*>(data), len);
    if (s->reading_paused || !s->pending_in.empty()) {
      s->pending_in.append(bytes);  // unacknowledged until the handler resumes
    } else {
      self->Feed(*s, bytes);
    }
    return 0;
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

int H2Conn::OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t /*error_code*/,
                          void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  if (self->closed_) return 0;
  self->heads_.erase(stream_id);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  Session* s = it->second;
  self->streams_.erase(it);
  // What the stream held unacknowledged still counts against the connection's window.
  if (!s->pending_in.empty()) nghttp2_session_consume_connection(session, s->pending_in.size());
  if (self->streams_.empty()) self->idle_since_us_ = NowMicros();
  try {
    self->host_.CloseStream(*s);
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H2Conn::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  if (self->closed_ || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0 ||
      (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)) {
    return 0;
  }
  // The answer is complete. A body still coming (an error answered early) is not wanted: it
  // is read and dropped (OnDataChunk), as HTTP/1.1 does, since a client reset at once
  // (RFC 9113 8.1 allows it) may lose the answer (curl 7.88 does).
  Session* s = self->Find(frame->hd.stream_id);
  if (s && !s->body_done) {
    s->answered = true;
    s->body_progress_us = NowMicros();
    if (!s->pending_in.empty()) {
      nghttp2_session_consume(session, frame->hd.stream_id, s->pending_in.size());
      s->pending_in.clear();
    }
  }
  return 0;
}

// ---- Responses ----

void H2Conn::StartResponse(Session& s, int status, const std::string& type,
                           const std::vector<Header>& headers, bool chunked, uint64_t length) {
  if (s.response_started) return;
  host_.CountErrorAnswer(headers);
  s.response_started = true;
  s.phase = Phase::kResponding;
  s.status = status;
  s.content_type = type;
  s.headers = headers;
  s.chunked = chunked;
  s.content_length = length;
  Submit(s);
}

void H2Conn::SetResponse(Session& s, const HttpResponse& r) {
  if (s.response_started) return;
  if (!r.body.empty() && s.request.method != "HEAD") {
    s.out.push_back(OutPiece{r.body});
    s.send_progress_us = NowMicros();
  }
  s.final = true;
  s.ended = true;
  StartResponse(s, r.status, r.content_type, r.headers, false, r.body.size());
}

void H2Conn::Submit(Session& s) {
  const std::string status = std::to_string(s.status);
  const std::string length = std::to_string(s.content_length);
  std::vector<nghttp2_nv> nva;
  nva.reserve(s.headers.size() + 3);
  nva.push_back(Nv(":status", status));
  if (!s.content_type.empty()) nva.push_back(Nv("content-type", s.content_type));
  const bool bodyless = s.status == 204 || s.status == 304 || s.status < 200;
  if (!s.chunked && !bodyless) nva.push_back(Nv("content-length", length));
  for (const Header& h : s.headers) {
    if (!ConnectionSpecific(h.name) && h.name != "content-length") {
      nva.push_back(Nv(h.name, h.value));
    }
  }
  nghttp2_data_provider body{};
  body.read_callback = &H2Conn::ReadBody;
  const bool empty = s.ended && s.out.empty();
  if (nghttp2_submit_response(session_.get(), s.stream_id, nva.data(), nva.size(),
                              empty ? nullptr : &body) != 0) {
    Reset(s, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  Kick();
}

ssize_t H2Conn::ReadBody(nghttp2_session* /*session*/, int32_t stream_id, uint8_t* buf,
                         size_t length, uint32_t* flags, nghttp2_data_source* /*source*/,
                         void* user) noexcept {
  auto* self = static_cast<H2Conn*>(user);
  Session* s = self->Find(stream_id);
  if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  try {
    size_t n = 0;
    while (n < length && !s->out.empty()) {
      const std::string_view piece = s->out.front().view();
      const size_t k = std::min(piece.size() - s->out_offset, length - n);
      std::memcpy(buf + n, piece.data() + s->out_offset, k);
      n += k;
      s->out_offset += k;
      if (s->out_offset == piece.size()) {
        const size_t counted = s->out.front().counted;
        s->out.pop_front();
        s->out_offset = 0;
        if (counted && s->writer) s->writer->Written(counted);  // may queue more (posted)
      }
    }
    if (n) s->send_progress_us = NowMicros();
    if (s->out.empty() && s->final) {
      // A streamed response closed before its end is cut off, as a closed HTTP/1.1
      // connection cuts a chunked one: the stream is reset.
      if (!s->ended) {
        return n ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE};
      }
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (n) return static_cast<ssize_t>(n);
    s->deferred = true;  // resumed when the writer adds bytes or ends
    return NGHTTP2_ERR_DEFERRED;
  } catch (...) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
}

void H2Conn::Resume(Session& s) {
  if (s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(session_.get(), s.stream_id);
  }
  Kick();
}

void H2Conn::QueueChunk(Session& s, OutPiece piece) {
  if (!s.chunked || s.final) {
    if (piece.counted && s.writer) s.writer->Written(piece.counted);
    return;
  }
  if (s.out.empty()) s.send_progress_us = NowMicros();
  s.out.push_back(std::move(piece));
  Resume(s);
}

void H2Conn::QueueEnd(Session& s) {
  if (!s.chunked || s.final) return;
  s.final = true;
  s.ended = true;
  Resume(s);
}

void H2Conn::CloseAfterWrites(Session& s) {
  s.close_after = true;
  s.final = true;
  if (!s.response_started) {
    Reset(s, NGHTTP2_CANCEL);  // closed unanswered, as an HTTP/1.1 connection would be
    return;
  }
  Resume(s);
}

void H2Conn::Reset(Session& s, uint32_t error_code) {
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.stream_id, error_code);
  Kick();
}

void H2Conn::SetReading(Session& s, bool enabled) {
  s.reading_paused = !enabled;
  if (enabled) {
    s.body_progress_us = NowMicros();  // a pause is not a stall
    if (!s.pending_in.empty()) {
      std::string held;
      held.swap(s.pending_in);
      Feed(s, held);
    }
    if (s.body_end_pending && s.pending_in.empty()) {
      s.body_end_pending = false;
      EndOfBody(s);
    }
  }
  Kick();
}

}  // namespace streamarc::server
