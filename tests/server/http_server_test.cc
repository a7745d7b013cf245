// The HTTP front in-process: buffered routes on the worker pool, streaming routes with
// full-duplex responses, back-pressure, connections that vanish.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

// Counts body bytes; answers one line per piece received, and "done" once `total` bytes
// (the query's total=N) have arrived.
class CountingHandler : public StreamingHandler {
 public:
  CountingHandler(std::shared_ptr<ResponseWriter> w, size_t total, std::atomic<int>* closed)
      : w_(std::move(w)), total_(total), closed_(closed) {
    w_->Begin(200, "text/plain", {{"x-test", "yes"}});
  }
  void OnBody(std::span<const uint8_t> b) override {
    got_ += b.size();
    w_->Write("got " + std::to_string(got_) + "\n");
    if (got_ >= total_ && !ended_) {
      ended_ = true;
      w_->Write("done\n");
      w_->End();
    }
  }
  void OnBodyEnd() override {}
  void OnClose() override { closed_->fetch_add(1); }

 private:
  std::shared_ptr<ResponseWriter> w_;
  size_t total_;
  size_t got_ = 0;
  bool ended_ = false;
  std::atomic<int>* closed_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(2, 64); }
  void TearDown() override { StopServer(); }

  void StartServer(size_t threads, size_t queue) {
    pool_ = std::make_unique<WorkerPool>(threads, queue);
    HttpServerOptions opt;
    opt.port = 0;
    opt.max_buffered_body = 1 << 16;
    server_ = std::make_unique<HttpServer>(opt, *pool_, log_);
    server_->Route("POST", "/echo", [](const HttpRequest& r) {
      const std::string* name = r.FindHeader("x-amzn-stream-name");
      return HttpResponse{200, "text/plain", {{"x-echo", "1"}},
                          r.method + " " + r.path + " q=" + r.query + " name=" +
                              (name ? *name : "-") + " body=" + r.body};
    });
    server_->Route("GET", "/slow", [this](const HttpRequest&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
      return HttpResponse{200, "text/plain", {}, "slow"};
    });
    server_->RoutePrefix("GET", "/hls/", [](const HttpRequest& r) {
      return HttpResponse{200, "text/plain", {}, "prefix " + r.path};
    });
    server_->RouteStreaming("POST", "/stream",
                            [this](const HttpRequest& r, std::shared_ptr<ResponseWriter> w) {
      size_t total = 0;
      if (r.query.rfind("total=", 0) == 0) total = std::stoul(r.query.substr(6));
      return std::make_unique<CountingHandler>(std::move(w), total, &closed_);
    });
    ASSERT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
    pool_.reset();
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server_->port()));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  static void Send(int fd, const std::string& s) {
    ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }

  // Reads until `want` appears or the 5 s receive timeout passes.
  static std::string ReadUntil(int fd, const std::string& want, std::string* so_far) {
    char buf[4096];
    while (so_far->find(want) == std::string::npos) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      so_far->append(buf, static_cast<size_t>(n));
    }
    return *so_far;
  }

  ManualClock clock_;
  Logger log_{clock_, LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<int> closed_{0};
  int slow_ms_ = 0;
};

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
  auto r = RunCommand({"curl", "-sS", "-i", "--data-binary", "@" + dir.File("body"),
                       Url("/stream?total=200000")});
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
  auto r = RunCommand({"curl", "-sS", "--parallel", "--parallel-max", "6", "-w",
                       "%{http_code}\\n", "-o", "/dev/null", Url("/slow"), "-o", "/dev/null",
                       Url("/slow"), "-o", "/dev/null", Url("/slow"), "-o", "/dev/null",
                       Url("/slow"), "-o", "/dev/null", Url("/slow"), "-o", "/dev/null",
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
