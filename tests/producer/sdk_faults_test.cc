// The producer SDK under faults, against the real streamarcd: the server killed and
// restarted, ACKs lost, a stale connection, a deleted stream, no server at all. Each gives the
// documented outcome (every frame archived once, or a clear error) and never a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
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
#include "tests/support/access_keys.h"
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

// Streams whose ACKs are lost: fragments 0-2 go through and are acknowledged; then, per
// episode, a proxy swallows the server's replies while three more fragments complete (the
// server persists them) and the next opens, and the connection is cut. Those three are "in
// doubt": the SDK must ask ListFragments before resending them.
class LostAcksTest : public ProducerSdkTest {
 protected:
  static constexpr size_t kFirstFrames = 100;   // fragments 0-2 complete, 3 open (1 s GOPs)
  static constexpr size_t kEpisodeFrames = 90;  // three more complete, the next open

  // The server behind the proxy, started with `server_args`; the SDK signs with `key`.
  void SetUpProxy(const std::vector<std::string>& server_args = {}, const Credentials& key = {}) {
    ASSERT_NO_FATAL_FAILURE(RestartBehindProxy(proxy_, options_, server_args));
    if (!key.access_key.empty()) options_.credentials = key;
  }

  // How many fragments the archive has for `stream`, asked of the server itself (not through
  // the proxy) with `sign`'s key.
  size_t Archived(const std::string& stream) {
    const std::string body =
        R"({"StreamName":")" + stream +
        R"(","MaxResults":1000,"FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP",)"
        R"("TimestampRange":{"StartTimestamp":0,"EndTimestamp":4102444800}}})";
    auto r = PostJson(server_.url(), "/listFragments", body, sign_, 1'000, 10'000,
                      streamarc::SystemClock().NowMicros());
    if (!r.ok() || r->status != 200) return 0;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_object() && j["Fragments"].is_array() ? j["Fragments"].size() : 0;
  }

  // Streams frames_ as `name` with `episodes` lost-ACK episodes; `before_cut` runs in each,
  // just before the cut. Returns Stop's status; the stats are then in `stream_`.
  Status Run(
      const std::string& name, int episodes, const std::function<void()>& before_cut = [] {}) {
    const std::vector<InputFrame>& frames = frames_;
    auto client = Client::Create(options_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return client.status();
    StreamOptions so = FastRetryOptions(name, 1'000);
    so.create_if_missing = false;
    auto stream = (*client)->OpenStream(so, &rec_);
    EXPECT_TRUE(stream.ok()) << stream.status().ToString();
    if (!stream.ok()) return stream.status();
    stream_ = std::move(*stream);
    EXPECT_TRUE(PutFrames(*stream_, frames, 0, kFirstFrames));
    EXPECT_EQ(WaitPersisted(*stream_, 3), 3u);
    size_t sent = kFirstFrames;
    for (int e = 0; e < episodes; ++e) {
      const size_t acked = 3 * (e + 1);          // acknowledged (or found) before the episode
      const size_t stored = Archived(name) + 3;  // (resent fragments count twice)
      proxy_->set_drop_replies(true);
      EXPECT_TRUE(PutFrames(*stream_, frames, sent, sent + kEpisodeFrames));
      sent += kEpisodeFrames;
      // The server persists them; their ACKs vanish.
      for (int i = 0; i < 2'000 && Archived(name) < stored; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_EQ(Archived(name), stored) << "episode " << e;
      EXPECT_EQ(stream_->stats().fragments_persisted, acked) << "episode " << e;
      before_cut();
      const int lost = rec_.States(ConnectionState::kDisconnected);
      proxy_->CutAll();
      for (int i = 0; i < 2'000 && rec_.States(ConnectionState::kDisconnected) == lost; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      proxy_->set_drop_replies(false);
      // Resolved (found or resent) before the next episode drops replies again.
      EXPECT_EQ(WaitPersisted(*stream_, acked + 3, 3'000), acked + 3) << "episode " << e;
    }
    EXPECT_TRUE(PutFrames(*stream_, frames, sent, frames.size()));
    return stream_->Stop(30'000);
  }

  // The input (`seconds` of 30 fps, 1 s GOPs) in frames_, and the stream `name`, made with
  // sign_'s key (a key that may only write cannot create one). After SetUpProxy.
  void Prepare(const std::string& name, int seconds) {
    MediaSpec spec;
    spec.seconds = seconds;
    auto frames = MakeAnnexBFrames(work_.path(), spec);
    ASSERT_TRUE(frames.ok()) << frames.status().ToString();
    frames_ = std::move(*frames);
    auto r = PostJson(server_.url(), "/createStream",
                      R"({"StreamName":")" + name + R"(","DataRetentionInHours":2})", sign_, 1'000,
                      10'000, streamarc::SystemClock().NowMicros());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
  }

  // After the run: 8 fragments found or acknowledged, none resent unverified; the server
  // stopped, its archive holds every frame of `name` once, in 8 fragments.
  void ExpectEveryFrameOnce(const std::string& name) {
    StreamStats st = stream_->stats();
    EXPECT_EQ(st.fragments_confirmed, 3u);
    EXPECT_EQ(st.fragments_unverified, 0u);
    EXPECT_EQ(st.fragments_persisted, 8u);
    server_.Stop();
    StoredArchive got = ReadArchiveFrames(data_.path(), name);
    EXPECT_EQ(got.fragments.size(), 8u);
    ExpectSameVideo(frames_, got);
    EXPECT_EQ(ExpectNoDuplicates(frames_, got), 0u);
  }

  std::unique_ptr<TcpProxy> proxy_;
  ClientOptions options_;
  SignContext sign_{"us-west-2", {"AKIDEXAMPLE", "x", ""}, "test"};
  Recorder rec_;
  std::vector<InputFrame> frames_;
  std::unique_ptr<Stream> stream_;
};

// The SDK does not resend what the archive already has: it asks ListFragments, skips those
// fragments, and the archive holds every frame once.
TEST_F(LostAcksTest, LostAcksAreCheckedNotResent) {
  ASSERT_NO_FATAL_FAILURE(SetUpProxy());
  ASSERT_NO_FATAL_FAILURE(Prepare("cam-lost-acks", 8));
  Status stop = Run("cam-lost-acks", 1);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  ExpectEveryFrameOnce("cam-lost-acks");
}

// ListFragments answers that say "not now" (a busy server, a failing or throttling front):
// the SDK asks again after a back-off instead of taking them for "none found", so nothing
// is resent that the archive has.
struct NotNow {
  int status;
  const char* error_type;
};
class ListFragmentsNotNowTest : public LostAcksTest,
                                public ::testing::WithParamInterface<NotNow> {};

TEST_P(ListFragmentsNotNowTest, IsAskedAgainAndNothingIsDoubled) {
  ASSERT_NO_FATAL_FAILURE(SetUpProxy());
  ASSERT_NO_FATAL_FAILURE(Prepare("cam-not-now", 8));
  Status stop = Run("cam-not-now", 1, [&] {
    proxy_->AnswerListFragments(GetParam().status, GetParam().error_type, 3);
  });
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  EXPECT_EQ(proxy_->list_fragments_answered(), 3);
  {
    std::lock_guard<std::mutex> l(rec_.mu);
    EXPECT_TRUE(rec_.unverified.empty());
    EXPECT_TRUE(rec_.errors.empty());
  }
  ExpectEveryFrameOnce("cam-not-now");
}

INSTANTIATE_TEST_SUITE_P(Answers, ListFragmentsNotNowTest,
                         ::testing::Values(NotNow{503, "ServiceUnavailableException"},
                                           NotNow{500, "InternalFailure"},
                                           NotNow{502, ""},  // a load balancer's HTML page
                                           NotNow{429, "ThrottlingException"},
                                           NotNow{400, "ClientLimitExceededException"}),
                         [](const ::testing::TestParamInfo<NotNow>& i) {
                           return "Http" + std::to_string(i.param.status);
                         });

// A camera key that may write but not read (actions ["write"]): ListFragments is refused for
// good, so the in-doubt fragments are resent (at least once, as documented in producer.h) and
// the application hears of it once, through OnUnverifiedResend; the SDK does not ask again
// at the next loss. The stream completes, every frame is archived, and the resent fragments
// are there twice.
TEST_F(LostAcksTest, WriteOnlyKeyResendsAndSaysSoOnce) {
  TempDir config;
  streamarc::testing::WriteFileOrDie(
      config.File("keys.json"),
      streamarc::testing::AccessKeysConfig(
          {{{"AKIDADMIN", "admin-secret-0123456789"}, {}, {}},
           {{"AKIDCAMERA", "camera-secret-0123456789"}, {"cam-*"}, {"write"}}}));
  ASSERT_NO_FATAL_FAILURE(SetUpProxy({"--config", config.File("keys.json")},
                                     {"AKIDCAMERA", "camera-secret-0123456789", ""}));
  sign_.credentials = {"AKIDADMIN", "admin-secret-0123456789", ""};
  ASSERT_NO_FATAL_FAILURE(Prepare("cam-write-only", 11));
  Status stop = Run("cam-write-only", 2);
  EXPECT_TRUE(stop.ok()) << stop.ToString();
  StreamStats st = stream_->stats();
  EXPECT_EQ(st.fragments_confirmed, 0u);
  EXPECT_EQ(st.fragments_unverified, 6u);
  {
    std::lock_guard<std::mutex> l(rec_.mu);
    ASSERT_EQ(rec_.unverified.size(), 1u);
    EXPECT_EQ(rec_.unverified[0].code(), Code::kPermissionDenied) << rec_.unverified[0].ToString();
    EXPECT_NE(rec_.unverified[0].message().find("AccessDenied"), std::string::npos)
        << rec_.unverified[0].ToString();
    EXPECT_TRUE(rec_.errors.empty());
  }
  // Asked once: the second loss resent without asking (curl signs the GET as the admin).
  auto metrics =
      RunCommand({"curl", "-sS", "--aws-sigv4", "aws:amz:us-west-2:kinesisvideo", "--user",
                  "AKIDADMIN:admin-secret-0123456789", server_.url() + "/metrics"});
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->out.find("streamarc_errors_total{code=\"AccessDeniedException\"} 1\n"),
            std::string::npos)
      << metrics->out;
  server_.Stop();
  StoredArchive got = ReadArchiveFrames(data_.path(), "cam-write-only");
  // 11 fragments of input, and the six in doubt once more.
  EXPECT_EQ(got.fragments.size(), 17u);
  std::map<int64_t, int> copies;
  for (const auto& f : got.frames) {
    if (f.track == 1) ++copies[f.timecode];
  }
  EXPECT_EQ(copies.size(), frames_.size());  // every frame is there
  size_t doubled = 0;
  for (const auto& [tc, n] : copies) {
    EXPECT_LE(n, 2) << "frame at " << tc;
    if (n == 2) ++doubled;
  }
  EXPECT_EQ(doubled, 2 * kEpisodeFrames);  // the frames of the six in-doubt fragments
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
