#include "server/put_media.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "common/mkv.h"
#include "ingest/chunked.h"
#include "ingest/ingest.h"
#include "server/kvs_error.h"

namespace streamarc::server {

using fragmenter::AckErrorId;
using fragmenter::FragmentError;
using ingest::AckEvent;

class PutMediaService::Impl : public std::enable_shared_from_this<Impl> {
 public:
  class Session;

  Impl(const PutMediaOptions& o, archive::Archive& a, WorkerPool& p, playback::LiveHub& h,
       const Clock& c, Logger& l)
      : opt_(o), archive_(a), pool_(p), hub_(h), clock_(c), log_(l) {}

  void StartTicker() {
    ticker_ = std::thread([this] { TickLoop(); });
  }
  void StopTicker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  std::unique_ptr<StreamingHandler> NewSession(const HttpRequest& head,
                                               std::shared_ptr<ResponseWriter> writer);

  // Service thread: the sessions writing to each stream now.
  std::map<std::string, std::vector<std::weak_ptr<Session>>> by_stream_;

  const PutMediaOptions opt_;
  archive::Archive& archive_;
  WorkerPool& pool_;
  playback::LiveHub& hub_;
  const Clock& clock_;
  Logger& log_;

  mutable std::mutex mu_;
  Counters counters_;
  std::atomic<int> active_{0};
  std::atomic<bool> shutting_down_{false};
  std::vector<std::weak_ptr<Session>> all_;  // for the ticker

 private:
  void TickLoop();
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

// One PutMedia connection. Everything but the constructor's lookup job and the durable
// callback's first hop runs on the service thread.
class PutMediaService::Impl::Session : public fragmenter::FragmentSink,
                                       public ingest::ChunkedHandler,
                                       public std::enable_shared_from_this<Session> {
 public:
  // Holds the service: a lookup job or archive callback may run after the service object
  // itself is gone (the worker pool drains its queue at shutdown).
  Session(std::shared_ptr<Impl> svc, std::shared_ptr<ResponseWriter> writer)
      : keep_(std::move(svc)),
        svc_(*keep_),
        w_(std::move(writer)),
        last_byte_us_(svc_.clock_.MonotonicMicros()) {
    svc_.active_.fetch_add(1);
  }

  ~Session() override { Finished(); }

  // Shutdown (service thread): stop taking bytes, report what the archive has, end.
  void Drain() {
    if (state_ == State::kLookup) {
      return Refuse(KvsError(503, "ServiceUnavailableException", "the server is shutting down"));
    }
    if (state_ != State::kStreaming) return;
    svc_.log_.Info("putmedia", "shutting down: ending the session",
                   {{"stream", stream_name_}, {"unreported", outstanding_}});
    state_ = State::kDraining;
    MaybeEnd();
  }

  // Checks the headers and looks the stream up on the worker pool.
  void Start(const HttpRequest& head) {
    const std::string* name = head.FindHeader("x-amzn-stream-name");
    const std::string* arn = head.FindHeader("x-amzn-stream-arn");
    if ((name == nullptr) == (arn == nullptr)) {
      return Refuse(KvsError(400, "InvalidArgumentException",
                             "give exactly one of x-amzn-stream-name or x-amzn-stream-arn"));
    }
    ref_ = name ? archive::StreamRef::Name(*name) : archive::StreamRef::Arn(*arn);
    if (name) {
      Status s = archive::ValidateStreamName(*name);
      if (!s.ok()) return Refuse(KvsErrorFromStatus(s));
    }
    limits_ = svc_.opt_.limits;
    if (const std::string* t = head.FindHeader("x-amzn-fragment-timecode-type")) {
      auto type = ingest::ParseTimecodeType(*t);
      if (!type.ok()) return Refuse(KvsErrorFromStatus(type.status()));
      limits_.timecode_type = *type;
    }
    if (const std::string* ts = head.FindHeader("x-amzn-producer-start-timestamp")) {
      auto ms = ingest::ParseProducerStartTimestampMs(*ts);
      if (!ms.ok()) return Refuse(KvsErrorFromStatus(ms.status()));
      limits_.producer_start_timestamp_ms = *ms;
    } else if (limits_.timecode_type == fragmenter::TimecodeType::kRelative) {
      return Refuse(KvsError(400, "InvalidArgumentException",
                             "RELATIVE timecodes need x-amzn-producer-start-timestamp"));
    }
    if (const std::string* ack = head.FindHeader("x-amzn-fragment-acknowledgment-required")) {
      acks_ = *ack != "0";
    }
    if (const std::string* te = head.FindHeader("transfer-encoding")) {
      chunked_ = te->find("chunked") != std::string::npos;
    }
    auto self = shared_from_this();
    bool queued = svc_.pool_.Submit([self] {
      auto info = self->svc_.archive_.DescribeStream(self->ref_);
      self->w_->Post([self, info = std::move(info)] { self->OnLookup(info); });
    });
    if (!queued) Refuse(KvsError(400, "ClientLimitExceededException", "the server is busy"));
  }

  void OnBody(std::span<const uint8_t> bytes) {
    last_byte_us_ = svc_.clock_.MonotonicMicros();
    if (state_ == State::kLookup) {
      pending_.insert(pending_.end(), bytes.begin(), bytes.end());
      // Hold a little while the lookup runs; then make the client wait.
      if (pending_.size() > svc_.opt_.max_pending_bytes) w_->SetReading(false);
      return;
    }
    if (state_ != State::kStreaming) return;  // after an error: the rest is ignored
    Consume(bytes);
  }

  // A sized body ended (chunked bodies end at their last chunk, through OnEnd).
  void OnBodyEnd() {
    body_done_ = true;
    if (state_ == State::kStreaming && !chunked_) FinishStream();
  }

  void OnClose() {
    Finished();
    if (state_ == State::kStreaming) {
      svc_.log_.Info("putmedia", "producer disconnected mid-stream",
                     {{"stream", stream_name_},
                      {"body_bytes", decoder_ ? decoder_->body_bytes() : reader_ ? reader_->offset() : 0}});
    }
    closed_ = true;
    Unregister();
  }

  // Periodic (service thread): IDLE acks and the idle timeout.
  void Tick() {
    if (state_ != State::kStreaming) return;
    int64_t now = svc_.clock_.MonotonicMicros();
    int64_t quiet = now - last_byte_us_;
    if (quiet >= svc_.opt_.idle_timeout_us) {
      svc_.log_.Warn("putmedia", "producer went quiet; ending the session",
                     {{"stream", stream_name_}, {"quiet_ms", quiet / 1000}});
      state_ = State::kDraining;  // the open fragment is discarded, as on a disconnect
      MaybeEnd();
      return;
    }
    if (quiet >= svc_.opt_.idle_ack_interval_us &&
        now - last_idle_ack_us_ >= svc_.opt_.idle_ack_interval_us) {
      last_idle_ack_us_ = now;
      Ack(AckEvent::Idle());
    }
  }

  void RefuseShutdown() {
    Refuse(KvsError(503, "ServiceUnavailableException", "the server is shutting down"));
  }

  const std::string& stream_name() const { return stream_name_; }
  int64_t last_byte_us() const { return last_byte_us_; }
  ResponseWriter& writer() { return *w_; }

  // ---- FragmentSink ----
  Status OnFragmentStart(const fragmenter::FragmentHead& head) override {
    Ack(AckEvent::Buffering(head.fragment_timecode, ""));
    return Status::Ok();
  }

  Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
    {
      std::lock_guard<std::mutex> lock(svc_.mu_);
      ++svc_.counters_.fragments;
    }
    if (info_.retention_hours == 0) {
      // A stream without retention keeps nothing: KVS acknowledges receipt only.
      Ack(AckEvent::Received(f->fragment_timecode, ""));
      return Status::Ok();
    }
    archive::FragmentInput in;
    in.bytes.assign(f->cluster.begin(), f->cluster.end());
    in.producer_timestamp_us = f->producer_timestamp_ms * 1000;
    in.server_timestamp_us = f->server_timestamp_us;
    in.duration_us = f->duration_ms * 1000;
    in.track_info.assign(f->section->header.begin(), f->section->header.end());
    for (const auto& k : f->key_frames) in.key_frame_offsets.push_back(k.offset);
    auto self = shared_from_this();
    const int64_t tc = f->fragment_timecode;
    // Live readers share one copy of the bytes; without readers the hub gets none (a reader
    // that subscribes meanwhile reads the fragment from the archive).
    std::shared_ptr<const std::string> shared;
    if (svc_.hub_.HasListeners(stream_name_)) shared = std::make_shared<const std::string>(in.bytes);
    auto number = svc_.archive_.Append(
        ref_, std::move(in),
        [self, tc, shared = std::move(shared)](const Status& s, const archive::FragmentInfo& info) {
          if (s.ok()) {
            auto live = std::make_shared<playback::LiveFragment>();
            live->stream_name = self->stream_name_;
            live->info = info;
            live->cluster = shared;
            self->svc_.hub_.Publish(live);
          }
          // The archive's commit thread: hop to the service thread.
          self->w_->Post([self, tc, s, number = info.number] { self->OnDurable(s, tc, number); });
        });
    if (!number.ok()) {
      svc_.log_.Warn("putmedia", "archive refused a fragment",
                     {{"stream", stream_name_}, {"error", number.status().ToString()}});
      // Stops the fragmenter; the session ends with 5001 (the producer resends).
      return number.status();
    }
    ++outstanding_;
    Ack(AckEvent::Received(tc, *number));
    return Status::Ok();
  }

  // ---- ChunkedHandler ----
  Status OnData(std::span<const uint8_t> data) override { return reader_->Feed(data); }
  Status OnEnd(const std::vector<ingest::Trailer>&) override {
    body_done_ = true;
    return Status::Ok();
  }

 private:
  enum class State { kLookup, kStreaming, kDraining, kDone };

  // With x-amzn-fragment-acknowledgment-required: 0 the producer reads no ACKs. Clients
  // that never read the response (ffmpeg) must ask for that: a socket closed with unread
  // ACKs in it resets the connection, and the kernel drops the body's last bytes.
  void Ack(const AckEvent& e) {
    if (acks_) w_->Write(ingest::FormatAckLine(e));
  }

  void Refuse(HttpResponse r) {
    state_ = State::kDone;
    Finished();
    w_->Respond(std::move(r));
    w_->Close();
  }

  // Runs even when the client has already gone: a producer that sent its whole body and
  // half-closed (ffmpeg does) still gets its fragments stored.
  void OnLookup(const Result<archive::StreamInfo>& info) {
    if (state_ != State::kLookup) return;
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) {
        return Refuse(KvsError(404, "ResourceNotFoundException",
                               "The requested stream is not found or not active."));
      }
      return Refuse(KvsErrorFromStatus(info.status()));
    }
    info_ = *info;
    stream_name_ = info_.name;
    if (info_.status != archive::StreamStatus::kActive) {
      return Refuse(KvsError(404, "ResourceNotFoundException",
                             "The requested stream is not found or not active."));
    }
    // One producer per stream, with room for a connection rotation.
    auto& list = svc_.by_stream_[stream_name_];
    std::erase_if(list, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    int64_t now = svc_.clock_.MonotonicMicros();
    for (const auto& w : list) {
      auto other = w.lock();
      if (other && now - other->last_byte_us() < svc_.opt_.rotation_quiet_us) {
        return Refuse(KvsError(400, "ConnectionLimitExceededException",
                               "another PutMedia is streaming to " + stream_name_));
      }
    }
    if (!closed_) list.push_back(weak_from_this());

    auto frag = fragmenter::NewFragmenter(limits_, *this, svc_.clock_);
    if (!frag.ok()) return Refuse(KvsErrorFromStatus(frag.status()));
    fragmenter_ = std::move(*frag);
    reader_ = std::make_unique<mkv::Reader>(*fragmenter_);
    if (chunked_) decoder_ = std::make_unique<ingest::ChunkedDecoder>(*this);
    {
      std::lock_guard<std::mutex> lock(svc_.mu_);
      ++svc_.counters_.sessions;
    }
    svc_.log_.Info("putmedia", "session started", {{"stream", stream_name_}});
    state_ = State::kStreaming;
    w_->Begin(200, "application/json", {});
    mkv::Bytes pending = std::move(pending_);
    if (pending.size() > svc_.opt_.max_pending_bytes) w_->SetReading(true);
    if (!pending.empty()) Consume(pending);
    if (state_ == State::kStreaming && body_done_ && !chunked_) FinishStream();
  }

  void Consume(std::span<const uint8_t> raw) {
    Status s = chunked_ ? decoder_->Feed(raw) : reader_->Feed(raw);
    if (!s.ok()) return Fail(s);
    if (chunked_ && decoder_->done()) FinishStream();
  }

  void FinishStream() {
    if (state_ != State::kStreaming) return;
    Status s = reader_->Finish();
    if (!s.ok()) return Fail(s);
    state_ = State::kDraining;
    MaybeEnd();
  }

  void Fail(const Status& s) {
    FragmentError e = fragmenter_->ErrorFor(s);
    if (e.ack == AckErrorId::kNone) e.ack = AckErrorId::kArchivalError;  // the sink refused
    svc_.log_.Warn("putmedia", "session refused",
                   {{"stream", stream_name_}, {"error", e.status.ToString()},
                    {"ack", static_cast<int>(e.ack)}});
    {
      std::lock_guard<std::mutex> lock(svc_.mu_);
      ++svc_.counters_.errors;
    }
    Ack(AckEvent::Error(e.fragment_timecode, "", e.ack));
    state_ = State::kDraining;
    MaybeEnd();
  }

  void OnDurable(const Status& s, int64_t tc, const std::string& number) {
    --outstanding_;
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(svc_.mu_);
      ++svc_.counters_.persisted;
    }
    Ack(s.ok() ? AckEvent::Persisted(tc, number)
               : AckEvent::Error(tc, number, AckErrorId::kArchivalError));
    MaybeEnd();
  }

  // Ends the response once the body is over (or refused) and every fragment is reported.
  void MaybeEnd() {
    if (state_ != State::kDraining || outstanding_ > 0) return;
    state_ = State::kDone;
    Finished();
    w_->End();
    if (!body_done_) w_->Close();  // the rest of the body is not worth reading
    Unregister();
    svc_.log_.Info("putmedia", "session ended",
                   {{"stream", stream_name_},
                    {"fragments", fragmenter_ ? fragmenter_->stats().fragments : 0}});
  }

  // Counted once: the session answered everything it will answer, or its client left.
  void Finished() {
    if (!finished_) {
      finished_ = true;
      svc_.active_.fetch_sub(1);
    }
  }

  void Unregister() {
    if (stream_name_.empty()) return;
    auto it = svc_.by_stream_.find(stream_name_);
    if (it == svc_.by_stream_.end()) return;
    std::erase_if(it->second, [this](const std::weak_ptr<Session>& w) {
      auto p = w.lock();
      return !p || p.get() == this;
    });
    if (it->second.empty()) svc_.by_stream_.erase(it);
  }

  std::shared_ptr<Impl> keep_;
  Impl& svc_;
  std::shared_ptr<ResponseWriter> w_;
  State state_ = State::kLookup;
  archive::StreamRef ref_;
  archive::StreamInfo info_;
  std::string stream_name_;
  fragmenter::Options limits_;
  bool chunked_ = false;
  bool acks_ = true;
  bool body_done_ = false;
  bool closed_ = false;
  bool finished_ = false;
  mkv::Bytes pending_;
  std::unique_ptr<fragmenter::Fragmenter> fragmenter_;
  std::unique_ptr<mkv::Reader> reader_;
  std::unique_ptr<ingest::ChunkedDecoder> decoder_;
  int outstanding_ = 0;
  int64_t last_byte_us_ = 0;
  int64_t last_idle_ack_us_ = 0;
};

std::unique_ptr<StreamingHandler> PutMediaService::Impl::NewSession(
    const HttpRequest& head, std::shared_ptr<ResponseWriter> writer) {
  // The HTTP server owns the handler; the session it fronts may outlive it in callbacks.
  class Handler final : public StreamingHandler {
   public:
    explicit Handler(std::shared_ptr<Session> s) : s_(std::move(s)) {}
    void OnBody(std::span<const uint8_t> bytes) override { s_->OnBody(bytes); }
    void OnBodyEnd() override { s_->OnBodyEnd(); }
    void OnClose() override { s_->OnClose(); }

   private:
    std::shared_ptr<Session> s_;
  };
  auto s = std::make_shared<Session>(shared_from_this(), std::move(writer));
  if (shutting_down_.load()) {
    s->RefuseShutdown();
    return std::make_unique<Handler>(s);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(all_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    all_.push_back(s);
  }
  s->Start(head);
  return std::make_unique<Handler>(s);
}

void PutMediaService::Impl::TickLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    for (const auto& w : all_) {
      if (auto s = w.lock()) s->writer().Post([s] { s->Tick(); });
    }
  }
}

PutMediaService::PutMediaService(const PutMediaOptions& options, archive::Archive& archive,
                                 WorkerPool& pool, playback::LiveHub& hub, const Clock& clock,
                                 Logger& log)
    : impl_(std::make_shared<Impl>(options, archive, pool, hub, clock, log)) {
  impl_->StartTicker();
}

PutMediaService::~PutMediaService() { impl_->StopTicker(); }

void PutMediaService::Register(Router& http) {
  auto impl = impl_;
  http.RouteStreaming("POST", "/putMedia",
                      [impl](const HttpRequest& head, std::shared_ptr<ResponseWriter> w) {
                        return impl->NewSession(head, std::move(w));
                      });
}

void PutMediaService::Shutdown() {
  impl_->shutting_down_.store(true);
  std::lock_guard<std::mutex> lock(impl_->mu_);
  for (const auto& w : impl_->all_) {
    if (auto s = w.lock()) s->writer().Post([s] { s->Drain(); });
  }
}

int PutMediaService::active_sessions() const { return impl_->active_.load(); }

PutMediaService::Counters PutMediaService::counters() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->counters_;
}

}  // namespace streamarc::server
