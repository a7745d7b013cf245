#include "server/media_api.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "playback/get_media.h"
#include "playback/get_media_request.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

using playback::LiveFragmentPtr;
using playback::StartSelectorType;

constexpr size_t kMaxRequestBody = 256u << 10;  // 1000 fragment numbers fit easily
constexpr char kMediaType[] = "video/webm";     // what KVS answers (kvs-api.md §2.2)

class Reader;
class ListReader;

// What every handler shares. Holds references that outlive the worker pool (archive, hub,
// clock, log), never the ApiContext itself: pool jobs may run after it is gone.
class MediaService : public std::enable_shared_from_this<MediaService> {
 public:
  MediaService(const ApiContext& ctx, const MediaApiOptions& o)
      : archive(ctx.archive), hub(ctx.hub), pool(ctx.pool), clock(ctx.clock), log(ctx.log),
        ids(ctx.ids), opt(o) {}

  // Counts a GetMedia connection against its stream's limit; false when full.
  bool Acquire(const std::string& stream, const std::shared_ptr<Reader>& reader) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& readers = readers_[stream];
    if (static_cast<int>(readers.size()) >= opt.max_get_media_per_stream) {
      if (readers.empty()) readers_.erase(stream);
      return false;
    }
    readers.insert(reader);
    return true;
  }
  void Release(const std::string& stream, Reader* reader) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = readers_.find(stream);
    if (it == readers_.end()) return;
    for (auto r = it->second.begin(); r != it->second.end(); ++r) {
      if (r->lock().get() == reader || r->expired()) {
        it->second.erase(r);
        break;
      }
    }
    if (it->second.empty()) {
      readers_.erase(it);
      chunks_.erase(stream);
    }
  }

  // One chunk per live fragment, built by the first reader that gets it and shared (the
  // same bytes) by every other reader of the stream. Called on the commit thread.
  std::shared_ptr<const std::string> LiveChunk(const LiveFragmentPtr& f) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& cached = chunks_[f->stream_name];
    if (cached.first.lock() != f) {
      cached.first = f;
      cached.second = std::make_shared<const std::string>(
          playback::BuildMediaChunk(f->info, *f->cluster, clock.NowMicros()));
    }
    return cached.second;
  }

  // Server shutdown (service thread): every reader's response ends with its last chunk;
  // writes that race with this are dropped by the writer. Cleanup follows at OnClose.
  void EndAll();

  // The readers of streams that no longer exist (checked by the watcher thread).
  std::vector<std::shared_ptr<Reader>> ReadersOfDeletedStreams();

  void Watch() {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!stopping_) {
      watch_cv_.wait_for(lock, std::chrono::microseconds(opt.stream_check_interval_us));
      if (stopping_) break;
      lock.unlock();
      EndDeleted();
      lock.lock();
    }
  }
  void StopWatch() {
    {
      std::lock_guard<std::mutex> lock(watch_mu_);
      stopping_ = true;
    }
    watch_cv_.notify_all();
  }
  void EndDeleted();

  archive::Archive& archive;
  playback::LiveHub& hub;
  WorkerPool& pool;
  const Clock& clock;
  Logger& log;
  RequestIds& ids;
  const MediaApiOptions opt;

 private:
  std::mutex mu_;
  std::map<std::string, std::set<std::weak_ptr<Reader>, std::owner_less<>>> readers_;
  std::map<std::string, std::pair<std::weak_ptr<const playback::LiveFragment>,
                                  std::shared_ptr<const std::string>>> chunks_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
};

HttpResponse WithRequestId(HttpResponse r, RequestIds& ids) {
  r.headers.push_back({"x-amzn-requestid", ids.Next()});
  return r;
}

// Collects a small JSON request body on the service thread, then hands it over.
class BodyHandler final : public StreamingHandler {
 public:
  using OnComplete = std::function<void(std::string body)>;
  BodyHandler(std::shared_ptr<ResponseWriter> w, OnComplete done, std::function<void()> closed)
      : w_(std::move(w)), done_(std::move(done)), closed_(std::move(closed)) {}
  void OnBody(std::span<const uint8_t> bytes) override {
    if (failed_) return;
    body_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (body_.size() > kMaxRequestBody) {
      failed_ = true;
      w_->Respond(KvsError(400, "InvalidArgumentException", "the request body is too large"));
    }
  }
  void OnBodyEnd() override {
    if (failed_ || !done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(body_));
  }
  void OnClose() override {
    if (closed_) closed_();
  }

 private:
  std::shared_ptr<ResponseWriter> w_;
  OnComplete done_;
  std::function<void()> closed_;
  std::string body_;
  bool failed_ = false;
};

// One GetMedia connection: the archived backlog from the start selector, then the live edge.
//
// Exactly one side writes at a time. In kBacklog a worker-pool job reads fragments after
// `last_sent_` from the archive; a live fragment that arrives meanwhile only sets `missed_`
// (it is committed before it is published, so the job's next read finds it). When a read
// comes back empty and nothing was missed, the job switches to kLive under the lock; from
// then on the hub's listener writes each new fragment (the shared chunk, no copy). A reader
// that falls behind (too many unsent bytes) or a fragment published without its bytes goes
// back to kBacklog. Subscribing before the first read means nothing falls between the two.
class Reader : public std::enable_shared_from_this<Reader> {
 public:
  Reader(std::shared_ptr<MediaService> svc, std::shared_ptr<ResponseWriter> w)
      : svc_(std::move(svc)), w_(std::move(w)) {}

  // Service thread.
  void Start(std::string body) {
    auto req = playback::ParseGetMediaRequest(body);
    if (!req.ok()) return w_->Respond(WithRequestId(KvsErrorFromStatus(req.status()), svc_->ids));
    req_ = std::move(*req);
    auto self = shared_from_this();
    if (!svc_->pool.Submit([self] { self->Open(); })) {
      w_->Respond(WithRequestId(
          KvsError(400, "ClientLimitExceededException", "the server is busy"), svc_->ids));
    }
  }

  // Any thread but the commit thread: the connection is gone or the reader must end.
  void Stop() {
    uint64_t sub = 0;
    bool acquired = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      sub = sub_id_;
      acquired = acquired_;
    }
    if (acquired) svc_->Release(stream_, this);
    if (sub) svc_->hub.Unsubscribe(sub);
  }

  // Ends the response cleanly (worker or watcher thread).
  void Finish() {
    w_->End();
    Stop();
  }

  // Ends the response only (service thread at shutdown: no Unsubscribe here).
  void EndResponse() { w_->End(); }

  const std::string& stream() const { return stream_; }

 private:
  enum class Mode { kStarting, kBacklog, kLive };

  // Worker pool: looks the stream up, takes a connection slot, subscribes, finds the start.
  void Open() {
    auto info = svc_->archive.DescribeStream(req_.stream);
    if (!info.ok()) return Refuse(KvsErrorFromStatus(info.status()));
    if (info->status == archive::StreamStatus::kDeleting) {
      return Refuse(KvsError(404, "ResourceNotFoundException", "the stream is being deleted"));
    }
    stream_ = info->name;
    ref_ = archive::StreamRef::Name(stream_);
    auto self = shared_from_this();
    if (!svc_->Acquire(stream_, self)) {
      return Refuse(KvsError(400, "ConnectionLimitExceededException",
                             "at most " + std::to_string(svc_->opt.max_get_media_per_stream) +
                                 " GetMedia connections per stream"));
    }
    std::weak_ptr<Reader> weak = self;
    uint64_t sub = svc_->hub.Subscribe(stream_, [weak](const LiveFragmentPtr& f) {
      if (auto r = weak.lock()) r->OnLive(f);
    });
    bool undo;
    {
      std::lock_guard<std::mutex> lock(mu_);
      undo = stopped_;  // the client left while we looked: Stop saw nothing to release
      if (!undo) {
        acquired_ = true;
        sub_id_ = sub;
        mode_ = Mode::kBacklog;
      }
    }
    if (undo) {
      svc_->Release(stream_, this);
      svc_->hub.Unsubscribe(sub);
      return;
    }

    // Where the backlog starts: `last_sent_` is the fragment before the first one to send.
    std::optional<archive::FragmentInfo> first;
    switch (req_.type) {
      case StartSelectorType::kEarliest: break;
      case StartSelectorType::kFragmentNumber:
      case StartSelectorType::kContinuationToken: {
        // Any well-formed number works (a fragment expired since is simply passed over); one
        // the archive cannot decode was never issued.
        last_sent_ = req_.type == StartSelectorType::kFragmentNumber ? req_.after_fragment_number
                                                                     : req_.continuation_token;
        auto probe = svc_->archive.FragmentsAfter(ref_, last_sent_, 1);
        if (!probe.ok()) {
          const char* what = req_.type == StartSelectorType::kFragmentNumber
                                 ? "AfterFragmentNumber"
                                 : "ContinuationToken";
          if (probe.status().code() == Code::kInvalidArgument) {
            return Refuse(KvsError(400, "InvalidArgumentException",
                                   std::string(what) + " \"" + last_sent_ +
                                       "\" is not a fragment number of this stream"));
          }
          return Refuse(KvsErrorFromStatus(probe.status()));
        }
        break;
      }
      case StartSelectorType::kServerTimestamp:
      case StartSelectorType::kProducerTimestamp: {
        auto f = svc_->archive.FirstAtOrAfter(ref_,
                                              req_.type == StartSelectorType::kServerTimestamp
                                                  ? archive::TimestampType::kServer
                                                  : archive::TimestampType::kProducer,
                                              req_.start_timestamp_us);
        if (f.ok()) {
          first = std::move(*f);
          break;
        }
        if (f.status().code() != Code::kNotFound) return Refuse(KvsErrorFromStatus(f.status()));
        [[fallthrough]];  // nothing that late yet: start with the next fragment persisted
      }
      case StartSelectorType::kNow: {
        auto latest = svc_->archive.Latest(ref_);
        if (latest.ok()) {
          last_sent_ = latest->number;
        } else if (latest.status().code() != Code::kNotFound) {
          return Refuse(KvsErrorFromStatus(latest.status()));
        }
        break;
      }
    }
    w_->Begin(200, kMediaType, {{"x-amzn-requestid", svc_->ids.Next()}});
    if (first) {
      if (!SendStored(*first)) return;
      std::lock_guard<std::mutex> lock(mu_);
      last_sent_ = first->number;
    }
    Backlog();
  }

  void Refuse(HttpResponse r) {
    w_->Respond(WithRequestId(std::move(r), svc_->ids));
    Stop();
  }

  // Reads and writes one stored fragment; false when the reader ended.
  bool SendStored(const archive::FragmentInfo& info) {
    auto bytes = svc_->archive.ReadFragment(ref_, info.number);
    if (!bytes.ok()) {
      if (bytes.status().code() == Code::kNotFound) return true;  // expired meanwhile
      svc_->log.Warn("getmedia", "cannot read a fragment",
                     {{"stream", stream_}, {"fragment", info.number},
                      {"error", bytes.status().ToString()}});
      w_->Write(playback::BuildErrorChunk(info.number, "INTERNAL_ERROR", playback::kErrorInternal));
      Finish();
      return false;
    }
    w_->Write(playback::BuildMediaChunk(info, *bytes, svc_->clock.NowMicros()));
    return true;
  }

  // Worker pool: one batch of the backlog; resubmits itself, waits for the client to drain,
  // or goes live.
  void Backlog() {
    for (;;) {
      std::string after;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopped_) return;
        after = last_sent_;
      }
      if (w_->queued_bytes() > svc_->opt.resume_queued_bytes) {
        auto self = shared_from_this();
        w_->NotifyWhenDrained(svc_->opt.resume_queued_bytes, [self] { self->Resubmit(); });
        return;
      }
      auto batch = svc_->archive.FragmentsAfter(ref_, after, svc_->opt.backlog_batch);
      if (!batch.ok()) {
        if (batch.status().code() != Code::kNotFound) {
          w_->Write(playback::BuildErrorChunk("", "INTERNAL_ERROR", playback::kErrorInternal));
        }
        return Finish();  // kNotFound: the stream was deleted
      }
      if (batch->empty()) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (missed_) {
            missed_ = false;
            continue;
          }
          mode_ = Mode::kLive;
        }
        svc_->log.Info("getmedia", "reader is at the live edge",
                       {{"stream", stream_}, {"after", after}});
        return;
      }
      for (const archive::FragmentInfo& info : *batch) {
        if (!SendStored(info)) return;
        std::lock_guard<std::mutex> lock(mu_);
        if (stopped_) return;
        last_sent_ = info.number;
      }
      // Let other jobs run between batches.
      return Resubmit();
    }
  }

  void Resubmit() {
    auto self = shared_from_this();
    if (!svc_->pool.Submit([self] { self->Backlog(); })) {
      svc_->log.Warn("getmedia", "worker pool full: ending a reader", {{"stream", stream_}});
      w_->Write(playback::BuildErrorChunk("", "INTERNAL_ERROR", playback::kErrorInternal));
      // Ending needs Unsubscribe, which must not run on the commit thread: hand it over.
      w_->Post([self] { self->Finish(); });
    }
  }

  // The archive's commit thread, via the hub: must not block.
  void OnLive(const LiveFragmentPtr& f) {
    std::shared_ptr<const std::string> chunk;
    bool lagging = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      if (mode_ != Mode::kLive) {
        missed_ = true;
        return;
      }
      if (!playback::FragmentNumberLess(last_sent_, f->info.number)) return;  // seen
      if (!f->cluster || w_->queued_bytes() > svc_->opt.max_reader_queued_bytes) {
        // Catch up from the archive (which has this fragment) once the client drains.
        mode_ = Mode::kBacklog;
        lagging = f->cluster != nullptr;
      } else {
        chunk = svc_->LiveChunk(f);
        last_sent_ = f->info.number;
      }
    }
    if (chunk) return w_->WriteShared(std::move(chunk));
    if (lagging) {
      svc_->log.Info("getmedia", "reader fell behind: catching up from the archive",
                     {{"stream", stream_}, {"queued_bytes", uint64_t{w_->queued_bytes()}}});
    }
    Resubmit();
  }

  std::shared_ptr<MediaService> svc_;
  std::shared_ptr<ResponseWriter> w_;
  playback::GetMediaRequest req_;
  std::string stream_;  // resolved name (set in Open, then read-only)
  archive::StreamRef ref_;

  std::mutex mu_;
  Mode mode_ = Mode::kStarting;
  bool missed_ = false;
  bool stopped_ = false;
  bool acquired_ = false;
  uint64_t sub_id_ = 0;
  std::string last_sent_;
};

std::vector<std::shared_ptr<Reader>> MediaService::ReadersOfDeletedStreams() {
  std::map<std::string, std::vector<std::shared_ptr<Reader>>> by_stream;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [stream, readers] : readers_) {
      for (auto& w : readers) {
        if (auto r = w.lock()) by_stream[stream].push_back(std::move(r));
      }
    }
  }
  std::vector<std::shared_ptr<Reader>> out;
  for (auto& [stream, readers] : by_stream) {
    auto info = archive.DescribeStream(archive::StreamRef::Name(stream));
    bool gone = (!info.ok() && info.status().code() == Code::kNotFound) ||
                (info.ok() && info->status == archive::StreamStatus::kDeleting);
    if (gone) out.insert(out.end(), readers.begin(), readers.end());
  }
  return out;
}

void MediaService::EndAll() {
  std::vector<std::shared_ptr<Reader>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [stream, readers] : readers_) {
      for (auto& w : readers) {
        if (auto r = w.lock()) all.push_back(std::move(r));
      }
    }
  }
  for (auto& r : all) r->EndResponse();
}

void MediaService::EndDeleted() {
  for (auto& r : ReadersOfDeletedStreams()) {
    log.Info("getmedia", "stream deleted: ending its reader", {{"stream", r->stream()}});
    r->Finish();
  }
}

// One GetMediaForFragmentList response: every named fragment is checked first (an unknown
// one is 404 ResourceNotFoundException before anything is sent); then the chunks go out in
// the order asked, paced by the client. A fragment that expires in between becomes an error
// chunk (4000, fragment not found), as KVS reports errors once the 200 is out.
class ListReader : public std::enable_shared_from_this<ListReader> {
 public:
  ListReader(std::shared_ptr<MediaService> svc, std::shared_ptr<ResponseWriter> w)
      : svc_(std::move(svc)), w_(std::move(w)) {}

  void Start(std::string body) {
    auto req = playback::ParseFragmentListRequest(body);
    if (!req.ok()) return Respond(KvsErrorFromStatus(req.status()));
    req_ = std::move(*req);
    auto self = shared_from_this();
    if (!svc_->pool.Submit([self] { self->Open(); })) {
      Respond(KvsError(400, "ClientLimitExceededException", "the server is busy"));
    }
  }
  void Stop() { stopped_.store(true); }

 private:
  void Respond(HttpResponse r) { w_->Respond(WithRequestId(std::move(r), svc_->ids)); }

  void Open() {
    auto info = svc_->archive.DescribeStream(req_.stream);
    if (!info.ok()) return Respond(KvsErrorFromStatus(info.status()));
    ref_ = archive::StreamRef::Name(info->name);
    for (const std::string& number : req_.fragments) {
      auto f = svc_->archive.GetFragment(ref_, number);
      if (!f.ok()) {
        // A number the archive cannot decode was never issued: not found either.
        if (f.status().code() == Code::kNotFound ||
            f.status().code() == Code::kInvalidArgument) {
          return Respond(KvsError(404, "ResourceNotFoundException",
                                  "fragment " + number + " is not in stream " + info->name));
        }
        return Respond(KvsErrorFromStatus(f.status()));
      }
      infos_.push_back(std::move(*f));
    }
    w_->Begin(200, kMediaType, {{"x-amzn-requestid", svc_->ids.Next()}});
    Step();
  }

  // Worker pool: writes until the client's queue is full, then waits for it to drain.
  void Step() {
    int sent = 0;
    while (next_ < infos_.size()) {
      if (stopped_.load()) return;
      if (w_->queued_bytes() > svc_->opt.resume_queued_bytes || sent == svc_->opt.backlog_batch) {
        auto self = shared_from_this();
        auto resume = [self] {
          if (!self->svc_->pool.Submit([self] { self->Step(); })) self->w_->Close();
        };
        if (sent == svc_->opt.backlog_batch) return resume();
        return w_->NotifyWhenDrained(svc_->opt.resume_queued_bytes, resume);
      }
      const archive::FragmentInfo& info = infos_[next_++];
      ++sent;
      auto bytes = svc_->archive.ReadFragment(ref_, info.number);
      if (bytes.ok()) {
        w_->Write(playback::BuildMediaChunk(info, *bytes, svc_->clock.NowMicros()));
      } else if (bytes.status().code() == Code::kNotFound) {
        w_->Write(playback::BuildErrorChunk(info.number, "FRAGMENT_NOT_FOUND",
                                            playback::kErrorFragmentNotFound));
      } else {
        svc_->log.Warn("getmedia", "cannot read a fragment",
                       {{"fragment", info.number}, {"error", bytes.status().ToString()}});
        w_->Write(playback::BuildErrorChunk(info.number, "INTERNAL_ERROR",
                                            playback::kErrorInternal));
        return w_->End();
      }
    }
    w_->End();
  }

  std::shared_ptr<MediaService> svc_;
  std::shared_ptr<ResponseWriter> w_;
  playback::FragmentListRequest req_;
  archive::StreamRef ref_;
  std::vector<archive::FragmentInfo> infos_;  // written by one job at a time
  size_t next_ = 0;
  std::atomic<bool> stopped_{false};
};

HttpResponse ListFragments(MediaService& svc, const HttpRequest& http) {
  auto req = playback::ParseListFragmentsRequest(http.body);
  if (!req.ok()) return KvsErrorFromStatus(req.status());
  auto result = svc.archive.ListFragments(*req);
  if (!result.ok()) return KvsErrorFromStatus(result.status());
  return JsonOk(playback::ListFragmentsResponseJson(*result));
}

// Owned by the routes: stops and joins the watcher thread when the HTTP server drops them.
// The readers hold the service, not this, so the thread is never joined from itself.
struct MediaApi {
  explicit MediaApi(std::shared_ptr<MediaService> s) : svc(std::move(s)) {
    watcher = std::thread([svc = svc] { svc->Watch(); });
  }
  ~MediaApi() {
    svc->StopWatch();
    if (watcher.joinable()) watcher.join();
  }
  std::shared_ptr<MediaService> svc;
  std::thread watcher;
};

}  // namespace

void RegisterMediaApi(Router& http, const ApiContext& ctx, const MediaApiOptions& options) {
  auto api = std::make_shared<MediaApi>(std::make_shared<MediaService>(ctx, options));

  http.RouteStreaming("POST", "/getMedia",
                      [api](const HttpRequest&, std::shared_ptr<ResponseWriter> w)
                          -> std::unique_ptr<StreamingHandler> {
                        auto reader = std::make_shared<Reader>(api->svc, w);
                        return std::make_unique<BodyHandler>(
                            w, [reader](std::string body) { reader->Start(std::move(body)); },
                            [reader, svc = api->svc] {
                              // Unsubscribing waits for a running listener: not here.
                              if (!svc->pool.Submit([reader] { reader->Stop(); })) {
                                reader->Stop();
                              }
                            });
                      });

  http.RouteStreaming("POST", "/getMediaForFragmentList",
                      [api](const HttpRequest&, std::shared_ptr<ResponseWriter> w)
                          -> std::unique_ptr<StreamingHandler> {
                        auto reader = std::make_shared<ListReader>(api->svc, w);
                        return std::make_unique<BodyHandler>(
                            w, [reader](std::string body) { reader->Start(std::move(body)); },
                            [reader] { reader->Stop(); });
                      });

  http.OnShutdown([api] { api->svc->EndAll(); });

  http.Route("POST", "/listFragments", [api](const HttpRequest& req) {
    return WithRequestId(ListFragments(*api->svc, req), api->svc->ids);
  });
}

void RegisterMediaApi(HttpServer& http, const ApiContext& ctx, const MediaApiOptions& options) {
  Router routes(http);
  RegisterMediaApi(routes, ctx, options);
}

void RegisterMediaApi(Router& http, const ApiContext& ctx) {
  RegisterMediaApi(http, ctx, MediaApiOptions{});
}

}  // namespace streamarc::server
