// The producer SDK under faults, against the real streamarcd: the server killed and
// restarted, ACKs lost, a stale connection, a deleted stream, no server at all. Each gives the
// documented outcome (every frame archived once, or a clear error) and never a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "producer-sdk/http.h"
#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/producer/sdk_test_util.h"
#include "tests/producer/tcp_proxy.h"
#include "tests/support/aws_cli.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer_test {
namespace {

// The server is killed (SIGKILL) and restarted on the same port three times while frames
// flow; afterwards the archive holds every frame exactly once.
TEST_F(ProducerSdkTest, ServerKilledAndRestartedKeepsEveryFrameOnce) {
  MediaSpec spec;
  spec.seconds = 10;
  spec.gop = 15;
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so;
  so.name = "cam-kill";
  so.fragment_duration_ms = 500;
  so.retry_min_ms = 50;
  so.retry_max_ms = 500;
  so.storage_bytes = 16u << 20;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  const int port = server_.port();
  std::atomic<size_t> pushed{0};
  std::thread producer([&] {
    for (const auto& f : *frames) {
      EXPECT_TRUE((*stream)->PutFrame(ToFrame(f)).ok());
      ++pushed;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  size_t max_store = 0, max_fragments = 0;
  for (int kill = 0; kill < 3; ++kill) {
    // Let a few fragments through, then kill while the connection is busy.
    size_t target = (kill + 1) * frames->size() / 4;
    while (pushed < target) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_.Kill();
    // The second outage is long enough for a dozen fragments to pile up in the store.
    std::this_thread::sleep_for(std::chrono::milliseconds(kill == 1 ? 1'500 : 150));
    StreamStats during = (*stream)->stats();
    max_store = std::max(max_store, during.store_bytes);
    max_fragments =
        std::max<size_t>(max_fragments, during.fragments_started - during.fragments_persisted -
                                            during.fragments_dropped);
    const int connected_before = rec.States(ConnectionState::kConnected);
    ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok());
    // The next kill must find a live connection: wait for the SDK to have reconnected (a
    // slow, sanitized build may take longer than the pushes between two kills).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (rec.States(ConnectionState::kConnected) == connected_before &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(rec.States(ConnectionState::kConnected), connected_before) << "no reconnect";
  }
  producer.join();
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_GE(st.reconnects, 3u);
  std::printf(
      "reconnects=%llu resent=%llu confirmed=%llu persisted=%llu max_store=%zu max_fragments=%zu\n",
      static_cast<unsigned long long>(st.reconnects),
      static_cast<unsigned long long>(st.fragments_resent),
      static_cast<unsigned long long>(st.fragments_confirmed),
      static_cast<unsigned long long>(st.fragments_persisted), max_store, max_fragments);
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_LE(max_store, so.storage_bytes);
  EXPECT_GE(max_fragments, 9u);  // more than one deque block of them
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-kill");
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// The ACKs of a live connection are lost (a proxy swallows them) while the server keeps
// persisting; the connection is then cut. The SDK must not resend what the archive already
// has: it asks ListFragments, skips those fragments, and the archive holds every frame once.
TEST_F(ProducerSdkTest, LostAcksAreCheckedNotResent) {
  MediaSpec spec;
  spec.seconds = 8;
  auto frames = MakeAnnexBFrames(work_.path(), spec);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  std::unique_ptr<TcpProxy> proxy;
  ClientOptions o;
  ASSERT_NO_FATAL_FAILURE(RestartBehindProxy(proxy, o));
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so = FastRetryOptions("cam-lost-acks", 1'000);
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, 100));  // fragments 0-2 complete, 3 open
  ASSERT_EQ(WaitPersisted(**stream, 3), 3u);
  proxy->set_drop_replies(true);
  // Fragments 3-5 complete (the server persists them, its ACKs vanish), 6 open.
  ASSERT_TRUE(PutFrames(**stream, *frames, 100, 190));
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_EQ((*stream)->stats().fragments_persisted, 3u);
  proxy->CutAll();
  rec.WaitForState(ConnectionState::kDisconnected);
  proxy->set_drop_replies(false);
  ASSERT_TRUE(PutFrames(**stream, *frames, 190, frames->size()));
  Status stop = (*stream)->Stop(20'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.fragments_confirmed, 3u);
  EXPECT_EQ(st.fragments_persisted, 8u);
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-lost-acks");
  EXPECT_EQ(got.fragments.size(), 8u);
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// A connection that stops acknowledging (the server's replies vanish) is declared stale
// after connection_staleness_ms and replaced; nothing is lost or doubled.
TEST_F(ProducerSdkTest, StaleConnectionIsReplaced) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  std::unique_ptr<TcpProxy> proxy;
  ClientOptions o;
  ASSERT_NO_FATAL_FAILURE(RestartBehindProxy(proxy, o));
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so = FastRetryOptions("cam-stale", 1'000);
  so.connection_staleness_ms = 500;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, 70));
  WaitPersisted(**stream, 2);
  proxy->set_drop_replies(true);
  ASSERT_TRUE(PutFrames(**stream, *frames, 70, 100));
  bool replaced = rec.WaitForState(ConnectionState::kDisconnected);
  proxy->set_drop_replies(false);
  EXPECT_TRUE(replaced);
  ASSERT_TRUE(PutFrames(**stream, *frames, 100, frames->size()));
  Status stop = (*stream)->Stop(30'000);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-stale");
  ExpectSameVideo(*frames, got);
  EXPECT_EQ(ExpectNoDuplicates(*frames, got), 0u);
}

// A stream deleted while streaming: a clear NotFound through OnStreamError, PutFrame and
// Stop return it, nothing hangs.
TEST_F(ProducerSdkTest, DeletedStreamFailsClearly) {
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto client = Client::Create(Options(server_));
  ASSERT_TRUE(client.ok());
  Recorder rec;
  StreamOptions so = FastRetryOptions("cam-deleted", 1'000);
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, 60));
  // The ARN from DescribeStream (a plain signed POST), then the AWS CLI deletes the stream.
  SignContext sign{"us-west-2", {"AKIDEXAMPLE", "x", ""}, "test"};
  auto described = PostJson(server_.url(), "/describeStream", R"({"StreamName":"cam-deleted"})",
                            sign, 1'000, 10'000, streamarc::SystemClock().NowMicros());
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->status, 200) << described->body;
  auto info = nlohmann::json::parse(described->body, nullptr, false);
  ASSERT_FALSE(info.is_discarded());
  std::string a = info["StreamInfo"]["StreamARN"].template get<std::string>();
  streamarc::testing::CommandOutput del = streamarc::testing::RunAws(
      server_.url(), {"kinesisvideo", "delete-stream", "--stream-arn", a}, "us-west-2");
  ASSERT_EQ(del.exit_code, 0) << del.out;
  // The live connection may go on until the server notices; the next one gets a 404.
  Status last;
  for (size_t i = 60; i < frames->size() && last.ok(); ++i) {
    last = (*stream)->PutFrame(ToFrame((*frames)[i]));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Status stop = (*stream)->Stop(10'000);
  EXPECT_FALSE(stop.ok());
  EXPECT_EQ(stop.code(), Code::kNotFound) << stop.ToString();
  std::lock_guard<std::mutex> l(rec.mu);
  ASSERT_FALSE(rec.errors.empty());
  EXPECT_EQ(rec.errors[0].code(), Code::kNotFound) << rec.errors[0].ToString();
}

// No server: OpenStream says so at once; a server that goes away for good makes Stop give up
// after its timeout with kUnavailable, holding the un-PERSISTED fragments.
TEST_F(ProducerSdkTest, UnreachableServerGivesClearErrors) {
  ClientOptions o = Options(server_);
  int port = server_.port();
  server_.Stop();
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok());
  StreamOptions so;
  so.name = "cam-gone";
  auto none = (*client)->OpenStream(so, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable) << none.status().ToString();

  ASSERT_TRUE(server_.Start(data_.path(), {"--port", std::to_string(port)}).ok());
  auto frames = MakeAnnexBFrames(work_.path(), {});
  ASSERT_TRUE(frames.ok());
  Recorder rec;
  so.retry_min_ms = 20;
  so.retry_max_ms = 100;
  so.max_latency_ms = 200;
  auto stream = (*client)->OpenStream(so, &rec);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  server_.Kill();
  ASSERT_TRUE(PutFrames(**stream, *frames, 0, frames->size()));
  Status stop = (*stream)->Stop(1'000);
  EXPECT_EQ(stop.code(), Code::kUnavailable) << stop.ToString();
  StreamStats st = (*stream)->stats();
  EXPECT_EQ(st.fragments_persisted, 0u);
  EXPECT_GT(st.store_bytes, 0u);
  EXPECT_GE(rec.latency_pressure.load(), 1);  // the oldest fragment waited past max_latency_ms
  std::lock_guard<std::mutex> l(rec.mu);
  EXPECT_GE(rec.states[ConnectionState::kDisconnected], 1);
}

}  // namespace
}  // namespace streamarc::producer_test
