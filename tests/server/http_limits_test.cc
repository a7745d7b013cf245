// The HTTP front's limits over real loopback sockets: every answer the HTTP layer makes itself
// is in KVS's error shape; head caps (431, 414) that leave room for SigV4 with a session
// token; a deadline for a whole request head and a minimum rate for buffered bodies; a send
// timeout for clients that stop reading; connection caps that shed idle connections first.
// Timeouts are small here so the tests run quickly; every wait is a generous deadline.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/http_server_fixture.h"

namespace streamarc::server {
namespace {

using streamarc::testing::ConnectLoopback;
using streamarc::testing::RawHttp;
using Clock = std::chrono::steady_clock;

// Still open: nothing to read and no end of stream.
bool IsOpen(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// What an error answer looks like, parsed.
struct Answer {
  int status = 0;
  std::string error_type;
  std::string request_id;
  std::string content_type;
  std::string message;  // "Message" of the JSON body; "<not JSON>" if the body is not
};

Answer Parse(const std::string& raw) {
  Answer a;
  if (raw.rfind("HTTP/1.1 ", 0) != 0) return a;
  a.status = std::stoi(raw.substr(9, 3));
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return a;
  std::string head = raw.substr(0, end + 2);
  auto field = [&head](const std::string& name) {
    size_t p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return std::string();
    p += name.size() + 4;
    return head.substr(p, head.find("\r\n", p) - p);
  };
  a.error_type = field("x-amzn-errortype");
  a.request_id = field("x-amzn-requestid");
  a.content_type = field("content-type");
  nlohmann::json body = nlohmann::json::parse(raw.substr(end + 4), nullptr, false);
  a.message = body.is_object() && body["Message"].is_string() ? body["Message"].get<std::string>()
                                                              : "<not JSON>";
  return a;
}

std::string PostHead(const std::string& path, size_t length) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

class HttpLimitsTest : public HttpServerTest {
 protected:
  void SetUp() override {}  // each test starts its server with the options it needs

  void Start(HttpServerOptions opt = {}) {
    opt.request_id = [this] { return "req-" + std::to_string(++ids_); };
    StartServer(2, 64, std::move(opt));
  }

  void AddRoutes(HttpServer& http) override {
    http.RouteStreaming("GET", "/flood", [this](const HttpRequest&, auto w) {
      return std::make_unique<FloodHandler>(std::move(w), &flood_closed_);
    });
  }

  size_t Connections() { return server_->http().connections(); }

  // Sends `request` on a new connection and reads the answer up to `until` (by default the
  // end of a JSON body).
  std::string Exchange(const std::string& request, const std::string& until = "}") {
    RawHttp c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(request);  // the server may answer and stop reading before all of it is sent
    return c.ReadUntil(until);
  }

  // The server still answers a fresh connection.
  void ExpectServing() {
    std::string got = Exchange(PostHead("/echo", 2) + "ok", "body=ok");
    EXPECT_NE(got.find("body=ok"), std::string::npos) << got;
  }

  std::atomic<int> ids_{0};
  std::atomic<int> flood_closed_{0};
};

TEST_F(HttpLimitsTest, EveryRefusalOfTheHttpLayerIsInKvsShape) {
  Start();
  struct Case {
    std::string request;
    int status;
    std::string error_type;
  };
  const std::string kInvalid = "InvalidArgumentException";
  std::string many_fields = "GET /hls/x HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  many_fields += "\r\n";
  const std::vector<Case> cases = {
      {"GET /hls/x HTTP/1.1\nHost: x\n\n", 400, kInvalid},
      {"GET /hls/x HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, kInvalid},
      {"GET /hls/x HTTP/2.0\r\nHost: x\r\n\r\n", 505, kInvalid},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, kInvalid},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417,
       kInvalid},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411,
       kInvalid},
      {PostHead("/echo", 100'000), 413, kInvalid},
      {"GET /hls/" + std::string(17 << 10, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, kInvalid},
      {"GET /hls/x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40 << 10, 'b') + "\r\n\r\n", 431,
       kInvalid},
      {many_fields, 431, kInvalid},
      {PostHead("/no-such-route", 0), 404, "UnknownOperationException"},
  };
  for (const Case& c : cases) {
    const std::string raw = Exchange(c.request);
    Answer a = Parse(raw);
    SCOPED_TRACE(c.request.substr(0, 60));
    EXPECT_EQ(a.status, c.status) << raw.substr(0, 300);
    EXPECT_EQ(a.error_type, c.error_type) << raw.substr(0, 300);
    EXPECT_EQ(a.request_id.rfind("req-", 0), 0u) << raw.substr(0, 300);
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_NE(a.message, "<not JSON>") << raw.substr(0, 300);
    EXPECT_FALSE(a.message.empty());
  }
  ExpectServing();
}

TEST_F(HttpLimitsTest, SigV4HeadersWithALargeSessionTokenAreServed) {
  Start();
  // 16 KiB of session token plus SigV4's other headers: well past lws's old 4 KiB.
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Date: 20261202T120000Z\r\n"
      "X-Amz-Security-Token: " +
      std::string(16 << 10, 'T') + "\r\nX-Amz-Content-Sha256: " + std::string(64, 'e') +
      "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/"
      "kinesisvideo/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, "
      "Signature=" +
      std::string(64, 's') + "\r\nContent-Length: 2\r\n\r\nok";
  RawHttp c(server_->port());
  c.Send(head);
  const std::string& got = c.ReadUntil("body=ok");
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 300);
}

TEST_F(HttpLimitsTest, HeadLimitIsConfigurableAndTheAnswerSurvivesTheRestOfTheHead) {
  HttpServerOptions opt;
  opt.max_head_bytes = 16 << 10;
  Start(opt);
  // The client goes on sending past the limit: the 431 still reaches it, then the end.
  RawHttp c(server_->port());
  c.Send("GET /hls/x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200 << 10, 'b'));
  c.Send("\r\n\r\n");
  Answer a = Parse(c.ReadUntil("}"));
  EXPECT_EQ(a.status, 431) << c.received().substr(0, 300);
  EXPECT_EQ(a.error_type, "InvalidArgumentException");
  c.ReadToEnd();
  ExpectServing();
}

TEST_F(HttpLimitsTest, IdleConnectionIsClosedQuietlyAtTheHeadDeadline) {
  HttpServerOptions opt;
  opt.head_timeout_ms = 300;
  Start(opt);
  int fd = ConnectLoopback(server_->port());
  ASSERT_GE(fd, 0);
  std::string got;
  EXPECT_TRUE(WaitForClose(fd, &got)) << "an idle connection stays open";
  EXPECT_EQ(got, "") << "an idle connection gets no answer";
  close(fd);
  // So is a kept-alive one once its response is done.
  RawHttp c(server_->port(), 20000);
  c.Send(PostHead("/echo", 2) + "ok");
  c.ReadUntil("body=ok");
  c.ReadToEnd();
  EXPECT_EQ(c.received().find("HTTP/1.1 408"), std::string::npos) << c.received();
  EXPECT_TRUE(WaitFor([this] { return Connections() == 0; })) << Connections() << " still open";
}

TEST_F(HttpLimitsTest, HeadTricklingInGets408AtItsDeadline) {
  HttpServerOptions opt;
  opt.head_timeout_ms = 500;
  Start(opt);
  // A byte every 50 ms: each keeps the connection busy, but the whole head has a deadline.
  RawHttp c(server_->port(), 50);
  c.Send("GET /hls/x HTTP/1.1\r\nHost: x\r\n");
  const auto deadline = Clock::now() + kGenerous;
  while (c.received().find('}') == std::string::npos && Clock::now() < deadline) {
    if (!c.Send("X")) break;
    c.ReadFor(50);
  }
  c.ReadUntil("}");
  Answer a = Parse(c.received());
  EXPECT_EQ(a.status, 408) << c.received();
  EXPECT_EQ(a.error_type, "RequestTimeoutException");
  EXPECT_FALSE(a.request_id.empty());
  ExpectServing();
}

TEST_F(HttpLimitsTest, BufferedBodyBelowTheMinimumRateGets408) {
  HttpServerOptions opt;
  opt.body_timeout_seconds = 1;
  opt.min_body_bytes_per_second = 100;
  Start(opt);
  // One byte every 50 ms (20 bytes/s) never lets the idle timer fire, but is below the rate.
  RawHttp c(server_->port(), 50);
  c.Send(PostHead("/echo", 10'000));
  const auto deadline = Clock::now() + kGenerous;
  while (c.received().find('}') == std::string::npos && Clock::now() < deadline) {
    if (!c.Send("x")) break;
    c.ReadFor(50);
  }
  c.ReadUntil("}");
  Answer a = Parse(c.received());
  EXPECT_EQ(a.status, 408) << c.received();
  EXPECT_EQ(a.error_type, "RequestTimeoutException");
  EXPECT_NE(a.message.find("100 bytes per second"), std::string::npos) << c.received();
  ExpectServing();
}

TEST_F(HttpLimitsTest, BufferedBodyAboveTheMinimumRateIsServedHoweverLongItTakes) {
  HttpServerOptions opt;
  opt.body_timeout_seconds = 1;
  opt.min_body_bytes_per_second = 1000;
  Start(opt);
  // 200 bytes every 50 ms: four times the rate, so its deadline stays ahead of it even when
  // this machine is busy; it takes longer than the 1 s grace.
  RawHttp c(server_->port());
  c.Send(PostHead("/echo", 6000));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(c.Send(std::string(200, 'x')));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The echo handler answers with the body: the first of its bytes ends the wait.
  const std::string& got = c.ReadUntil(std::string(5, 'x'));
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 300);
}

TEST_F(HttpLimitsTest, SlowSteadyStreamingBodyIsNotHeldToTheRate) {
  HttpServerOptions opt;
  opt.body_timeout_seconds = 1;
  opt.min_body_bytes_per_second = 1'000'000;  // would end it within 1 s if it applied
  Start(opt);
  RawHttp c(server_->port());
  c.Send("POST /stream?total=300 HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n");
  for (int i = 0; i < 30; ++i) {  // 1.5 s, ten bytes at a time
    ASSERT_TRUE(c.Send(std::string(10, 'x'))) << c.received();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string& got = c.ReadUntil("done\n");
  EXPECT_NE(got.find("got 300\n"), std::string::npos) << got;
  EXPECT_NE(got.find("done\n"), std::string::npos) << got;
}

TEST_F(HttpLimitsTest, ResponseToAClientThatStopsReadingIsDroppedAtTheSendTimeout) {
  HttpServerOptions opt;
  opt.send_timeout_ms = 300;
  Start(opt);
  // A small receive window that is never read: the response backs up into the server.
  int stalled = ConnectLoopback(server_->port(), 5000, 4096);
  ASSERT_GE(stalled, 0);
  Send(stalled, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(WaitFor([this] { return flood_closed_.load() == 1; }))
      << "the stalled response was never dropped";
  close(stalled);
  ExpectServing();
}

TEST_F(HttpLimitsTest, ClientThatReadsSlowlyButSteadilyKeepsItsResponse) {
  HttpServerOptions opt;
  opt.send_timeout_ms = 500;
  Start(opt);
  int reader = ConnectLoopback(server_->port(), 5000, 4096);
  ASSERT_GE(reader, 0);
  Send(reader, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
  // 2 KiB every 20 ms for 2.5 s, five send timeouts: the socket drains all the while.
  size_t total = 0;
  char buf[2048];
  for (int i = 0; i < 125; ++i) {
    ssize_t n = recv(reader, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "the response ended after " << total << " bytes";
    total += static_cast<size_t>(n);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(flood_closed_.load(), 0);
  close(reader);
}

TEST_F(HttpLimitsTest, PerAddressCapShedsTheConnectionIdleLongest) {
  HttpServerOptions opt;
  opt.max_connections_per_address = 4;
  Start(opt);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(ConnectLoopback(server_->port()));
    ASSERT_GE(idle.back(), 0);
    ASSERT_TRUE(WaitFor([&] { return Connections() == idle.size(); })) << Connections();
  }
  // A fifth connection is served; the oldest idle one made room.
  ExpectServing();
  EXPECT_TRUE(WaitForClose(idle[0])) << "the oldest idle connection is still open";
  for (size_t i = 1; i < idle.size(); ++i) EXPECT_TRUE(IsOpen(idle[i])) << i;
  for (int fd : idle) close(fd);
}

TEST_F(HttpLimitsTest, CapWithEveryConnectionBusyRefusesTheNewOneWith503) {
  HttpServerOptions opt;
  opt.max_connections = 2;
  Start(opt);
  std::vector<std::unique_ptr<RawHttp>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::make_unique<RawHttp>(server_->port()));
    busy.back()->Send("POST /stream?total=100 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                      std::string(10, 'x'));
    ASSERT_NE(busy.back()->ReadUntil("got 10\n").find("got 10\n"), std::string::npos);
  }
  RawHttp refused(server_->port());
  refused.Send(PostHead("/echo", 2) + "ok");
  Answer a = Parse(refused.ReadUntil("}"));
  EXPECT_EQ(a.status, 503) << refused.received();
  EXPECT_EQ(a.error_type, "ServiceUnavailableException");
  // The requests in progress go on; once one ends, new connections are served again.
  busy[0]->Send(std::string(90, 'x'));
  EXPECT_NE(busy[0]->ReadUntil("done\n").find("done\n"), std::string::npos);
  busy.erase(busy.begin());
  EXPECT_TRUE(WaitFor([this] { return Connections() == 1; })) << Connections();
  ExpectServing();
}

TEST_F(HttpLimitsTest, FloodOfSlowHeadsStopsNeitherAStreamingRequestNorNewRequests) {
  HttpServerOptions opt;
  opt.max_connections_per_address = 16;
  Start(opt);
  RawHttp producer(server_->port());
  producer.Send(
      "POST /stream?total=1000000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(producer.Send("a"));
  ASSERT_NE(producer.ReadUntil("got 1\n").find("got 1\n"), std::string::npos);
  std::vector<int> flood;
  for (int i = 0; i < 300; ++i) {
    int fd = ConnectLoopback(server_->port());
    ASSERT_GE(fd, 0);
    send(fd, "GET /hls/x HTTP/1.1\r\nHo", 23, MSG_NOSIGNAL);
    flood.push_back(fd);
    EXPECT_LE(Connections(), 16u);
  }
  // The streaming request still receives its body and answers.
  ASSERT_TRUE(producer.Send("bc"));
  EXPECT_NE(producer.ReadUntil("got 3\n").find("got 3\n"), std::string::npos)
      << producer.received();
  ExpectServing();
  for (int fd : flood) close(fd);
}

}  // namespace
}  // namespace streamarc::server
