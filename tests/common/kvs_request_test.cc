// The KVS request rules in common/kvs_request.h. StreamNameTest and ArnTest moved here
// unchanged from tests/archive/names_test.cc with the code they test.
#include "common/kvs_request.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace streamarc::kvs {
namespace {

TEST(StreamNameTest, AcceptsTheKvsCharset) {
  EXPECT_TRUE(ValidateStreamName("cam-01_front.door").ok());
  EXPECT_TRUE(ValidateStreamName(std::string(256, 'a')).ok());
}

TEST(StreamNameTest, RejectsEverythingElse) {
  EXPECT_EQ(ValidateStreamName("").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName(std::string(257, 'a')).code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName("../etc").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName("a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName("a b").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName("caf\xc3\xa9").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateStreamName(std::string("x\0y", 3)).code(), Code::kInvalidArgument);
}

TEST(ArnTest, RoundTripsAndRejectsOthers) {
  std::string arn = MakeStreamArn("us-west-2", "123456789012", "cam", 1'588'143'003'893'000);
  EXPECT_EQ(arn, "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1588143003893");
  EXPECT_EQ(*StreamNameFromArn(arn), "cam");
  EXPECT_FALSE(StreamNameFromArn("arn:aws:s3:::bucket").ok());
  EXPECT_FALSE(StreamNameFromArn("arn:aws:kinesisvideo:r:1:stream/../x/12").ok());
  EXPECT_FALSE(StreamNameFromArn("arn:aws:kinesisvideo:r:1:stream/cam/12x").ok());
}

TEST(ParseStreamRefTest, ExactlyOneOfNameOrArn) {
  const std::string name = "cam-1";
  const std::string arn = "arn:aws:kinesisvideo:us-west-2:0:stream/cam-1/1";
  auto by_name = ParseStreamRef(&name, nullptr);
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->name, "cam-1");
  EXPECT_EQ(by_name->arn, "");
  auto by_arn = ParseStreamRef(nullptr, &arn);
  ASSERT_TRUE(by_arn.ok());
  EXPECT_EQ(by_arn->name, "");
  EXPECT_EQ(by_arn->arn, arn);

  auto both = ParseStreamRef(&name, &arn);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), Code::kInvalidArgument);
  EXPECT_NE(both.status().message().find("exactly one of StreamName or StreamARN"),
            std::string::npos);
  auto neither = ParseStreamRef(nullptr, nullptr, "x-amzn-stream-name", "x-amzn-stream-arn");
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().message().find("x-amzn-stream-name or x-amzn-stream-arn"),
            std::string::npos);
}

TEST(ParseStreamRefTest, RefusesBadNamesAndArnLengths) {
  for (const std::string& bad : {std::string(), std::string("a b"), std::string(257, 'a'),
                                 std::string("caf\xc3\xa9"), std::string("x\0y", 3)}) {
    auto r = ParseStreamRef(&bad, nullptr);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("stream name"), std::string::npos);
  }
  const std::string empty, longest(kMaxArnLength, 'a'), too_long(kMaxArnLength + 1, 'a');
  EXPECT_EQ(ParseStreamRef(nullptr, &empty).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseStreamRef(nullptr, &too_long).status().code(), Code::kInvalidArgument);
  // Whether an ARN names a stream is the archive's question, not the parser's.
  EXPECT_TRUE(ParseStreamRef(nullptr, &longest).ok());
}

TEST(ArnTest, RefusesMalformedArns) {
  for (const char* bad :
       {"", "arn:", "stream/cam/1", "arn:aws:kinesisvideo:r:1:stream/",
        "arn:aws:kinesisvideo:r:1:stream//1", "arn:aws:kinesisvideo:r:1:stream/cam/",
        "arn:aws:kinesisvideo:r:1:stream/cam", "arn:aws:kinesis:r:1:stream/cam/1",
        "arn:aws:kinesisvideo:r:1:stream/a b/1", "xarn:aws:kinesisvideo:r:1:stream/c/1"}) {
    auto r = StreamNameFromArn(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(*StreamNameFromArn(MakeStreamArn("r", "1", std::string(256, 'n'), 5'000)),
            std::string(256, 'n'));
}

TEST(EpochSecondsTest, ConvertsToMicrosRounded) {
  EXPECT_EQ(*EpochSecondsToMicros(0, "T"), 0);
  EXPECT_EQ(*EpochSecondsToMicros(1.5, "T"), 1'500'000);
  EXPECT_EQ(*EpochSecondsToMicros(1700000000.123456, "T"), 1'700'000'000'123'456);
  EXPECT_EQ(*EpochSecondsToMicros(0.0000004, "T"), 0);
  EXPECT_EQ(*EpochSecondsToMicros(0.0000006, "T"), 1);
  // The bound itself is accepted and fits an int64 of microseconds.
  EXPECT_EQ(*EpochSecondsToMicros(static_cast<double>(kMaxEpochSeconds), "T"),
            kMaxEpochSeconds * 1'000'000);
}

TEST(EpochSecondsTest, OneBoundForEveryApi) {
  const double refused[] = {-1,
                            -0.000001,
                            static_cast<double>(kMaxEpochSeconds) + 1,
                            1.7e12,  // milliseconds by mistake
                            1e300,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN()};
  for (double v : refused) {
    auto r = EpochSecondsToMicros(v, "StartTimestamp");
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("StartTimestamp is out of range"), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace streamarc::kvs
