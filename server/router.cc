#include "server/router.h"

#include <utility>

namespace streamarc::server {
namespace {

// What HttpServer answers when nothing matches, kept for requests that pass the middleware.
HttpResponse NotFound(const HttpRequest& req) {
  return {404,
          "application/json",
          {{"x-amzn-errortype", "UnknownOperationException"}},
          "{\"Message\":\"No such operation: " + req.method + " " + req.path + "\"}"};
}

void AddHeaders(std::vector<Header>* to, std::vector<Header> extra) {
  to->insert(to->end(), std::make_move_iterator(extra.begin()),
             std::make_move_iterator(extra.end()));
}

// Adds the middleware's headers to a streamed response; everything else passes through.
class HeaderWriter final : public ResponseWriter {
 public:
  HeaderWriter(std::shared_ptr<ResponseWriter> inner, std::vector<Header> extra)
      : inner_(std::move(inner)), extra_(std::move(extra)) {}
  void Begin(int status, std::string content_type, std::vector<Header> headers) override {
    AddHeaders(&headers, extra_);
    inner_->Begin(status, std::move(content_type), std::move(headers));
  }
  void Respond(HttpResponse response) override {
    AddHeaders(&response.headers, extra_);
    inner_->Respond(std::move(response));
  }
  void Write(std::string bytes) override { inner_->Write(std::move(bytes)); }
  void WriteShared(std::shared_ptr<const std::string> bytes) override {
    inner_->WriteShared(std::move(bytes));
  }
  void End() override { inner_->End(); }
  void Close() override { inner_->Close(); }
  void SetReading(bool enabled) override { inner_->SetReading(enabled); }
  size_t queued_bytes() const override { return inner_->queued_bytes(); }
  void NotifyWhenDrained(size_t bytes, std::function<void()> task) override {
    inner_->NotifyWhenDrained(bytes, std::move(task));
  }
  void Post(std::function<void()> task) override { inner_->Post(std::move(task)); }
  void PostAfter(int64_t delay_us, std::function<void()> task) override {
    inner_->PostAfter(delay_us, std::move(task));
  }

 private:
  const std::shared_ptr<ResponseWriter> inner_;
  const std::vector<Header> extra_;  // immutable after construction: safe from any thread
};

}  // namespace

Router::Router(HttpServer& http) : http_(http) {}

Router::Router(HttpServer& http, Middleware middleware)
    : http_(http), middleware_(std::make_shared<const Middleware>(std::move(middleware))) {
  SetFallback(NotFound);
}

BufferedHandler Router::Wrap(BufferedHandler handler) const {
  if (!middleware_) return handler;
  return [m = middleware_, handler = std::move(handler)](const HttpRequest& req) {
    if (m->check) {
      if (auto answer = m->check(req)) return *std::move(answer);
    }
    HttpResponse r = handler(req);
    if (m->response_headers) AddHeaders(&r.headers, m->response_headers(req));
    return r;
  };
}

StreamingFactory Router::Wrap(StreamingFactory factory) const {
  if (!middleware_) return factory;
  return [m = middleware_, factory = std::move(factory)](
             const HttpRequest& head,
             std::shared_ptr<ResponseWriter> writer) -> std::unique_ptr<StreamingHandler> {
    if (m->check) {
      if (auto answer = m->check(head)) {
        // Refused before the handler exists: the body that may follow is dropped.
        writer->Respond(*std::move(answer));
        return nullptr;
      }
    }
    std::vector<Header> extra;
    if (m->response_headers) extra = m->response_headers(head);
    if (!extra.empty()) {
      writer = std::make_shared<HeaderWriter>(std::move(writer), std::move(extra));
    }
    return factory(head, std::move(writer));
  };
}

void Router::Route(std::string method, std::string path, BufferedHandler handler) {
  http_.Route(std::move(method), std::move(path), Wrap(std::move(handler)));
}

void Router::RouteStreaming(std::string method, std::string path, StreamingFactory factory) {
  http_.RouteStreaming(std::move(method), std::move(path), Wrap(std::move(factory)));
}

void Router::RoutePrefix(std::string method, std::string prefix, BufferedHandler handler) {
  http_.RoutePrefix(std::move(method), std::move(prefix), Wrap(std::move(handler)));
}

void Router::SetFallback(BufferedHandler handler) { http_.SetFallback(Wrap(std::move(handler))); }

void Router::OnShutdown(std::function<void()> hook) { http_.OnShutdown(std::move(hook)); }

}  // namespace streamarc::server
