// PutEvents / ListEvents request parsing: what is accepted, and the KVS exception each
// malformed input gets (every refusal branch of playback/events_request.cc).
#include "playback/events_request.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "common/kvs_error.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;

json GoodEvent() {
  return {{"Label", "person"},
          {"StartTimestamp", 1767225600.25},
          {"EndTimestamp", 1767225601.5},
          {"Score", 0.9},
          {"Box", {{"X", 10}, {"Y", 20}, {"Width", 30}, {"Height", 40}}},
          {"Source", "hog@cam-1"}};
}

json GoodPut() { return {{"StreamName", "cam"}, {"Events", json::array({GoodEvent()})}}; }

// The exception KVS's front door would answer, and (part of) the message.
void ExpectPutRefused(const json& body, KvsErrorType type, const std::string& message) {
  Result<PutEventsRequest> r = ParsePutEventsRequest(body.dump());
  ASSERT_FALSE(r.ok()) << body.dump();
  EXPECT_EQ(KvsErrorFromStatus(r.status()).type, type) << r.status().ToString();
  EXPECT_NE(r.status().message().find(message), std::string::npos)
      << r.status().ToString() << " for " << body.dump().substr(0, 300);
}

void ExpectListRefused(const std::string& body, const std::string& message) {
  Result<archive::ListEventsRequest> r = ParseListEventsRequest(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(KvsErrorFromStatus(r.status()).type, KvsErrorType::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message), std::string::npos) << r.status().ToString();
}

TEST(EventsRequestTest, ParsesAPutWithEveryField) {
  Result<PutEventsRequest> r = ParsePutEventsRequest(GoodPut().dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream.name, "cam");
  ASSERT_EQ(r->events.size(), 1u);
  const archive::EventInput& e = r->events[0];
  EXPECT_EQ(e.label, "person");
  EXPECT_EQ(e.start_us, 1'767'225'600'250'000);
  EXPECT_EQ(e.end_us, 1'767'225'601'500'000);
  EXPECT_DOUBLE_EQ(e.score, 0.9);
  ASSERT_TRUE(e.box.has_value());
  EXPECT_EQ(*e.box, (archive::EventBox{10, 20, 30, 40}));
  EXPECT_EQ(e.source, "hog@cam-1");

  // Box and Source are optional; by ARN; an instant (start == end); the 24-hour maximum.
  json minimal = {
      {"StreamARN", "arn:aws:kinesisvideo:us-west-2:000000000000:stream/cam/1"},
      {"Events",
       {{{"Label", "motion"}, {"StartTimestamp", 100}, {"EndTimestamp", 100 + 86400}, {"Score", 0}},
        {{"Label", "a b:c/d=e+f@g-h_i.j"},
         {"StartTimestamp", 5},
         {"EndTimestamp", 5},
         {"Score", 1}}}}};
  r = ParsePutEventsRequest(minimal.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->stream.arn.empty());
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_FALSE(r->events[0].box.has_value());
  EXPECT_EQ(r->events[0].source, "");
  EXPECT_EQ(r->events[0].end_us - r->events[0].start_us, archive::kMaxEventDurationUs);
}

TEST(EventsRequestTest, RefusesMalformedPuts) {
  using T = KvsErrorType;
  for (const char* raw : {"", "{", "[]", "\"x\"", "{\"StreamName\":\"cam\",}"}) {
    Result<PutEventsRequest> r = ParsePutEventsRequest(raw);
    ASSERT_FALSE(r.ok()) << raw;
    EXPECT_EQ(KvsErrorFromStatus(r.status()).type, T::kInvalidArgument);
  }
  json j = GoodPut();
  j.erase("StreamName");
  ExpectPutRefused(j, T::kInvalidArgument, "exactly one of StreamName or StreamARN");
  j = GoodPut();
  j["StreamARN"] = "arn:x";
  ExpectPutRefused(j, T::kInvalidArgument, "exactly one of StreamName or StreamARN");
  j = GoodPut();
  j["StreamName"] = "bad name!";
  ExpectPutRefused(j, T::kInvalidArgument, "stream name");
  j = GoodPut();
  j["StreamName"] = 7;
  ExpectPutRefused(j, T::kInvalidArgument, "StreamName must be a string");

  j = GoodPut();
  j.erase("Events");
  ExpectPutRefused(j, T::kInvalidArgument, "Events is required");
  j["Events"] = json::object();
  ExpectPutRefused(j, T::kInvalidArgument, "Events must be a list");
  j["Events"] = json::array();
  ExpectPutRefused(j, T::kInvalidArgument, "at least one event");
  j["Events"] = json::array();
  for (size_t i = 0; i <= archive::kMaxEventsPerPut; ++i) j["Events"].push_back(GoodEvent());
  ExpectPutRefused(j, T::kClientLimitExceeded, "at most 100 events");
  j["Events"] = json::array({GoodEvent(), 3});
  ExpectPutRefused(j, T::kInvalidArgument, "Events[1]: must be an object");

  // One field at a time on the second event.
  auto refuse_event = [](const std::function<void(json&)>& edit, const std::string& message) {
    json body = GoodPut();
    json e = GoodEvent();
    edit(e);
    body["Events"].push_back(e);
    ExpectPutRefused(body, T::kInvalidArgument, "Events[1]: " + message);
  };
  refuse_event([](json& e) { e.erase("Label"); }, "Label is required");
  refuse_event([](json& e) { e["Label"] = 1; }, "Label must be a string");
  refuse_event([](json& e) { e["Label"] = ""; }, "Label must be 1 to 256 characters");
  refuse_event([](json& e) { e["Label"] = std::string(257, 'a'); }, "Label must be 1 to 256");
  refuse_event([](json& e) { e["Label"] = "tab\there"; }, "Label may hold only");
  refuse_event([](json& e) { e["Label"] = "caf\xc3\xa9"; }, "Label may hold only");
  refuse_event([](json& e) { e.erase("StartTimestamp"); }, "StartTimestamp is required");
  refuse_event([](json& e) { e["StartTimestamp"] = "2026-01-01T00:00:00Z"; },
               "StartTimestamp must be a number");
  refuse_event([](json& e) { e["StartTimestamp"] = -1; }, "StartTimestamp is out of range");
  refuse_event([](json& e) { e["EndTimestamp"] = 1e12; }, "EndTimestamp is out of range");
  refuse_event([](json& e) { e.erase("EndTimestamp"); }, "EndTimestamp is required");
  refuse_event([](json& e) { e["EndTimestamp"] = 1767225600.0; },
               "EndTimestamp must not be before StartTimestamp");
  refuse_event([](json& e) { e["EndTimestamp"] = 1767225600.25 + 86400.001; },
               "an event may last at most 24 hours");
  refuse_event([](json& e) { e.erase("Score"); }, "Score is required");
  refuse_event([](json& e) { e["Score"] = "high"; }, "Score must be a number");
  refuse_event([](json& e) { e["Score"] = 1.0001; }, "Score must be from 0 to 1");
  refuse_event([](json& e) { e["Score"] = -0.5; }, "Score must be from 0 to 1");
  refuse_event([](json& e) { e["Box"] = json::array({1, 2, 3, 4}); }, "Box must be an object");
  refuse_event([](json& e) { e["Box"].erase("Height"); }, "Box.Height is required");
  refuse_event([](json& e) { e["Box"]["X"] = 1.5; }, "Box.X must be an integer");
  refuse_event([](json& e) { e["Box"]["Y"] = -1; }, "Box.Y must be 0 to 65535");
  refuse_event([](json& e) { e["Box"]["Width"] = 0; }, "Box.Width must be 1 to 65535");
  refuse_event([](json& e) { e["Box"]["Height"] = 65536; }, "Box.Height must be 1 to 65535");
  refuse_event([](json& e) { e["Box"]["X"] = 18446744073709551615u; }, "Box.X must be 0 to");
  refuse_event([](json& e) { e["Source"] = ""; }, "Source must be 1 to 256 characters");
  refuse_event([](json& e) { e["Source"] = "a\nb"; }, "Source may hold only");
  refuse_event([](json& e) { e["Source"] = json::object(); }, "Source must be a string");
  // null is an absent optional field, as in the other APIs.
  json body = GoodPut();
  body["Events"][0]["Box"] = nullptr;
  body["Events"][0]["Source"] = nullptr;
  EXPECT_TRUE(ParsePutEventsRequest(body.dump()).ok());
}

TEST(EventsRequestTest, ParsesAListWithDefaultsAndATokenAlone) {
  Result<archive::ListEventsRequest> r = ParseListEventsRequest(
      R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":10.5,"EndTimestamp":20}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->start_us, 10'500'000);
  EXPECT_EQ(r->end_us, 20'000'000);
  EXPECT_EQ(r->max_results, kDefaultListEventsMaxResults);
  EXPECT_EQ(r->label, "");
  r = ParseListEventsRequest(
      R"({"StreamName":"cam","Label":"person","MaxResults":1000,"NextToken":"abc+/w==",)"
      R"("TimestampRange":{"StartTimestamp":1,"EndTimestamp":1}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->label, "person");
  EXPECT_EQ(r->max_results, 1000);
  EXPECT_EQ(r->next_token, "abc+/w==");
  r = ParseListEventsRequest(R"({"StreamName":"cam","NextToken":"abcd"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(EventsRequestTest, RefusesMalformedLists) {
  const std::string range = R"("TimestampRange":{"StartTimestamp":10,"EndTimestamp":20})";
  ExpectListRefused("nope", "not valid JSON");
  ExpectListRefused("[1]", "must be a JSON object");
  ExpectListRefused("{" + range + "}", "exactly one of StreamName or StreamARN");
  ExpectListRefused(R"({"StreamName":"cam"})", "TimestampRange is required");
  ExpectListRefused(R"({"StreamName":"cam","TimestampRange":5})", "must be an object");
  ExpectListRefused(R"({"StreamName":"cam","TimestampRange":{"EndTimestamp":1}})",
                    "StartTimestamp is required");
  ExpectListRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":1}})",
                    "EndTimestamp is required");
  ExpectListRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":2,)"
                    R"("EndTimestamp":1}})",
                    "must not be before");
  for (const char* m : {"0", "1001", "-5", "1.5", "\"10\"", "18446744073709551615"}) {
    ExpectListRefused(R"({"StreamName":"cam","MaxResults":)" + std::string(m) + "," + range + "}",
                      "MaxResults must be");
  }
  ExpectListRefused(R"({"StreamName":"cam","Label":"",)" + range + "}", "Label must be 1 to 256");
  ExpectListRefused(R"({"StreamName":"cam","Label":"a;b",)" + range + "}", "Label may hold only");
  ExpectListRefused(R"({"StreamName":"cam","NextToken":"",)" + range + "}", "NextToken must be");
  ExpectListRefused(R"({"StreamName":"cam","NextToken":"a-b_"})", "NextToken must match");
  ExpectListRefused(R"({"StreamName":"cam","NextToken":7})", "NextToken must be a string");
}

TEST(EventsRequestTest, AnswersInKvsJsonStyle) {
  EXPECT_EQ(json::parse(PutEventsResponseJson({"7", "8"})),
            json::parse(R"({"EventIds":["7","8"]})"));
  archive::ListEventsResult page;
  archive::EventInput a;
  a.label = "person";
  a.start_us = 1'767'225'600'250'000;
  a.end_us = 1'767'225'601'000'000;
  a.score = 0.5;
  a.box = archive::EventBox{1, 2, 3, 4};
  a.source = "hog";
  archive::EventInput b;
  b.label = "motion";
  page.events = {{"7", a}, {"9", b}};
  page.next_token = "dG9rZW4=";
  json j = json::parse(ListEventsResponseJson(page));
  ASSERT_EQ(j["Events"].size(), 2u);
  EXPECT_EQ(j["Events"][0]["EventId"], "7");
  EXPECT_EQ(j["Events"][0]["Label"], "person");
  EXPECT_DOUBLE_EQ(j["Events"][0]["StartTimestamp"].get<double>(), 1767225600.25);
  EXPECT_DOUBLE_EQ(j["Events"][0]["EndTimestamp"].get<double>(), 1767225601.0);
  EXPECT_DOUBLE_EQ(j["Events"][0]["Score"].get<double>(), 0.5);
  EXPECT_EQ(j["Events"][0]["Box"], json::parse(R"({"X":1,"Y":2,"Width":3,"Height":4})"));
  EXPECT_EQ(j["Events"][0]["Source"], "hog");
  EXPECT_FALSE(j["Events"][1].contains("Box"));
  EXPECT_FALSE(j["Events"][1].contains("Source"));
  EXPECT_EQ(j["NextToken"], "dG9rZW4=");
  page.next_token.clear();
  EXPECT_FALSE(json::parse(ListEventsResponseJson(page)).contains("NextToken"));
}

}  // namespace
}  // namespace streamarc::playback
