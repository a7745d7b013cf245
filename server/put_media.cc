#include "server/put_media.h"

#include <optional>

#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

std::optional<std::string> Header(const HttpRequest& head, std::string_view name) {
  const std::string* v = head.FindHeader(name);
  return v ? std::optional<std::string>(*v) : std::nullopt;
}

ingest::PutMediaRequest ToRequest(const HttpRequest& head) {
  ingest::PutMediaRequest r;
  r.stream_name = Header(head, "x-amzn-stream-name");
  r.stream_arn = Header(head, "x-amzn-stream-arn");
  r.timecode_type = Header(head, "x-amzn-fragment-timecode-type");
  r.producer_start_timestamp = Header(head, "x-amzn-producer-start-timestamp");
  r.ack_required = Header(head, "x-amzn-fragment-acknowledgment-required");
  if (const std::string* te = head.FindHeader("transfer-encoding")) {
    r.chunked = te->find("chunked") != std::string::npos;
  }
  return r;
}

// The session's transport over the HTTP response: ACKs as chunks of a JSON stream.
class WriterTransport final : public ingest::Transport {
 public:
  explicit WriterTransport(std::shared_ptr<ResponseWriter> w) : w_(std::move(w)) {}
  void Begin() override { w_->Begin(200, "application/json", {}); }
  void Refuse(const KvsError& e) override { w_->Respond(KvsErrorResponse(e)); }
  void Write(std::string bytes) override { w_->Write(std::move(bytes)); }
  void SetReading(bool enabled) override { w_->SetReading(enabled); }
  void End() override { w_->End(); }
  void Close() override { w_->Close(); }
  void Post(std::function<void()> task) override { w_->Post(std::move(task)); }
  void PostAfter(int64_t delay_us, std::function<void()> task) override {
    w_->PostAfter(delay_us, std::move(task));
  }

 private:
  const std::shared_ptr<ResponseWriter> w_;
};

// Owned by the HTTP server for the request's life; the session may outlive it in callbacks.
class Handler final : public StreamingHandler {
 public:
  explicit Handler(std::shared_ptr<ingest::PutMediaSession> s) : s_(std::move(s)) {}
  void OnBody(std::span<const uint8_t> bytes) override { s_->OnBody(bytes); }
  void OnBodyEnd() override { s_->OnBodyEnd(); }
  void OnClose() override { s_->OnClose(); }

 private:
  const std::shared_ptr<ingest::PutMediaSession> s_;
};

}  // namespace

void RegisterPutMedia(Router& http, PutMediaService& service) {
  http.RouteStreaming(
      "POST", "/putMedia", [&service](const HttpRequest& head, std::shared_ptr<ResponseWriter> w) {
        auto transport = std::make_shared<WriterTransport>(std::move(w));
        return std::make_unique<Handler>(service.Open(ToRequest(head), std::move(transport)));
      });
}

}  // namespace streamarc::server
