// Recorded spans end to end: real media pushed by curl's PutMedia into the real streamarcd
// with a hole in its producer timestamps, then POST /listRecordingSpans compared with what
// ListFragments says, merged here by the documented rule (100 ms of producer time, 1 s of
// server time); paging, MinGapSeconds, a restart, and every refusal in KVS's error shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::CurlReply;
using streamarc::testing::ListAllFragments;
using streamarc::testing::MakeMedia;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

constexpr double kP0 = 1767225600;  // the first push's producer start, epoch seconds

struct Span {
  double start = 0, end = 0;
  int64_t fragments = 0, bytes = 0;
};

class SpansE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
    CurlCreateStream(server_.url(), "cam");
  }

  // kH264AacMkv (6 s, 25 fps, a key frame a second) with producer times from `start`.
  void Push(double start) {
    auto media = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(media.ok()) << media.status().ToString();
    char s[32];
    std::snprintf(s, sizeof s, "%.3f", start);
    const std::string out = CurlPutMedia(server_.url(), {"cam", *media, s, true, {}});
    ASSERT_NE(out.find("PERSISTED"), std::string::npos) << out;
    ASSERT_EQ(out.find("\"ERROR\""), std::string::npos) << out;
  }

  json Post(const json& body) {
    CurlReply r = CurlPost(server_.url() + "/listRecordingSpans", body.dump(), {"-m", "30"});
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.body;
    return j;
  }

  // Every span of `query`, paging by NextToken; `pages` counts the answers.
  std::vector<Span> Spans(json query, int* pages = nullptr) {
    std::vector<Span> out;
    const json max_results = query.contains("MaxResults") ? query["MaxResults"] : json(1000);
    for (int guard = 0; guard < 100; ++guard) {
      json page = Post(query);
      if (pages) ++*pages;
      for (const json& s : page["Spans"]) {
        out.push_back({s["StartTimestamp"].get<double>(), s["EndTimestamp"].get<double>(),
                       s["FragmentCount"].get<int64_t>(), s["SizeInBytes"].get<int64_t>()});
      }
      if (!page.contains("NextToken")) break;
      query = {
          {"StreamName", "cam"}, {"NextToken", page["NextToken"]}, {"MaxResults", max_results}};
    }
    return out;
  }

  static json Query(const std::string& type, double min_gap = 0, int max_results = 1000) {
    return {{"StreamName", "cam"},
            {"TimestampRange", {{"StartTimestamp", 0}, {"EndTimestamp", 4102444800}}},
            {"TimestampType", type},
            {"MinGapSeconds", min_gap},
            {"MaxResults", max_results}};
  }

  // The reference: ListFragments' fragments, each [start, start + length], in start order,
  // joined when the next starts at most `join` seconds after the end or the gap is shorter
  // than `min_gap`.
  std::vector<Span> FromFragments(const char* key, double join, double min_gap) {
    std::vector<Span> frags;
    for (const json& f : ListAllFragments(server_.url(), "cam")) {
      const double t = f[key].get<double>();
      frags.push_back({t, t + f["FragmentLengthInMilliseconds"].get<double>() / 1000, 1,
                       f["FragmentSizeInBytes"].get<int64_t>()});
    }
    std::sort(frags.begin(), frags.end(),
              [](const Span& a, const Span& b) { return a.start < b.start; });
    std::vector<Span> out;
    for (const Span& f : frags) {
      const double gap = out.empty() ? 0 : f.start - out.back().end;
      if (!out.empty() && (gap <= join + 1e-6 || gap < min_gap)) {
        out.back().end = std::max(out.back().end, f.end);
        out.back().fragments += 1;
        out.back().bytes += f.bytes;
      } else {
        out.push_back(f);
      }
    }
    return out;
  }

  static void ExpectSame(const std::vector<Span>& got, const std::vector<Span>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      // The answer is at millisecond precision (start down, end up).
      EXPECT_NEAR(got[i].start, want[i].start, 0.0011) << i;
      EXPECT_NEAR(got[i].end, want[i].end, 0.0011) << i;
      EXPECT_LE(got[i].start, want[i].start + 1e-6) << i;
      EXPECT_GE(got[i].end, want[i].end - 1e-6) << i;
      EXPECT_EQ(got[i].fragments, want[i].fragments) << i;
      EXPECT_EQ(got[i].bytes, want[i].bytes) << i;
    }
  }

  void ExpectError(const std::string& body, int status, const std::string& type,
                   const std::string& message) {
    auto r = RunCommand({"curl", "-sS", "-i", "-m", "30", "-X", "POST", "-H",
                         "content-type: application/json", "--data-binary", body,
                         server_.url() + "/listRecordingSpans"});
    ASSERT_TRUE(r.ok());
    const std::string& raw = r->out;
    EXPECT_NE(raw.find("HTTP/1.1 " + std::to_string(status)), std::string::npos) << raw;
    EXPECT_NE(raw.find("x-amzn-errortype: " + type + "\r\n"), std::string::npos) << raw;
    const size_t start = raw.find("\r\n\r\n");
    ASSERT_NE(start, std::string::npos) << raw;
    json j = json::parse(raw.substr(start + 4), nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("Message")) << raw;
    EXPECT_NE(j["Message"].get<std::string>().find(message), std::string::npos) << raw;
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(SpansE2eTest, SpansAreTheFragmentsMergedAcrossAHole) {
  // 6 s, a 30-second hole, then 12 s in two pushes back to back.
  Push(kP0);
  Push(kP0 + 36);
  Push(kP0 + 42);
  const std::vector<Span> producer = Spans(Query("PRODUCER_TIMESTAMP"));
  ASSERT_EQ(producer.size(), 2u);
  EXPECT_NEAR(producer[0].start, kP0, 0.05);
  EXPECT_NEAR(producer[0].end, kP0 + 6, 0.1);
  EXPECT_NEAR(producer[1].start, kP0 + 36, 0.05);
  EXPECT_NEAR(producer[1].end, kP0 + 48, 0.1);
  EXPECT_GT(producer[1].fragments, producer[0].fragments);
  ExpectSame(producer, FromFragments("ProducerTimestamp", 0.1, 0));
  // Server time: the pushes arrived one after another; whatever the arrival gaps were, the
  // spans are ListFragments' server times merged by the 1-second rule.
  ExpectSame(Spans(Query("SERVER_TIMESTAMP")), FromFragments("ServerTimestamp", 1.0, 0));
  // The default type is the producer's.
  json plain = Query("PRODUCER_TIMESTAMP");
  plain.erase("TimestampType");
  plain.erase("MinGapSeconds");
  plain.erase("MaxResults");
  ExpectSame(Spans(plain), producer);

  // A minimum gap longer than the hole: one span holding every fragment.
  const std::vector<Span> merged = Spans(Query("PRODUCER_TIMESTAMP", 31));
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].fragments, producer[0].fragments + producer[1].fragments);
  EXPECT_EQ(merged[0].bytes, producer[0].bytes + producer[1].bytes);
  ExpectSame(merged, FromFragments("ProducerTimestamp", 0.1, 31));

  // One span per page, the token carrying the query.
  int pages = 0;
  ExpectSame(Spans(Query("PRODUCER_TIMESTAMP", 0, 1), &pages), producer);
  EXPECT_EQ(pages, 2);

  // A range inside the second span returns it whole; a range inside the hole, nothing.
  json inside = Query("PRODUCER_TIMESTAMP");
  inside["TimestampRange"] = {{"StartTimestamp", kP0 + 40}, {"EndTimestamp", kP0 + 41}};
  ExpectSame(Spans(inside), {producer[1]});
  inside["TimestampRange"] = {{"StartTimestamp", kP0 + 10}, {"EndTimestamp", kP0 + 30}};
  EXPECT_TRUE(Spans(inside).empty());

  // The spans are in the index: the same after a restart.
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
  ExpectSame(Spans(Query("PRODUCER_TIMESTAMP")), producer);
}

TEST_F(SpansE2eTest, RefusalsHaveKvsErrorShape) {
  const std::string range =
      R"("TimestampRange":{"StartTimestamp":1767225600,"EndTimestamp":1767229200})";
  ExpectError(R"({"StreamName":"nope",)" + range + "}", 404, "ResourceNotFoundException", "nope");
  ExpectError(R"({"StreamName":"cam","TimestampRange":{"StartTimestamp":2,"EndTimestamp":1}})", 400,
              "InvalidArgumentException", "EndTimestamp must not be before");
  ExpectError(R"({"StreamName":"cam"})", 400, "InvalidArgumentException",
              "TimestampRange is required");
  ExpectError(R"({"StreamName":"cam","MinGapSeconds":-1,)" + range + "}", 400,
              "InvalidArgumentException", "MinGapSeconds");
  ExpectError(R"({"StreamName":"cam","TimestampType":"NOW",)" + range + "}", 400,
              "InvalidArgumentException", "TimestampType");
  ExpectError(R"({"StreamName":"cam","MaxResults":10001,)" + range + "}", 400,
              "InvalidArgumentException", "MaxResults");
  ExpectError(R"({"StreamName":"cam","NextToken":"bm90IG91cnM="})", 400, "InvalidArgumentException",
              "NextToken");
  ExpectError("{not json", 400, "InvalidArgumentException", "JSON");
  // A stream with no fragments has no spans.
  EXPECT_TRUE(Post(json::parse(R"({"StreamName":"cam",)" + range + "}"))["Spans"].empty());
}

}  // namespace
}  // namespace streamarc::e2e
