// ResponseWriter::PostAfter: delayed tasks on the service thread, on libwebsockets timers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "server/http_server.h"
#include "tests/server/http_server_fixture.h"
#include "tests/support/raw_http.h"

namespace streamarc::server {
namespace {

using Steady = std::chrono::steady_clock;

class Quiet final : public StreamingHandler {
 public:
  explicit Quiet(std::function<void()> on_close) : on_close_(std::move(on_close)) {}
  void OnBody(std::span<const uint8_t>) override {}
  void OnBodyEnd() override {}
  void OnClose() override { on_close_(); }

 private:
  std::function<void()> on_close_;
};

class PostAfterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.http().RouteStreaming("POST", "/timers",
                                  [this](const HttpRequest&, std::shared_ptr<ResponseWriter> w) {
                                    Note("open", std::move(w));
                                    return std::make_unique<Quiet>([this] { Note("closed"); });
                                  });
    ASSERT_TRUE(server_.Start().ok());
    server_.http().Post([this] { Note("service thread"); });
    ASSERT_TRUE(WaitFor("service thread"));
    service_thread_ = server_.service_thread();
  }

  void TearDown() override { StopServer(); }

  void StopServer() { server_.Stop(); }

  // Sends the head of a streaming request (its body never comes); returns its writer.
  std::shared_ptr<ResponseWriter> OpenWriter() {
    fd_ = streamarc::testing::ConnectLoopback(server_.port());
    EXPECT_GE(fd_, 0);
    std::string head = "POST /timers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    EXPECT_EQ(send(fd_, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    EXPECT_TRUE(WaitFor("open"));
    std::lock_guard<std::mutex> lock(mu_);
    return writer_;
  }

  // A task that records `what`, when, and whether it ran on the service thread.
  std::function<void()> Record(std::string what) {
    return [this, what] {
      std::lock_guard<std::mutex> lock(mu_);
      ran_.push_back({what, Steady::now(), std::this_thread::get_id() == service_thread_});
      cv_.notify_all();
    };
  }

  void Note(std::string what, std::shared_ptr<ResponseWriter> w = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (w) writer_ = std::move(w);
    notes_.push_back(std::move(what));
    cv_.notify_all();
  }

  bool WaitFor(const std::string& note) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::find(notes_.begin(), notes_.end(), note) != notes_.end();
    });
  }

  bool WaitForRuns(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return ran_.size() >= n; });
  }

  struct Run {
    std::string what;
    Steady::time_point at;
    bool on_service_thread;
  };

  ManualClock clock_;
  Logger log_{clock_, LogLevel::kError, [](std::string_view) {}};
  RunningHttpServer server_{log_, 1, 16};
  std::thread::id service_thread_;
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<ResponseWriter> writer_;
  std::vector<std::string> notes_;
  std::vector<Run> ran_;
};

TEST_F(PostAfterTest, TwoDelaysRunInDelayOrderOnTheServiceThread) {
  auto w = OpenWriter();
  const Steady::time_point start = Steady::now();
  w->PostAfter(150'000, Record("late"));
  w->PostAfter(30'000, Record("early"));
  ASSERT_TRUE(WaitForRuns(2));
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(ran_.size(), 2u);
  EXPECT_EQ(ran_[0].what, "early");
  EXPECT_EQ(ran_[1].what, "late");
  EXPECT_GE(ran_[0].at - start, std::chrono::milliseconds(30));
  EXPECT_GE(ran_[1].at - start, std::chrono::milliseconds(150));
  EXPECT_TRUE(ran_[0].on_service_thread);
  EXPECT_TRUE(ran_[1].on_service_thread);
  close(fd_);
}

TEST_F(PostAfterTest, RunsAfterTheConnectionClosed) {
  auto w = OpenWriter();
  close(fd_);
  ASSERT_TRUE(WaitFor("closed"));
  w->PostAfter(10'000, Record("after close"));
  ASSERT_TRUE(WaitForRuns(1));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(ran_[0].what, "after close");
}

TEST_F(PostAfterTest, PendingTimersAreDroppedUnrunWhenTheServerStops) {
  auto w = OpenWriter();
  auto held = std::make_shared<int>(0);  // what a pending task holds must be released
  w->PostAfter(60'000'000, [held] { *held = 1; });
  // Posted tasks run in order: once this one has run, the timer above is armed.
  w->Post(Record("armed"));
  ASSERT_TRUE(WaitForRuns(1));
  EXPECT_EQ(held.use_count(), 2);
  close(fd_);
  StopServer();
  EXPECT_EQ(*held, 0) << "the task never ran";
  EXPECT_EQ(held.use_count(), 1) << "the task was destroyed with the server";
  // A writer that outlives the server takes more timers harmlessly.
  w->PostAfter(1, [held] { *held = 2; });
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_EQ(*held, 0);
}

}  // namespace
}  // namespace streamarc::server
