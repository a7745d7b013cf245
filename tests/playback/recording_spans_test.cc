// ListRecordingSpans without a server: request parsing (what is accepted, the KVS exception
// every malformed input gets), the answer's JSON, and the service over a real archive.
#include "playback/recording_spans.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/kvs_error.h"
#include "playback/recording_spans_request.h"
#include "tests/archive/test_util.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;
constexpr int64_t kSecond = 1'000'000;
const std::string kRange =
    R"("TimestampRange":{"StartTimestamp":1767225600.5,"EndTimestamp":1767229200})";

void ExpectRefused(const std::string& body, const std::string& message) {
  Result<archive::ListSpansRequest> r = ParseListSpansRequest(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(KvsErrorFromStatus(r.status()).type, KvsErrorType::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message), std::string::npos)
      << r.status().ToString() << " for " << body;
}

TEST(RecordingSpansRequestTest, ParsesEveryFieldAndTheDefaults) {
  Result<archive::ListSpansRequest> r = ParseListSpansRequest(
      R"({"StreamName":"cam","TimestampType":"SERVER_TIMESTAMP","MinGapSeconds":2592.5,)"
      R"("MaxResults":10000,)" +
      kRange + "}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream.name, "cam");
  EXPECT_EQ(r->type, archive::TimestampType::kServer);
  EXPECT_EQ(r->min_gap_us, 2'592'500'000);
  EXPECT_EQ(r->max_results, 10'000);
  EXPECT_EQ(r->start_us, 1'767'225'600'500'000);
  EXPECT_EQ(r->end_us, 1'767'229'200'000'000);
  EXPECT_TRUE(r->next_token.empty());

  r = ParseListSpansRequest(R"({"StreamARN":"arn:aws:kinesisvideo:us-west-2:000000000000:)"
                            R"(stream/cam/1","TimestampType":"PRODUCER_TIMESTAMP",)" +
                            kRange + "}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->type, archive::TimestampType::kProducer);
  r = ParseListSpansRequest(R"({"StreamName":"cam",)" + kRange + "}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, archive::TimestampType::kProducer);
  EXPECT_EQ(r->min_gap_us, 0);
  EXPECT_EQ(r->max_results, kDefaultListSpansMaxResults);
  // A token alone carries the query.
  r = ParseListSpansRequest(R"({"StreamName":"cam","NextToken":"czE6MQ=="})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->next_token, "czE6MQ==");
}

TEST(RecordingSpansRequestTest, RefusesMalformedInput) {
  ExpectRefused("nope", "not valid JSON");
  ExpectRefused("[1]", "must be a JSON object");
  ExpectRefused("{" + kRange + "}", "exactly one of StreamName or StreamARN");
  ExpectRefused(R"({"StreamName":"c m",)" + kRange + "}", "stream name may hold only");
  ExpectRefused(R"({"StreamName":"cam"})", "TimestampRange is required");
  ExpectRefused(R"({"StreamName":"cam","TimestampRange":[]})", "must be an object");
  ExpectRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":1}})",
                "EndTimestamp is required");
  ExpectRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":"1","EndTimestamp":2}})",
                "StartTimestamp must be a number");
  ExpectRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":2,"EndTimestamp":1}})",
                "EndTimestamp must not be before StartTimestamp");
  ExpectRefused(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":-1,"EndTimestamp":1}})",
                "StartTimestamp");
  for (const char* t : {"\"producer_timestamp\"", "\"\"", "1", "null"}) {
    const std::string body =
        R"({"StreamName":"cam","TimestampType":)" + std::string(t) + "," + kRange + "}";
    if (std::string(t) == "null") {
      EXPECT_TRUE(ParseListSpansRequest(body).ok());  // absent, like KVS's optional fields
      continue;
    }
    ExpectRefused(body, "TimestampType must be");
  }
  for (const char* g : {"-1", "-0.000001", "\"5\"", "true", "1e300", "315360001"}) {
    ExpectRefused(R"({"StreamName":"cam","MinGapSeconds":)" + std::string(g) + "," + kRange + "}",
                  "MinGapSeconds must be");
  }
  for (const char* m : {"0", "10001", "-5", "1.5", "\"10\"", "18446744073709551615"}) {
    ExpectRefused(R"({"StreamName":"cam","MaxResults":)" + std::string(m) + "," + kRange + "}",
                  "MaxResults must be");
  }
  ExpectRefused(R"({"StreamName":"cam","NextToken":"",)" + kRange + "}", "NextToken must be");
  ExpectRefused(R"({"StreamName":"cam","NextToken":"a-b_"})", "NextToken must match");
  ExpectRefused(R"({"StreamName":"cam","NextToken":7})", "NextToken must be a string");
}

TEST(RecordingSpansRequestTest, AnswersEpochSecondsAtMillisecondPrecision) {
  archive::ListSpansResult result;
  result.spans.push_back({1'767'225'600'000'400, 1'767'225'660'000'001, 30, 123'456});
  result.spans.push_back({1'767'225'700'000'000, 1'767'225'702'000'000, 1, 7});
  json j = json::parse(ListSpansResponseJson(result));
  ASSERT_EQ(j["Spans"].size(), 2u);
  // The start rounded down, the end up: the span still covers its fragments.
  EXPECT_DOUBLE_EQ(j["Spans"][0]["StartTimestamp"].get<double>(), 1767225600.0);
  EXPECT_DOUBLE_EQ(j["Spans"][0]["EndTimestamp"].get<double>(), 1767225660.001);
  EXPECT_EQ(j["Spans"][0]["FragmentCount"], 30);
  EXPECT_EQ(j["Spans"][0]["SizeInBytes"], 123'456);
  EXPECT_DOUBLE_EQ(j["Spans"][1]["EndTimestamp"].get<double>(), 1767225702.0);
  EXPECT_FALSE(j.contains("NextToken"));
  result.next_token = "abc=";
  EXPECT_EQ(json::parse(ListSpansResponseJson(result))["NextToken"], "abc=");
  EXPECT_EQ(ListSpansResponseJson({}), R"({"Spans":[]})");
}

TEST(RecordingSpansServiceTest, AnswersFromTheArchiveAndMapsItsErrors) {
  using archive::testing::AppendSync;
  using archive::testing::kStartUs;
  using archive::testing::MakeFragment;
  archive::testing::Harness h;
  h.options.sync = false;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  // 10 fragments, a 10-second gap, 5 fragments (2 s each, producer = server - 0.5 s).
  for (int i = 0; i < 15; ++i) {
    const int64_t at = kStartUs + i * 2 * kSecond + (i >= 10 ? 10 * kSecond : 0);
    ASSERT_TRUE(AppendSync(h.a(), "cam", MakeFragment(at, 100, static_cast<uint64_t>(i))).ok());
  }
  RecordingSpansService svc(h.a());
  const std::string range = R"("TimestampRange":{"StartTimestamp":1767225000,"EndTimestamp":)"
                            R"(1767226000})";
  Result<std::string, KvsError> r =
      svc.ListRecordingSpans(R"({"StreamName":"cam","MaxResults":1,)" + range + "}");
  ASSERT_TRUE(r.ok()) << r.error().status.ToString();
  json page = json::parse(*r);
  ASSERT_EQ(page["Spans"].size(), 1u);
  EXPECT_DOUBLE_EQ(page["Spans"][0]["StartTimestamp"].get<double>(), 1767225599.5);
  EXPECT_DOUBLE_EQ(page["Spans"][0]["EndTimestamp"].get<double>(), 1767225619.5);
  EXPECT_EQ(page["Spans"][0]["FragmentCount"], 10);
  EXPECT_EQ(page["Spans"][0]["SizeInBytes"], 1000);
  ASSERT_TRUE(page.contains("NextToken"));
  r = svc.ListRecordingSpans(R"({"StreamName":"cam","NextToken":)" + page["NextToken"].dump() +
                             "}");
  ASSERT_TRUE(r.ok()) << r.error().status.ToString();
  page = json::parse(*r);
  ASSERT_EQ(page["Spans"].size(), 1u);
  EXPECT_DOUBLE_EQ(page["Spans"][0]["StartTimestamp"].get<double>(), 1767225629.5);
  EXPECT_EQ(page["Spans"][0]["FragmentCount"], 5);
  EXPECT_FALSE(page.contains("NextToken"));
  // Server time, merged over the 10-second gap.
  r = svc.ListRecordingSpans(
      R"({"StreamName":"cam","TimestampType":"SERVER_TIMESTAMP","MinGapSeconds":10.5,)" + range +
      "}");
  ASSERT_TRUE(r.ok());
  page = json::parse(*r);
  ASSERT_EQ(page["Spans"].size(), 1u);
  EXPECT_DOUBLE_EQ(page["Spans"][0]["StartTimestamp"].get<double>(), 1767225600.0);
  EXPECT_DOUBLE_EQ(page["Spans"][0]["EndTimestamp"].get<double>(), 1767225640.0);
  EXPECT_EQ(page["Spans"][0]["FragmentCount"], 15);

  r = svc.ListRecordingSpans(R"({"StreamName":"nope",)" + range + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, KvsErrorType::kResourceNotFound);
  r = svc.ListRecordingSpans(R"({"StreamName":"cam","NextToken":"bm90IG91cnM="})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, KvsErrorType::kInvalidArgument);
  r = svc.ListRecordingSpans(R"({"StreamName":"cam","MinGapSeconds":-3,)" + range + "}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, KvsErrorType::kInvalidArgument);
}

}  // namespace
}  // namespace streamarc::playback
