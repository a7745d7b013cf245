// The upload side of StreamImpl: one thread per stream drives a curl multi handle holding at
// most one PutMedia transfer. The request body is read from the content store (ReadCb),
// pausing while the store has nothing new; the response is the ACK stream (WriteCb).
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "producer-sdk/stream_impl.h"

namespace streamarc::producer {

namespace {

std::string StartTimestamp(int64_t now_us) {
  int64_t ms = now_us / 1000;
  char buf[48];
  snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
           static_cast<long long>(ms % 1000));
  return buf;
}

}  // namespace

Status StreamImpl::Start() {
  if (!curl_global_->ok()) return Internal("curl_global_init failed");
  multi_.reset(curl_multi_init());
  if (!multi_) return Internal("curl_multi_init failed");
  thread_ = std::thread([this] { UploadLoop(); });
  return Status::Ok();
}

size_t StreamImpl::ReadCb(char* buf, size_t size, size_t n, void* self) noexcept {
  return static_cast<StreamImpl*>(self)->Read(buf, size * n);
}

size_t StreamImpl::WriteCb(char* buf, size_t size, size_t n, void* self) noexcept {
  return static_cast<StreamImpl*>(self)->Write(buf, size * n);
}

curl_socket_t StreamImpl::OpenSocketCb(void* self, curlsocktype, curl_sockaddr* a) noexcept {
  curl_socket_t s = socket(a->family, a->socktype, a->protocol);
  static_cast<StreamImpl*>(self)->socket_ = s;
  return s;
}

int StreamImpl::CloseSocketCb(void* self, curl_socket_t s) noexcept {
  auto* me = static_cast<StreamImpl*>(self);
  curl_socket_t expected = s;
  me->socket_.compare_exchange_strong(expected, CURL_SOCKET_BAD);
  return close(s);
}

size_t StreamImpl::HeaderCb(char* buf, size_t size, size_t n, void* self) noexcept {
  std::string_view line(buf, size * n);
  constexpr std::string_view kName = "x-amzn-errortype:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string_view v = line.substr(kName.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    static_cast<StreamImpl*>(self)->error_type_ =
        std::string(v.substr(0, v.find_first_of(":\r\n")));
  }
  return size * n;
}

size_t StreamImpl::Read(char* buf, size_t max) {
  MutexLock lock(mu_);
  data_ready_ = false;
  size_t n = 0;
  bool more = true;
  while (n < max) {
    if (header_off_ < conn_header_.size()) {
      size_t k = std::min(max - n, conn_header_.size() - header_off_);
      std::copy_n(conn_header_.data() + header_off_, k, buf + n);
      header_off_ += k;
      n += k;
      continue;
    }
    const uint64_t seq = send_seq_;  // a lambda is analysed without the lock: copied
    auto it = std::find_if(store_.begin(), store_.end(),
                           [seq](const StoredFragment& f) { return f.seq >= seq; });
    if (it == store_.end()) {
      more = false;
      break;
    }
    if (it->seq != send_seq_) {
      send_seq_ = it->seq;
      send_off_ = 0;
    }
    if (send_off_ == 0) {
      if (it->sent_once) ++stats_.fragments_resent;
      it->sent_once = true;
    }
    size_t k = std::min(max - n, it->bytes.size() - send_off_);
    std::copy_n(it->bytes.data() + send_off_, k, buf + n);
    send_off_ += k;
    n += k;
    if (send_off_ < it->bytes.size()) break;
    if (!it->complete) break;  // the open fragment: wait for its next frame
    it->sent_whole = true;
    ++send_seq_;
    send_off_ = 0;
  }
  stats_.bytes_sent += n;
  if (n > 0) return n;
  if (ending_ && !more) return 0;  // the last chunk: the server ends the fragment and the body
  reader_paused_ = true;
  return CURL_READFUNC_PAUSE;
}

size_t StreamImpl::Write(const char* buf, size_t n) {
  if (http_status_ == 0) {
    curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &http_status_);
    if (http_status_ == 200) {
      MutexLock lock(mu_);
      Queue([](StreamCallbacks& cb) {
        cb.OnConnectionState(ConnectionState::kConnected, Status::Ok());
      });
    }
  }
  if (http_status_ != 200) {
    if (error_body_.size() < 4096) error_body_.append(buf, std::min<size_t>(n, 4096));
    return n;
  }
  std::vector<FragmentAck> acks;
  ack_parser_.Feed({buf, n}, acks);
  if (!acks.empty()) {
    last_ack_us_ = clock_.MonotonicMicros();
    OnAcks(acks);
  }
  return n;
}

void StreamImpl::OnAcks(std::vector<FragmentAck>& acks) {
  MutexLock lock(mu_);
  for (FragmentAck& ack : acks) {
    StoredFragment* f = ack.type == AckType::kIdle ? nullptr : FindByTimecode(ack.timecode);
    switch (ack.type) {
      case AckType::kBuffering:
      case AckType::kIdle:
        break;
      case AckType::kReceived:
        if (f) f->received = true;
        break;
      case AckType::kPersisted:
        if (f) {
          ++stats_.fragments_persisted;
          stats_.last_persisted_latency_us = clock_.MonotonicMicros() - f->first_put_us;
          attempts_ = 0;
          EraseFragment(IterOf(*f));
        }
        break;
      case AckType::kError: {
        ++stats_.error_acks;
        const auto id = static_cast<kvs::AckErrorId>(ack.error_id);
        if (kvs::IsRetriedByProducer(id)) break;  // the server ends the session; we resend
        Status why =
            kvs::MeansStreamGone(id)
                ? NotFound("stream " + opt_.name + " is not active (deleted?): ERROR ack " +
                           std::to_string(ack.error_id))
                : InvalidArgument("the server refused fragment " + std::to_string(ack.timecode) +
                                  ": ERROR ack " + std::to_string(ack.error_id) + " " +
                                  ack.error_code);
        if (kvs::MeansStreamGone(id)) {
          Fail(why);
          break;
        }
        // A fragment the server will never take (too big, bad MKV, bad timecode): resending
        // it would fail forever, so it is dropped, as KVS's SDK skips it.
        if (f) {
          ++stats_.fragments_dropped;
          stats_.frames_dropped += f->frames;
          int64_t tc = f->timecode_ms;
          Queue([tc](StreamCallbacks& cb) { cb.OnDroppedFragment(tc); });
          EraseFragment(IterOf(*f));
        }
        Queue([why](StreamCallbacks& cb) { cb.OnStreamError(why); });
        break;
      }
    }
    Queue([ack = std::move(ack)](StreamCallbacks& cb) { cb.OnFragmentAck(ack); });
  }
}

int64_t StreamImpl::BackoffMs() {
  double cap = std::min<double>(
      static_cast<double>(opt_.retry_max_ms),
      static_cast<double>(opt_.retry_min_ms) * std::pow(2.0, std::min(attempts_, 30)));
  std::uniform_int_distribution<int64_t> d(0, std::max<int64_t>(1, static_cast<int64_t>(cap)));
  return d(rng_);
}

Status StreamImpl::StartTransfer() {
  {
    MutexLock lock(mu_);
    conn_header_ = packager_.header();
    header_off_ = 0;
    send_seq_ = store_.empty() ? next_seq_ : store_.front().seq;
    send_off_ = 0;
    transfer_active_ = true;
    reader_paused_ = false;
    Queue([](StreamCallbacks& cb) {
      cb.OnConnectionState(ConnectionState::kConnecting, Status::Ok());
    });
  }
  ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(data_endpoint_));
  ASSIGN_OR_RETURN(
      easy_headers_,
      SignedHeaderList(url, "/putMedia",
                       {{"x-amzn-stream-name", opt_.name},
                        {"x-amzn-fragment-timecode-type", "ABSOLUTE"},
                        {"x-amzn-producer-start-timestamp", StartTimestamp(clock_.NowMicros())},
                        {"x-amzn-fragment-acknowledgment-required", "1"}},
                       std::string(sigv4::kEmptyPayloadSha256), upload_.sign, clock_.NowMicros()));
  for (const char* h : {"Transfer-Encoding: chunked", "Expect:", "Content-Type:"}) {
    curl_slist* l = curl_slist_append(easy_headers_.get(), h);
    if (!l) return Internal("curl_slist_append failed");
  }
  easy_.reset(curl_easy_init());
  if (!easy_) return Internal("curl_easy_init failed");
  std::string full = url.scheme + "://" + url.host_header + url.path + "/putMedia";
  CURL* c = easy_.get();
  curl_easy_setopt(c, CURLOPT_URL, full.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, easy_headers_.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &StreamImpl::ReadCb);
  curl_easy_setopt(c, CURLOPT_READDATA, this);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &StreamImpl::WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &StreamImpl::HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(upload_.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
  // One connection per PutMedia, never reused: a connection that carried a failed session is
  // not trusted with the next.
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  // HTTP/1.1 even where TLS offers h2, as KVS producers stream: a connection of its own has
  // nothing to multiplex, and HTTP/2 would frame every byte again and count a second window.
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  socket_ = CURL_SOCKET_BAD;
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &StreamImpl::OpenSocketCb);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, &StreamImpl::CloseSocketCb);
  curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, this);
  SetCaCert(c, upload_.sign.ca_cert);
  http_status_ = 0;
  error_body_.clear();
  error_type_.clear();
  ack_parser_ = AckStreamParser();
  last_ack_us_ = clock_.MonotonicMicros();
  stale_ = false;
  if (curl_multi_add_handle(multi_.get(), c) != CURLM_OK) {
    easy_.reset();
    return Internal("curl_multi_add_handle failed");
  }
  return Status::Ok();
}

void StreamImpl::FinishTransfer(CURLcode rc) {
  long status = http_status_;
  if (status == 0) curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(multi_.get(), easy_.get());
  easy_.reset();
  easy_headers_.reset();
  MutexLock lock(mu_);
  transfer_active_ = false;
  for (const StoredFragment& f : store_) {
    if (f.sent_whole && !f.persisted) in_doubt_ = true;
  }
  std::string what = stale_ ? "no ACK for " + std::to_string(opt_.connection_staleness_ms) + " ms"
                     : rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                      : "HTTP " + std::to_string(status);
  if (status != 0 && status != 200) {
    std::string detail = "PutMedia " + opt_.name + ": HTTP " + std::to_string(status) + " " +
                         error_type_ + " " + error_body_.substr(0, 300);
    if (status == 404) {
      return Fail(NotFound(detail + " (the stream does not exist or was deleted)"));
    }
    if (status == 401 || status == 403) return Fail(PermissionDenied(detail));
    // Limits (another PutMedia still registered, a busy server) pass, and so does a node that
    // no longer owns the stream (InvalidEndpoint: GetDataEndpoint names the owner before the
    // next attempt); the rest of 400 is our request's fault and would fail the same way again.
    if (status == 400 && error_type_ != "ConnectionLimitExceededException" &&
        error_type_ != "ClientLimitExceededException" &&
        error_type_ != "InvalidEndpointException") {
      return Fail(InvalidArgument(detail));
    }
    what = detail;
  }
  if (!failure_.ok()) return;
  if (ending_ && store_.empty()) return;
  ++stats_.reconnects;
  ++attempts_;
  retry_at_us_ = clock_.MonotonicMicros() + BackoffMs() * 1000;
  const bool failed = rc != CURLE_OK || status != 200;  // a stale connection has rc set
  // The owner may have died or moved: ask again before the next attempt. An orderly end says
  // nothing about the endpoint and costs no control-plane call.
  if (failed) resolve_endpoint_ = true;
  Status why = failed ? Unavailable(what) : Status::Ok();
  Queue([why](StreamCallbacks& cb) { cb.OnConnectionState(ConnectionState::kDisconnected, why); });
}

namespace {

// A refused ListFragments that a later call may get past: a busy, failing or restarting
// server or a proxy in front of it (5xx), throttling (429, KVS's ClientLimitExceeded), a node
// that no longer serves the stream (InvalidEndpoint: the next attempt asks GetDataEndpoint).
bool RetriableRefusal(const HttpResponse& r) {
  return r.status >= 500 || r.status == 429 || r.error_type == "ClientLimitExceededException" ||
         r.error_type == "ThrottlingException" || r.error_type == "InvalidEndpointException";
}

std::string Describe(const HttpResponse& r) {
  return "ListFragments: HTTP " + std::to_string(r.status) + " " + r.error_type + " " +
         r.body.substr(0, 200);
}

}  // namespace

// After a lost connection: asks ListFragments which in-doubt fragments the archive has, and
// forgets those instead of resending them (see stream_impl.h for what each answer does).
StreamImpl::DoubtCheck StreamImpl::CheckDoubt() {
  std::vector<int64_t> doubt;
  {
    MutexLock lock(mu_);
    for (const StoredFragment& f : store_) {
      if (f.sent_whole && !f.persisted) doubt.push_back(f.timecode_ms);
    }
  }
  if (doubt.empty()) return {};
  if (!doubt_refusal_.ok()) return ResendUnverified(doubt_refusal_);
  auto [lo, hi] = std::minmax_element(doubt.begin(), doubt.end());
  nlohmann::json req = {{"StreamName", opt_.name},
                        {"MaxResults", 1000},
                        {"FragmentSelector",
                         {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                          {"TimestampRange",
                           {{"StartTimestamp", static_cast<double>(*lo) / 1000.0},
                            {"EndTimestamp", static_cast<double>(*hi) / 1000.0 + 0.001}}}}}};
  std::vector<int64_t> found;
  // Every page: with more in doubt than a page holds, a fragment on a later page would be
  // resent. Bounded (a server that hands out tokens forever gets no more than this).
  for (int page = 0; page < 100; ++page) {
    auto resp = PostJson(data_endpoint_, "/listFragments", req.dump(), upload_.sign,
                         upload_.connect_timeout_ms, kControlTimeoutMs, clock_.NowMicros());
    if (!resp.ok()) return {false, resp.status()};  // unreachable: ask again, after a back-off
    if (resp->status == 404) break;  // no such stream: none of them is there (PutMedia says why)
    if (resp->status != 200) {
      Status why = Unavailable(Describe(*resp));
      if (RetriableRefusal(*resp)) return {false, why};
      // A refusal for good: asking again at every loss would only delay each resend.
      doubt_refusal_ = resp->status == 401 || resp->status == 403
                           ? PermissionDenied(Describe(*resp))
                           : InvalidArgument(Describe(*resp));
      return ResendUnverified(doubt_refusal_);
    }
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("Fragments") ||
        !j["Fragments"].is_array()) {
      // Not an answer to rely on (a proxy's page?): as a server error, ask again later.
      return {false, Unavailable("ListFragments: an answer without Fragments")};
    }
    for (const auto& f : j["Fragments"]) {
      if (f.is_object() && f.contains("ProducerTimestamp") && f["ProducerTimestamp"].is_number()) {
        found.push_back(std::llround(f["ProducerTimestamp"].get<double>() * 1000.0));
      }
    }
    if (!j.contains("NextToken") || !j["NextToken"].is_string()) break;
    req = {{"StreamName", opt_.name}, {"MaxResults", 1000}, {"NextToken", j["NextToken"]}};
  }
  MutexLock lock(mu_);
  for (int64_t tc : found) {
    StoredFragment* f = FindByTimecode(tc);
    if (f && f->sent_whole) {
      ++stats_.fragments_persisted;
      ++stats_.fragments_confirmed;
      EraseFragment(IterOf(*f));
    }
  }
  // The rest is not in the archive: resent from the start.
  for (StoredFragment& f : store_) f.sent_whole = false;
  return {};
}

// In-doubt fragments resent without the check (at least once): counted, and said once.
StreamImpl::DoubtCheck StreamImpl::ResendUnverified(const Status& why) {
  MutexLock lock(mu_);
  for (StoredFragment& f : store_) {
    if (f.sent_whole && !f.persisted) ++stats_.fragments_unverified;
    f.sent_whole = false;
  }
  if (!unverified_reported_) {
    unverified_reported_ = true;
    Queue([why](StreamCallbacks& cb) { cb.OnUnverifiedResend(why); });
  }
  return {};
}

// After a failed attempt: the stream's owner may have changed (its node died and another took
// the lease, or the node said InvalidEndpoint), so GetDataEndpoint is asked again. Blocking,
// on the upload thread, when no connection exists. No answer, a refusal or an unusable URL
// keep the endpoint as it was: the usual back-off then decides when to try it again (a
// deleted stream is reported by PutMedia itself).
void StreamImpl::ResolveDataEndpoint() {
  auto r = CallGetDataEndpoint(upload_.control_endpoint, opt_.name, upload_.sign,
                               upload_.connect_timeout_ms, clock_.NowMicros());
  if (!r.ok() || r->status != 200) return;
  Result<std::string> url = DataEndpointOf(*r);
  if (!url.ok() || *url == data_endpoint_ || !ParseUrl(*url).ok()) return;
  data_endpoint_ = std::move(url).value();
  MutexLock lock(mu_);
  ++stats_.endpoint_changes;
}

void StreamImpl::CheckPressure() {
  MutexLock lock(mu_);
  if (store_.empty()) return;
  int64_t now = clock_.MonotonicMicros();
  int64_t age_ms = (now - store_.front().first_put_us) / 1000;
  if (age_ms > opt_.max_latency_ms && now - last_latency_report_us_ > 1'000'000) {
    last_latency_report_us_ = now;
    Queue([age_ms](StreamCallbacks& cb) { cb.OnLatencyPressure(age_ms); });
  }
}

void StreamImpl::DeliverEvents() {
  std::vector<Event> events;
  {
    MutexLock lock(mu_);
    events.swap(events_);
  }
  for (Event& e : events) e(*callbacks_);
}

// While the body is paused curl writes nothing, so it would notice a closed connection only
// at the next frame; a producer that pauses (or a response that ends at close) would then
// sit on a dead connection. A zero-length peek means the peer closed.
bool StreamImpl::PeerClosed() {
  bool paused;
  {
    MutexLock lock(mu_);
    paused = reader_paused_;
  }
  if (!paused) return false;
  // CURLINFO_ACTIVESOCKET gives nothing while a transfer runs: the socket is taken from
  // curl's open/close callbacks instead.
  curl_socket_t sock = socket_.load();
  if (sock == CURL_SOCKET_BAD) return false;
  char c;
  ssize_t n = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void StreamImpl::UploadLoop() {
  while (true) {
    int64_t now = clock_.MonotonicMicros();
    bool connect = false;
    {
      MutexLock lock(mu_);
      if (shutdown_) break;
      connect =
          !easy_ && failure_.ok() && packager_.ready() && !store_.empty() && now >= retry_at_us_;
    }
    if (connect) {
      if (resolve_endpoint_) {  // once per attempt, only after a failed one
        resolve_endpoint_ = false;
        ResolveDataEndpoint();
      }
      const DoubtCheck check = in_doubt_ ? CheckDoubt() : DoubtCheck{};
      if (check.answered) in_doubt_ = false;
      bool empty;
      {
        MutexLock lock(mu_);
        empty = store_.empty();
      }
      if (!check.answered) {
        resolve_endpoint_ = true;  // ListFragments went to the data endpoint: it may be gone
        MutexLock lock(mu_);
        ++attempts_;
        retry_at_us_ = now + BackoffMs() * 1000;
        Queue([why = check.why](StreamCallbacks& cb) {
          cb.OnConnectionState(ConnectionState::kDisconnected, why);
        });
      } else if (!empty) {
        Status s = StartTransfer();
        if (!s.ok()) {
          MutexLock lock(mu_);
          Fail(s);
        }
      }
    }
    if (easy_) {
      int running = 0;
      curl_multi_perform(multi_.get(), &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_.get(), &left)) {
        if (m->msg == CURLMSG_DONE && easy_ && m->easy_handle == easy_.get()) {
          FinishTransfer(m->data.result);
        }
      }
    }
    if (easy_) {
      bool resume = false;
      {
        MutexLock lock(mu_);
        if (reader_paused_ && data_ready_) {
          reader_paused_ = false;
          resume = true;
        }
      }
      // Not under mu_: resuming may call the read callback at once.
      if (resume) curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
      if (easy_ && clock_.MonotonicMicros() - last_ack_us_ > opt_.connection_staleness_ms * 1000) {
        stale_ = true;
        FinishTransfer(CURLE_OPERATION_TIMEDOUT);
      } else if (easy_ && PeerClosed()) {
        FinishTransfer(CURLE_RECV_ERROR);
      }
    }
    CheckPressure();
    DeliverEvents();
    curl_multi_poll(multi_.get(), nullptr, 0, 100, nullptr);
  }
  if (easy_) {
    curl_multi_remove_handle(multi_.get(), easy_.get());
    easy_.reset();
  }
  {
    MutexLock lock(mu_);
    transfer_active_ = false;
  }
  DeliverEvents();
}

}  // namespace streamarc::producer
