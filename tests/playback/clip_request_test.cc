// GetClip's request parsing: KVS's shape, limits and refusals.
#include <gtest/gtest.h>

#include "server/clip_api.h"

namespace streamarc::server {
namespace {

std::string Body(const std::string& stream, const std::string& type, const std::string& start,
                 const std::string& end) {
  return "{" + stream + R"(,"ClipFragmentSelector":{"FragmentSelectorType":")" + type +
         R"(","TimestampRange":{"StartTimestamp":)" + start + R"(,"EndTimestamp":)" + end + "}}}";
}

TEST(ClipRequestTest, ParsesNameOrArnAndBothSelectorTypes) {
  auto r = ParseClipRequest(Body(R"("StreamName":"cam1")", "PRODUCER_TIMESTAMP", "1.5", "3.25"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream.name, "cam1");
  EXPECT_EQ(r->type, archive::TimestampType::kProducer);
  EXPECT_EQ(r->start_us, 1'500'000);
  EXPECT_EQ(r->end_us, 3'250'000);
  auto a = ParseClipRequest(Body(R"("StreamARN":"arn:aws:kinesisvideo:us-east-1:0:stream/x/1")",
                                 "SERVER_TIMESTAMP", "1700000000", "1700000060"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->stream.arn, "arn:aws:kinesisvideo:us-east-1:0:stream/x/1");
  EXPECT_EQ(a->type, archive::TimestampType::kServer);
}

TEST(ClipRequestTest, RefusesWhatKvsRefuses) {
  const std::string name = R"("StreamName":"cam1")";
  for (const std::string& body : {
           std::string("[]"),
           std::string("{"),
           std::string(R"({"StreamName":"cam1"})"),
           Body(name, "NOW", "0", "1"),               // unknown selector type
           Body(name, "SERVER_TIMESTAMP", "5", "5"),  // end not after start
           Body(name, "SERVER_TIMESTAMP", "5", "4"),
           Body(name, "SERVER_TIMESTAMP", "0", "86401"),  // more than 24 hours
           Body(name, "SERVER_TIMESTAMP", "\"0\"", "1"),  // not a number
           Body(name, "SERVER_TIMESTAMP", "-1", "1"),
           Body(name, "SERVER_TIMESTAMP", "1e300", "1e301"),
           Body(R"("StreamName":"bad name!")", "SERVER_TIMESTAMP", "0", "1"),
           Body(R"("StreamName":"a","StreamARN":"b")", "SERVER_TIMESTAMP", "0", "1"),
           Body(R"("Other":1)", "SERVER_TIMESTAMP", "0", "1"),
       }) {
    auto r = ParseClipRequest(body);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
  }
  // Exactly 24 hours is allowed.
  EXPECT_TRUE(ParseClipRequest(Body(name, "SERVER_TIMESTAMP", "0", "86400")).ok());
}

}  // namespace
}  // namespace streamarc::server
