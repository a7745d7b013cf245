// A cluster end to end: three real streamarcd nodes on 127.0.0.2-4 sharing one PostgreSQL
// index (ctest's postgresql fixture) and one bucket (s3rver, started per test), driven the
// way users drive them: the AWS CLI for the control plane, curl for PutMedia of real media,
// the producer SDK in process for a camera streaming in real time while its node is
// SIGKILLed or stopped, clips checked by ffprobe.
//
// Every node is a cluster member: it heartbeats in the index and takes a stream's lease when
// PutMedia arrives. GetDataEndpoint on any node names the lease holder (or the live node
// chosen for the stream); PutMedia at another node is refused with InvalidEndpointException;
// an owner that dies loses its leases after --lease-seconds (one that stops cleanly, at once)
// and the producer moves on.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "producer-sdk/producer.h"
#include "tests/producer/sdk_media.h"
#include "tests/support/aws_cli.h"
#include "tests/support/free_port.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/pg_database.h"
#include "tests/support/s3_server.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using streamarc::testing::CommandOutput;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::PgTestDatabase;
using streamarc::testing::RunAws;
using streamarc::testing::S3Server;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

constexpr size_t kNodes = 3;
// Segments sealed after 4 s, and moved to the bucket at once: what a node other than the
// writer can read arrives there within seconds.
constexpr int kSegmentWindowSeconds = 4;

// Polls `done` every 200 ms until it is true or `timeout` has passed; its last answer.
template <typename F>
bool WaitUntil(F done, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The status of the last response in curl -i output (after any 100 Continue); 0 if none.
int LastHttpStatus(const std::string& reply) {
  const size_t at = reply.rfind("HTTP/1.1 ");
  return at == std::string::npos ? 0 : std::atoi(reply.c_str() + at + 9);
}

// One streamarcd of the cluster. Its address, port, data directory and node id stay the same
// across restarts, as a real node's would.
struct Node {
  std::string id;       // --node-id
  std::string address;  // 127.0.0.2...
  int port = 0;
  std::string data_dir;
  ServerProcess process;
  std::string url() const { return "http://" + address + ":" + std::to_string(port); }
};

// The video packets ffprobe reads in a file; -1 when it cannot read it.
int VideoPackets(const std::string& path) {
  auto probed = streamarc::testing::ProbeTimes(path);
  if (!probed.ok()) return -1;
  return static_cast<int>(std::count_if(probed->begin(), probed->end(),
                                        [](const auto& p) { return p.type == "video"; }));
}

// A producer SDK stream's PERSISTED acks and new connections, in the order the SDK reported
// them and with when, and its errors. Thread-safe (the SDK calls from its upload thread).
class AckLog : public producer::StreamCallbacks {
 public:
  struct Persisted {
    int64_t timecode_ms;
    steady_clock::time_point at;
  };
  void OnFragmentAck(const producer::FragmentAck& a) override {
    if (a.type != producer::AckType::kPersisted) return;
    std::lock_guard<std::mutex> l(mu_);
    persisted_.push_back({a.timecode, steady_clock::now()});
    events_.push_back({true, persisted_.back().at});
  }
  void OnConnectionState(producer::ConnectionState s, const Status&) override {
    if (s != producer::ConnectionState::kConnected) return;
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back({false, steady_clock::now()});
  }
  void OnStreamError(const Status& s) override {
    std::lock_guard<std::mutex> l(mu_);
    errors_.push_back(s);
  }
  size_t persisted_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return persisted_.size();
  }
  std::vector<Persisted> persisted() const {
    std::lock_guard<std::mutex> l(mu_);
    return persisted_;
  }
  // The first PERSISTED on a connection made after `t`: after a kill at `t`, the first from
  // another node (an ack the dead node sent just before, read after `t`, does not count).
  std::optional<steady_clock::time_point> FirstPersistedAfter(steady_clock::time_point t) const {
    std::lock_guard<std::mutex> l(mu_);
    bool connected = false;
    for (const Event& e : events_) {
      if (e.at <= t) continue;
      if (!e.persisted) connected = true;
      if (e.persisted && connected) return e.at;
    }
    return std::nullopt;
  }
  size_t PersistedAfter(steady_clock::time_point t) const {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<size_t>(std::count_if(persisted_.begin(), persisted_.end(),
                                             [&](const Persisted& p) { return p.at > t; }));
  }
  std::vector<Status> errors() const {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

 private:
  struct Event {
    bool persisted;  // else a new connection
    steady_clock::time_point at;
  };
  mutable std::mutex mu_;
  std::vector<Persisted> persisted_;
  std::vector<Event> events_;
  std::vector<Status> errors_;
};

// Puts `frames` (looped, in decode order) into `stream` in real time on a thread of its own,
// with wall-clock timestamps, until stopped. Remembers how many frames PutFrame took and the
// first refusal.
class RealTimeCamera {
 public:
  RealTimeCamera(producer::Stream& stream, const std::vector<producer_test::InputFrame>& frames)
      : stream_(stream), frames_(frames), thread_([this] { Run(); }) {}
  ~RealTimeCamera() { Stop(); }
  RealTimeCamera(const RealTimeCamera&) = delete;
  RealTimeCamera& operator=(const RealTimeCamera&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t frames_put() const { return frames_put_; }
  bool refused() const { return refused_; }

 private:
  void Run() {
    const int64_t first_dts = frames_.front().dts_ms;
    const int64_t first_pts = frames_.front().pts_ms;
    const int64_t loop_ms = frames_.back().dts_ms + frames_.back().duration_ms - first_dts;
    const int64_t base_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    const auto start = steady_clock::now();
    for (int64_t loop = 0; !stop_; ++loop) {
      for (const producer_test::InputFrame& f : frames_) {
        if (stop_) return;
        std::this_thread::sleep_until(start + milliseconds(loop * loop_ms + f.dts_ms - first_dts));
        producer::Frame fr;
        fr.track = 1;
        fr.pts_us = base_us + (loop * loop_ms + f.pts_ms - first_pts) * 1000;
        fr.dts_us = base_us + (loop * loop_ms + f.dts_ms - first_dts) * 1000;
        fr.duration_us = f.duration_ms * 1000;
        fr.key_frame = f.key;
        fr.data = f.annexb;
        if (stream_.PutFrame(fr).ok()) {
          ++frames_put_;
        } else {
          refused_ = true;
        }
      }
    }
  }

  producer::Stream& stream_;
  const std::vector<producer_test::InputFrame>& frames_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> frames_put_{0};
  std::atomic<bool> refused_{false};
  std::thread thread_;  // last: starts once the rest is set up
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgTestDatabase::FromEnvironment();
    ASSERT_NE(pg_, nullptr) << "needs STREAMARC_TEST_PG (ctest's postgresql fixture)";
    ASSERT_TRUE(s3_.Start());
    s3_.MakeBucket(bucket_);
    for (size_t i = 0; i < kNodes; ++i) {
      Node& n = nodes_[i];
      n.id = "node" + std::to_string(i + 1);
      n.address = "127.0.0." + std::to_string(i + 2);
      n.port = streamarc::testing::FreeTcpPort(n.address);
      ASSERT_NE(n.port, 0) << "cannot bind " << n.address;
      n.data_dir = dir_.File(n.id);
    }
  }

  // Starts every node with leases of `lease_seconds`.
  void StartCluster(int lease_seconds) {
    lease_seconds_ = lease_seconds;
    for (size_t i = 0; i < kNodes; ++i) ASSERT_NO_FATAL_FAILURE(StartNode(i));
  }

  // Starts (or restarts) node `i` on its address, port, data directory and node id.
  void StartNode(size_t i) {
    Node& n = nodes_[i];
    const Status s = n.process.Start(
        n.data_dir,
        {"--host", n.address, "--port", std::to_string(n.port), "--index", pg_->url(),
         "--object-store", s3_.ObjectStoreJson(bucket_), "--warm-after-seconds", "0",
         "--segment-window-seconds", std::to_string(kSegmentWindowSeconds), "--node-id", n.id,
         "--lease-seconds", std::to_string(lease_seconds_), "--public-url", n.url()});
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << n.process.log();
    ASSERT_EQ(n.process.url(), n.url());
  }

  // Every node's log, for a failure message.
  std::string Logs() const {
    std::string out;
    for (const Node& n : nodes_) out += "---- " + n.id + " ----\n" + n.process.log();
    return out;
  }

  // The node whose URL is `url`; kNodes when none is.
  size_t IndexOf(const std::string& url) const {
    for (size_t i = 0; i < kNodes; ++i) {
      if (nodes_[i].url() == url) return i;
    }
    return kNodes;
  }

  // GetDataEndpoint(PUT_MEDIA) of `stream` asked at node `at` with curl; "" when refused.
  std::string DataEndpoint(size_t at, const std::string& stream) const {
    auto r = CurlPost(nodes_[at].url() + "/getDataEndpoint",
                      json{{"StreamName", stream}, {"APIName", "PUT_MEDIA"}}.dump(), {"-m", "10"});
    json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || j.is_discarded()) return "";
    return j.value("DataEndpoint", "");
  }

  // The same asked with the AWS CLI.
  std::string AwsDataEndpoint(size_t at, const std::string& stream) const {
    CommandOutput r = RunAws(
        nodes_[at].url(),
        {"kinesisvideo", "get-data-endpoint", "--stream-name", stream, "--api-name", "PUT_MEDIA"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? "" : j.value("DataEndpoint", "");
  }

  // Creates streams named `prefix`0, `prefix`1... through node `control` until GetDataEndpoint
  // there names another node; that stream's name.
  std::string StreamServedElsewhere(size_t control, const std::string& prefix) {
    for (int i = 0; i < 40; ++i) {
      std::string name = prefix + std::to_string(i);
      CurlCreateStream(nodes_[control].url(), name);
      const size_t owner = IndexOf(DataEndpoint(control, name));
      EXPECT_LT(owner, kNodes) << name;
      if (owner < kNodes && owner != control) return name;
    }
    ADD_FAILURE() << "every stream maps to " << nodes_[control].id;
    return "";
  }

  // The value of an unlabelled gauge on node `i`'s /metrics; -1 when it is not there.
  int64_t Gauge(size_t i, const std::string& name) const {
    const std::string text = CurlGet(nodes_[i].url() + "/metrics", {"-m", "10"});
    size_t at = 0;
    while ((at = text.find(name, at)) != std::string::npos) {
      const bool line_start = at == 0 || text[at - 1] == '\n';
      at += name.size();
      if (line_start && at < text.size() && text[at] == ' ') return std::atoll(&text[at + 1]);
    }
    return -1;
  }

  // ListFragments of `stream` at node `i` over producer times [from_s, to_s], every page;
  // nullopt when a page is refused.
  std::optional<std::vector<json>> Fragments(size_t i, const std::string& stream, double from_s,
                                             double to_s) const {
    std::vector<json> out;
    json req = {{"StreamName", stream},
                {"MaxResults", 1000},
                {"FragmentSelector",
                 {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
                  {"TimestampRange", {{"StartTimestamp", from_s}, {"EndTimestamp", to_s}}}}}};
    for (int guard = 0; guard < 100; ++guard) {
      auto r = CurlPost(nodes_[i].url() + "/listFragments", req.dump(),
                        {"-m", "30", "-H", "Content-Type: application/json"});
      json j = json::parse(r.body, nullptr, false);
      if (r.status != 200 || j.is_discarded()) return std::nullopt;
      for (const json& f : j.value("Fragments", json::array())) out.push_back(f);
      if (!j.contains("NextToken")) return out;
      req = {{"StreamName", stream}, {"MaxResults", 1000}, {"NextToken", j["NextToken"]}};
    }
    return std::nullopt;
  }

  // GetClip of producer times [from_s, to_s] of `stream` at node `i` (AWS CLI) into `out`;
  // the video packets ffprobe reads in it, -1 when GetClip or ffprobe failed.
  int ClipVideoPackets(size_t i, const std::string& stream, double from_s, double to_s,
                       const std::string& out) const {
    const std::string selector =
        json{{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
             {"TimestampRange", {{"StartTimestamp", from_s}, {"EndTimestamp", to_s}}}}
            .dump();
    std::filesystem::remove(out);
    CommandOutput r =
        RunAws(nodes_[i].url(), {"kinesis-video-archived-media", "get-clip", "--stream-name",
                                 stream, "--clip-fragment-selector", selector, out});
    if (r.exit_code != 0) return -1;
    return VideoPackets(out);
  }

  // A producer SDK stream of `stream` whose control endpoint is node `control`, reporting to
  // `acks` (which must outlive it); back-off 100 ms to 1 s.
  Result<std::unique_ptr<producer::Stream>> OpenCamera(size_t control, const std::string& stream,
                                                       AckLog* acks) {
    producer::ClientOptions co;
    co.endpoint = nodes_[control].url();
    co.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    co.connect_timeout_ms = 1'000;
    ASSIGN_OR_RETURN(client_, producer::Client::Create(co));
    producer::StreamOptions so;
    so.name = stream;
    so.create_if_missing = false;
    so.fragment_duration_ms = 1'000;
    so.retry_min_ms = 100;
    so.retry_max_ms = 1'000;
    return client_->OpenStream(so, acks);
  }

  // ListFragments at node `reader` lists every fragment `acks` saw PERSISTED, each once.
  // Returns the producer-time range covering them, seconds.
  std::pair<double, double> ExpectEveryPersistedListed(size_t reader, const std::string& stream,
                                                       const AckLog& acks) const {
    std::set<int64_t> want;
    for (const auto& p : acks.persisted()) want.insert(p.timecode_ms);
    EXPECT_FALSE(want.empty());
    if (want.empty()) return {0, 0};
    const double from_s = static_cast<double>(*want.begin()) / 1000 - 1;
    const double to_s = static_cast<double>(*want.rbegin()) / 1000 + 10;
    std::multiset<int64_t> listed;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto f = Fragments(reader, stream, from_s, to_s);
          if (!f) return false;
          listed.clear();
          for (const json& j : *f) {
            listed.insert(std::llround(j.value("ProducerTimestamp", 0.0) * 1000));
          }
          return std::includes(listed.begin(), listed.end(), want.begin(), want.end());
        },
        seconds(30)));
    for (int64_t tc : want) EXPECT_TRUE(listed.count(tc)) << "PERSISTED " << tc << " not listed";
    for (int64_t tc : listed) EXPECT_EQ(listed.count(tc), 1u) << "fragment at " << tc << " twice";
    return {from_s, to_s};
  }

  std::unique_ptr<PgTestDatabase> pg_;  // first: dropped after every node has stopped
  TempDir dir_;
  S3Server s3_{dir_.File("s3")};
  std::string bucket_ = "cluster-" + std::to_string(::getpid());
  int lease_seconds_ = 10;
  std::array<Node, kNodes> nodes_;
  std::unique_ptr<producer::Client> client_;  // OpenCamera's
};

// Streams created on one node are every node's; GetDataEndpoint names the same node
// everywhere; that node takes PutMedia, another refuses it while the lease is live; every node
// lists the fragments, and one that never had the video plays it from the bucket.
TEST_F(ClusterTest, ThreeNodesShareStreams) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*lease_seconds=*/4));
  const std::vector<std::string> streams = {"shared-a", "shared-b", "shared-c"};
  for (const std::string& s : streams) {
    CommandOutput r = RunAws(nodes_[0].url(), {"kinesisvideo", "create-stream", "--stream-name", s,
                                               "--data-retention-in-hours", "24"});
    ASSERT_EQ(r.exit_code, 0) << r.out << Logs();
  }
  for (size_t i : {1u, 2u}) {
    SCOPED_TRACE(nodes_[i].id);
    for (const std::string& s : streams) {
      CommandOutput r =
          RunAws(nodes_[i].url(), {"kinesisvideo", "describe-stream", "--stream-name", s});
      ASSERT_EQ(r.exit_code, 0) << r.out;
      json j = json::parse(r.out, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << r.out;
      EXPECT_EQ(j["StreamInfo"].value("StreamName", ""), s);
      EXPECT_EQ(j["StreamInfo"].value("Status", ""), "ACTIVE");
    }
    CommandOutput r = RunAws(nodes_[i].url(), {"kinesisvideo", "list-streams"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    std::set<std::string> listed;
    for (const json& info : j.value("StreamInfoList", json::array())) {
      listed.insert(info.value("StreamName", ""));
    }
    for (const std::string& s : streams) EXPECT_TRUE(listed.count(s)) << s << "\n" << r.out;
  }

  // Every node names the same node for each stream.
  std::map<std::string, size_t> owner;
  for (const std::string& s : streams) {
    const std::string first = AwsDataEndpoint(0, s);
    owner[s] = IndexOf(first);
    EXPECT_LT(owner[s], kNodes) << s << " -> " << first;
    for (size_t i : {1u, 2u}) EXPECT_EQ(AwsDataEndpoint(i, s), first) << s << " at " << i;
  }

  const std::string& stream = streams[0];
  const size_t own = owner[stream];
  ASSERT_LT(own, kNodes);
  const size_t other = (own + 1) % kNodes;
  const size_t third = (own + 2) % kNodes;

  // The owner's PutMedia, slowed to ~8 s so that its lease is held while another node is
  // asked to take the same stream.
  const auto bytes = static_cast<int64_t>(std::filesystem::file_size(*input));
  std::string owner_reply;
  std::thread put([&] {
    owner_reply = CurlPutMedia(
        nodes_[own].url(),
        {stream,
         *input,
         "",
         true,
         {"--limit-rate", std::to_string(std::max<int64_t>(bytes / 8, 1024)), "-m", "120"}});
  });
  const bool leased =
      WaitUntil([&] { return Gauge(own, "streamarc_leases_held") >= 1; }, seconds(20));
  EXPECT_TRUE(leased) << "streamarc_leases_held never rose on " << nodes_[own].id;
  const std::string refused =
      CurlPutMedia(nodes_[other].url(), {stream, *input, "", true, {"-i", "-m", "30"}});
  put.join();
  EXPECT_EQ(LastHttpStatus(refused), 400) << refused;
  EXPECT_NE(Lower(refused).find("x-amzn-errortype: invalidendpointexception"), std::string::npos)
      << refused;
  EXPECT_EQ(Gauge(other, "streamarc_leases_held"), 0);
  EXPECT_EQ(Gauge(third, "streamarc_leases_held"), 0);
  ASSERT_NE(owner_reply.find("PERSISTED"), std::string::npos) << owner_reply << Logs();
  EXPECT_EQ(owner_reply.find("\"ERROR\""), std::string::npos) << owner_reply;
  // Still the owner's, asked anywhere.
  for (size_t i = 0; i < kNodes; ++i) EXPECT_EQ(DataEndpoint(i, stream), nodes_[own].url());

  // The index is shared: every node lists what the owner has.
  auto listed = Fragments(own, stream, 0, 4102444800.0);
  ASSERT_TRUE(listed.has_value());
  ASSERT_FALSE(listed->empty());
  for (size_t i : {other, third}) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto f = Fragments(i, stream, 0, 4102444800.0);
          return f && f->size() == listed->size();
        },
        seconds(30)))
        << nodes_[i].id << " does not list " << listed->size() << " fragments";
  }

  // The video, from a node that never had it on its disk: once the owner's segment is sealed
  // (its window passes) and in the bucket, every frame of the input.
  const int want = VideoPackets(*input);
  ASSERT_GT(want, 0);
  int got = -1;
  WaitUntil(
      [&] {
        got = ClipVideoPackets(third, stream, 0, 3600, dir_.File("clip.mp4"));
        return got == want;
      },
      seconds(60));
  EXPECT_EQ(got, want) << Logs();
}

// The owner of a stream is SIGKILLed while a producer SDK camera streams to it in real time:
// within the lease time (plus the producer's back-off) another node takes the stream and
// acks PERSISTED again; nothing the producer had PERSISTED is lost, and once the dead node is
// back (its recovery seals and uploads its open segment) a third node plays all of it.
TEST_F(ClusterTest, KillOwnerMidStream) {
  constexpr int kLease = 4;
  auto frames = producer_test::MakeAnnexBFrames(dir_.path(), {"libx264", 10, 30, 30, "320x240"});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartCluster(kLease));
  const size_t control = 0;
  const std::string stream = StreamServedElsewhere(control, "failover-");
  ASSERT_FALSE(stream.empty());
  const size_t owner = IndexOf(DataEndpoint(control, stream));
  ASSERT_LT(owner, kNodes);

  AckLog acks;
  auto sdk_stream = OpenCamera(control, stream, &acks);
  ASSERT_TRUE(sdk_stream.ok()) << sdk_stream.status().ToString();
  RealTimeCamera camera(**sdk_stream, *frames);

  ASSERT_TRUE(WaitUntil([&] { return acks.persisted_count() >= 4; }, seconds(30))) << Logs();
  EXPECT_GE(Gauge(owner, "streamarc_leases_held"), 1);
  const auto killed_at = steady_clock::now();
  nodes_[owner].process.Kill();

  // A functional bound, not a speed figure (bench/failover_bench.cc measures that): the lease
  // must expire (kLease), then the producer's next try (back-off up to 1 s) asks
  // GetDataEndpoint again and goes to the node it names. 20 s of margin for a loaded machine.
  const bool resumed =
      WaitUntil([&] { return acks.FirstPersistedAfter(killed_at).has_value(); }, seconds(60));
  ASSERT_TRUE(resumed) << "no PERSISTED after the kill\n" << Logs();
  const double failover_s =
      std::chrono::duration<double>(*acks.FirstPersistedAfter(killed_at) - killed_at).count();
  std::printf("kill -> first PERSISTED on the new owner: %.2f s (lease %d s)\n", failover_s,
              kLease);
  EXPECT_LT(failover_s, kLease + 20.0);
  const size_t new_owner = IndexOf(DataEndpoint(control, stream));
  EXPECT_LT(new_owner, kNodes);
  EXPECT_NE(new_owner, owner);
  for (size_t i = 0; i < kNodes; ++i) {
    if (i != owner) {
      EXPECT_EQ(DataEndpoint(i, stream), nodes_[new_owner].url()) << nodes_[i].id;
    }
  }

  // A few more on the new owner, then the producer stops with everything PERSISTED.
  EXPECT_TRUE(WaitUntil([&] { return acks.PersistedAfter(killed_at) >= 3; }, seconds(30)));
  if (new_owner < kNodes) {
    EXPECT_GE(Gauge(new_owner, "streamarc_leases_held"), 1);
  }
  camera.Stop();
  const Status stopped = (*sdk_stream)->Stop(30'000);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  EXPECT_FALSE(camera.refused());
  const producer::StreamStats st = (*sdk_stream)->stats();
  EXPECT_GE(st.endpoint_changes, 1u);
  EXPECT_EQ(st.frames_dropped, 0u);
  EXPECT_EQ(st.fragments_dropped, 0u);
  EXPECT_TRUE(acks.errors().empty()) << acks.errors().front().ToString();

  // The dead node comes back with its data directory; a node that was neither owner reads.
  ASSERT_NO_FATAL_FAILURE(StartNode(owner));
  const size_t reader = 3 - owner - new_owner;  // the third of {0, 1, 2}
  ASSERT_LT(reader, kNodes);
  const std::pair<double, double> range = ExpectEveryPersistedListed(reader, stream, acks);
  const double from_s = range.first, to_s = range.second;

  // All of it plays from the reader: the old owner's sealed-at-recovery segment and the new
  // owner's, both from the bucket. Every frame put, once (Stop left none un-PERSISTED).
  const auto frames_put = static_cast<int>(camera.frames_put());
  int got = -1;
  WaitUntil(
      [&] {
        got = ClipVideoPackets(reader, stream, from_s, to_s, dir_.File("failover.mp4"));
        return got >= frames_put;
      },
      seconds(90));
  EXPECT_EQ(got, frames_put) << Logs();
}

// A node stopped cleanly (SIGTERM) gives its leases up as it leaves: its producer moves to
// another node at once, without waiting for the lease to run out, and loses nothing.
TEST_F(ClusterTest, StoppedNodeHandsItsStreamsOverAtOnce) {
  constexpr int kLease = 30;  // long: a hand-over that waited for it would show
  auto frames = producer_test::MakeAnnexBFrames(dir_.path(), {"libx264", 10, 30, 30, "320x240"});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartCluster(kLease));
  const std::string stream = StreamServedElsewhere(0, "handover-");
  ASSERT_FALSE(stream.empty());
  const size_t owner = IndexOf(DataEndpoint(0, stream));
  ASSERT_LT(owner, kNodes);
  AckLog acks;
  auto sdk_stream = OpenCamera(0, stream, &acks);
  ASSERT_TRUE(sdk_stream.ok()) << sdk_stream.status().ToString();
  RealTimeCamera camera(**sdk_stream, *frames);
  ASSERT_TRUE(WaitUntil([&] { return acks.persisted_count() >= 3; }, seconds(30))) << Logs();

  const auto stopped_at = steady_clock::now();
  EXPECT_EQ(nodes_[owner].process.Stop(), 0) << nodes_[owner].process.log();
  // A functional bound: half the lease, which a hand-over waiting for expiry would exceed.
  const bool resumed = WaitUntil([&] { return acks.FirstPersistedAfter(stopped_at).has_value(); },
                                 seconds(kLease / 2));
  ASSERT_TRUE(resumed) << "no PERSISTED within " << kLease / 2 << " s of the SIGTERM\n" << Logs();
  std::printf(
      "SIGTERM -> first PERSISTED on the next node: %.2f s (lease %d s)\n",
      std::chrono::duration<double>(*acks.FirstPersistedAfter(stopped_at) - stopped_at).count(),
      kLease);
  const size_t next = IndexOf(DataEndpoint(0, stream));
  EXPECT_LT(next, kNodes);
  EXPECT_NE(next, owner);
  EXPECT_TRUE(WaitUntil([&] { return acks.PersistedAfter(stopped_at) >= 2; }, seconds(20)));
  camera.Stop();
  const Status stopped = (*sdk_stream)->Stop(30'000);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  EXPECT_EQ((*sdk_stream)->stats().fragments_dropped, 0u);
  EXPECT_TRUE(acks.errors().empty()) << acks.errors().front().ToString();
  ExpectEveryPersistedListed(next < kNodes ? next : 0, stream, acks);
}

// A node SIGKILLed and started again at once with the same node id holds its leases still:
// it takes its stream's PutMedia again without waiting for them to expire, and the others
// go on naming it.
TEST_F(ClusterTest, RestartedNodeKeepsItsStreams) {
  constexpr int kLease = 30;  // long: the restart must come well within it
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartCluster(kLease));
  const std::string stream = StreamServedElsewhere(0, "comeback-");
  ASSERT_FALSE(stream.empty());
  const size_t owner = IndexOf(DataEndpoint(0, stream));
  ASSERT_LT(owner, kNodes);

  // A slow PutMedia holds the lease when the owner dies.
  const auto bytes = static_cast<int64_t>(std::filesystem::file_size(*input));
  std::thread put([&] {
    (void)CurlPutMedia(
        nodes_[owner].url(),
        {stream,
         *input,
         "",
         true,
         {"--limit-rate", std::to_string(std::max<int64_t>(bytes / 20, 1024)), "-m", "60"}});
  });
  const bool leased =
      WaitUntil([&] { return Gauge(owner, "streamarc_leases_held") >= 1; }, seconds(20));
  EXPECT_TRUE(leased);
  const auto killed_at = steady_clock::now();
  nodes_[owner].process.Kill();
  put.join();
  ASSERT_NO_FATAL_FAILURE(StartNode(owner));
  const double restart_s = std::chrono::duration<double>(steady_clock::now() - killed_at).count();
  ASSERT_LT(restart_s, kLease / 2.0) << "the restart took too long to say anything";

  for (size_t i = 0; i < kNodes; ++i) {
    EXPECT_EQ(DataEndpoint(i, stream), nodes_[owner].url()) << nodes_[i].id;
  }
  const std::string again = CurlPutMedia(nodes_[owner].url(), {stream, *input, "", true, {"-i"}});
  EXPECT_EQ(LastHttpStatus(again), 200) << again << Logs();
  EXPECT_NE(again.find("PERSISTED"), std::string::npos) << again;
  EXPECT_EQ(again.find("\"ERROR\""), std::string::npos) << again;
  // Well within the lease: nobody else may have it.
  const std::string refused =
      CurlPutMedia(nodes_[(owner + 1) % kNodes].url(), {stream, *input, "", true, {"-i"}});
  EXPECT_EQ(LastHttpStatus(refused), 400) << refused;
  EXPECT_NE(Lower(refused).find("x-amzn-errortype: invalidendpointexception"), std::string::npos)
      << refused;
}

// DeleteStream at a node that does not own the stream ends the owner's PutMedia: the producer
// is told the stream is gone (OnStreamError) and every node then answers 404.
TEST_F(ClusterTest, DeleteOnAnotherNodeStopsTheProducer) {
  auto frames = producer_test::MakeAnnexBFrames(dir_.path(), {"libx264", 10, 30, 30, "320x240"});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*lease_seconds=*/4));
  const std::string stream = StreamServedElsewhere(0, "doomed-");
  ASSERT_FALSE(stream.empty());
  const size_t owner = IndexOf(DataEndpoint(0, stream));
  ASSERT_LT(owner, kNodes);
  const size_t deleter = (owner + 1) % kNodes;

  AckLog acks;
  auto sdk_stream = OpenCamera(0, stream, &acks);
  ASSERT_TRUE(sdk_stream.ok()) << sdk_stream.status().ToString();
  RealTimeCamera camera(**sdk_stream, *frames);
  ASSERT_TRUE(WaitUntil([&] { return acks.persisted_count() >= 2; }, seconds(30))) << Logs();

  CommandOutput d =
      RunAws(nodes_[deleter].url(), {"kinesisvideo", "describe-stream", "--stream-name", stream});
  ASSERT_EQ(d.exit_code, 0) << d.out;
  const std::string arn = json::parse(d.out)["StreamInfo"]["StreamARN"];
  CommandOutput del =
      RunAws(nodes_[deleter].url(), {"kinesisvideo", "delete-stream", "--stream-arn", arn});
  ASSERT_EQ(del.exit_code, 0) << del.out;
  const auto deleted_at = steady_clock::now();

  EXPECT_TRUE(WaitUntil([&] { return !acks.errors().empty(); }, seconds(30)))
      << "the producer was never told\n"
      << Logs();
  // The owner learns of the delete and ends the session with an ERROR ack (4008, stream not
  // active), or the next connection's 404 says it: either way the stream is gone.
  if (!acks.errors().empty()) {
    EXPECT_EQ(acks.errors().front().code(), Code::kNotFound) << acks.errors().front().ToString();
  }
  EXPECT_TRUE(WaitUntil([&] { return camera.refused(); }, seconds(10)));
  camera.Stop();
  (void)(*sdk_stream)->Stop(1'000);
  // Some PERSISTED may have been in flight; none for long after the delete.
  EXPECT_LE(acks.PersistedAfter(deleted_at + seconds(5)), 0u);
  for (size_t i = 0; i < kNodes; ++i) {
    auto r = CurlPost(nodes_[i].url() + "/describeStream", json{{"StreamName", stream}}.dump(),
                      {"-D", "-"});
    EXPECT_EQ(r.status, 404) << nodes_[i].id << ": " << r.body;
    EXPECT_NE(Lower(r.body).find("resourcenotfoundexception"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace streamarc::e2e
