// Analysis events end to end: putEvents and listEvents over loopback HTTP against the real
// streamarcd (curl, as a user's script would call them), kept across a restart, and every
// refusal in KVS's error shape (status, x-amzn-ErrorType, {"Message"}).
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlReply;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

class EventsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    CurlCreateStream(server_.url(), "cam");
  }

  json Post(const std::string& op, const json& body) {
    CurlReply r = CurlPost(server_.url() + "/" + op, body.dump(), {"-m", "30"});
    EXPECT_EQ(r.status, 200) << op << ": " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  // Every event of `query` (a listEvents body without NextToken), paging by NextToken.
  std::vector<json> ListAll(json query, int* pages) {
    std::vector<json> out;
    for (int guard = 0; guard < 100; ++guard) {
      json page = Post("listEvents", query);
      ++*pages;
      for (const json& e : page["Events"]) out.push_back(e);
      if (!page.contains("NextToken")) break;
      // The token carries the range and label; the stream is named again, as KVS's APIs ask.
      json next = {{"MaxResults", query["MaxResults"]}, {"NextToken", page["NextToken"]}};
      for (const char* key : {"StreamName", "StreamARN"}) {
        if (query.contains(key)) next[key] = query[key];
      }
      query = next;
    }
    return out;
  }

  // The raw response (head and body) of a POST, for the error shape.
  std::string Raw(const std::string& op, const std::string& body) {
    auto r = RunCommand({"curl", "-sS", "-i", "-m", "30", "-X", "POST", "-H",
                         "content-type: application/json", "--data-binary", body,
                         server_.url() + "/" + op});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  void ExpectError(const std::string& op, const std::string& body, int status,
                   const std::string& type, const std::string& message) {
    std::string r = Raw(op, body);
    EXPECT_NE(r.find("HTTP/1.1 " + std::to_string(status)), std::string::npos) << r;
    EXPECT_NE(r.find("x-amzn-errortype: " + type + "\r\n"), std::string::npos) << r;
    EXPECT_NE(r.find("x-amzn-requestid: "), std::string::npos) << r;
    const size_t start = r.find("\r\n\r\n");
    ASSERT_NE(start, std::string::npos) << r;
    json j = json::parse(r.substr(start + 4), nullptr, false);
    ASSERT_TRUE(j.is_object()) << r;
    ASSERT_TRUE(j.contains("Message")) << r;
    EXPECT_NE(j["Message"].get<std::string>().find(message), std::string::npos) << r;
  }

  TempDir dir_;
  ServerProcess server_;
  // Producer time near now: the server's sweep keeps the events of a stream without video
  // for its retention (24 h here).
  const double now_ = static_cast<double>(std::time(nullptr));
};

TEST_F(EventsE2eTest, PutThenListRoundTripsBoxesAndPages) {
  // 150 events, one per second over the last minutes, in two requests; every third a person
  // with a box.
  std::vector<std::string> ids;
  for (int part = 0; part < 2; ++part) {
    json events = json::array();
    for (int i = part * 100; i < (part == 0 ? 100 : 150); ++i) {
      json e = {{"Label", i % 3 == 0 ? "person" : "motion"},
                {"StartTimestamp", now_ - 600 + i + 0.25},
                {"EndTimestamp", now_ - 600 + i + 0.75},
                {"Score", (i % 10) / 10.0},
                {"Source", "e2e"}};
      if (i % 3 == 0) e["Box"] = {{"X", i}, {"Y", 2 * i}, {"Width", 64}, {"Height", 128}};
      events.push_back(e);
    }
    json put = Post("putEvents", {{"StreamName", "cam"}, {"Events", events}});
    ASSERT_TRUE(put["EventIds"].is_array()) << put;
    ASSERT_EQ(put["EventIds"].size(), events.size());
    for (const json& id : put["EventIds"]) ids.push_back(id);
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 150u);

  // The whole span in pages of 40: 150 events in start order, each once, as stored.
  int pages = 0;
  std::vector<json> all =
      ListAll({{"StreamName", "cam"},
               {"MaxResults", 40},
               {"TimestampRange", {{"StartTimestamp", now_ - 3600}, {"EndTimestamp", now_}}}},
              &pages);
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(all.size(), 150u);
  for (size_t i = 0; i < all.size(); ++i) {
    const json& e = all[i];
    EXPECT_EQ(e["EventId"], ids[i]);
    EXPECT_EQ(e["Label"], i % 3 == 0 ? "person" : "motion");
    EXPECT_NEAR(e["StartTimestamp"].get<double>(), now_ - 600 + i + 0.25, 1e-6);
    EXPECT_NEAR(e["EndTimestamp"].get<double>(), now_ - 600 + i + 0.75, 1e-6);
    EXPECT_NEAR(e["Score"].get<double>(), (i % 10) / 10.0, 1e-12);
    EXPECT_EQ(e["Source"], "e2e");
    if (i % 3 == 0) {
      EXPECT_EQ(e["Box"], (json{{"X", i}, {"Y", 2 * i}, {"Width", 64}, {"Height", 128}}));
    } else {
      EXPECT_FALSE(e.contains("Box")) << e;
    }
  }

  // A 10-second range with a label, by ARN: the people overlapping it (an event ending
  // exactly at the range's start counts).
  json described = Post("describeStream", {{"StreamName", "cam"}});
  const std::string arn = described["StreamInfo"]["StreamARN"];
  pages = 0;
  std::vector<json> people =
      ListAll({{"StreamARN", arn},
               {"Label", "person"},
               {"MaxResults", 2},
               {"TimestampRange",
                {{"StartTimestamp", now_ - 600 + 30.75}, {"EndTimestamp", now_ - 600 + 40.5}}}},
              &pages);
  ASSERT_EQ(people.size(), 4u);  // starts at 30, 33, 36, 39
  EXPECT_EQ(people[0]["EventId"], ids[30]);
  EXPECT_EQ(people[3]["EventId"], ids[39]);
  EXPECT_EQ(pages, 2);

  // Stored in the index: a restarted server lists the same.
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
  pages = 0;
  std::vector<json> again =
      ListAll({{"StreamName", "cam"},
               {"MaxResults", 1000},
               {"TimestampRange", {{"StartTimestamp", now_ - 3600}, {"EndTimestamp", now_}}}},
              &pages);
  EXPECT_EQ(again, all);
}

TEST_F(EventsE2eTest, RefusalsComeBackInKvsErrorShape) {
  const json event = {{"Label", "motion"},
                      {"StartTimestamp", now_ - 10},
                      {"EndTimestamp", now_ - 5},
                      {"Score", 0.5}};
  const std::string range = json{{"StartTimestamp", now_ - 60}, {"EndTimestamp", now_}}.dump();
  ExpectError("putEvents", "{not json", 400, "InvalidArgumentException", "not valid JSON");
  ExpectError("putEvents", json{{"StreamName", "nope"}, {"Events", {event}}}.dump(), 404,
              "ResourceNotFoundException", "nope");
  ExpectError("putEvents", json{{"Events", {event}}}.dump(), 400, "InvalidArgumentException",
              "exactly one of StreamName or StreamARN");
  json bad = event;
  bad["EndTimestamp"] = now_ - 20;
  ExpectError("putEvents", json{{"StreamName", "cam"}, {"Events", {event, bad}}}.dump(), 400,
              "InvalidArgumentException", "Events[1]: EndTimestamp must not be before");
  bad = event;
  bad["Box"] = {{"X", -1}, {"Y", 0}, {"Width", 1}, {"Height", 1}};
  ExpectError("putEvents", json{{"StreamName", "cam"}, {"Events", {bad}}}.dump(), 400,
              "InvalidArgumentException", "Box.X must be 0 to 65535");
  bad = event;
  bad["Score"] = 2;
  ExpectError("putEvents", json{{"StreamName", "cam"}, {"Events", {bad}}}.dump(), 400,
              "InvalidArgumentException", "Score must be from 0 to 1");
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back(event);
  ExpectError("putEvents", json{{"StreamName", "cam"}, {"Events", many}}.dump(), 400,
              "ClientLimitExceededException", "at most 100 events");
  CurlCreateStream(server_.url(), "live-only", 0);
  ExpectError("putEvents", json{{"StreamName", "live-only"}, {"Events", {event}}}.dump(), 400,
              "NoDataRetentionException", "keeps no data");

  ExpectError("listEvents", R"({"StreamName":"cam"})", 400, "InvalidArgumentException",
              "TimestampRange is required");
  ExpectError("listEvents", R"({"StreamName":"nope","TimestampRange":)" + range + "}", 404,
              "ResourceNotFoundException", "nope");
  ExpectError("listEvents", R"({"StreamName":"cam","MaxResults":0,"TimestampRange":)" + range + "}",
              400, "InvalidArgumentException", "MaxResults must be from 1 to 1000");
  ExpectError("listEvents", R"({"StreamName":"cam","NextToken":"bm90IGEgdG9rZW4="})", 400,
              "InvalidArgumentException", "invalid NextToken");
  ExpectError("listEvents", R"({"StreamName":"cam","NextToken":"%%%"})", 400,
              "InvalidArgumentException", "NextToken must match");
}

}  // namespace
}  // namespace streamarc::e2e
