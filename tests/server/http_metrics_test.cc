// What the HTTP front reports for metrics: open connections by kind, and every error answer's
// x-amzn-ErrorType, whichever layer made it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "server/http_server.h"
#include "tests/server/http_server_fixture.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/raw_http.h"

namespace streamarc::server {
namespace {

using streamarc::testing::Curl;
using streamarc::testing::RawHttp;

class HttpMetricsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerOptions opt;
    opt.on_error = [this](std::string_view type) {
      MutexLock lock(mu_);
      errors_.emplace_back(type);
    };
    StartServer(2, 64, opt);
  }
  std::vector<std::string> errors() {
    MutexLock lock(mu_);
    return errors_;
  }
  HttpServer::ConnectionCounts counts() { return server_->http().connections_by_kind(); }

  Mutex mu_;
  std::vector<std::string> errors_ GUARDED_BY(mu_);
};

TEST_F(HttpMetricsTest, ErrorAnswersOfEveryLayerAreReportedByType) {
  // The HTTP layer's own refusal (a chunked body to a buffered route: 411).
  Curl({"-o", "/dev/null", "-X", "POST", "-H", "Transfer-Encoding: chunked", "--data-binary", "x",
        Url("/echo")});
  // No route: the server's 404 in KVS's shape.
  Curl({"-o", "/dev/null", Url("/nothing-here")});
  // A success is not reported.
  Curl({"-o", "/dev/null", "-X", "POST", "--data-binary", "x", Url("/echo")});
  EXPECT_EQ(errors(),
            (std::vector<std::string>{"InvalidArgumentException", "UnknownOperationException"}));
}

TEST_F(HttpMetricsTest, ConnectionsAreCountedByWhatTheyDo) {
  RawHttp stream(server_->port());
  ASSERT_TRUE(stream.connected());
  ASSERT_TRUE(
      stream.Send("POST /stream?total=10 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
                  "12345"));
  // Its handler answered, so the server has classed the connection by then.
  ASSERT_NE(stream.ReadUntil("got 5").find("got 5"), std::string::npos);
  HttpServer::ConnectionCounts c = counts();
  EXPECT_EQ(c.streaming["/stream"], 1);
  EXPECT_EQ(c.request, 0);

  ASSERT_TRUE(stream.Send("67890"));
  ASSERT_NE(stream.ReadUntil("done").find("done"), std::string::npos);
  // The response's end is written before the connection goes back to waiting, on the
  // server's thread: wait (bounded) for that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (counts().streaming["/stream"] != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  c = counts();
  EXPECT_EQ(c.streaming["/stream"], 0);
  EXPECT_EQ(c.idle, 1);  // kept alive, waiting for its next request
  stream.Abort();
}

}  // namespace
}  // namespace streamarc::server
