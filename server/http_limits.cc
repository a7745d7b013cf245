// Deadlines (head, body rate, send, lingering close) and connection caps (total and per
// address, with shedding) of the HTTP front.
#include <sys/socket.h>

#include <algorithm>

#include "server/http_server_impl.h"
#include "server/kvs_error.h"

namespace streamarc::server {

namespace {

// File descriptors are asked for up to this many (RLIMIT_NOFILE's soft limit, raised toward
// the hard limit, which may be "unlimited").
constexpr rlim_t kMaxOpenFiles = 1 << 20;

}  // namespace

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

// True while response bytes wait for the socket: what the send timeout watches.
bool HttpServer::Impl::OutputWaiting(const Conn& c) {
  if (lws_partial_buffered(c.wsi)) return true;
  const Session* s = c.cur;
  return s &&
         (!s->interim.empty() || (s->response_started && (!s->headers_sent || !s->out.empty())));
}

// Before output is queued: a wait for the socket that begins now is timed from now.
void HttpServer::Impl::BeforeOutput(Conn& c) {
  if (!OutputWaiting(c)) c.send_progress_us = NowMicros();
}

int64_t HttpServer::Impl::BodyDeadline(const Session& s) const {
  const uint64_t rate = std::max<uint64_t>(opt_.min_body_bytes_per_second, 1);
  return s.body_since_us + int64_t{opt_.body_timeout_seconds} * 1'000'000 +
         static_cast<int64_t>(s.body_received * 1'000'000 / rate);
}

// The earliest deadline that applies to the connection now; kNever when none does (a
// streaming body, a response being made or waiting for data to send).
int64_t HttpServer::Impl::NextDeadline(const Conn& c) const {
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
void HttpServer::Impl::Schedule(Conn& c) {
  const int64_t at = NextDeadline(c);
  if (at == kNever || (c.deadline_at_us != 0 && c.deadline_at_us <= at)) return;
  Disarm(c);
  c.deadline_at_us = at;
  c.deadline_it = deadlines_.emplace(at, &c);
  ArmDeadlines();
}

void HttpServer::Impl::Disarm(Conn& c) {
  if (c.deadline_at_us == 0) return;
  deadlines_.erase(c.deadline_it);
  c.deadline_at_us = 0;
}

void HttpServer::Impl::ArmDeadlines(int64_t min_delay_us) {
  if (deadlines_.empty()) return;
  const int64_t first = deadlines_.begin()->first;
  if (deadline_sul_at_ != 0 && deadline_sul_at_ <= first) return;
  deadline_sul_at_ = first;
  lws_sul_cancel(&deadline_timer_.sul);  // moved earlier: unlisted first (no-op if unlisted)
  lws_sul_schedule(ctx_, 0, &deadline_timer_.sul, &Impl::OnDeadlines,
                   std::max<int64_t>(first - NowMicros(), min_delay_us));
}

void HttpServer::Impl::OnDeadlines(lws_sorted_usec_list_t* sul) noexcept {
  Impl* self = lws_container_of(sul, DeadlineTimer, sul)->self;
  self->deadline_sul_at_ = 0;
  const int64_t now = NowMicros();
  // Connections opened together expire together (a flood's thousands of idle ones): a few
  // at a time, with the sockets served in between, so that producers' acks do not wait.
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
int HttpServer::Impl::OnTimer(Conn& c) {
  c.timer_at_us = 0;
  if (c.h2) return c.h2->OnTimer() ? 0 : -1;
  const int64_t now = NowMicros();
  if (c.linger_until_us) {
    if (now >= c.linger_until_us) return -1;
  } else if (OutputWaiting(c) && now >= c.send_progress_us + opt_.send_timeout_ms * 1000) {
    // The client stopped reading its response: its connection (and whatever the response
    // holds, such as a GetMedia reader slot) is given back.
    log_.Info("http", "send timeout: the client stopped reading", {{"peer", c.peer}});
    return -1;
  } else if (c.cur && c.cur->writer && !c.cur->body_done && !c.cur->reading_paused && !c.closing &&
             now >= c.cur->body_rx_us + int64_t{opt_.body_timeout_seconds} * 1'000'000) {
    // A streaming body (PutMedia) that stopped: the connection is dropped, its session ends
    // as when the producer disconnects.
    log_.Info("http", "body timeout: the streaming request body stopped", {{"peer", c.peer}});
    return -1;
  } else if (!c.cur) {
    if (now >= c.head_since_us + opt_.head_timeout_ms * 1000) {
      if (c.in.empty()) return -1;  // an idle connection is closed quietly
      RefuseHead(
          c, 408,
          "The request head did not arrive within " + std::to_string(opt_.head_timeout_ms) + " ms");
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

size_t HttpServer::Impl::OpenFrom(const std::string& peer) const {
  auto it = addresses_.find(peer);
  return it == addresses_.end() ? 0 : it->second.open;
}

// The connection to close to make room: the one that has waited longest for a request
// head, else the one that has been reading a buffered body longest; never a streaming
// request (a producer) or one whose answer is being made or sent. Null: none.
Conn* HttpServer::Impl::ToShed(std::list<Conn*> (&tiers)[kShedTiers]) {
  for (auto& tier : tiers) {
    if (!tier.empty()) return tier.front();
  }
  return nullptr;
}

// Counts a new connection, first closing one (ToShed) when a cap is reached, as nginx
// reuses idle keep-alive connections when it runs short: a flood of idle or slow
// connections pushes out its own oldest. False: refuse it (every other one is busy).
bool HttpServer::Impl::Admit(Conn& c) {
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

void HttpServer::Impl::Release(Conn& c) {
  Unlist(c);
  if (!c.counted) return;
  c.counted = false;
  open_.fetch_sub(1);
  auto it = addresses_.find(c.peer);
  if (it != addresses_.end() && --it->second.open == 0) addresses_.erase(it);
}

// The connection waits for a request head, from now, and may be shed to make room.
void HttpServer::Impl::StartWaiting(Conn& c) {
  c.head_since_us = NowMicros();
  MakeSheddable(c, 0);
}

void HttpServer::Impl::MakeSheddable(Conn& c, int tier) {
  Unlist(c);
  if (!c.counted) return;
  c.shed_tier = tier;
  c.shed_it = sheddable_[tier].insert(sheddable_[tier].end(), &c);
  std::list<Conn*>& mine = addresses_[c.peer].sheddable[tier];
  c.addr_shed_it = mine.insert(mine.end(), &c);
}

void HttpServer::Impl::Unlist(Conn& c) {
  if (c.shed_tier < 0) return;
  sheddable_[c.shed_tier].erase(c.shed_it);
  addresses_[c.peer].sheddable[c.shed_tier].erase(c.addr_shed_it);
  c.shed_tier = -1;
}

// Closes a connection to make room (ToShed's choice); it no longer counts.
void HttpServer::Impl::Shed(Conn& c) {
  Release(c);
  c.closing = true;
  lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

// A connection over the caps gets 503 and is closed. Its socket's send buffer is empty, so
// one non-blocking send takes the answer (and if it cannot, the client learns as much from
// the close); it is not read first, so that a flood costs us an accept and a close each. On
// a TLS port it is closed before its handshake, unanswered (a handshake costs more).
void HttpServer::Impl::RefuseConnection(lws* wsi) {
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

}  // namespace streamarc::server
