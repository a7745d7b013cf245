// streamarc-put: point it at a camera (V4L2 or RTSP), a file or a test pattern, and it
// streams to streamarc through the producer SDK. See HelpText() in options.cc for the
// command line and the exit codes.
//
// Threads: main runs the loop below (pull an access unit from the appsink, PutFrame, print
// status, watch signals and the bus). GStreamer's and the SDK's threads only hand messages
// to it. SIGINT/SIGTERM are blocked in every thread and read from a signalfd here, so no
// signal handler and no global flag are needed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "producer-sdk/cli/options.h"
#include "producer-sdk/cli/pipeline.h"
#include "producer-sdk/cli/status_line.h"
#include "producer-sdk/gst/gst_frames.h"
#include "producer-sdk/producer.h"

namespace streamarc::put {
namespace {

using producer::gst::BufferFrame;
using producer::gst::TimestampMapper;
using producer::gst::TrackFromCaps;

// A source that sends nothing for this long is taken as gone (a camera unplugged, an RTSP
// server that died without closing the connection).
constexpr int64_t kStallUs = 10'000'000;
// After EOS is sent, the pipeline gets this long to drain before the stream is stopped.
constexpr int64_t kDrainUs = 5'000'000;

// What the SDK's upload thread tells main's loop. Thread-safe.
class PutCallbacks final : public producer::StreamCallbacks {
 public:
  void OnConnectionState(producer::ConnectionState state, const Status& why) override {
    MutexLock lock(mu_);
    using producer::ConnectionState;
    if (state == ConnectionState::kDisconnected && !disconnected_) {
      disconnected_ = true;
      messages_.push_back("lost the server connection" +
                          (why.ok() ? std::string() : " (" + why.ToString() + ")") +
                          "; buffering and reconnecting");
    } else if (state == ConnectionState::kConnected && disconnected_) {
      disconnected_ = false;
      messages_.push_back("reconnected; resending from the first fragment not persisted");
    }
  }
  void OnStreamError(const Status& status) override {
    MutexLock lock(mu_);
    if (fatal_.ok()) fatal_ = status;
  }
  void OnUnverifiedResend(const Status& why) override {
    MutexLock lock(mu_);
    messages_.push_back(
        "resending fragments the server may already have; some may be stored "
        "twice (give the key the read action to avoid it): " +
        why.ToString());
  }
  void OnFragmentAck(const producer::FragmentAck& ack) override {
    if (ack.type != producer::AckType::kError) return;
    MutexLock lock(mu_);
    messages_.push_back("server refused fragment at " + std::to_string(ack.timecode) +
                        " ms: " + std::to_string(ack.error_id) + " " + ack.error_code);
  }
  std::vector<std::string> TakeMessages() {
    MutexLock lock(mu_);
    return std::exchange(messages_, {});
  }
  Status fatal() const {
    MutexLock lock(mu_);
    return fatal_;
  }

 private:
  mutable Mutex mu_;
  std::vector<std::string> messages_ GUARDED_BY(mu_);
  Status fatal_ GUARDED_BY(mu_);
  bool disconnected_ GUARDED_BY(mu_) = false;
};

// Says what a stream error means to someone at a terminal.
std::string Explain(const Status& s, const std::string& stream) {
  switch (s.code()) {
    case Code::kNotFound:
      return "stream '" + stream + "' does not exist on the server (deleted?): " + s.message();
    case Code::kPermissionDenied:
      return "the server refused the credentials: " + s.message();
    default:
      return s.ToString();
  }
}

class Runner {
 public:
  Runner(const PutOptions& o, int signal_fd)
      : o_(o),
        signal_fd_(signal_fd),
        status_(stderr, isatty(STDERR_FILENO) == 1, o.status_interval_s, o.quiet) {}

  int Run() {
    if (o_.source == SourceKind::kFile && access(o_.location.c_str(), R_OK) != 0) {
      status_.Message("cannot read " + o_.location);
      return kExitUsage;
    }
    auto pipeline = SourcePipeline::Create(o_);
    if (!pipeline.ok()) {
      status_.Message(pipeline.status().message());
      return kExitUsage;
    }
    pipeline_ = std::move(pipeline).value();
    if (Status s = pipeline_->Start(); !s.ok()) {
      status_.Message("the source failed to start: " + s.message());
      return kExitRuntime;
    }
    start_us_ = clock_.MonotonicMicros();

    // The stream is opened once the first access unit shows what the source sends (codec,
    // codec_data, size): passthrough sources decide it, not us.
    if (int rc = WaitForFirstSample(&pending_video_, false); rc >= 0) return rc;
    if (pipeline_->has_audio()) {
      if (int rc = WaitForFirstSample(&pending_audio_, true); rc >= 0) return rc;
    }
    if (int rc = OpenStream(); rc >= 0) return rc;
    status_.Message("streaming " + pipeline_->Describe() +
                    (pipeline_->has_audio() ? " + AAC audio" : "") + " to " + o_.endpoint +
                    " stream '" + o_.stream + "'");
    int rc = Stream();
    return Finish(rc);
  }

 private:
  // Returns an exit code, or -1 to go on.
  int WaitForFirstSample(SamplePtr* first, bool audio) {
    for (;;) {
      if (Signalled()) {
        status_.Message("stopped before the source sent anything");
        return kExitOk;
      }
      auto r = audio ? pipeline_->PullAudio(100, first) : pipeline_->Pull(100, first);
      if (r == SourcePipeline::Pulled::kSample) return -1;
      Status bus = pipeline_->CheckBus();
      if (!bus.ok()) {
        status_.Message("the source failed: " + bus.message());
        return kExitRuntime;
      }
      if (r == SourcePipeline::Pulled::kEos) {
        status_.Message("the source ended without sending any video");
        return kExitRuntime;
      }
      if (clock_.MonotonicMicros() - start_us_ > 3 * kStallUs) {
        status_.Message("the source sent nothing for " + std::to_string(3 * kStallUs / 1000000) +
                        " s");
        return kExitRuntime;
      }
    }
  }

  int OpenStream() {
    auto track = TrackFromCaps(gst_sample_get_caps(pending_video_.get()), 1);
    if (!track.ok()) {
      status_.Message("cannot stream this source: " + track.status().message());
      return kExitRuntime;
    }
    std::vector<producer::TrackConfig> tracks = {*track};
    if (pending_audio_) {
      auto audio = TrackFromCaps(gst_sample_get_caps(pending_audio_.get()), 2);
      if (!audio.ok()) {
        status_.Message("cannot stream the audio: " + audio.status().message());
        return kExitRuntime;
      }
      tracks.push_back(*audio);
    }
    producer::ClientOptions copt;
    copt.endpoint = o_.endpoint;
    if (!o_.region.empty()) {
      copt.region = o_.region;
    } else if (const char* r = std::getenv("AWS_DEFAULT_REGION"); r != nullptr && *r) {
      copt.region = r;
    }
    copt.user_agent = "streamarc-put/0.1";
    copt.ca_cert = o_.ca_cert;
    auto client = producer::Client::Create(copt);
    if (!client.ok()) {
      status_.Message("cannot set up the producer: " + client.status().ToString());
      return kExitConnect;
    }
    client_ = std::move(client).value();
    producer::StreamOptions sopt;
    sopt.name = o_.stream;
    sopt.retention_hours = o_.retention_hours;
    sopt.media_type = producer::gst::MediaTypeFor(track->codec);
    if (tracks.size() > 1) sopt.media_type += ",audio/aac";
    sopt.fragment_duration_ms = o_.fragment_ms;
    sopt.storage_bytes = size_t(o_.storage_mb) << 20;
    sopt.tracks = tracks;
    bool offline = o_.source == SourceKind::kFile && !o_.realtime;
    // An upload of a file must not lose frames (a full store waits for the server); a live
    // source cannot wait, so the oldest unsent fragment goes, as in kvssink.
    sopt.type = offline ? producer::StreamingType::kOffline : producer::StreamingType::kRealtime;
    sopt.overflow =
        offline ? producer::OverflowPolicy::kBlock : producer::OverflowPolicy::kDropOldest;

    int64_t deadline = clock_.MonotonicMicros() + static_cast<int64_t>(o_.connect_timeout_s * 1e6);
    int64_t backoff_ms = 250;
    for (int attempt = 1;; ++attempt) {
      auto stream = client_->OpenStream(sopt, &callbacks_);
      if (stream.ok()) {
        stream_ = std::move(stream).value();
        return -1;
      }
      Status s = stream.status();
      bool retriable = s.code() == Code::kUnavailable || s.code() == Code::kIoError ||
                       s.code() == Code::kInternal;
      if (!retriable || clock_.MonotonicMicros() + backoff_ms * 1000 > deadline) {
        status_.Message("cannot open stream '" + o_.stream + "' at " + o_.endpoint + " after " +
                        std::to_string(attempt) + " attempt(s): " + Explain(s, o_.stream));
        return kExitConnect;
      }
      if (attempt == 1) {
        status_.Message("cannot reach " + o_.endpoint + " (" + s.message() + "); retrying for " +
                        std::to_string(static_cast<int>(o_.connect_timeout_s)) + " s");
      }
      // A retry back-off against the remote server (bounded by connect_timeout_s, doubling
      // to 4 s): the wait is the point. It ends early on SIGINT/SIGTERM, waited for on the
      // signalfd rather than polled in slices.
      if (SignalledWithin(backoff_ms)) {
        status_.Message("stopped before the stream was opened");
        return kExitConnect;
      }
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 4000);
    }
  }

  // The main loop. Returns the exit code the stream's outcome calls for, before Stop.
  int Stream() {
    SamplePtr sample;
    uint64_t track = 1;
    Next(&sample, &track);
    int64_t last_sample_us = clock_.MonotonicMicros();
    int64_t eos_deadline = 0;
    int rc = kExitOk;
    for (;;) {
      int64_t now = clock_.MonotonicMicros();
      if (sample) {
        if (int r = Put(sample.get(), track); r >= 0) return r;
        sample.reset();
        last_sample_us = clock_.MonotonicMicros();
      }
      for (const std::string& m : callbacks_.TakeMessages()) status_.Message(m);
      if (Status f = callbacks_.fatal(); !f.ok()) {
        status_.Message("the stream failed: " + Explain(f, o_.stream));
        return kExitRuntime;
      }
      if (Signalled() && eos_deadline == 0) {
        status_.Message("stopping: ending the source and flushing");
        // A second Ctrl-C kills at once: back to the default action, unblocked here.
        signal(SIGINT, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        StartEos(&eos_deadline);
      }
      if (Status bus = pipeline_->CheckBus(); !bus.ok()) {
        status_.Message("the source failed: " + bus.message() + "; flushing what was sent");
        return kExitRuntime;
      }
      if (eos_deadline != 0 && now > eos_deadline) break;
      if (eos_deadline == 0 && now - last_sample_us > kStallUs) {
        status_.Message("the source sent nothing for " + std::to_string(kStallUs / 1000000) +
                        " s (camera disconnected?); flushing what was sent");
        return kExitRuntime;
      }
      status_.Update(Sample());
      if (Next(&sample, &track) == SourcePipeline::Pulled::kEos) break;
    }
    return rc;
  }

  // The next access unit across video and audio, in decode-time order, so a fragment cut at
  // a video key frame gets the audio that belongs before it. A track with nothing ready
  // within a short wait does not hold the other back.
  SourcePipeline::Pulled Next(SamplePtr* out, uint64_t* track) {
    using P = SourcePipeline::Pulled;
    if (!pending_video_ && !video_eos_) {
      if (pipeline_->Pull(pending_audio_ ? 20 : 100, &pending_video_) == P::kEos) {
        video_eos_ = true;
      }
    }
    if (pipeline_->has_audio() && !pending_audio_ && !audio_eos_) {
      if (pipeline_->PullAudio(pending_video_ ? 20 : 0, &pending_audio_) == P::kEos) {
        audio_eos_ = true;
      }
    }
    bool video = pending_video_ != nullptr;
    if (video && pending_audio_) {
      video = DecodeTime(pending_video_.get()) <= DecodeTime(pending_audio_.get());
    }
    if (video) {
      *out = std::move(pending_video_);
      *track = 1;
      return P::kSample;
    }
    if (pending_audio_) {
      *out = std::move(pending_audio_);
      *track = 2;
      return P::kSample;
    }
    return video_eos_ && (audio_eos_ || !pipeline_->has_audio()) ? P::kEos : P::kTimeout;
  }

  static int64_t DecodeTime(GstSample* sample) {
    GstBuffer* b = gst_sample_get_buffer(sample);
    int64_t pts = 0, dts = 0;
    if (b == nullptr ||
        !producer::gst::RunningTimes(b, gst_sample_get_segment(sample), &pts, &dts)) {
      return 0;
    }
    return dts;
  }

  void StartEos(int64_t* deadline) {
    pipeline_->SendEos();
    *deadline = clock_.MonotonicMicros() + kDrainUs;
  }

  // Returns an exit code, or -1 to go on.
  int Put(GstSample* sample, uint64_t track) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    if (buffer == nullptr) return -1;
    auto frame = BufferFrame::Make(buffer, gst_sample_get_segment(sample), track, mapper_,
                                   clock_.NowMicros());
    if (!frame.ok()) {
      status_.Message("skipping a frame: " + frame.status().message());
      return -1;
    }
    const producer::Frame& f = (*frame)->frame();
    if (o_.duration_s > 0) {
      if (!first_pts_us_) first_pts_us_ = f.pts_us;
      if (f.pts_us - *first_pts_us_ >= static_cast<int64_t>(o_.duration_s * 1e6)) {
        if (!duration_reached_) {
          duration_reached_ = true;
          int64_t ignored = 0;
          StartEos(&ignored);
        }
        return -1;
      }
    }
    Status s = stream_->PutFrame(f);
    // Dropped by the overflow policy, or a frame the SDK could not place (a timestamp too
    // far from its fragment's start): counted in the stats, not the end of the stream.
    if (s.code() == Code::kResourceExhausted || s.code() == Code::kOutOfRange) return -1;
    if (!s.ok()) {
      status_.Message("PutFrame failed: " + Explain(s, o_.stream));
      return kExitRuntime;
    }
    ++frames_;
    if (track == 1) ++video_frames_;
    bytes_ += f.data.size();
    return -1;
  }

  StatusSample Sample() const {
    StatusSample s;
    s.elapsed_s = static_cast<double>(clock_.MonotonicMicros() - start_us_) / 1e6;
    s.frames = video_frames_;
    s.bytes = bytes_;
    if (stream_) s.stats = stream_->stats();
    return s;
  }

  // Stops the stream (flush, wait for PERSISTED) whatever ended the loop.
  int Finish(int rc) {
    pipeline_.reset();  // the source is done; nothing more comes
    if (!stream_) return rc;
    status_.Update(Sample());
    status_.Finish();
    Status s = stream_->Stop(static_cast<int64_t>(o_.stop_timeout_s * 1000));
    for (const std::string& m : callbacks_.TakeMessages()) status_.Message(m);
    producer::StreamStats st = stream_->stats();
    std::string summary =
        std::to_string(frames_) + " frames" +
        (frames_ != video_frames_ ? " (" + std::to_string(video_frames_) + " video)"
                                  : std::string()) +
        " in " + std::to_string(st.fragments_started) + " fragments, " +
        std::to_string(st.fragments_persisted) + " persisted";
    if (st.frames_dropped || st.fragments_dropped) {
      summary += ", dropped " + std::to_string(st.frames_dropped) + " frames / " +
                 std::to_string(st.fragments_dropped) + " fragments";
    }
    if (!s.ok()) {
      status_.Message("not everything was persisted within " +
                      std::to_string(static_cast<int>(o_.stop_timeout_s)) + " s: " + s.message() +
                      " (" + summary + ")");
      return rc == kExitOk ? kExitUnflushed : rc;
    }
    if (Status f = callbacks_.fatal(); !f.ok() && rc == kExitOk) {
      status_.Message("the stream failed: " + Explain(f, o_.stream));
      return kExitRuntime;
    }
    status_.Message("done: " + summary);
    return rc;
  }

  bool Signalled() {
    if (signalled_) return true;
    signalfd_siginfo info;
    if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      signalled_ = true;
    }
    return signalled_;
  }

  // Waits up to `timeout_ms` for SIGINT/SIGTERM; true when one came.
  bool SignalledWithin(int64_t timeout_ms) {
    const int64_t until_us = clock_.MonotonicMicros() + timeout_ms * 1000;
    while (!Signalled()) {
      const int64_t left_ms = (until_us - clock_.MonotonicMicros() + 999) / 1000;
      if (left_ms <= 0) return false;
      pollfd p{signal_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left_ms)) < 0 && errno != EINTR) return Signalled();
    }
    return true;
  }

  PutOptions o_;
  int signal_fd_;
  SystemClock clock_;
  StatusLine status_;
  PutCallbacks callbacks_;
  std::unique_ptr<SourcePipeline> pipeline_;
  std::unique_ptr<producer::Client> client_;
  std::unique_ptr<producer::Stream> stream_;
  TimestampMapper mapper_;
  SamplePtr pending_video_;  // pulled, not yet put
  SamplePtr pending_audio_;
  bool video_eos_ = false;
  bool audio_eos_ = false;
  std::optional<int64_t> first_pts_us_;
  bool duration_reached_ = false;
  bool signalled_ = false;
  int64_t start_us_ = 0;
  uint64_t frames_ = 0;  // every track
  uint64_t video_frames_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace
}  // namespace streamarc::put

// Only an allocation failure can throw here: ending the process (with a core) is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  using namespace streamarc::put;
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "streamarc-put: %s\n", options.status().message().c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(HelpText().c_str(), stdout);
    return kExitOk;
  }
  // Blocked before any thread starts, so GStreamer's and the SDK's threads inherit the mask
  // and the signals wait in the signalfd for main's loop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("streamarc-put: signalfd");
    return kExitRuntime;
  }
  gst_init(nullptr, nullptr);
  int rc;
  {
    Runner runner(*options, signal_fd);
    rc = runner.Run();
  }
  close(signal_fd);
  gst_deinit();
  return rc;
}
