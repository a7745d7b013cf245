// The HTTP front in-process: buffered routes on the worker pool, streaming routes with
// full-duplex responses, back-pressure, connections that vanish.
#include "server/http_server.h"

#include <gtest/gtest.h>

#include "tests/server/http_server_fixture.h"
#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

TEST_F(HttpServerTest, BufferedRouteGetsHeadersQueryAndBody) {
  auto r = RunCommand({"curl", "-sS", "-i", "-H", "x-amzn-stream-name: cam-1", "--data-binary",
                       "hello", Url("/echo?a=1&b=two")});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->out.find("HTTP/1.1 200"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("x-echo: 1"), std::string::npos);
  EXPECT_NE(r->out.find("POST /echo q=a=1&b=two name=cam-1 body=hello"), std::string::npos)
      << r->out;
}

TEST_F(HttpServerTest, PrefixRouteAndNotFound) {
  auto r = RunCommand({"curl", "-sS", Url("/hls/abc/master.m3u8")});
  EXPECT_EQ(r->out, "prefix /hls/abc/master.m3u8");
  auto nf = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", Url("/other")});
  EXPECT_EQ(nf->out, "404");
}

TEST_F(HttpServerTest, StreamingResponseIsChunkedAndEnds) {
  TempDir dir;
  WriteFileOrDie(dir.File("body"), std::string(200'000, 'x'));
  auto r = RunCommand(
      {"curl", "-sS", "-i", "--data-binary", "@" + dir.File("body"), Url("/stream?total=200000")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  EXPECT_NE(r->out.find("transfer-encoding: chunked"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("x-test: yes"), std::string::npos);
  EXPECT_NE(r->out.find("got 200000\ndone\n"), std::string::npos) << r->out;
}

TEST_F(HttpServerTest, FullDuplexAnswerWhileTheBodyIsStillArriving) {
  int fd = Connect();
  Send(fd, "POST /stream?total=10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  Send(fd, "4\r\nabcd\r\n");
  std::string got;
  ReadUntil(fd, "got 9\n", &got);  // "4\r\nabcd\r\n" is 9 raw bytes
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find("got 9\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("done"), std::string::npos);
  Send(fd, "1\r\ne\r\n");
  ReadUntil(fd, "0\r\n\r\n", &got);
  EXPECT_NE(got.find("done\n"), std::string::npos) << got;
  EXPECT_NE(got.find("0\r\n\r\n"), std::string::npos) << got;
  close(fd);
}

TEST_F(HttpServerTest, VanishedClientClosesTheHandlerAndWritesAreIgnored) {
  int fd = Connect();
  Send(fd, "POST /stream?total=1000 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc");
  std::string got;
  ReadUntil(fd, "got 3\n", &got);
  close(fd);
  for (int i = 0; i < 200 && closed_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(closed_.load(), 1);
  // The server still serves.
  auto r = RunCommand({"curl", "-sS", "--data-binary", "x", Url("/echo")});
  EXPECT_NE(r->out.find("body=x"), std::string::npos);
}

TEST_F(HttpServerTest, BusyPoolAnswers503) {
  StopServer();
  StartServer(1, 1);
  slow_ms_ = 1500;
  // One request runs, one waits in the queue, the rest find it full.
  auto r = RunCommand({"curl",
                       "-sS",
                       "--parallel",
                       "--parallel-max",
                       "6",
                       "-w",
                       "%{http_code}\\n",
                       "-o",
                       "/dev/null",
                       Url("/slow"),
                       "-o",
                       "/dev/null",
                       Url("/slow"),
                       "-o",
                       "/dev/null",
                       Url("/slow"),
                       "-o",
                       "/dev/null",
                       Url("/slow"),
                       "-o",
                       "/dev/null",
                       Url("/slow"),
                       "-o",
                       "/dev/null",
                       Url("/slow")});
  ASSERT_TRUE(r.ok());
  size_t busy = 0, ok = 0;
  for (size_t p = 0; (p = r->out.find("503\n", p)) != std::string::npos; p += 4) ++busy;
  for (size_t p = 0; (p = r->out.find("200\n", p)) != std::string::npos; p += 4) ++ok;
  EXPECT_GE(busy, 1u) << r->out;
  EXPECT_GE(ok, 2u) << r->out;
  EXPECT_EQ(busy + ok, 6u) << r->out;
}

TEST_F(HttpServerTest, OversizedBufferedBodyIs413) {
  TempDir dir;
  WriteFileOrDie(dir.File("big"), std::string(100'000, 'x'));
  auto r = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
                       "@" + dir.File("big"), Url("/echo")});
  EXPECT_EQ(r->out, "413");
}

}  // namespace
}  // namespace streamarc::server
