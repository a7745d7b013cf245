#include "server/media_api.h"

#include <memory>
#include <string>
#include <utility>

#include "common/mutex.h"
#include "playback/get_media_request.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

constexpr size_t kMaxRequestBody = 256u << 10;  // 1000 fragment numbers fit easily
constexpr char kMediaType[] = "video/webm";     // what KVS answers (kvs-api.md §2.2)

// A reader's response over the HTTP writer (the request id comes from the middleware).
// Each chunk written is one fragment (or an error chunk in its place), counted under the
// stream once the response has begun (the stream then exists).
class HttpMediaTransport final : public playback::MediaTransport {
 public:
  HttpMediaTransport(std::shared_ptr<ResponseWriter> w, ServerMetrics* metrics)
      : w_(std::move(w)), metrics_(metrics) {}
  // Before Begin: the stream the response is counted under.
  void SetStream(std::string stream) { stream_ = std::move(stream); }
  void Begin() override {
    if (metrics_ && !stream_.empty()) {
      ServerMetrics::Out out = metrics_->OutFor("getmedia", stream_);
      MutexLock lock(mu_);
      out_ = std::move(out);
    }
    w_->Begin(200, kMediaType, {});
  }
  void Fail(const KvsError& e) override { w_->Respond(KvsErrorResponse(e)); }
  void Write(std::string bytes) override {
    Count(bytes.size());
    w_->Write(std::move(bytes));
  }
  void WriteShared(std::shared_ptr<const std::string> b) override {
    if (b) Count(b->size());
    w_->WriteShared(std::move(b));
  }
  size_t queued_bytes() const override { return w_->queued_bytes(); }
  void NotifyWhenDrained(size_t bytes, std::function<void()> task) override {
    w_->NotifyWhenDrained(bytes, std::move(task));
  }
  void Post(std::function<void()> task) override { w_->Post(std::move(task)); }
  void End() override { w_->End(); }
  void Close() override { w_->Close(); }

 private:
  void Count(size_t bytes) {
    MutexLock lock(mu_);  // this response's own: uncontended
    if (!out_.bytes) return;
    out_.bytes->Add(bytes);
    out_.fragments->Add();
  }

  std::shared_ptr<ResponseWriter> w_;
  ServerMetrics* const metrics_;
  std::string stream_;
  // Set by Begin; Write may come from another thread (a reader's job).
  Mutex mu_;
  ServerMetrics::Out out_ GUARDED_BY(mu_);
};

// Stops the request when the connection closes (its body came with the request).
class StopOnClose final : public StreamingHandler {
 public:
  explicit StopOnClose(std::shared_ptr<playback::MediaRequest> request)
      : request_(std::move(request)) {}
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {}
  void OnClose() override {
    if (request_) request_->Stop();
  }

 private:
  const std::shared_ptr<playback::MediaRequest> request_;  // null: refused at once
};

// The factory for a request parsed with `parse` and started by `call` on the service; a
// parse error is answered here.
template <typename Parse, typename Call>
StreamingFactory Starter(ServerMetrics* metrics, Parse parse, Call call) {
  return [metrics, parse, call](
             const HttpRequest& request,
             std::shared_ptr<ResponseWriter> w) -> std::unique_ptr<StreamingHandler> {
    auto out = std::make_shared<HttpMediaTransport>(std::move(w), metrics);
    auto req = parse(request.body);
    if (!req.ok()) {
      out->Fail(KvsErrorFromStatus(req.status()));
      return nullptr;
    }
    out->SetStream(StreamLabel(req->stream));
    return std::make_unique<StopOnClose>(call(std::move(*req), std::move(out)));
  };
}

}  // namespace

void RegisterMediaApi(Router& http, const ApiContext& ctx, const MediaApiOptions& options) {
  std::shared_ptr<playback::MediaService> svc = playback::MediaService::Create(
      options, ctx.archive, ctx.hub,
      [&pool = ctx.pool](std::function<void()> job) { return pool.Submit(std::move(job)); },
      ctx.clock, ctx.log);
  http.RouteWithBody(
      "POST", "/getMedia", kMaxRequestBody,
      Starter(ctx.metrics, playback::ParseGetMediaRequest,
              [svc](playback::GetMediaRequest req, std::shared_ptr<playback::MediaTransport> out) {
                return svc->GetMedia(std::move(req), std::move(out));
              }));
  http.RouteWithBody("POST", "/getMediaForFragmentList", kMaxRequestBody,
                     Starter(ctx.metrics, playback::ParseFragmentListRequest,
                             [svc](playback::FragmentListRequest req,
                                   std::shared_ptr<playback::MediaTransport> out) {
                               return svc->GetMediaForFragmentList(std::move(req), std::move(out));
                             }));

  http.OnShutdown([svc] { svc->EndAll(); });

  http.Route("POST", "/listFragments", [svc](const HttpRequest& http_req) {
    auto req = playback::ParseListFragmentsRequest(http_req.body);
    if (!req.ok()) return KvsErrorResponse(KvsErrorFromStatus(req.status()));
    auto result = svc->ListFragments(*req);
    if (!result.ok()) return KvsErrorResponse(KvsErrorFromStatus(result.status()));
    return JsonOk(playback::ListFragmentsResponseJson(*result));
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
