// The PutEvents wire format: the request the server parses and every kind of answer.
#include "frametap/events_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace streamarc::frametap {
namespace {

using nlohmann::json;

TEST(PutEventsRequestJson, KvsStyleFieldsAndExactSeconds) {
  std::vector<Event> events = {
      {"motion", 1'700'000'003'040'000, 1'700'000'005'000'001, 0.25, std::nullopt, ""},
      {"person", 1'700'000'000'000'000, 1'700'000'000'500'000, 1.5, Box{1, 2, 30, 40}, "hog"}};
  json j = json::parse(PutEventsRequestJson("cam1", events));
  EXPECT_EQ(j["StreamName"], "cam1");
  ASSERT_EQ(j["Events"].size(), 2u);
  const json& m = j["Events"][0];
  EXPECT_EQ(m["Label"], "motion");
  EXPECT_FALSE(m.contains("Box"));
  EXPECT_FALSE(m.contains("Source"));
  EXPECT_DOUBLE_EQ(m["Score"].get<double>(), 0.25);
  // Seconds with fractions that round back to the microsecond (as the server rounds).
  EXPECT_EQ(std::llround(m["StartTimestamp"].get<double>() * 1e6), 1'700'000'003'040'000);
  EXPECT_EQ(std::llround(m["EndTimestamp"].get<double>() * 1e6), 1'700'000'005'000'001);
  const json& p = j["Events"][1];
  EXPECT_EQ(p["Box"], (json{{"X", 1}, {"Y", 2}, {"Width", 30}, {"Height", 40}}));
  EXPECT_EQ(p["Source"], "hog");
  // A label that is not UTF-8 is the server's to refuse, not an exception here.
  EXPECT_NO_THROW(PutEventsRequestJson("cam1", {{"\xff\xfe", 0, 0, 0, std::nullopt, ""}}));
}

TEST(ParsePutEventsReply, Ids) {
  auto ids = ParsePutEventsReply(200, R"({"EventIds":["a","b"]})", "", 2);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
}

TEST(ParsePutEventsReply, KvsErrorsKeepTheirType) {
  auto r =
      ParsePutEventsReply(404, R"({"Message":"no stream cam9"})", "ResourceNotFoundException", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "ResourceNotFoundException: no stream cam9");
  r = ParsePutEventsReply(400, R"({"Message":"Label is empty"})", "InvalidArgumentException", 1);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "InvalidArgumentException: Label is empty");
  r = ParsePutEventsReply(403, "{}", "NotAuthorizedException", 1);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  r = ParsePutEventsReply(503, "busy", "", 1);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "HTTP 503: busy");
}

TEST(ParsePutEventsReply, MalformedAnswersAreDataLoss) {
  for (const char* body :
       {"", "null", "[]", "{", R"({"EventIds":"a"})", R"({"EventIds":[1]})", R"({"Ids":["a"]})",
        R"({"EventIds":["a","b"]})", R"({"EventIds":[]})", "\xff"}) {
    auto r = ParsePutEventsReply(200, body, "", 1);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kDataLoss) << body;
    }
  }
}

}  // namespace
}  // namespace streamarc::frametap
