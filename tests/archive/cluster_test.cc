// Several archives (nodes) on one PostgreSQL index, in one process: stream leases, fencing,
// fragment numbers unique across nodes, and each node's stream cache following the others'
// registry changes. Registered only for the PostgreSQL run (STREAMARC_TEST_PG).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "archive/archive.h"
#include "tests/archive/test_util.h"

namespace streamarc::archive {
namespace {

using testing::AppendSync;
using testing::MakeFragment;

constexpr int64_t kLeaseUs = 1'500'000;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = streamarc::testing::PgTestDatabase::FromEnvironment();
    ASSERT_NE(pg_, nullptr) << "needs STREAMARC_TEST_PG (the PostgreSQL fixture)";
  }

  Options NodeOptions(const std::string& id) {
    Options o;
    o.root = dir_.File(id);
    o.index = pg_->url();
    o.node_id = id;
    o.node_url = "http://" + id + ".example:8080";
    o.lease_us = kLeaseUs;
    o.sweep_interval_us = 0;
    o.sync = false;
    return o;
  }

  std::unique_ptr<Archive> OpenNode(const std::string& id) {
    Result<std::unique_ptr<Archive>> a = OpenLocalArchive(NodeOptions(id), *env_, clock_, logger_);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  FragmentInput Fragment(uint64_t seed) { return MakeFragment(clock_.NowMicros(), 2000, seed); }

  int64_t Count(const std::string& sql) const {
    Result<int64_t> n = pg_->QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  // Waits (polling) until `done` holds, at most `timeout_ms`.
  template <typename F>
  static bool WaitFor(F done, int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  std::unique_ptr<streamarc::testing::PgTestDatabase> pg_;
  streamarc::testing::TempDir dir_;
  SystemClock clock_;
  Logger logger_{clock_, LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<Env> env_ = NewPosixEnv();
};

CreateStreamRequest Stream(const std::string& name) {
  CreateStreamRequest r;
  r.name = name;
  r.retention_hours = 24;
  return r;
}

TEST_F(ClusterTest, OneNodeOwnsAStreamsIngestAndTheOtherIsToldWhich) {
  auto a = OpenNode("node-a");
  auto b = OpenNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateStream(Stream("cam")).ok());
  // Created on a, known to b at once (a cache miss reloads it).
  ASSERT_TRUE(b->DescribeStream(StreamRef::Name("cam")).ok());

  // Nobody owns it yet: both name the same node, the one rendezvous hashing picks.
  Result<std::optional<Archive::Node>> from_a = a->IngestNode(StreamRef::Name("cam"));
  Result<std::optional<Archive::Node>> from_b = b->IngestNode(StreamRef::Name("cam"));
  ASSERT_TRUE(from_a.ok() && from_b.ok() && *from_a && *from_b);
  EXPECT_EQ((*from_a)->id, (*from_b)->id);

  ASSERT_TRUE(a->ClaimStream(StreamRef::Name("cam")).ok());
  Status refused = b->ClaimStream(StreamRef::Name("cam"));
  EXPECT_EQ(refused.code(), Code::kResourceExhausted) << refused.ToString();
  EXPECT_NE(refused.message().find("node-a"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("http://node-a.example:8080"), std::string::npos);
  Result<std::optional<Archive::Node>> owner = b->IngestNode(StreamRef::Name("cam"));
  ASSERT_TRUE(owner.ok() && *owner);
  EXPECT_EQ((*owner)->id, "node-a");
  EXPECT_EQ((*owner)->url, "http://node-a.example:8080");

  // Only the owner appends.
  Result<FragmentInfo> on_b = AppendSync(*b, "cam", Fragment(1));
  EXPECT_EQ(on_b.status().code(), Code::kUnavailable) << on_b.status().ToString();
  Result<FragmentInfo> on_a = AppendSync(*a, "cam", Fragment(2));
  ASSERT_TRUE(on_a.ok()) << on_a.status().ToString();
  // The listing is shared (the bytes are on a's disk).
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.end_us = clock_.NowMicros() + 1'000'000;
  req.max_results = 10;
  Result<ListResult> listed = b->ListFragments(req);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->fragments.size(), 1u);
  EXPECT_EQ(listed->fragments[0].number, on_a->number);
  EXPECT_EQ(a->Stats().leases_held, 1u);
  EXPECT_EQ(b->Stats().leases_held, 0u);
}

TEST_F(ClusterTest, ACleanStopHandsTheStreamOverAtOnceWithHigherNumbers) {
  auto a = OpenNode("node-a");
  auto b = OpenNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateStream(Stream("cam")).ok());
  ASSERT_TRUE(a->ClaimStream(StreamRef::Name("cam")).ok());
  std::vector<std::string> numbers;
  for (int i = 0; i < 5; ++i) {
    Result<FragmentInfo> f = AppendSync(*a, "cam", Fragment(10 + i));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    numbers.push_back(f->number);
  }
  a.reset();  // a clean stop gives the leases back
  ASSERT_TRUE(b->ClaimStream(StreamRef::Name("cam")).ok());
  for (int i = 0; i < 5; ++i) {
    Result<FragmentInfo> f = AppendSync(*b, "cam", Fragment(20 + i));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    numbers.push_back(f->number);
  }
  ListRequest req;
  req.stream = StreamRef::Name("cam");
  req.end_us = clock_.NowMicros() + 1'000'000;
  req.max_results = 100;
  Result<ListResult> listed = b->ListFragments(req);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> got;
  for (const FragmentInfo& f : listed->fragments) got.push_back(f.number);
  // Numbers rise across the move: the new owner's come from a block taken after the lease.
  EXPECT_EQ(got, numbers);
  for (size_t i = 1; i < numbers.size(); ++i) EXPECT_LT(numbers[i - 1], numbers[i]);
}

TEST_F(ClusterTest, AnExpiredLeaseMovesAndTheOldOwnerStopsAppending) {
  auto a = OpenNode("node-a");
  auto b = OpenNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateStream(Stream("cam")).ok());
  ASSERT_TRUE(a->ClaimStream(StreamRef::Name("cam")).ok());
  ASSERT_TRUE(AppendSync(*a, "cam", Fragment(1)).ok());
  // a is alive and renewing: b cannot take it however long it tries.
  std::this_thread::sleep_for(std::chrono::microseconds(2 * kLeaseUs));
  EXPECT_EQ(b->ClaimStream(StreamRef::Name("cam")).code(), Code::kResourceExhausted);
  // As if a had hung past its lease: the index says it ran out.
  ASSERT_TRUE(
      pg_->Exec("UPDATE stream_leases SET expires_at = clock_timestamp() - interval '1 second'")
          .ok());
  ASSERT_TRUE(b->ClaimStream(StreamRef::Name("cam")).ok());
  // a's next renewal finds the lease b's: a refuses the stream from then on.
  ASSERT_TRUE(WaitFor([&] { return a->Stats().leases_lost == 1; }, 10'000));
  EXPECT_EQ(AppendSync(*a, "cam", Fragment(2)).status().code(), Code::kUnavailable);
  EXPECT_TRUE(AppendSync(*b, "cam", Fragment(3)).ok());
  EXPECT_EQ(a->Stats().leases_held, 0u);
}

TEST_F(ClusterTest, NumbersAndSegmentsStayUniqueWhileNodesAppendTogether) {
  auto a = OpenNode("node-a");
  auto b = OpenNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateStream(Stream("one")).ok());
  ASSERT_TRUE(b->CreateStream(Stream("two")).ok());
  ASSERT_TRUE(a->ClaimStream(StreamRef::Name("one")).ok());
  ASSERT_TRUE(b->ClaimStream(StreamRef::Name("two")).ok());
  std::set<std::string> numbers;
  std::mutex mu;
  auto run = [&](Archive& node, const std::string& stream, uint64_t seed) {
    for (int i = 0; i < 100; ++i) {
      Result<FragmentInfo> f = AppendSync(node, stream, Fragment(seed + i));
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      numbers.insert(f->number);
    }
  };
  std::thread ta([&] { run(*a, "one", 1000); });
  std::thread tb([&] { run(*b, "two", 2000); });
  ta.join();
  tb.join();
  EXPECT_EQ(numbers.size(), 200u);
  EXPECT_EQ(Count("SELECT count(*) FROM fragments"), 200);
  EXPECT_EQ(Count("SELECT count(DISTINCT id) FROM segments"),
            Count("SELECT count(*) FROM segments"));
}

TEST_F(ClusterTest, RegistryChangesOnOneNodeReachTheOther) {
  auto a = OpenNode("node-a");
  auto b = OpenNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->CreateStream(Stream("cam")).ok());
  Result<StreamInfo> before = b->DescribeStream(StreamRef::Name("cam"));
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(a->UpdateRetention(StreamRef::Name("cam"), before->version, 48).ok());
  Result<StreamInfo> after = b->DescribeStream(StreamRef::Name("cam"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->retention_hours, 48);
  EXPECT_NE(after->version, before->version);
  // b's own change, with the version a made: accepted.
  EXPECT_TRUE(b->UpdateRetention(StreamRef::Name("cam"), after->version, 72).ok());
  Result<std::vector<StreamInfo>> listed = a->ListStreams("", "", 10);
  ASSERT_TRUE(listed.ok() && listed->size() == 1u);
  EXPECT_EQ((*listed)[0].retention_hours, 72);

  // Deleted on a while b owns it: b's cache drops it and its lease goes with it.
  ASSERT_TRUE(b->ClaimStream(StreamRef::Name("cam")).ok());
  ASSERT_TRUE(AppendSync(*b, "cam", Fragment(1)).ok());
  std::atomic<int> heard{0};
  b->AddStreamDeletedListener([&](const std::string& name) {
    if (name == "cam") ++heard;
  });
  ASSERT_TRUE(a->DeleteStream(StreamRef::Name("cam"), "").ok());
  EXPECT_EQ(b->DescribeStream(StreamRef::Name("cam")).status().code(), Code::kNotFound);
  EXPECT_TRUE(WaitFor([&] { return heard.load() == 1; }, 10'000));
  EXPECT_EQ(AppendSync(*b, "cam", Fragment(2)).status().code(), Code::kNotFound);
  // b's rows of it go at b's next sweep (the sweeper thread is off here).
  EXPECT_TRUE(WaitFor(
      [&] {
        b->Sweep().IgnoreError();
        return Count("SELECT count(*) FROM fragments") == 0;
      },
      10'000));
}

TEST_F(ClusterTest, ANodeWithoutANodeIdKeepsTheIndexToItself) {
  auto a = OpenNode("node-a");
  ASSERT_TRUE(a);
  Options solo = NodeOptions("solo");
  solo.node_id.clear();
  Result<std::unique_ptr<Archive>> refused = OpenLocalArchive(solo, *env_, clock_, logger_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  a.reset();
  Result<std::unique_ptr<Archive>> alone = OpenLocalArchive(solo, *env_, clock_, logger_);
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  Result<std::unique_ptr<Archive>> joiner =
      OpenLocalArchive(NodeOptions("node-b"), *env_, clock_, logger_);
  ASSERT_FALSE(joiner.ok());
  EXPECT_EQ(joiner.status().code(), Code::kFailedPrecondition) << joiner.status().ToString();
  EXPECT_NE(joiner.status().message().find("node-id"), std::string::npos);
}

TEST_F(ClusterTest, ANodeIdNeedsAPostgresIndex) {
  Options o = NodeOptions("node-a");
  o.index.clear();
  Result<std::unique_ptr<Archive>> a = OpenLocalArchive(o, *env_, clock_, logger_);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("PostgreSQL"), std::string::npos);
}

}  // namespace
}  // namespace streamarc::archive
