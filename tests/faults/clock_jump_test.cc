// The server's wall clock jumping while cameras stream (issue 14). The daemon runs in process
// (the Daemon streamarcd's main builds) on a clock that follows real time and jumps when told;
// two cameras stream through our producer SDK over loopback on the system clock, as real
// cameras would. Forward by 30 minutes, back by two hours: recording goes on, every
// acknowledged fragment stays listed, readable and whole, the producer timestamps untouched.
// Then a jump far forward: retention (one hour) removes exactly what is older than an hour
// by the server's timestamps, nothing newer.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "tests/faults/fault_producer.h"
#include "tests/support/jumping_daemon.h"
#include "tests/support/subprocess.h"

namespace streamarc::faults {
namespace {

using streamarc::testing::JumpingClock;
using streamarc::testing::JumpingDaemon;
using streamarc::testing::TempDir;

constexpr int64_t kMinuteUs = 60'000'000;

class ClockJumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = server_.Start(dir_.File("data"));
    ASSERT_TRUE(s.ok()) << s.ToString();
    url_ = server_.url();
  }
  void TearDown() override {
    cams_.clear();  // before the daemon: their streams stop first
    server_.Stop();
  }

  // Every camera acknowledged at least `n` more fragments.
  void StreamFor(size_t n) {
    for (const auto& c : cams_) {
      const size_t before = c->persisted();
      for (size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(c->WaitForPersisted(before + i, std::chrono::seconds(30)))
            << c->name() << ": no PERSISTED ack after the clock moved";
      }
    }
  }
  // Every fragment acknowledged so far is listed, at its timestamp.
  void ExpectAcknowledgedListed(const std::string& when) {
    for (const auto& c : cams_) {
      std::map<std::string, int64_t> listed;
      for (const ReadFragment& f : ReadStream(url_, c->name())) {
        EXPECT_TRUE(f.error.empty()) << when << ": " << f.number << ": " << f.error;
        listed[f.number] = f.producer_ms;
      }
      for (const AckRecord& a : c->acks()) {
        auto it = listed.find(a.number);
        EXPECT_TRUE(it != listed.end()) << when << ": acknowledged " << a.number << " is gone";
        if (it != listed.end()) {
          EXPECT_EQ(it->second, a.timecode_ms) << when;
        }
      }
    }
  }

  TempDir dir_;
  JumpingDaemon server_;
  JumpingClock& clock_ = server_.clock();
  std::string url_;
  std::vector<std::unique_ptr<FaultProducer>> cams_;
};

TEST_F(ClockJumpTest, AcksAndRetentionFollowTheServerClockThroughJumps) {
  auto source = MakeSource(10, 20, 10, "320x240");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  producer::ClientOptions client;
  client.endpoint = url_;
  client.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  producer::StreamOptions so;
  so.fragment_duration_ms = 500;
  so.retention_hours = 1;
  so.retry_min_ms = 20;
  so.retry_max_ms = 200;
  for (int i = 0; i < 2; ++i) {
    cams_.push_back(std::make_unique<FaultProducer>(*source, "cam-clock-" + std::to_string(i)));
    Status s = cams_.back()->Start(client, so);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_NO_FATAL_FAILURE(StreamFor(3));

  // 30 minutes forward: half the retention. Nothing recorded so far may expire.
  clock_.Jump(30 * kMinuteUs);
  ASSERT_NO_FATAL_FAILURE(StreamFor(3));
  ExpectAcknowledgedListed("30 minutes forward");

  // Two hours back (a mis-set clock corrected the wrong way): what came before now lies in
  // the server's future; it stays, and new fragments go on being stored and acknowledged.
  clock_.JumpWall(-120 * kMinuteUs);
  ASSERT_NO_FATAL_FAILURE(StreamFor(3));
  ExpectAcknowledgedListed("two hours back");

  std::map<std::string, std::vector<ReadFragment>> before;
  for (const auto& c : cams_) {
    Status s = c->Finish(30'000);
    ASSERT_TRUE(s.ok()) << c->name() << ": " << s.ToString();
    EXPECT_TRUE(c->error_acks().empty());
    before[c->name()] = ReadStream(url_, c->name());
    const Tally t = CheckStream(*c, before[c->name()], false);
    EXPECT_EQ(t.acked_lost, 0u);
    EXPECT_GE(t.acked, 9u);
  }

  // Far forward, 2 h 45 min: the clock reads about 1 h 15 min past the first fragment. By
  // server timestamp the first fragments (T) and those stored after the jump back (T - 90
  // min) are past the one-hour retention, those stored after the 30-minute jump (T + 30 min)
  // are not. The check is exact: what stays is precisely what is younger than an hour.
  clock_.Freeze();
  clock_.JumpWall(165 * kMinuteUs);
  const int64_t cutoff_ms = (clock_.clock().NowMicros() - 60 * kMinuteUs) / 1000;
  size_t kept_total = 0, expired_total = 0;
  for (const auto& c : cams_) {
    std::set<std::string> expect_kept;
    for (const ReadFragment& f : before[c->name()]) {
      if (f.server_ms >= cutoff_ms) expect_kept.insert(f.number);
    }
    std::set<std::string> kept;
    for (const ReadFragment& f : ReadStream(url_, c->name())) {
      EXPECT_TRUE(f.error.empty()) << f.number << ": " << f.error;
      kept.insert(f.number);
    }
    EXPECT_EQ(kept, expect_kept) << c->name();
    kept_total += kept.size();
    expired_total += before[c->name()].size() - kept.size();
  }
  EXPECT_GT(kept_total, 0u);
  EXPECT_GT(expired_total, 0u);
  std::printf("clock jumps: %zu fragments kept, %zu expired after the last jump\n", kept_total,
              expired_total);
}

}  // namespace
}  // namespace streamarc::faults
