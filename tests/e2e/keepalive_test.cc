// Ordinary client traffic that used to hang streamarcd for good (issue 10): a GET and a POST in
// one packet, thousands of keep-alive calls from botocore with 4 threads and from two curl
// loops. /health must answer throughout, a PutMedia afterwards must get every ACK, and SIGTERM
// must end the server whatever its connections are doing.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <future>
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
using streamarc::testing::CountOf;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::RawHttp;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

// N threads of one botocore client (its connection pool keeps each connection alive), each
// calling DescribeStream `calls` times. No retries: a hang shows as a read time-out.
constexpr char kBotocoreLoad[] = R"PY(
import sys, threading
import botocore.session, botocore.config
url, stream, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cfg = botocore.config.Config(retries={'max_attempts': 1}, read_timeout=10, connect_timeout=5,
                             max_pool_connections=threads)
client = botocore.session.get_session().create_client(
    'kinesisvideo', region_name='us-west-2', endpoint_url=url, aws_access_key_id='AKIDEXAMPLE',
    aws_secret_access_key='secret', config=cfg)
ok = [0] * threads
errors = []
def run(i):
    for _ in range(calls):
        try:
            if client.describe_stream(StreamName=stream)['StreamInfo']['StreamName'] == stream:
                ok[i] += 1
        except Exception as e:
            errors.append(repr(e))
            return
workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print('ok', sum(ok))
print('errors', len(errors), errors[:3])
)PY";

class KeepAliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    ASSERT_NO_FATAL_FAILURE(CurlCreateStream(server_.url(), "ka", 24, {"--max-time", "10"}));
  }

  // /health on a fresh connection, answered within RawHttp's 5 s.
  bool Healthy() {
    RawHttp c(server_.port());
    if (!c.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return false;
    return c.ReadUntil("\"status\":\"ok\"").find("\"status\":\"ok\"") != std::string::npos;
  }

  // Runs `load` while another thread asks /health over and over; returns how many probes
  // went unanswered.
  int UnansweredHealthDuring(const std::function<void()>& load) {
    std::atomic<bool> done{false};
    std::atomic<int> failed{0};
    std::atomic<int> probes{0};
    std::thread prober([&] {
      while (!done.load()) {
        if (!Healthy()) failed.fetch_add(1);
        probes.fetch_add(1);
      }
    });
    load();
    done.store(true);
    prober.join();
    EXPECT_GT(probes.load(), 0);
    return failed.load();
  }

  // A PutMedia of a real file: every fragment RECEIVED is PERSISTED.
  void ExpectPutMediaGetsEveryAck() {
    auto input = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(input.ok());
    const std::string out =
        CurlPutMedia(server_.url(), {"ka", *input, "", true, {"--max-time", "60"}});
    size_t received = CountOf(out, "\"RECEIVED\"");
    EXPECT_GE(received, 5u) << out;
    EXPECT_EQ(CountOf(out, "\"PERSISTED\""), received) << out;
    EXPECT_EQ(CountOf(out, "\"ERROR\""), 0u) << out;
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(KeepAliveTest, GetAndPostInOnePacket) {
  RawHttp c(server_.port());
  ASSERT_TRUE(
      c.Send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
             "POST /listStreams HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"));
  std::string got = c.ReadUntil("StreamInfoList");
  size_t health = got.find("\"status\":\"ok\"");
  size_t list = got.find("StreamInfoList");
  ASSERT_NE(health, std::string::npos) << got;
  ASSERT_NE(list, std::string::npos) << got;
  EXPECT_LT(health, list) << "answered out of order";
  EXPECT_TRUE(Healthy());
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(KeepAliveTest, ThousandsOfBotocoreCallsOnFourThreads) {
  WriteFileOrDie(dir_.File("load.py"), kBotocoreLoad);
  std::string out;
  int unanswered = UnansweredHealthDuring([&] {
    auto r = RunCommand({"python3", dir_.File("load.py"), server_.url(), "ka", "4", "1000"});
    ASSERT_TRUE(r.ok());
    out = r->out;
  });
  EXPECT_NE(out.find("ok 4000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("errors 0 "), std::string::npos) << out;
  EXPECT_EQ(unanswered, 0);
  ExpectPutMediaGetsEveryAck();
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(KeepAliveTest, TwoCurlKeepAliveLoopsOfPosts) {
  // One curl, many URLs: each request reuses the connection of the one before.
  std::string config;
  constexpr int kCalls = 3000;
  for (int i = 0; i < kCalls; ++i) config += "url = \"" + server_.url() + "/describeStream\"\n";
  WriteFileOrDie(dir_.File("urls"), config);
  auto loop = [&] {
    return RunCommand({"curl", "-sS", "--max-time", "120", "-K", dir_.File("urls"), "--data-binary",
                       R"({"StreamName":"ka"})", "-w", "\\n"});
  };
  int unanswered = UnansweredHealthDuring([&] {
    auto a = std::async(std::launch::async, loop);
    auto b = std::async(std::launch::async, loop);
    for (auto* f : {&a, &b}) {
      auto r = f->get();
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->exit_code, 0) << r->out.substr(0, 2000);
      EXPECT_EQ(CountOf(r->out, "\"StreamName\":\"ka\""), static_cast<size_t>(kCalls));
    }
  });
  EXPECT_EQ(unanswered, 0);
  ExpectPutMediaGetsEveryAck();
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(KeepAliveTest, SigtermEndsTheServerWhateverItsConnectionsDo) {
  ExpectPutMediaGetsEveryAck();
  // Half a request head; a PutMedia stalled mid-body; a GetMedia whose reader never reads;
  // requests pipelined behind it; a slow trickle of a body.
  RawHttp half(server_.port());
  ASSERT_TRUE(half.Send("POST /describeStream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
  RawHttp put(server_.port());
  ASSERT_TRUE(
      put.Send("POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: ka\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(put.SendChunk(std::string(100, '\x1a')));
  RawHttp get(server_.port());
  const std::string body =
      R"({"StreamName":"ka","StartSelector":{"StartSelectorType":"EARLIEST"}})";
  std::string get_media = "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_TRUE(get.Send(get_media + get_media + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawHttp trickle(server_.port());
  ASSERT_TRUE(
      trickle.Send("POST /describeStream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Length: 1000\r\n\r\n{"));
  ASSERT_TRUE(Healthy());

  auto stopped = std::async(std::launch::async, [this] { return server_.Stop(); });
  if (stopped.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    kill(server_.pid(), SIGKILL);
    stopped.wait();
    FAIL() << "streamarcd did not exit within 30 s of SIGTERM";
  }
  EXPECT_EQ(stopped.get(), 0);
}

}  // namespace
}  // namespace streamarc::e2e
