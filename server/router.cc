#include "server/router.h"

#include <cctype>
#include <optional>
#include <utility>

namespace streamarc::server {
namespace {

// What HttpServer answers when nothing matches, kept for requests that pass the middleware.
HttpResponse NotFound(const HttpRequest& req) {
  return KvsErrorResponse(
      {KvsErrorType::kUnknownOperation,
       streamarc::NotFound("No such operation: " + req.method + " " + req.path)});
}

bool HasHeader(const std::vector<Header>& headers, const std::string& lower_name) {
  for (const Header& h : headers) {
    if (h.name.size() != lower_name.size()) continue;
    bool same = true;
    for (size_t i = 0; same && i < h.name.size(); ++i) {
      same = std::tolower(static_cast<unsigned char>(h.name[i])) == lower_name[i];
    }
    if (same) return true;
  }
  return false;
}

// `extra` names are lowercase; one the response already carries is not sent twice.
void AddHeaders(std::vector<Header>* to, const std::vector<Header>& extra) {
  for (const Header& h : extra) {
    if (!HasHeader(*to, h.name)) to->push_back(h);
  }
}

std::vector<Header> ChainHeaders(const std::vector<Middleware>& chain, const HttpRequest& req) {
  std::vector<Header> out;
  for (const Middleware& m : chain) {
    if (!m.response_headers) continue;
    AddHeaders(&out, m.response_headers(req));
  }
  return out;
}

std::optional<HttpResponse> ChainCheck(const std::vector<Middleware>& chain,
                                       const HttpRequest& req) {
  for (const Middleware& m : chain) {
    if (!m.check) continue;
    if (auto answer = m.check(req)) return answer;
  }
  return std::nullopt;
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

// Runs the chain on a request (its whole body there, or its head only), then the factory;
// a refusal is answered here and makes no handler.
std::unique_ptr<StreamingHandler> CheckThenCreate(const std::vector<Middleware>* chain,
                                                  const StreamingFactory& factory,
                                                  const HttpRequest& request,
                                                  std::shared_ptr<ResponseWriter> writer) {
  if (chain == nullptr) return factory(request, std::move(writer));
  std::vector<Header> extra = ChainHeaders(*chain, request);
  if (std::optional<HttpResponse> answer = ChainCheck(*chain, request)) {
    // Refused before the handler exists: the body that may follow is dropped.
    AddHeaders(&answer->headers, extra);
    writer->Respond(*std::move(answer));
    return nullptr;
  }
  if (!extra.empty()) {
    writer = std::make_shared<HeaderWriter>(std::move(writer), std::move(extra));
  }
  return factory(request, std::move(writer));
}

// Collects a small request body, then checks the whole request and makes the handler.
class CollectingHandler final : public StreamingHandler {
 public:
  CollectingHandler(HttpRequest head, std::shared_ptr<ResponseWriter> writer, size_t max_body,
                    std::shared_ptr<const std::vector<Middleware>> chain, StreamingFactory factory)
      : request_(std::move(head)),
        writer_(std::move(writer)),
        max_body_(max_body),
        chain_(std::move(chain)),
        factory_(std::move(factory)) {}

  void OnBody(std::span<const uint8_t> bytes) override {
    if (done_) return;
    request_.body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (request_.body.size() > max_body_) {
      done_ = true;
      HttpResponse r = KvsErrorResponse(
          {KvsErrorType::kInvalidArgument, InvalidArgument("the request body is larger than " +
                                                           std::to_string(max_body_) + " bytes")});
      if (chain_) AddHeaders(&r.headers, ChainHeaders(*chain_, request_));
      writer_->Respond(std::move(r));
    }
  }
  void OnBodyEnd() override {
    if (done_) return;
    done_ = true;
    inner_ = CheckThenCreate(chain_.get(), factory_, request_, std::move(writer_));
  }
  void OnClose() override {
    if (inner_) inner_->OnClose();
  }

 private:
  HttpRequest request_;
  std::shared_ptr<ResponseWriter> writer_;  // handed to the handler once the body is in
  const size_t max_body_;
  const std::shared_ptr<const std::vector<Middleware>> chain_;  // null: none
  const StreamingFactory factory_;
  bool done_ = false;
  std::unique_ptr<StreamingHandler> inner_;
};

}  // namespace

Middleware RequestIdMiddleware(RequestIds& ids) {
  return Middleware{nullptr, [&ids](const HttpRequest&) {
                      return std::vector<Header>{{"x-amzn-requestid", ids.Next()}};
                    }};
}

Router::Router(HttpServer& http) : http_(http) {}

Router::Router(HttpServer& http, std::vector<Middleware> chain)
    : http_(http), chain_(std::make_shared<const std::vector<Middleware>>(std::move(chain))) {
  SetFallback(NotFound);
}

Router::Router(HttpServer& http, Middleware middleware)
    : Router(http, std::vector<Middleware>{std::move(middleware)}) {}

BufferedHandler Router::Wrap(BufferedHandler handler) const {
  if (!chain_) return handler;
  return [chain = chain_, handler = std::move(handler)](const HttpRequest& req) {
    std::optional<HttpResponse> answer = ChainCheck(*chain, req);
    HttpResponse r = answer ? *std::move(answer) : handler(req);
    AddHeaders(&r.headers, ChainHeaders(*chain, req));
    return r;
  };
}

StreamingFactory Router::Wrap(StreamingFactory factory) const {
  if (!chain_) return factory;
  return [chain = chain_, factory = std::move(factory)](const HttpRequest& head,
                                                        std::shared_ptr<ResponseWriter> writer) {
    return CheckThenCreate(chain.get(), factory, head, std::move(writer));
  };
}

StreamingFactory Router::WrapCollecting(size_t max_body, StreamingFactory factory) const {
  return [chain = chain_, max_body, factory = std::move(factory)](
             const HttpRequest& head,
             std::shared_ptr<ResponseWriter> writer) -> std::unique_ptr<StreamingHandler> {
    const std::string* te = head.FindHeader("transfer-encoding");
    if (te != nullptr && te->find("chunked") != std::string::npos) {
      HttpResponse r = KvsErrorResponse(
          {KvsErrorType::kInvalidArgument,
           InvalidArgument("this API takes a request body with a Content-Length")});
      if (chain) AddHeaders(&r.headers, ChainHeaders(*chain, head));
      writer->Respond(std::move(r));
      return nullptr;
    }
    return std::make_unique<CollectingHandler>(head, std::move(writer), max_body, chain, factory);
  };
}

void Router::Route(std::string method, std::string path, BufferedHandler handler) {
  http_.Route(std::move(method), std::move(path), Wrap(std::move(handler)));
}

void Router::RouteStreaming(std::string method, std::string path, StreamingFactory factory) {
  http_.RouteStreaming(std::move(method), std::move(path), Wrap(std::move(factory)));
}

void Router::RouteWithBody(std::string method, std::string path, size_t max_body,
                           StreamingFactory factory) {
  http_.RouteStreaming(std::move(method), std::move(path),
                       WrapCollecting(max_body, std::move(factory)));
}

void Router::RoutePrefix(std::string method, std::string prefix, BufferedHandler handler) {
  http_.RoutePrefix(std::move(method), std::move(prefix), Wrap(std::move(handler)));
}

void Router::SetFallback(BufferedHandler handler) { http_.SetFallback(Wrap(std::move(handler))); }

void Router::OnShutdown(std::function<void()> hook) { http_.OnShutdown(std::move(hook)); }

}  // namespace streamarc::server
