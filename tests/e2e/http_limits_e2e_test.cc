// The HTTP front's limits in the real streamarcd, over loopback with raw sockets: the
// refusals it makes itself carry KVS's error shape and a request id; GetMedia readers that
// stop reading give their slots back at the send timeout; a flood of slow connections stops
// neither a producer that is streaming nor /health.
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::ConnectLoopback;
using streamarc::testing::CountOf;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::RawHttp;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kStream[] = "limits";

class HttpLimitsE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& flags) {
    ASSERT_TRUE(server_.Start(dir_.File("data"), flags).ok()) << server_.log();
    ASSERT_NO_FATAL_FAILURE(CurlCreateStream(server_.url(), kStream, 24, {"--max-time", "10"}));
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // /health on a fresh connection.
  bool Healthy() {
    RawHttp c(server_.port());
    if (!c.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return false;
    return c.ReadUntil("\"status\":\"ok\"").find("\"status\":\"ok\"") != std::string::npos;
  }

  std::string GetMediaRequest(const std::string& selector) {
    const std::string body =
        json{{"StreamName", kStream}, {"StartSelector", {{"StartSelectorType", selector}}}}.dump();
    return "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(HttpLimitsE2eTest, RefusalsOfTheHttpLayerCarryKvsShapeAndARequestId) {
  Start({});
  // SigV4 with a large session token fits (the signature is not checked without keys).
  RawHttp ok(server_.port());
  ok.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Security-Token: " +
          std::string(12 << 10, 'T') + "\r\n\r\n");
  EXPECT_NE(ok.ReadUntil("\"status\":\"ok\"").find("\"status\":\"ok\""), std::string::npos)
      << ok.received().substr(0, 300);

  RawHttp big(server_.port());
  big.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(64 << 10, 'b') +
           "\r\n\r\n");
  const std::string& got = big.ReadUntil("}");
  EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got.substr(0, 300);
  EXPECT_NE(got.find("x-amzn-errortype: InvalidArgumentException\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("x-amzn-requestid: "), std::string::npos) << got;
  EXPECT_NE(got.find("{\"Message\":"), std::string::npos) << got;
  EXPECT_TRUE(Healthy());
}

TEST_F(HttpLimitsE2eTest, GetMediaReadersThatStopReadingGiveTheirSlotsBack) {
  Start({"--send-timeout-seconds", "3"});
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  // History well past what the sockets buffer (on loopback the server's send buffer starts
  // at about 2.6 MB), so that an EARLIEST reader backs up: 24 pushes, about 6.7 MB.
  for (int i = 0; i < 24; ++i) {
    ASSERT_GE(CountOf(CurlPutMedia(server_.url(), {kStream, *input, "", true, {"-m", "60"}}),
                      "\"PERSISTED\""),
              1u);
  }
  // A stream's three reader slots, held by readers that never read (tiny receive windows).
  std::vector<int> stalled;
  for (int i = 0; i < 3; ++i) {
    int fd = ConnectLoopback(server_.port(), 5000, 4096);
    ASSERT_GE(fd, 0);
    const std::string req = GetMediaRequest("EARLIEST");
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    stalled.push_back(fd);
  }
  // Each holds its slot once response bytes reach it: the server answers only after the
  // slot is taken. Waiting for that, rather than guessing, keeps a busy machine from sending
  // the probes before the stalled requests were even read.
  const auto held_by = Clock::now() + std::chrono::seconds(30);
  for (int fd : stalled) {
    int queued = 0;
    while (ioctl(fd, FIONREAD, &queued) == 0 && queued == 0 && Clock::now() < held_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(queued, 0) << "a stalled reader got no answer: " << server_.log();
  }
  // A fourth reader is first refused (ConnectionLimitExceededException: the stalled ones hold
  // the slots), then served once the send timeout has dropped them.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string last;
  bool refused = false, served = false;
  while (!served && Clock::now() < deadline) {
    RawHttp reader(server_.port());
    reader.Send(GetMediaRequest("NOW"));
    last = reader.ReadUntil("\r\n\r\n");
    refused = refused || last.find("ConnectionLimitExceeded") != std::string::npos;
    served = refused && last.rfind("HTTP/1.1 200", 0) == 0;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(refused) << "the stalled readers never held the slots: " << last.substr(0, 300);
  EXPECT_TRUE(served) << "the stalled readers still hold the slots: " << last.substr(0, 300);
  EXPECT_NE(server_.log().find("send timeout"), std::string::npos) << server_.log();
  for (int fd : stalled) close(fd);
}

TEST_F(HttpLimitsE2eTest, FloodOfSlowConnectionsStopsNeitherAProducerNorHealth) {
  Start({"--max-connections-per-address", "64", "--max-connections", "128"});
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  const std::string media = ReadFileOrDie(*input);
  // A producer that is streaming: the first half of its file, the request left open.
  RawHttp producer(server_.port(), 10000);
  ASSERT_TRUE(producer.Send(std::string("POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                            "x-amzn-stream-name: " + kStream +
                            "\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(producer.SendChunk(media.substr(0, media.size() / 2)));
  ASSERT_NE(producer.ReadUntil("\"RECEIVED\"").find("\"RECEIVED\""), std::string::npos);

  // Slow heads, slow bodies and idle connections, far more than the caps allow.
  std::vector<int> flood;
  for (int i = 0; i < 1500; ++i) {
    int fd = ConnectLoopback(server_.port(), 5000);
    ASSERT_GE(fd, 0) << i;
    const std::string bytes = i % 3 == 0   ? std::string("GET /health HTTP/1.1\r\nHo")
                              : i % 3 == 1 ? std::string(
                                                 "POST /listStreams HTTP/1.1\r\nHost: "
                                                 "127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
                                           : std::string();
    if (!bytes.empty()) send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    flood.push_back(fd);
  }
  EXPECT_TRUE(Healthy()) << server_.log();

  // The producer's stream goes on to the end, every fragment acknowledged.
  ASSERT_TRUE(producer.SendChunk(media.substr(media.size() / 2)));
  ASSERT_TRUE(producer.Send("0\r\n\r\n"));
  const std::string& acks = producer.ReadUntil("\r\n0\r\n\r\n");
  const size_t received = CountOf(acks, "\"RECEIVED\"");
  EXPECT_GE(received, 5u) << acks;
  EXPECT_EQ(CountOf(acks, "\"PERSISTED\""), received) << acks;
  EXPECT_EQ(CountOf(acks, "\"ERROR\""), 0u) << acks;
  for (int fd : flood) close(fd);
  EXPECT_TRUE(Healthy());
}

}  // namespace
}  // namespace streamarc::e2e
