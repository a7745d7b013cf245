// HTTP/1.1 responses of the HTTP front: queueing and writing them, the end of a request, and
// the lingering close.
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "server/http_server_impl.h"
#include "server/tls.h"

namespace streamarc::server {

void HttpServer::Impl::StartResponse(Session& s, int status, const std::string& type,
                                     const std::vector<Header>& headers, bool chunked,
                                     uint64_t length) {
  if (s.stream_id) return s.conn->h2->StartResponse(s, status, type, headers, chunked, length);
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

void HttpServer::Impl::CountError(const std::vector<Header>& headers) const {
  if (!opt_.on_error) return;
  for (const Header& h : headers) {
    if (h.name == "x-amzn-errortype") return opt_.on_error(h.value);
  }
}

void HttpServer::Impl::SetResponse(Session& s, const HttpResponse& r) {
  if (s.stream_id) return s.conn->h2->SetResponse(s, r);
  if (s.response_started) return;
  StartResponse(s, r.status, r.content_type, r.headers, false, r.body.size());
  if (!r.body.empty() && s.request.method != "HEAD") s.out.push_back(OutPiece{r.body});
  s.final = true;
}

void HttpServer::Impl::QueueChunk(Session& s, OutPiece piece) {
  if (s.stream_id) return s.conn->h2->QueueChunk(s, std::move(piece));
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

void HttpServer::Impl::QueueEnd(Session& s) {
  if (s.stream_id) return s.conn->h2->QueueEnd(s);
  if (!s.chunked || s.final) return;
  s.out.push_back(OutPiece{"0\r\n\r\n"});
  s.final = true;
  lws_callback_on_writable(s.wsi);
}

void HttpServer::Impl::CloseAfterWrites(Session& s) {
  if (s.stream_id) return s.conn->h2->CloseAfterWrites(s);
  s.close_after = true;
  s.final = true;
  lws_callback_on_writable(s.wsi);
}

void HttpServer::Impl::SetReading(Session& s, bool enabled) {
  if (s.stream_id) return s.conn->h2->SetReading(s, enabled);
  s.reading_paused = !enabled;
  // A paused body may not time out; a resumed one gets its bytes that arrived meanwhile, and
  // its idle time counts from now.
  if (!s.body_done && s.writer && enabled) {
    s.body_rx_us = NowMicros();
    Schedule(*s.conn);
  }
  Pump(*s.conn);
}

// Writes one piece of the current response. Returns -1 to close the connection.
int HttpServer::Impl::OnWritable(Conn& c) {
  if (c.h2) return c.h2->OnWritable() ? 0 : -1;
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
    std::string head =
        FormatResponseHead(s.status, s.content_type, s.headers, s.chunked, s.content_length, close);
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
void HttpServer::Impl::FinishRequest(Conn& c) {
  EndSession(c);
  StartWaiting(c);  // for the next head, under the head deadline
  Schedule(c);
}

// Ends the connection after its last answer. When the client may still be sending (an
// error answer, a body not read), what it sends is read and dropped for a while first:
// closing with bytes unread makes the kernel send a reset, which can destroy the answer in
// the client's buffer before the client has read it (nginx's lingering close).
int HttpServer::Impl::CloseOrLinger(Conn& c) {
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

bool HttpServer::Impl::WriteRaw(lws* wsi, std::string_view bytes) {
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

}  // namespace streamarc::server
