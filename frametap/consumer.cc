// The Consumer: a reader thread (GetMedia over libcurl -> mkv::Reader -> Pipeline: decode,
// sample, convert) fills a bounded queue that Next/Run empty on the user's thread. The
// FragmentLedger decides when a fragment is fully handled (the checkpoint) and where a new
// connection resumes.
#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>

#include "common/mutex.h"
#include "frametap/checkpoint.h"
#include "frametap/frametap.h"
#include "frametap/ledger.h"
#include "frametap/media_client.h"
#include "frametap/pipeline.h"
#include "producer-sdk/http.h"

namespace streamarc::frametap {
namespace {

constexpr int64_t kMaxBackoffMs = 5000;

Status Validate(const ConsumerOptions& o) {
  if (o.endpoint.empty()) return InvalidArgument("ConsumerOptions.endpoint is required");
  if (o.stream_name.empty() == o.stream_arn.empty()) {
    return InvalidArgument("ConsumerOptions needs stream_name or stream_arn (one of them)");
  }
  if (o.sampling.mode == Sampling::Mode::kEveryNth && o.sampling.every_nth < 1) {
    return InvalidArgument("Sampling.every_nth must be at least 1");
  }
  if (o.sampling.mode == Sampling::Mode::kFps && !(o.sampling.fps > 0)) {
    return InvalidArgument("Sampling.fps must be positive");
  }
  if (o.queue_frames < 1) return InvalidArgument("ConsumerOptions.queue_frames must be at least 1");
  if (o.target.width < 0 || o.target.height < 0) {
    return InvalidArgument("Target width and height must not be negative");
  }
  // A CA file that cannot be read is refused now, not retried as a network failure.
  RETURN_IF_ERROR(producer::ResolveCaCert(o.ca_cert).status());
  if (o.max_reconnects < 0 || o.reconnect_backoff_ms < 0) {
    return InvalidArgument("max_reconnects and reconnect_backoff_ms must not be negative");
  }
  if (!o.access_key.empty() && o.secret_key.empty()) {
    return InvalidArgument("ConsumerOptions.secret_key is required with access_key");
  }
  return Status::Ok();
}

// An answer the server will give again: retrying cannot help.
bool Final(const Status& s) {
  return s.code() == Code::kNotFound || s.code() == Code::kPermissionDenied ||
         s.code() == Code::kInvalidArgument || s.code() == Code::kFailedPrecondition;
}

class ConsumerImpl final : public Consumer, public PictureSink {
 public:
  ConsumerImpl(const ConsumerOptions& o, std::unique_ptr<MediaClient> client, StartSelector start)
      : opt_(o),
        client_(std::move(client)),
        ledger_(o.checkpoint_path),
        pipeline_(o, *this, ledger_),
        start_(std::move(start)) {}

  ~ConsumerImpl() override {
    Stop();
    if (reader_.joinable()) reader_.join();
  }

  void StartReader() {
    reader_ = std::thread([this] { ReaderLoop(); });
  }

  Result<std::optional<DecodedFrame>> Next() override {
    AckPrevious();
    RETURN_IF_ERROR(ledger_.write_status());
    MutexLock lock(mu_);
    while (queue_.empty() && !closed_ && !stop_) cv_.Wait(mu_);
    if (!queue_.empty() && !stop_) {
      DecodedFrame f = std::move(queue_.front());
      queue_.pop_front();
      ++delivered_;
      previous_ = f.info.fragment_number;
      cv_.NotifyAll();  // room for the reader
      return std::optional<DecodedFrame>(std::move(f));
    }
    if (stop_ || end_status_.ok()) return std::optional<DecodedFrame>();
    return end_status_;
  }

  bool WaitReady(int64_t timeout_ms) override {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
    MutexLock lock(mu_);
    while (queue_.empty() && !closed_ && !stop_ && cv_.WaitUntil(mu_, deadline)) {
    }
    return !queue_.empty() || closed_ || stop_;
  }

  Status Run(const std::function<bool(const cv::Mat&, const FrameInfo&)>& callback) override {
    for (;;) {
      ASSIGN_OR_RETURN(std::optional<DecodedFrame> f, Next());
      if (!f) return Status::Ok();
      if (!callback(f->image, f->info)) {
        AckPrevious();  // the callback finished with it
        Stop();
        return Status::Ok();
      }
    }
  }

  void Stop() override {
    {
      MutexLock lock(mu_);
      stop_ = true;
      cv_.NotifyAll();
    }
    client_->Wake();
  }

  ConsumerStats stats() const override {
    ConsumerStats s;
    s.frames_read = pipeline_.frames_read();
    s.frames_decoded = pipeline_.frames_decoded();
    s.fragments_done = ledger_.fragments_done();
    MutexLock lock(mu_);
    s.frames_delivered = delivered_;
    s.frames_dropped = dropped_;
    s.reconnects = reconnects_;
    return s;
  }

  // The reader thread.
  Status Emit(DecodedFrame frame) override {
    MutexLock lock(mu_);
    if (opt_.overflow == Overflow::kBlock) {
      while (queue_.size() >= opt_.queue_frames && !stop_) cv_.Wait(mu_);
    }
    if (stop_) return Cancelled("the consumer stopped");
    if (queue_.size() >= opt_.queue_frames) {
      ++dropped_;
      lock.Unlock();
      ledger_.Handled(frame.info.fragment_number);
      return Status::Ok();
    }
    queue_.push_back(std::move(frame));
    cv_.NotifyAll();
    return Status::Ok();
  }

 private:
  // The frame Next returned last has been handled (Next is called again, or Run's callback
  // returned).
  void AckPrevious() {
    std::string number;
    {
      MutexLock lock(mu_);
      if (!previous_) return;
      number = std::move(*previous_);
      previous_.reset();
    }
    ledger_.Handled(number);
  }

  bool stopping() const {
    MutexLock lock(mu_);
    return stop_;
  }

  // Where the next connection starts: after the last fragment whose pictures all left the
  // decoder; else at the first fragment seen (by its producer timestamp, which the server
  // matches exactly: both are milliseconds); else where the user asked.
  StartSelector NextStart() const {
    if (auto at = ledger_.ResumePoint()) {
      return {StartType::kContinuationToken, 0, at->continuation_token};
    }
    if (auto first = pipeline_.first_fragment_producer_us()) {
      return {StartType::kProducerTimestamp, *first, ""};
    }
    return start_;
  }

  void Close(Status s) {
    MutexLock lock(mu_);
    closed_ = true;
    end_status_ = std::move(s);
    cv_.NotifyAll();
  }

  void ReaderLoop() {
    int failures = 0;
    int64_t backoff_ms = opt_.reconnect_backoff_ms;
    MediaCallbacks callbacks;
    mkv::Reader* reader = nullptr;
    callbacks.on_bytes = [&](std::span<const uint8_t> bytes) { return reader->Feed(bytes); };
    callbacks.on_idle = [&] {
      Status s = pipeline_.OnIdle();
      if (!s.ok()) s.IgnoreError();  // a corrupt tail: the next connection reads it again
    };
    for (bool first = true;; first = false) {
      if (!first) pipeline_.BeginConnection();
      const uint64_t read_before = pipeline_.frames_read();
      mkv::Reader mkv(pipeline_);
      reader = &mkv;
      Status s = client_->Run(opt_, GetMediaBody(opt_, NextStart()), callbacks,
                              [this] { return stopping(); });
      if (pipeline_.ended() || stopping()) return Close(Status::Ok());
      if (Final(s)) return Close(s);
      if (pipeline_.frames_read() > read_before) {
        failures = 0;
        backoff_ms = opt_.reconnect_backoff_ms;
      }
      if (s.ok()) s = Unavailable("the server ended the GetMedia response");
      if (++failures > opt_.max_reconnects) {
        return Close(Unavailable("GetMedia failed " + std::to_string(failures) +
                                 " times in a row: " + s.message()));
      }
      MutexLock lock(mu_);
      ++reconnects_;
      // Backoff: waits for the deadline or for Stop, whichever comes first.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms);
      while (!stop_ && cv_.WaitUntil(mu_, deadline)) {
      }
      if (stop_) {
        lock.Unlock();
        return Close(Status::Ok());
      }
      backoff_ms = std::min(kMaxBackoffMs, std::max<int64_t>(1, backoff_ms * 2));
    }
  }

  const ConsumerOptions opt_;
  std::unique_ptr<MediaClient> client_;
  FragmentLedger ledger_;
  Pipeline pipeline_;  // the reader thread's
  const StartSelector start_;
  std::thread reader_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<DecodedFrame> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  Status end_status_ GUARDED_BY(mu_);
  std::optional<std::string> previous_ GUARDED_BY(mu_);
  uint64_t delivered_ GUARDED_BY(mu_) = 0;
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
  uint64_t reconnects_ GUARDED_BY(mu_) = 0;
};

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Open(const ConsumerOptions& options) {
  RETURN_IF_ERROR(Validate(options));
  StartSelector start = options.start;
  if (!options.checkpoint_path.empty()) {
    ASSIGN_OR_RETURN(std::optional<Checkpoint> cp, ReadCheckpoint(options.checkpoint_path));
    if (cp) start = {StartType::kContinuationToken, 0, cp->continuation_token};
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MediaClient> client, MediaClient::Create());
  auto c = std::make_unique<ConsumerImpl>(options, std::move(client), std::move(start));
  c->StartReader();
  return std::unique_ptr<Consumer>(std::move(c));
}

}  // namespace streamarc::frametap
