// frametap::PutEvents against the real streamarcd over loopback: ids for stored events (read
// back with listEvents by curl), and KVS's refusals as Status values naming the error type.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "frametap/frametap.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

using nlohmann::json;

class PutEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    testing::CurlCreateStream(server_.url(), "gate");
    options_.endpoint = server_.url();
    options_.stream_name = "gate";
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  testing::TempDir dir_;
  testing::ServerProcess server_;
  EventsClientOptions options_;
};

TEST_F(PutEventsTest, StoresEventsThatListEventsReturns) {
  std::vector<Event> events = {
      {"person", 1'700'000'000'040'000, 1'700'000'000'540'000, 0.75, Box{10, 20, 64, 128}, "hog"},
      {"motion", 1'700'000'003'000'000, 1'700'000'005'040'000, 0.02, std::nullopt, ""}};
  auto ids = PutEvents(options_, events);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_NE((*ids)[0], (*ids)[1]);

  auto listed = testing::CurlPost(
      server_.url() + "/listEvents",
      json{{"StreamName", "gate"},
           {"TimestampRange", {{"StartTimestamp", 1'700'000'000}, {"EndTimestamp", 1'700'000'010}}}}
          .dump());
  ASSERT_EQ(listed.status, 200) << listed.body;
  json got = json::parse(listed.body)["Events"];
  ASSERT_EQ(got.size(), 2u) << listed.body;
  EXPECT_EQ(got[0]["EventId"], (*ids)[0]);
  EXPECT_EQ(got[0]["Label"], "person");
  EXPECT_EQ(got[0]["Source"], "hog");
  EXPECT_EQ(got[0]["Box"], (json{{"X", 10}, {"Y", 20}, {"Width", 64}, {"Height", 128}}));
  EXPECT_EQ(std::llround(got[0]["StartTimestamp"].get<double>() * 1e6), events[0].start_us);
  EXPECT_EQ(std::llround(got[0]["EndTimestamp"].get<double>() * 1e6), events[0].end_us);
  EXPECT_EQ(got[1]["EventId"], (*ids)[1]);
  EXPECT_FALSE(got[1].contains("Box"));
  EXPECT_EQ(std::llround(got[1]["EndTimestamp"].get<double>() * 1e6), events[1].end_us);
  // Nothing to store: no call at all.
  auto none = PutEvents(options_, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// 250 events: three calls (the server takes 100 a call), the ids in the events' order.
TEST_F(PutEventsTest, MoreEventsThanOneCallTakesAreSplit) {
  std::vector<Event> events;
  for (int i = 0; i < 250; ++i) {
    const int64_t start = 1'700'000'000'000'000 + int64_t{i} * 10'000;
    events.push_back({"n" + std::to_string(i), start, start + 5'000, 0.5, std::nullopt, ""});
  }
  auto ids = PutEvents(options_, events);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), events.size());
  auto listed = testing::CurlPost(
      server_.url() + "/listEvents",
      json{{"StreamName", "gate"},
           {"MaxResults", 1000},
           {"TimestampRange", {{"StartTimestamp", 1'700'000'000}, {"EndTimestamp", 1'700'000'010}}}}
          .dump());
  ASSERT_EQ(listed.status, 200) << listed.body;
  json got = json::parse(listed.body)["Events"];
  ASSERT_EQ(got.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(got[i]["EventId"], (*ids)[i]) << i;
    EXPECT_EQ(got[i]["Label"], events[i].label) << i;
  }
}

TEST_F(PutEventsTest, RefusalsKeepKvsErrorTypes) {
  const Event ok{"motion", 1'700'000'000'000'000, 1'700'000'001'000'000, 0.5, std::nullopt, ""};
  EventsClientOptions missing = options_;
  missing.stream_name = "no-such-stream";
  auto r = PutEvents(missing, {ok});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind("ResourceNotFoundException: ", 0), 0u)
      << r.status().ToString();

  Event backwards = ok;
  backwards.end_us = ok.start_us - 1;
  r = PutEvents(options_, {backwards});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind("InvalidArgumentException: ", 0), 0u)
      << r.status().ToString();

  Event unlabelled = ok;
  unlabelled.label = "";
  r = PutEvents(options_, {unlabelled});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();

  // Nothing listening: kUnavailable, as for every control-plane call.
  EXPECT_EQ(server_.Stop(), 0);
  r = PutEvents(options_, {ok});
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

}  // namespace
}  // namespace streamarc::frametap
