// The producer SDK follows GetDataEndpoint: after a failed connection it asks the control
// endpoint again where PutMedia goes, as it must when the node that served a stream dies and
// another takes it over, and when a node says InvalidEndpointException. Real streamarcd
// processes stand in for the nodes (each with its own SQLite archive; --public-url sets what
// a node's GetDataEndpoint answers); a scripted responder plays the node that is no longer
// the owner, since a single streamarcd never says InvalidEndpoint.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "producer-sdk/http.h"
#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/producer/sdk_test_util.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {
namespace {

// A node that does not own the stream: answers every request with HTTP 400
// InvalidEndpointException (KVS's "ask GetDataEndpoint and go there"), then reads whatever
// the client still sends until it closes. One connection at a time (the SDK opens no more).
class NotTheOwner {
 public:
  NotTheOwner() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;  // ok() says so
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~NotTheOwner() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  NotTheOwner(const NotTheOwner&) = delete;
  NotTheOwner& operator=(const NotTheOwner&) = delete;

  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests answered so far, and how many of them were PutMedia.
  int answered() const { return answered_; }
  int put_media() const { return put_media_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Serve(fd);
      close(fd);
    }
  }

  // Appends what `fd` has to `into`; false when the peer closed, failed or was quiet for 2 s.
  static bool ReadMore(int fd, std::string& into) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2'000) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    into.append(buf, static_cast<size_t>(n));
    return true;
  }

  void Serve(int fd) {
    std::string in;
    while (in.find("\r\n\r\n") == std::string::npos) {
      if (!ReadMore(fd, in)) return;
    }
    const std::string body = R"({"Message":"this node does not serve the stream"})";
    std::string_view out;
    const std::string response =
        "HTTP/1.1 400 Bad Request\r\n"
        "x-amzn-ErrorType: InvalidEndpointException:http://internal.amazon.com/coral/\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    for (out = response; !out.empty();) {
      ssize_t w = write(fd, out.data(), out.size());
      if (w <= 0) break;
      out.remove_prefix(static_cast<size_t>(w));
    }
    if (in.rfind("POST /putMedia ", 0) == 0) ++put_media_;
    ++answered_;
    // Closing with unread bytes would reset the connection, and the client might lose the
    // answer: read until it closes.
    shutdown(fd, SHUT_WR);
    std::string rest;
    while (ReadMore(fd, rest)) rest.clear();
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::atomic<int> put_media_{0};
  std::thread acceptor_;
};

// A Recorder that also keeps why each connection was lost.
class WhyRecorder : public Recorder {
 public:
  void OnConnectionState(ConnectionState s, const Status& why) override {
    Recorder::OnConnectionState(s, why);
    std::lock_guard<std::mutex> l(mu);
    if (s == ConnectionState::kDisconnected) lost.push_back(why.ToString());
  }
  // Whether a lost connection's reason contained `text`.
  bool Lost(const std::string& text) {
    std::lock_guard<std::mutex> l(mu);
    return std::any_of(lost.begin(), lost.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
  }
  std::vector<std::string> lost;
};

const SignContext kSign{"us-west-2", {"AKIDEXAMPLE", "x", ""}, "test"};

// CreateStream `name` on the server at `url`.
::testing::AssertionResult CreateStreamAt(const std::string& url, const std::string& name) {
  auto r =
      PostJson(url, "/createStream", R"({"StreamName":")" + name + R"(","DataRetentionInHours":2})",
               kSign, 1'000, 10'000, streamarc::SystemClock().NowMicros());
  if (!r.ok()) return ::testing::AssertionFailure() << r.status().ToString();
  if (r->status != 200) return ::testing::AssertionFailure() << r->status << " " << r->body;
  return ::testing::AssertionSuccess();
}

// How many fragments ListFragments on the server at `url` lists for `name` (-1: no answer).
int ListedAt(const std::string& url, const std::string& name) {
  const std::string body =
      R"({"StreamName":")" + name +
      R"(","MaxResults":1000,"FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP",)"
      R"("TimestampRange":{"StartTimestamp":0,"EndTimestamp":4102444800}}})";
  auto r = PostJson(url, "/listFragments", body, kSign, 1'000, 10'000,
                    streamarc::SystemClock().NowMicros());
  if (!r.ok() || r->status != 200) return -1;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j["Fragments"].is_array()) return -1;
  return static_cast<int>(j["Fragments"].size());
}

// Polls (10 ms apart, up to 20 s) until `done`; false if it never was.
template <typename Done>
bool WaitFor(Done done) {
  for (int i = 0; i < 2'000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Control endpoint A answers GetDataEndpoint with B; the stream goes to B. B is killed; while
// A still names B, and while A itself is down, the stream keeps the old endpoint and backs
// off. A comes back naming C: the stream moves to C and every fragment not acknowledged by B
// is persisted there. Between them B and C hold every frame.
TEST_F(ProducerSdkTest, FollowsGetDataEndpointWhenTheNodeDies) {
  const std::string name = "cam-moves";
  MediaSpec spec;
  spec.seconds = 8;
  spec.gop = 15;  // 0.5 s fragments
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  TempDir b_data, c_data;
  ServerProcess b, c;
  ASSERT_TRUE(b.Start(b_data.path()).ok()) << b.log();
  ASSERT_TRUE(c.Start(c_data.path()).ok()) << c.log();
  const int a_port = server_.port();
  server_.Stop();
  ASSERT_TRUE(
      server_.Start(data_.path(), {"--port", std::to_string(a_port), "--public-url", b.url()}).ok())
      << server_.log();
  ASSERT_TRUE(CreateStreamAt(b.url(), name));
  ASSERT_TRUE(CreateStreamAt(c.url(), name));

  auto client = Client::Create(Options(server_));  // A, which creates the stream there
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Recorder rec;
  auto stream = (*client)->OpenStream(FastRetryOptions(name, 500), &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const size_t half = frames->size() / 2;
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, half));
  ASSERT_GE(WaitPersisted(**stream, 3), 3u);
  EXPECT_GE(ListedAt(b.url(), name), 3);  // it went to B, not to A
  EXPECT_EQ(ListedAt(server_.url(), name), 0);
  EXPECT_EQ((*stream)->stats().endpoint_changes, 0u);

  // B dies: the connection is lost; A still names B, so the endpoint stays.
  const int lost = rec.States(ConnectionState::kDisconnected);
  b.Kill();
  ASSERT_TRUE(WaitFor([&] { return rec.States(ConnectionState::kDisconnected) > lost; }));
  // Nothing can come from B now: what it acknowledged is known.
  const uint64_t acked_by_b = (*stream)->stats().fragments_persisted;
  // A goes down too: GetDataEndpoint cannot be asked, the old endpoint is kept, and attempts
  // go on failing without failing the stream.
  server_.Stop();
  const int failed_while_down = rec.States(ConnectionState::kDisconnected);
  ASSERT_TRUE(
      WaitFor([&] { return rec.States(ConnectionState::kDisconnected) >= failed_while_down + 2; }));
  EXPECT_EQ((*stream)->stats().endpoint_changes, 0u);
  EXPECT_EQ(rec.States(ConnectionState::kFailed), 0);

  // A is back and names C: the stream moves there.
  ASSERT_TRUE(
      server_.Start(data_.path(), {"--port", std::to_string(a_port), "--public-url", c.url()}).ok())
      << server_.log();
  const int persisted_acks = rec.Acks(AckType::kPersisted);
  ASSERT_TRUE(PutFrames(**stream, *frames, half, frames->size()));
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.endpoint_changes, 1u);
  EXPECT_EQ(st.fragments_persisted, st.fragments_started);
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_GT(rec.Acks(AckType::kPersisted), persisted_acks);  // PERSISTED again, from C
  {
    std::lock_guard<std::mutex> l(rec.mu);
    EXPECT_TRUE(rec.errors.empty()) << rec.errors[0].ToString();
    EXPECT_EQ(rec.states[ConnectionState::kFailed], 0);
  }
  // C lists every fragment B did not acknowledge (and some it may have persisted unsaid);
  // A's own archive got none.
  const int on_c = ListedAt(c.url(), name);
  EXPECT_GE(on_c, static_cast<int>(st.fragments_started - acked_by_b));
  EXPECT_LE(on_c, static_cast<int>(st.fragments_started));
  EXPECT_EQ(ListedAt(server_.url(), name), 0);

  // Every input frame is in B's archive or C's, and none twice in C's.
  c.Stop();
  StoredArchive on_b = ReadArchiveFrames(b_data.path(), name);
  StoredArchive got_c = ReadArchiveFrames(c_data.path(), name);
  std::map<int64_t, int> seen_c;
  for (const auto& f : got_c.frames) ++seen_c[f.timecode];
  for (const auto& [tc, n] : seen_c) EXPECT_EQ(n, 1) << "frame at " << tc << " twice on C";
  std::map<int64_t, bool> seen;
  for (const auto& f : on_b.frames) seen[f.timecode] = true;
  for (const auto& f : got_c.frames) seen[f.timecode] = true;
  EXPECT_EQ(seen.size(), frames->size());
}

// A PutMedia refused with InvalidEndpointException is not a failure of the stream: the SDK
// asks GetDataEndpoint again before the next attempt and streams wherever it is told.
TEST_F(ProducerSdkTest, InvalidEndpointIsRetriedAtTheNamedEndpoint) {
  const std::string name = "cam-invalid-endpoint";
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  NotTheOwner wrong;
  ASSERT_TRUE(wrong.ok());
  const int port = server_.port();
  server_.Stop();
  ASSERT_TRUE(
      server_.Start(data_.path(), {"--port", std::to_string(port), "--public-url", wrong.url()})
          .ok())
      << server_.log();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  WhyRecorder rec;
  auto stream = (*client)->OpenStream(FastRetryOptions(name, 1'000), &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, 70));
  // PutMedia refused, then another attempt (after asking GetDataEndpoint, which still names
  // the wrong node) refused again: the stream is still alive. That attempt may be the
  // ListFragments check of fragments that went out whole (refused alike, so it is asked again
  // rather than taken for an answer).
  ASSERT_TRUE(WaitFor([&] { return wrong.put_media() >= 1 && wrong.answered() >= 2; }));
  EXPECT_TRUE(rec.Lost("HTTP 400 InvalidEndpointException"));
  EXPECT_EQ(rec.States(ConnectionState::kFailed), 0);
  EXPECT_EQ((*stream)->stats().endpoint_changes, 0u);

  // The server now names itself (its default public URL).
  server_.Stop();
  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok()) << server_.log();
  ASSERT_TRUE(PutFrames(**stream, *frames, 70, frames->size()));
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.endpoint_changes, 1u);
  EXPECT_EQ(st.fragments_persisted, st.fragments_started);
  {
    std::lock_guard<std::mutex> l(rec.mu);
    EXPECT_TRUE(rec.errors.empty()) << rec.errors[0].ToString();
    EXPECT_EQ(rec.states[ConnectionState::kFailed], 0);
  }
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), name);
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

}  // namespace
}  // namespace streamarc::producer_test
