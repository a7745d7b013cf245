// Keep-alive and pipelining through the real libwebsockets front, in process: requests that
// follow each other on one connection, or arrive together in one packet, are each answered,
// in order, and never stall the service thread (issue 10: one packet holding a GET and a POST
// used to spin it at 100 % CPU forever).
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "tests/server/http_server_fixture.h"
#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::RunCommand;

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}
std::string Get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; }

class HttpPipeliningTest : public HttpServerTest {
 protected:
  // The server still answers a fresh connection.
  void ExpectServing() {
    auto r = RunCommand({"curl", "-sS", "--max-time", "5", "--data-binary", "ok", Url("/echo")});
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->out.find("body=ok"), std::string::npos) << r->out;
  }

  // Sends `packet` at once on one connection; each of `wants` must come back, in that order.
  void ExpectAnsweredInOrder(const std::string& packet, const std::vector<std::string>& wants) {
    int fd = Connect();
    Send(fd, packet);
    std::string got;
    ReadUntil(fd, wants.back(), &got);
    close(fd);
    size_t last = 0;
    for (const std::string& w : wants) {
      size_t at = got.find(w, last);
      ASSERT_NE(at, std::string::npos) << "missing or out of order: " << w << "\n" << got;
      last = at;
    }
    ExpectServing();
  }
};

TEST_F(HttpPipeliningTest, GetAndPostInOnePacketAreBothAnswered) {
  ExpectAnsweredInOrder(Get("/hls/first") + Post("/echo", "{}"),
                        {"prefix /hls/first", "POST /echo q= name=- body={}"});
}

// HEAD is answered as GET would be, without the body, whether the path is a route or not:
// a body there would be read as the start of the next answer on the connection.
TEST_F(HttpPipeliningTest, HeadIsAnsweredWithoutABodyAndTheNextAnswerFollows) {
  int fd = Connect();
  Send(fd, "HEAD /hls/h HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n" +
               Get("/hls/after"));
  std::string got;
  ReadUntil(fd, "prefix /hls/after", &got);
  close(fd);
  const size_t first = got.find("HTTP/1.1 200");
  const size_t second = got.find("HTTP/1.1 404");
  const size_t third = got.find("HTTP/1.1 200", first + 1);
  ASSERT_EQ(first, 0u) << got;
  ASSERT_NE(second, std::string::npos) << got;
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_LT(second, third);
  // The GET's length ("prefix /hls/h"), its bytes not sent; each answer starts right after
  // the blank line ending the previous head.
  EXPECT_NE(got.substr(0, second).find("content-length: 13\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("prefix /hls/h"), std::string::npos) << got;
  EXPECT_EQ(got.find("No such operation"), std::string::npos) << got;
  EXPECT_EQ(got.substr(second - 4, 4), "\r\n\r\n") << got;
  EXPECT_EQ(got.substr(third - 4, 4), "\r\n\r\n") << got;
}

TEST_F(HttpPipeliningTest, TwoPostsInOnePacketAreBothAnswered) {
  ExpectAnsweredInOrder(Post("/echo", "one") + Post("/echo", "two"), {"body=one", "body=two"});
}

TEST_F(HttpPipeliningTest, HundredsOfMixedPipelinedRequestsAnsweredInOrder) {
  std::string packet;
  std::vector<std::string> wants;
  for (int i = 0; i < 300; ++i) {
    const std::string tag = std::to_string(i) + ";";
    packet += i % 2 ? Post("/echo", "n" + tag) : Get("/hls/g" + tag);
    wants.push_back(i % 2 ? "body=n" + tag : "prefix /hls/g" + tag);
  }
  ExpectAnsweredInOrder(packet, wants);
}

TEST_F(HttpPipeliningTest, ThousandsOfKeepAlivePostsOneAfterAnother) {
  int fd = Connect();
  std::string got;
  for (int i = 0; i < 3000; ++i) {
    const std::string tag = "k" + std::to_string(i) + ";";
    Send(fd, Post("/echo", tag));
    ReadUntil(fd, "body=" + tag, &got);
    ASSERT_NE(got.find("body=" + tag), std::string::npos) << "request " << i << " unanswered";
    got.clear();
  }
  close(fd);
  ExpectServing();
}

TEST_F(HttpPipeliningTest, RequestPipelinedBehindAStreamingResponseWaitsForIt) {
  // The streaming route answers "done" once its 3 body bytes are in; the GET follows it.
  ExpectAnsweredInOrder(Post("/stream?total=3", "abc") + Get("/hls/after"),
                        {"done\n", "0\r\n\r\n", "prefix /hls/after"});
}

TEST_F(HttpPipeliningTest, ChunkedRequestEndsItsConnectionWhateverFollows) {
  int fd = Connect();
  // lws cannot tell where a chunked body ends, so the connection closes after its response;
  // the bytes sent after the last chunk must not hang anything.
  Send(fd,
       "POST /stream?total=10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nabcde\r\n0\r\n\r\n" +
           Post("/echo", "late"));
  std::string got;
  ReadUntil(fd, "\r\n0\r\n\r\n", &got);
  EXPECT_NE(got.find("connection: close"), std::string::npos) << got;
  EXPECT_NE(got.find("done\n"), std::string::npos) << got;
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), 0) << "the connection stays open";
  close(fd);
  ExpectServing();
}

TEST_F(HttpPipeliningTest, OversizedBodyIsRefusedAtOnceAndTheConnectionGoesOn) {
  int fd = Connect();
  // The fixture's limit is 64 KiB. No "100 Continue": the body is not wanted.
  Send(fd,
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
       "Expect: 100-continue\r\n\r\n");
  std::string got;
  ReadUntil(fd, "too large", &got);
  EXPECT_EQ(got.find("HTTP/1.1 413"), 0u) << got;
  // The client sends the body anyway; it is dropped and the connection serves the next one.
  Send(fd, std::string(100000, 'x') + Post("/echo", "after"));
  ReadUntil(fd, "body=after", &got);
  EXPECT_NE(got.find("body=after"), std::string::npos) << got;
  close(fd);
}

TEST_F(HttpPipeliningTest, StopEndsRunWithStuckConnections) {
  // One connection stops mid-header, one has an unread streaming response, one pipelined
  // requests behind it: Run still returns after Stop.
  int half = Connect();
  Send(half, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le");
  int unread = Connect();
  Send(unread, Post("/stream?total=1000000", std::string(1000, 'x')));
  int piped = Connect();
  Send(piped, Post("/stream?total=5", "abc") + Get("/hls/x"));
  std::string got;
  ReadUntil(unread, "got 1000", &got);
  auto stopped = std::async(std::launch::async, [this] { StopServer(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "HttpServer::Run did not return after Stop";
  stopped.wait();
  close(half);
  close(unread);
  close(piped);
}

}  // namespace
}  // namespace streamarc::server
