// The Router puts its middleware in front of buffered and streaming routes and of the
// fallback: the refusal answers before any handler runs, and its headers reach both kinds
// of response.
#include "server/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "tests/server/http_server_fixture.h"
#include "tests/support/kvs_curl.h"
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
    Middleware m;
    m.check = [](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.FindHeader("x-refuse")) return HttpResponse{403, "text/plain", {}, "refused"};
      return std::nullopt;
    };
    m.response_headers = [](const HttpRequest&) { return std::vector<Header>{{"x-mw", "1"}}; };
    Router routes(server_.http(), std::move(m));
    routes.Route("POST", "/buffered", [this](const HttpRequest&) {
      ++handled_;
      return HttpResponse{200, "text/plain", {}, "buffered"};
    });
    routes.RouteStreaming("POST", "/streaming",
                          [this](const HttpRequest&, std::shared_ptr<ResponseWriter> w) {
                            ++handled_;
                            return std::make_unique<Streamed>(std::move(w));
                          });
    ASSERT_TRUE(server_.Start().ok());
  }
  void TearDown() override { server_.Stop(); }

  std::string Curl(const std::string& path, bool refuse) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i", "-X", "POST", "--data", "x"};
    if (refuse) cmd.insert(cmd.end(), {"-H", "x-refuse: 1"});
    cmd.push_back(server_.Url(path));
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  SystemClock clock_;
  Logger log_{clock_, LogLevel::kError};
  RunningHttpServer server_{log_, 2, 16};
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

// A chain: checks in order (the first answer wins), every middleware's headers on every
// response, refusals and the fallback included, and no header sent twice.
class RouterChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Middleware first;
    first.check = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
      ++first_checks_;
      if (r.FindHeader("x-refuse-first")) return HttpResponse{403, "text/plain", {}, "first"};
      return std::nullopt;
    };
    Middleware second;
    second.check = [](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.FindHeader("x-refuse-second")) return HttpResponse{401, "text/plain", {}, "second"};
      return std::nullopt;
    };
    second.response_headers = [](const HttpRequest&) {
      return std::vector<Header>{{"x-second", "1"}, {"x-handler-sets", "middleware"}};
    };
    Router routes(server_.http(), {RequestIdMiddleware(ids_), std::move(first), std::move(second)});
    routes.Route("POST", "/buffered", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", {{"x-handler-sets", "handler"}}, "buffered"};
    });
    routes.RouteStreaming("POST", "/streaming",
                          [](const HttpRequest&, std::shared_ptr<ResponseWriter> w) {
                            return std::make_unique<Streamed>(std::move(w));
                          });
    ASSERT_TRUE(server_.Start().ok());
  }
  void TearDown() override { server_.Stop(); }

  std::string Curl(const std::string& path, std::vector<std::string> headers = {}) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i", "-X", "POST", "--data", "x"};
    for (const std::string& h : headers) cmd.insert(cmd.end(), {"-H", h});
    cmd.push_back(server_.Url(path));
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  static int Count(const std::string& text, const std::string& needle) {
    return static_cast<int>(streamarc::testing::CountOf(text, needle));
  }

  // The request id of a response, or "" if it has none (or more than one).
  static std::string RequestId(const std::string& response) {
    if (Count(response, "x-amzn-requestid: ") != 1) return "";
    size_t at = response.find("x-amzn-requestid: ") + 18;
    return response.substr(at, response.find('\r', at) - at);
  }

  SystemClock clock_;
  Logger log_{clock_, LogLevel::kError};
  RequestIds ids_{42};
  RunningHttpServer server_{log_, 2, 16};
  std::atomic<int> first_checks_{0};
};

TEST_F(RouterChainTest, EveryResponseGetsOneRequestIdAndTheChainsHeaders) {
  std::vector<std::string> responses = {Curl("/buffered"), Curl("/streaming"), Curl("/unknown"),
                                        Curl("/buffered", {"x-refuse-first: 1"}),
                                        Curl("/streaming", {"x-refuse-second: 1"})};
  std::set<std::string> ids;
  for (const std::string& r : responses) {
    std::string id = RequestId(r);
    EXPECT_FALSE(id.empty()) << r;
    ids.insert(id);
    EXPECT_EQ(Count(r, "x-second: 1"), 1) << r;
  }
  EXPECT_EQ(ids.size(), responses.size()) << "request ids repeat";
  EXPECT_NE(responses[3].find("HTTP/1.1 403"), std::string::npos) << responses[3];
  EXPECT_NE(responses[4].find("HTTP/1.1 401"), std::string::npos) << responses[4];
  // The handler's own header wins over a middleware's of the same name.
  EXPECT_EQ(Count(responses[0], "x-handler-sets:"), 1) << responses[0];
  EXPECT_NE(responses[0].find("x-handler-sets: handler"), std::string::npos) << responses[0];
}

TEST_F(RouterChainTest, TheFirstAnswerEndsTheChain) {
  // Both would refuse; the first in the chain answers.
  std::string r = Curl("/buffered", {"x-refuse-first: 1", "x-refuse-second: 1"});
  EXPECT_NE(r.find("HTTP/1.1 403"), std::string::npos) << r;
  ASSERT_GE(r.size(), 5u);
  EXPECT_EQ(r.substr(r.size() - 5), "first") << r;
  int before = first_checks_.load();
  Curl("/buffered", {"x-refuse-second: 1"});
  EXPECT_EQ(first_checks_.load(), before + 1);
}

// RouteWithBody: the middleware sees the whole body before the handler exists; the handler
// gets it in the request. Chunked and oversized bodies are refused in KVS's shape.
class RouterWithBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Middleware m;
    m.check = [](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.body.find("refuse") != std::string::npos) {
        return HttpResponse{403, "text/plain", {}, "refused: " + r.body};
      }
      return std::nullopt;
    };
    Router routes(server_.http(), std::move(m));
    routes.RouteWithBody("POST", "/collected", 64,
                         [this](const HttpRequest& r, std::shared_ptr<ResponseWriter> w)
                             -> std::unique_ptr<StreamingHandler> {
                           ++handled_;
                           w->Begin(200, "text/plain", {});
                           w->Write("got " + r.body);
                           w->End();
                           return nullptr;
                         });
    ASSERT_TRUE(server_.Start().ok());
  }
  void TearDown() override { server_.Stop(); }

  std::string Curl(std::vector<std::string> args) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i", "-X", "POST"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    cmd.push_back(server_.Url("/collected"));
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  SystemClock clock_;
  Logger log_{clock_, LogLevel::kError};
  RunningHttpServer server_{log_, 2, 16};
  std::atomic<int> handled_{0};
};

TEST_F(RouterWithBodyTest, TheMiddlewareSeesTheWholeBodyFirst) {
  std::string ok = Curl({"--data", "hello"});
  EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos) << ok;
  EXPECT_NE(ok.find("got hello"), std::string::npos) << ok;
  std::string refused = Curl({"--data", "please refuse"});
  EXPECT_NE(refused.find("HTTP/1.1 403"), std::string::npos) << refused;
  EXPECT_NE(refused.find("refused: please refuse"), std::string::npos) << refused;
  std::string empty = Curl({"--data", ""});
  EXPECT_NE(empty.find("got "), std::string::npos) << empty;
  EXPECT_EQ(handled_.load(), 2);

  std::string large = Curl({"--data", std::string(65, 'x')});
  EXPECT_NE(large.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos) << large;
  std::string chunked = Curl({"-H", "transfer-encoding: chunked", "--data", "hello"});
  EXPECT_NE(chunked.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos)
      << chunked;
  EXPECT_EQ(handled_.load(), 2);
}

}  // namespace
}  // namespace streamarc::server
