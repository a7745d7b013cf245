#include "frametap/tap.h"

#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "frametap/fragment_video.h"

namespace streamarc::frametap {
namespace {

// One sink with its bounded queue and delivery thread, so a slow sink only loses its own
// frames.
class SinkWorker {
 public:
  SinkWorker(std::shared_ptr<TapSink> sink, size_t capacity)
      : sink_(std::move(sink)), capacity_(capacity), thread_([this] { Loop(); }) {}
  ~SinkWorker() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
  }
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;

  // Never blocks. A full queue drops its oldest frame (counted): a sink that falls behind
  // gets the newest frames, which is what live analysis and thumbnails want.
  void Push(const std::string& stream, const cv::Mat& image, const FrameInfo& info) {
    {
      MutexLock lock(mu_);
      if (queue_.size() >= capacity_) {
        queue_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      queue_.push_back(Item{stream, image, info});
    }
    cv_.NotifyOne();
  }
  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Item {
    std::string stream;
    cv::Mat image;  // shared (refcounted) with the other sinks' items: never written after
    FrameInfo info;
  };

  void Loop() {
    for (;;) {
      Item item;
      {
        MutexLock lock(mu_);
        while (queue_.empty() && !stopping_) cv_.Wait(mu_);
        // Stopping delivers what is queued first (a few frames at most).
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      sink_->OnFrame(item.stream, item.image, item.info);
      delivered_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  const std::shared_ptr<TapSink> sink_;
  const size_t capacity_;
  Mutex mu_;
  CondVar cv_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;  // last: starts once the members above exist
};

class FrameTapImpl final : public FrameTap {
 public:
  explicit FrameTapImpl(const TapOptions& options)
      : options_(options), thread_([this] { Loop(); }) {}
  ~FrameTapImpl() override {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
    MutexLock lock(sinks_mu_);
    sinks_.clear();  // joins each sink's thread
  }

  void AddSink(std::shared_ptr<TapSink> sink) override {
    auto worker = std::make_shared<SinkWorker>(std::move(sink), options_.sink_queue_frames);
    MutexLock lock(sinks_mu_);
    sinks_.push_back(std::move(worker));
  }

  bool Offer(TapFragment fragment) override {
    offered_.fetch_add(1, std::memory_order_relaxed);
    if (!fragment.cluster) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    {
      MutexLock lock(mu_);
      if (stopping_ || queue_.size() >= options_.max_queued_fragments) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      queue_.push_back(std::move(fragment));
      ++queued_total_;
    }
    cv_.NotifyAll();
    return true;
  }

  void WaitDecoded() override {
    MutexLock lock(mu_);
    const uint64_t target = queued_total_;
    while (done_total_ < target && !stopping_) cv_.Wait(mu_);
  }

  TapStats stats() const override {
    TapStats s;
    s.fragments_offered = offered_.load(std::memory_order_relaxed);
    s.fragments_dropped = dropped_.load(std::memory_order_relaxed);
    s.fragments_failed = failed_.load(std::memory_order_relaxed);
    s.frames_decoded = decoded_.load(std::memory_order_relaxed);
    MutexLock lock(sinks_mu_);
    for (const auto& w : sinks_) {
      s.frames_delivered += w->delivered();
      s.frames_dropped += w->dropped();
    }
    return s;
  }

 private:
  // A stream's decoder, kept while its codec stays the same.
  struct StreamState {
    std::string codec_id;
    mkv::Bytes codec_private;
    std::unique_ptr<VideoDecoder> decoder;
    uint64_t frame_index = 0;
  };

  void Loop() {
    Converter converter;
    for (;;) {
      TapFragment f;
      {
        MutexLock lock(mu_);
        while (queue_.empty() && !stopping_) cv_.Wait(mu_);
        if (stopping_) return;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!Decode(f, converter).ok()) failed_.fetch_add(1, std::memory_order_relaxed);
      {
        MutexLock lock(mu_);
        ++done_total_;
      }
      cv_.NotifyAll();
    }
  }

  Status Decode(const TapFragment& f, Converter& converter) {
    ASSIGN_OR_RETURN(FragmentVideo video, ReadFragmentVideo(f.header, *f.cluster));
    StreamState& st = streams_[f.stream_name];
    if (!st.decoder || st.codec_id != video.track.codec_id ||
        st.codec_private != video.track.codec_private) {
      st.decoder.reset();
      ASSIGN_OR_RETURN(st.decoder,
                       VideoDecoder::Open(video.track.codec_id, video.track.codec_private,
                                          {.threads = options_.decode_threads}));
      st.codec_id = video.track.codec_id;
      st.codec_private = video.track.codec_private;
    }
    std::vector<std::shared_ptr<SinkWorker>> sinks;
    {
      MutexLock lock(sinks_mu_);
      sinks = sinks_;
    }
    return DecodeFragment(
        *st.decoder, video, options_.key_frames_only, std::numeric_limits<int64_t>::max(),
        [](int64_t) { return true; },
        [&](const FragmentPicture& p) -> Status {
          // A fresh Mat per picture: the sinks' queues share it, so it is never reused.
          cv::Mat image;
          RETURN_IF_ERROR(converter.ToMat(*p.picture, options_.target, &image));
          decoded_.fetch_add(1, std::memory_order_relaxed);
          FrameInfo info;
          info.producer_timestamp_us = f.producer_timestamp_us + p.offset_us;
          info.server_timestamp_us = f.server_timestamp_us + p.offset_us;
          info.fragment_number = f.fragment_number;
          info.key_frame = p.key;
          info.frame_index = st.frame_index++;
          for (const auto& sink : sinks) sink->Push(f.stream_name, image, info);
          return Status::Ok();
        });
  }

  const TapOptions options_;
  std::atomic<uint64_t> offered_{0}, dropped_{0}, failed_{0}, decoded_{0};
  std::map<std::string, StreamState> streams_;  // the decode thread's alone
  mutable Mutex sinks_mu_;
  std::vector<std::shared_ptr<SinkWorker>> sinks_ GUARDED_BY(sinks_mu_);
  Mutex mu_;
  CondVar cv_;  // a fragment queued, one decoded, or stopping
  std::deque<TapFragment> queue_ GUARDED_BY(mu_);
  uint64_t queued_total_ GUARDED_BY(mu_) = 0;
  uint64_t done_total_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

std::unique_ptr<FrameTap> FrameTap::Create(const TapOptions& options) {
  return std::make_unique<FrameTapImpl>(options);
}

}  // namespace streamarc::frametap
