#include "ingest/put_media_session.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "common/kvs_request.h"
#include "common/mkv.h"
#include "common/mutex.h"
#include "ingest/chunked.h"
#include "ingest/ingest.h"
#include "ingest/part_feed.h"
#include "metrics/metrics.h"

namespace streamarc::ingest {
namespace {

using fragmenter::AckErrorId;
using fragmenter::FragmentError;

constexpr char kShuttingDown[] = "the server is shutting down";
constexpr char kNoStream[] = "The requested stream is not found or not active.";
// A timer that fires a little early is re-armed for the rest, never for less than this.
constexpr int64_t kMinTimerDelayUs = 1'000;

// The ERROR ack for a fragment the archive refused or failed to store. kNotFound is the
// archive's word for a stream deleted while this session streams (Append refuses it, and
// fragments still queued fail with it): KVS's 4008, after which a producer stops the stream.
// Anything else is 5001, which a producer retries.
AckErrorId ArchiveAckFor(const Status& s) {
  return s.code() == Code::kNotFound ? AckErrorId::kStreamNotActive : AckErrorId::kArchivalError;
}

// The service's metrics (PutMediaOptions::metrics). Each session holds its stream's series.
struct IngestMetrics {
  explicit IngestMetrics(metrics::Registry& r)
      : bytes(r.AddCounterFamily("streamarc_ingest_bytes_total",
                                 "PutMedia body bytes received (chunk framing included), by stream",
                                 {"stream"})),
        fragments(r.AddCounterFamily("streamarc_ingest_fragments_total",
                                     "Fragments received through PutMedia, by stream", {"stream"})),
        ack_latency(r.AddHistogram(
            "streamarc_persisted_ack_latency_seconds",
            "From the arrival of a fragment's last frame to its PERSISTED ack being sent",
            metrics::ExponentialBuckets(0.001, 2, 14))),
        error_acks(r.AddCounterFamily("streamarc_putmedia_error_acks_total",
                                      "PutMedia ERROR acks sent, by KVS ack error id",
                                      {"error_id", "error_code"})) {}

  metrics::Family<metrics::Counter>& bytes;
  metrics::Family<metrics::Counter>& fragments;
  metrics::Histogram& ack_latency;
  metrics::Family<metrics::Counter>& error_acks;
};

}  // namespace

class PutMediaService::Impl : public std::enable_shared_from_this<Impl> {
 public:
  class Session;

  Impl(const PutMediaOptions& o, archive::Archive& a, WorkerPool& p, playback::LiveHub& h,
       const Clock& c, Logger& l)
      : opt_(o), archive_(a), pool_(p), hub_(h), clock_(c), log_(l) {
    if (o.metrics) metrics_ = std::make_unique<IngestMetrics>(*o.metrics);
  }

  std::shared_ptr<PutMediaSession> Open(const PutMediaRequest& request,
                                        std::shared_ptr<Transport> transport);
  void Shutdown();

  void Count(uint64_t Counters::*field) {
    MutexLock lock(mu_);
    ++(counters_.*field);
  }

  const PutMediaOptions opt_;
  archive::Archive& archive_;
  WorkerPool& pool_;
  playback::LiveHub& hub_;
  const Clock& clock_;
  Logger& log_;
  std::unique_ptr<IngestMetrics> metrics_;  // null: not counted

  // Service thread: the sessions writing to each stream now (the rotation rule).
  std::map<std::string, std::vector<std::weak_ptr<Session>>> by_stream_;

  mutable Mutex mu_;
  Counters counters_ GUARDED_BY(mu_);
  std::vector<std::weak_ptr<Session>> all_ GUARDED_BY(mu_);  // what Shutdown drains
  // Read and set under mu_, with all_: a session Open lets in is one Shutdown drains.
  bool shutting_down_ GUARDED_BY(mu_) = false;
  std::atomic<int> active_{0};
  // WaitUntilIdle's: a lock of its own, since a session may finish while mu_ is held.
  Mutex idle_mu_;
  CondVar idle_cv_;  // active_ reached 0
};

// One PutMedia request. Everything but the lookup job and the durable callback's first hop
// runs on the service thread.
class PutMediaService::Impl::Session final : public PutMediaSession,
                                             public fragmenter::FragmentSink,
                                             public ChunkedHandler,
                                             public std::enable_shared_from_this<Session> {
 public:
  // Holds the service state: a lookup job or archive callback may run after the service
  // object itself is gone (the worker pool drains its queue at shutdown).
  Session(std::shared_ptr<Impl> svc, std::shared_ptr<Transport> transport)
      : keep_(std::move(svc)),
        svc_(*keep_),
        t_(std::move(transport)),
        parts_(svc_.hub_.parts()),
        last_byte_us_(svc_.clock_.MonotonicMicros()) {
    svc_.active_.fetch_add(1);
  }

  ~Session() override { Finished(); }

  Transport& transport() { return *t_; }

  // Checks the headers and looks the stream up on the worker pool.
  void Start(const PutMediaRequest& req) {
    Result<archive::StreamRef> ref = kvs::ParseStreamRef(
        req.stream_name ? &*req.stream_name : nullptr, req.stream_arn ? &*req.stream_arn : nullptr,
        "x-amzn-stream-name", "x-amzn-stream-arn");
    if (!ref.ok()) return Refuse(ref.status());
    ref_ = *std::move(ref);
    limits_ = svc_.opt_.limits;
    if (req.timecode_type) {
      auto type = ParseTimecodeType(*req.timecode_type);
      if (!type.ok()) return Refuse(type.status());
      limits_.timecode_type = *type;
    }
    if (req.producer_start_timestamp) {
      auto ms = ParseProducerStartTimestampMs(*req.producer_start_timestamp);
      if (!ms.ok()) return Refuse(ms.status());
      limits_.producer_start_timestamp_ms = *ms;
    } else if (limits_.timecode_type == fragmenter::TimecodeType::kRelative) {
      return Refuse(InvalidArgument("RELATIVE timecodes need x-amzn-producer-start-timestamp"));
    }
    if (req.ack_required) acks_ = *req.ack_required != "0";
    chunked_ = req.chunked;
    auto self = shared_from_this();
    bool queued = svc_.pool_.Submit([self] {
      auto info = self->svc_.archive_.DescribeStream(self->ref_);
      // Several nodes: this node takes the stream's ingest lease, or says whose it is.
      Status claim = info.ok() && info->status == archive::StreamStatus::kActive
                         ? self->svc_.archive_.ClaimStream(self->ref_)
                         : Status::Ok();
      self->t_->Post([self, info = std::move(info), claim = std::move(claim)] {
        self->OnLookup(info, claim);
      });
    });
    if (!queued) Refuse(Unavailable(kBusyMessage));  // 503, as everywhere
  }

  // Shutdown: stop taking bytes, report what the archive has, end.
  void Drain() {
    if (state_ == State::kLookup) return Refuse(Unavailable(kShuttingDown));
    if (state_ != State::kStreaming) return;
    svc_.log_.Info("putmedia", "shutting down: ending the session",
                   {{"stream", stream_name_}, {"unreported", outstanding_.size()}});
    state_ = State::kDraining;
    MaybeEnd();
  }

  // `exhausted`: which of KVS's limits a kResourceExhausted is.
  void Refuse(Status status, KvsErrorType exhausted = KvsErrorType::kClientLimitExceeded) {
    state_ = State::kDone;
    Finished();
    t_->Refuse(KvsErrorFromStatus(std::move(status), exhausted));
    t_->Close();
  }

  int64_t last_byte_us() const { return last_byte_us_; }

  // ---- PutMediaSession ----
  void OnBody(std::span<const uint8_t> bytes) override {
    last_byte_us_ = svc_.clock_.MonotonicMicros();
    if (state_ == State::kLookup) {
      pending_.insert(pending_.end(), bytes.begin(), bytes.end());
      // Hold a little while the lookup runs; then make the client wait.
      if (pending_.size() > svc_.opt_.max_pending_bytes) t_->SetReading(false);
      return;
    }
    if (state_ != State::kStreaming) return;  // after an error: the rest is ignored
    Consume(bytes);
  }

  void OnBodyEnd() override {
    body_done_ = true;
    if (state_ == State::kStreaming && !chunked_) FinishStream();
  }

  void OnClose() override {
    Finished();
    if (state_ == State::kStreaming) {
      uint64_t body_bytes = decoder_ ? decoder_->body_bytes() : reader_ ? reader_->offset() : 0;
      svc_.log_.Info("putmedia", "producer disconnected mid-stream",
                     {{"stream", stream_name_}, {"body_bytes", body_bytes}});
    }
    closed_ = true;
    Unregister();
  }

  // ---- FragmentSink ----
  Status OnFragmentStart(const fragmenter::FragmentHead& head) override {
    Ack(AckEvent::Buffering(head.fragment_timecode, ""));
    parts_.FragmentStart(stream_name_, head, info_.retention_hours > 0);
    return Status::Ok();
  }

  void OnFrameWritten(const fragmenter::FragmentHead&, const fragmenter::WrittenFrame& f) override {
    last_frame_us_ = last_byte_us_;  // the bytes that carried this frame arrived then
    parts_.Frame(stream_name_, f);
  }

  Status OnFragment(std::shared_ptr<const fragmenter::Fragment> f) override {
    svc_.Count(&Counters::fragments);
    if (fragments_in_) fragments_in_->Add();
    if (info_.retention_hours == 0) {
      // A stream without retention keeps nothing: KVS acknowledges receipt only.
      Ack(AckEvent::Received(f->fragment_timecode, ""));
      return Status::Ok();
    }
    archive::FragmentInput in;
    // As chars in one block copy: the uint8_t to char iterator form copied byte by byte, a
    // fifth of the server's CPU at 300 cameras.
    in.bytes.assign(reinterpret_cast<const char*>(f->cluster.data()), f->cluster.size());
    in.producer_timestamp_us = f->producer_timestamp_ms * 1000;
    in.server_timestamp_us = f->server_timestamp_us;
    in.duration_us = f->duration_ms * 1000;
    in.track_info.assign(f->section->header.begin(), f->section->header.end());
    for (const auto& k : f->key_frames) in.key_frame_offsets.push_back(k.offset);
    auto self = shared_from_this();
    const int64_t tc = f->fragment_timecode;
    // Live readers share one copy of the bytes; without readers the hub gets none (a reader
    // that subscribes meanwhile reads the fragment from the archive).
    const bool parts_listen = parts_.WantsFragment(stream_name_);
    std::shared_ptr<const std::string> shared;
    if (parts_listen || svc_.hub_.HasListeners(stream_name_)) {
      shared = std::make_shared<const std::string>(in.bytes);
    }
    const std::shared_ptr<const std::string> for_parts = parts_listen ? shared : nullptr;
    auto number = svc_.archive_.Append(
        ref_, std::move(in),
        [self, seq = next_seq_, shared = std::move(shared)](const Status& s,
                                                            const archive::FragmentInfo& info) {
          // The archive's commit thread: publish here (in fragment order, as the hub wants),
          // then hop to the service thread for the ACK.
          if (s.ok()) {
            auto live = std::make_shared<playback::LiveFragment>();
            live->stream_name = self->stream_name_;  // set before the first Append
            live->info = info;
            live->cluster = shared;
            self->svc_.hub_.Publish(live);
          }
          self->t_->Post([self, seq, s] { self->OnDurable(seq, s); });
        });
    if (!number.ok()) {
      svc_.log_.Warn("putmedia", "archive refused a fragment",
                     {{"stream", stream_name_}, {"error", number.status().ToString()}});
      // Stops the fragmenter; the session ends with an ERROR ack (Fail: 4008 for a deleted
      // stream, else 5001, which the producer resends).
      return number.status();
    }
    // Complete and numbered: the live edge lists it as a segment before it is persisted.
    if (for_parts) parts_.FragmentEnd(stream_name_, *f, *number, for_parts);
    outstanding_.push_back({next_seq_++, tc, *number, last_frame_us_, std::nullopt});
    Ack(AckEvent::Received(tc, *number));
    return Status::Ok();
  }

  // ---- ChunkedHandler ----
  Status OnData(std::span<const uint8_t> data) override { return reader_->Feed(data); }
  Status OnEnd(const std::vector<Trailer>&) override {
    body_done_ = true;
    return Status::Ok();
  }

 private:
  enum class State { kLookup, kStreaming, kDraining, kDone };

  // With x-amzn-fragment-acknowledgment-required: 0 the producer reads no ACKs. Clients
  // that never read the response (ffmpeg) must ask for that: a socket closed with unread
  // ACKs in it resets the connection, and the kernel drops the body's last bytes.
  void Ack(const AckEvent& e) {
    if (acks_) t_->Write(FormatAckLine(e));
  }

  void AckError(const AckEvent& e) {
    Ack(e);
    if (svc_.metrics_) {
      svc_.metrics_->error_acks
          .Get({std::to_string(static_cast<int>(e.error_id)),
                std::string(kvs::AckErrorCodeName(e.error_id))})
          ->Add();
    }
  }

  // Runs even when the client has already gone: a producer that sent its whole body and
  // half-closed (ffmpeg does) still gets its fragments stored.
  void OnLookup(const Result<archive::StreamInfo>& info, const Status& claim) {
    if (state_ != State::kLookup) return;
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) return Refuse(NotFound(kNoStream));
      return Refuse(info.status());
    }
    info_ = *info;
    stream_name_ = info_.name;
    if (info_.status != archive::StreamStatus::kActive) return Refuse(NotFound(kNoStream));
    // Another node ingests the stream: KVS's answer for a PutMedia at the wrong endpoint,
    // after which a producer asks GetDataEndpoint again.
    if (!claim.ok()) return Refuse(claim, KvsErrorType::kInvalidEndpoint);
    // Appends name the stream by its ARN, which holds its creation time: should the stream be
    // deleted and one of the same name created while this session streams, this session's
    // fragments are refused (4008) rather than stored in the new stream.
    ref_ = archive::StreamRef::Arn(info_.arn);
    // One producer per stream, with room for a connection rotation.
    auto& list = svc_.by_stream_[stream_name_];
    std::erase_if(list, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    int64_t now = svc_.clock_.MonotonicMicros();
    for (const auto& w : list) {
      auto other = w.lock();
      if (other && now - other->last_byte_us() < svc_.opt_.rotation_quiet_us) {
        return Refuse(ResourceExhausted("another PutMedia is streaming to " + stream_name_),
                      KvsErrorType::kConnectionLimitExceeded);
      }
    }
    if (!closed_) list.push_back(weak_from_this());

    auto frag = fragmenter::NewFragmenter(limits_, *this, svc_.clock_);
    if (!frag.ok()) return Refuse(frag.status());
    fragmenter_ = std::move(*frag);
    reader_ = std::make_unique<mkv::Reader>(*fragmenter_);
    if (chunked_) decoder_ = std::make_unique<ChunkedDecoder>(*this);
    svc_.Count(&Counters::sessions);
    if (svc_.metrics_) {
      bytes_in_ = svc_.metrics_->bytes.Get({stream_name_});
      fragments_in_ = svc_.metrics_->fragments.Get({stream_name_});
    }
    svc_.log_.Info("putmedia", "session started", {{"stream", stream_name_}});
    state_ = State::kStreaming;
    t_->Begin();
    ArmTimer(now);
    mkv::Bytes pending = std::move(pending_);
    if (pending.size() > svc_.opt_.max_pending_bytes) t_->SetReading(true);
    if (!pending.empty()) Consume(pending);
    if (state_ == State::kStreaming && body_done_ && !chunked_) FinishStream();
  }

  // The one pending timer: the next IDLE ack or the idle timeout, whichever is first. It
  // holds the session weakly, so a session nobody else needs goes away at once.
  void ArmTimer(int64_t now) {
    const int64_t timeout_at = last_byte_us_ + svc_.opt_.idle_timeout_us;
    const int64_t ack_at =
        std::max(last_byte_us_, last_idle_ack_us_) + svc_.opt_.idle_ack_interval_us;
    const int64_t delay = std::max(std::min(timeout_at, ack_at) - now, kMinTimerDelayUs);
    std::weak_ptr<Session> weak = weak_from_this();
    t_->PostAfter(delay, [weak] {
      if (auto s = weak.lock()) s->OnTimer();
    });
  }

  // Body bytes re-arm nothing: the timer, when it fires, sees them and waits again.
  void OnTimer() {
    if (state_ != State::kStreaming || closed_) return;
    const int64_t now = svc_.clock_.MonotonicMicros();
    const int64_t quiet = now - last_byte_us_;
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
    ArmTimer(now);
  }

  void Consume(std::span<const uint8_t> raw) {
    if (bytes_in_) bytes_in_->Add(raw.size());
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
    // 5001 is the fragmenter's word for "the sink refused"; the sink is this session, which
    // refuses only what the archive refused, so the archive's status says which ack it is.
    if (e.ack == AckErrorId::kNone || e.ack == AckErrorId::kArchivalError) {
      e.ack = ArchiveAckFor(e.status);
    }
    svc_.log_.Warn("putmedia", "session refused",
                   {{"stream", stream_name_},
                    {"error", e.status.ToString()},
                    {"ack", static_cast<int>(e.ack)}});
    svc_.Count(&Counters::errors);
    AckError(AckEvent::Error(e.fragment_timecode, "", e.ack));
    state_ = State::kDraining;
    MaybeEnd();
  }

  // The archive does not promise to report fragments in order (a remote backend may not):
  // reports wait here so PERSISTED acks go out in fragment order, as producers expect.
  void OnDurable(uint64_t seq, const Status& s) {
    for (Outstanding& o : outstanding_) {
      if (o.seq == seq) o.result = s;
    }
    while (!outstanding_.empty() && outstanding_.front().result) {
      const Outstanding& o = outstanding_.front();
      if (o.result->ok()) {
        svc_.Count(&Counters::persisted);
        Ack(AckEvent::Persisted(o.tc, o.number));
        if (svc_.metrics_) {
          const int64_t waited = svc_.clock_.MonotonicMicros() - o.last_byte_us;
          svc_.metrics_->ack_latency.Observe(static_cast<double>(waited) / 1e6);
        }
      } else {
        AckError(AckEvent::Error(o.tc, o.number, ArchiveAckFor(*o.result)));
      }
      outstanding_.pop_front();
    }
    MaybeEnd();
  }

  // Ends the response once the body is over (or refused) and every fragment is reported.
  void MaybeEnd() {
    if (state_ != State::kDraining || !outstanding_.empty()) return;
    state_ = State::kDone;
    Finished();
    t_->End();
    if (!body_done_) t_->Close();  // the rest of the body is not worth reading
    Unregister();
    svc_.log_.Info("putmedia", "session ended",
                   {{"stream", stream_name_},
                    {"fragments", fragmenter_ ? fragmenter_->stats().fragments : 0}});
  }

  // Counted once: the session answered everything it will answer, or its client left.
  void Finished() {
    if (!finished_) {
      finished_ = true;
      if (svc_.active_.fetch_sub(1) == 1) {
        MutexLock lock(svc_.idle_mu_);
        svc_.idle_cv_.NotifyAll();
      }
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
  std::shared_ptr<Transport> t_;
  State state_ = State::kLookup;
  archive::StreamRef ref_;
  archive::StreamInfo info_;
  std::string stream_name_;
  fragmenter::Options limits_;
  bool chunked_ = false;
  bool acks_ = true;
  bool body_done_ = false;
  bool closed_ = false;
  PartFeed parts_;  // the live edge (LL-HLS)
  bool finished_ = false;
  mkv::Bytes pending_;
  std::unique_ptr<fragmenter::Fragmenter> fragmenter_;
  std::unique_ptr<mkv::Reader> reader_;
  std::unique_ptr<ChunkedDecoder> decoder_;
  // Fragments handed to the archive and not reported yet, in fragment order.
  struct Outstanding {
    uint64_t seq;
    int64_t tc;
    std::string number;
    int64_t last_byte_us;          // its last frame arrived (monotonic): the ack latency's start
    std::optional<Status> result;  // the durable callback's, once it came
  };
  std::deque<Outstanding> outstanding_;
  uint64_t next_seq_ = 0;
  int64_t last_byte_us_ = 0;
  int64_t last_frame_us_ = 0;  // last_byte_us_ when the newest frame was written
  int64_t last_idle_ack_us_ = 0;
  // This stream's series (null without metrics), looked up once: Add is a relaxed atomic.
  std::shared_ptr<metrics::Counter> bytes_in_;
  std::shared_ptr<metrics::Counter> fragments_in_;
};

std::shared_ptr<PutMediaSession> PutMediaService::Impl::Open(const PutMediaRequest& request,
                                                             std::shared_ptr<Transport> transport) {
  auto s = std::make_shared<Session>(shared_from_this(), std::move(transport));
  bool refused;
  {
    // The flag is checked under the lock Shutdown sets it under while walking all_, so a
    // session is either refused here or drained there (with an atomic flag checked before
    // the lock, a session opened during Shutdown was neither, and held WaitUntilIdle).
    MutexLock lock(mu_);
    refused = shutting_down_;
    if (!refused) {
      std::erase_if(all_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      all_.push_back(s);
    }
  }
  if (refused) {
    s->Refuse(Unavailable(kShuttingDown));
    return s;
  }
  s->Start(request);
  return s;
}

void PutMediaService::Impl::Shutdown() {
  MutexLock lock(mu_);
  shutting_down_ = true;
  for (const auto& w : all_) {
    if (auto s = w.lock()) s->transport().Post([s] { s->Drain(); });
  }
}

PutMediaService::PutMediaService(const PutMediaOptions& options, archive::Archive& archive,
                                 WorkerPool& pool, playback::LiveHub& hub, const Clock& clock,
                                 Logger& log)
    : impl_(std::make_shared<Impl>(options, archive, pool, hub, clock, log)) {}

PutMediaService::~PutMediaService() = default;

std::shared_ptr<PutMediaSession> PutMediaService::Open(const PutMediaRequest& request,
                                                       std::shared_ptr<Transport> transport) {
  return impl_->Open(request, std::move(transport));
}

void PutMediaService::Shutdown() { impl_->Shutdown(); }

int PutMediaService::active_sessions() const { return impl_->active_.load(); }

bool PutMediaService::WaitUntilIdle(std::chrono::microseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(impl_->idle_mu_);
  while (impl_->active_.load() != 0) {
    if (!impl_->idle_cv_.WaitUntil(impl_->idle_mu_, deadline)) return impl_->active_.load() == 0;
  }
  return true;
}

PutMediaService::Counters PutMediaService::counters() const {
  MutexLock lock(impl_->mu_);
  return impl_->counters_;
}

}  // namespace streamarc::ingest
