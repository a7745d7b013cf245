// The Router puts its middleware in front of buffered and streaming routes and of the
// fallback: the refusal answers before any handler runs, and its headers reach both kinds
// of response.
#include "server/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::RunCommand;

class Streamed final : public StreamingHandler {
 public:
  explicit Streamed(std::shared_ptr<ResponseWriter> w) : w_(std::move(w)) {}
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {
    w_->Begin(200, "text/plain", {});
    w_->Write("streamed");
    w_->End();
  }
  void OnClose() override {}

 private:
  std::shared_ptr<ResponseWriter> w_;
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions opt;
    opt.port = 0;
    server_ = std::make_unique<HttpServer>(opt, pool_, log_);
    Middleware m;
    m.check = [](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.FindHeader("x-refuse")) return HttpResponse{403, "text/plain", {}, "refused"};
      return std::nullopt;
    };
    m.response_headers = [](const HttpRequest&) { return std::vector<Header>{{"x-mw", "1"}}; };
    Router routes(*server_, std::move(m));
    routes.Route("POST", "/buffered", [this](const HttpRequest&) {
      ++handled_;
      return HttpResponse{200, "text/plain", {}, "buffered"};
    });
    routes.RouteStreaming("POST", "/streaming",
                          [this](const HttpRequest&, std::shared_ptr<ResponseWriter> w) {
                            ++handled_;
                            return std::make_unique<Streamed>(std::move(w));
                          });
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
  }

  std::string Curl(const std::string& path, bool refuse) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i", "-X", "POST", "--data", "x"};
    if (refuse) cmd.insert(cmd.end(), {"-H", "x-refuse: 1"});
    cmd.push_back("http://127.0.0.1:" + std::to_string(server_->port()) + path);
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  SystemClock clock_;
  Logger log_{clock_, LogLevel::kError};
  WorkerPool pool_{2, 16};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<int> handled_{0};
};

TEST_F(RouterTest, MiddlewareRunsFirstOnEveryKindOfRoute) {
  for (const char* path : {"/buffered", "/streaming", "/unknown"}) {
    std::string refused = Curl(path, true);
    EXPECT_NE(refused.find("HTTP/1.1 403"), std::string::npos) << path << "\n" << refused;
  }
  EXPECT_EQ(handled_.load(), 0);

  std::string buffered = Curl("/buffered", false);
  EXPECT_NE(buffered.find("x-mw: 1"), std::string::npos) << buffered;
  EXPECT_NE(buffered.find("buffered"), std::string::npos) << buffered;
  std::string streamed = Curl("/streaming", false);
  EXPECT_NE(streamed.find("x-mw: 1"), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("streamed"), std::string::npos) << streamed;
  std::string unknown = Curl("/unknown", false);
  EXPECT_NE(unknown.find("HTTP/1.1 404"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("UnknownOperationException"), std::string::npos) << unknown;
  EXPECT_EQ(handled_.load(), 2);
}

}  // namespace
}  // namespace streamarc::server
