// In-process HTTP tests: RunningHttpServer, an HttpServer on a free loopback port served on
// a thread of its own (as streamarcd's service thread), and the HttpServerTest fixture with
// buffered routes (/echo, /slow, the /hls/ prefix) and a streaming route (/stream) that
// counts its body; a response that never ends (FloodHandler) and the waits of the limit tests
// (WaitFor, WaitForClose).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "server/http_server.h"
#include "tests/support/raw_http.h"

namespace streamarc::server {

// Routes go on http() before Start. Stop (or the destructor) stops the server, joins its
// thread and destroys it; the pool goes last, as in streamarcd.
class RunningHttpServer {
 public:
  RunningHttpServer(Logger& log, size_t threads, size_t queue, HttpServerOptions options = {})
      : pool_(threads, queue) {
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, pool_, log);
  }
  ~RunningHttpServer() { Stop(); }
  RunningHttpServer(const RunningHttpServer&) = delete;
  RunningHttpServer& operator=(const RunningHttpServer&) = delete;

  HttpServer& http() { return *server_; }
  // Listens, then serves on a new thread.
  Status Start() {
    Status s = server_->Start();
    if (s.ok()) thread_ = std::thread([this] { server_->Run(); });
    return s;
  }
  void Stop() {
    if (!server_) return;
    server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  int port() const { return server_->port(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  // The service thread's id (valid after Start, until Stop).
  std::thread::id service_thread() const { return thread_.get_id(); }

 private:
  WorkerPool pool_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

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

// A streaming response that never ends: 64 KiB more each time the last has reached the
// socket (a reader that stops reading fills every buffer on the way).
class FloodHandler : public StreamingHandler {
 public:
  FloodHandler(std::shared_ptr<ResponseWriter> w, std::atomic<int>* closed)
      : w_(std::move(w)), closed_(closed) {
    w_->Begin(200, "application/octet-stream", {});
    More();
  }
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {}
  void OnClose() override { closed_->fetch_add(1); }

 private:
  // The drain task is dropped before OnClose, so `this` outlives it.
  void More() {
    w_->Write(std::string(64 << 10, 'x'));
    w_->NotifyWhenDrained(0, [this] { More(); });
  }
  std::shared_ptr<ResponseWriter> w_;
  std::atomic<int>* closed_;
};

// How long a test waits for what the server does on its own timers (set small in the tests):
// generous, so a slow or sanitized build passes; a pass never waits that long.
inline constexpr auto kGenerous = std::chrono::seconds(20);

// Polls `done` every 10 ms until it holds (true) or kGenerous passes (false).
inline bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kGenerous;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// True once the peer has closed `fd` (a read returns 0, or fails for good); false if it stays
// open for kGenerous. Bytes that arrive meanwhile are appended to `got`.
inline bool WaitForClose(int fd, std::string* got = nullptr) {
  timeval tv{0, 100'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto deadline = std::chrono::steady_clock::now() + kGenerous;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n > 0 && got) got->append(buf, static_cast<size_t>(n));
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
  }
  return false;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(2, 64); }
  void TearDown() override { StopServer(); }

  // The fixture's buffered-body limit is 64 KiB; `opt` may change the rest.
  void StartServer(size_t threads, size_t queue, HttpServerOptions opt = {}) {
    opt.max_buffered_body = 1 << 16;
    server_ = std::make_unique<RunningHttpServer>(log_, threads, queue, opt);
    HttpServer& http = server_->http();
    http.Route("POST", "/echo", [](const HttpRequest& r) {
      const std::string* name = r.FindHeader("x-amzn-stream-name");
      return HttpResponse{200,
                          "text/plain",
                          {{"x-echo", "1"}},
                          r.method + " " + r.path + " q=" + r.query +
                              " name=" + (name ? *name : "-") + " body=" + r.body};
    });
    http.Route("GET", "/slow", [this](const HttpRequest&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
      return HttpResponse{200, "text/plain", {}, "slow"};
    });
    http.RoutePrefix("GET", "/hls/", [](const HttpRequest& r) {
      return HttpResponse{200, "text/plain", {}, "prefix " + r.path};
    });
    http.RouteStreaming("POST", "/stream",
                        [this](const HttpRequest& r, std::shared_ptr<ResponseWriter> w) {
                          size_t total = 0;
                          if (r.query.rfind("total=", 0) == 0) {
                            total = std::stoul(r.query.substr(6));
                          }
                          return std::make_unique<CountingHandler>(std::move(w), total, &closed_);
                        });
    AddRoutes(http);
    ASSERT_TRUE(server_->Start().ok());
  }

  // More routes for a derived fixture, before the server starts.
  virtual void AddRoutes(HttpServer& /*http*/) {}

  void StopServer() { server_.reset(); }

  std::string Url(const std::string& path) { return server_->Url(path); }

  int Connect() {
    int fd = streamarc::testing::ConnectLoopback(server_->port());
    EXPECT_GE(fd, 0);
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
  std::unique_ptr<RunningHttpServer> server_;
  std::atomic<int> closed_{0};
  int slow_ms_ = 0;
};

}  // namespace streamarc::server
