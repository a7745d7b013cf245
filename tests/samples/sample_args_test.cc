// The samples' command line and ISO 8601 times, against values `date -u -d ... +%s` gives.
#include "samples/sample_args.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace streamarc::samples {
namespace {

TEST(ParseIso8601, UtcOffsetsAndFractions) {
  EXPECT_EQ(*ParseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20Z"), 1'700'000'000'000'000);
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20.25Z"), 1'700'000'000'250'000);
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20.123456789Z"), 1'700'000'000'123'456);
  EXPECT_EQ(*ParseIso8601("2023-11-15T00:13:20+02:00"), 1'700'000'000'000'000);
  EXPECT_EQ(*ParseIso8601("2023-11-14T16:43:20-0530"), 1'700'000'000'000'000);
  EXPECT_EQ(*ParseIso8601("2024-02-29T00:00:00Z"), 1'709'164'800'000'000);  // a leap day
  EXPECT_EQ(*ParseIso8601("9999-12-31T23:59:59Z"), 253'402'300'799'000'000);
}

TEST(ParseIso8601, RefusesMalformedAndImpossibleTimes) {
  for (const char* bad : {"",
                          "now",
                          "2023-11-14",
                          "2023-11-14T22:13:20",
                          "2023-11-14 22:13:20Z",
                          "2023-11-14T22:13Z",
                          "2023-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z",
                          "2023-11-31T00:00:00Z",
                          "2023-11-14T24:00:00Z",
                          "2023-11-14T22:60:00Z",
                          "2023-11-14T22:13:60Z",
                          "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20.1234567890Z",
                          "2023-11-14T22:13:20+2:00",
                          "2023-11-14T22:13:20+24:00",
                          "2023-11-14T22:13:20Zjunk",
                          "1969-12-31T23:59:59Z",
                          "1970-01-01T00:00:00+00:01",
                          "+023-11-14T22:13:20Z",
                          "2023-1x-14T22:13:20Z",
                          "1700000000"}) {
    auto r = ParseIso8601(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

Result<Args> Parse(std::vector<std::string> v) {
  v.insert(v.begin(), "streamarc-test");
  return ParseArgs(v, {"--post-events"}, {"--fps"});
}

TEST(ParseArgs, CommonAndOwnOptions) {
  auto a = Parse({"--endpoint", "http://127.0.0.1:8080", "--stream", "cam1", "--start",
                  "2023-11-14T22:13:20Z", "--end", "2023-11-14T22:13:35.5Z", "--post-events",
                  "--fps", "2.5"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(a->stream, "cam1");
  EXPECT_EQ(a->start.type, frametap::StartType::kProducerTimestamp);
  EXPECT_EQ(a->start.timestamp_us, 1'700'000'000'000'000);
  EXPECT_EQ(a->end_us, 1'700'000'015'500'000);
  EXPECT_EQ(a->options.at("--post-events"), "");
  EXPECT_EQ(*NumberOption(*a, "--fps", 1, 0.1, 10), 2.5);

  auto d = Parse({"--stream", "s", "--endpoint", "http://h"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->start.type, frametap::StartType::kNow);  // the default
  EXPECT_FALSE(d->end_us);
  EXPECT_EQ(*NumberOption(*d, "--fps", 1, 0.1, 10), 1);  // absent: the fallback
  EXPECT_EQ(Parse({"--stream", "s", "--endpoint", "h", "--start", "EARLIEST"})->start.type,
            frametap::StartType::kEarliest);

  frametap::ConsumerOptions o = ConsumerOptionsFor(*a);
  EXPECT_EQ(o.endpoint, a->endpoint);
  EXPECT_EQ(o.stream_name, "cam1");
  EXPECT_EQ(o.end_producer_us, a->end_us);
  EXPECT_EQ(EventsOptionsFor(*a).stream_name, "cam1");
}

TEST(ParseArgs, RefusesWhatItDoesNotKnow) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                      // no endpoint, no stream
      {"--endpoint", "http://h"},              // no stream
      {"--stream", "s"},                       // no endpoint
      {"--endpoint", "http://h", "--stream"},  // a value missing
      {"--endpoint", "http://h", "--stream", "s", "--fps"},
      {"--endpoint", "http://h", "--stream", "s", "--what", "x"},
      {"--endpoint", "http://h", "--stream", "s", "positional"},
      {"--endpoint", "http://h", "--stream", "s", "--start", "LATEST"},
      {"--endpoint", "http://h", "--stream", "s", "--end", "EARLIEST"},
      {"--endpoint", "http://h", "--stream", "s", "--start", "2023-11-14T22:13:20Z", "--end",
       "2023-11-14T22:13:20Z"},  // an empty range
  };
  for (const auto& v : bad) {
    auto r = Parse(v);
    EXPECT_FALSE(r.ok()) << ::testing::PrintToString(v);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
  auto a = Parse({"--endpoint", "h", "--stream", "s", "--fps", "fast"});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(NumberOption(*a, "--fps", 1, 0.1, 10).ok());
  a = Parse({"--endpoint", "h", "--stream", "s", "--fps", "11"});
  EXPECT_FALSE(NumberOption(*a, "--fps", 1, 0.1, 10).ok());
  a = Parse({"--endpoint", "h", "--stream", "s", "--fps", "2x"});
  EXPECT_FALSE(NumberOption(*a, "--fps", 1, 0.1, 10).ok());
}

TEST(ParseArgs, KeysFromTheAwsCliVariables) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  auto a = Parse({"--endpoint", "h", "--stream", "s"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(ConsumerOptionsFor(*a).access_key, "AKIDTEST");
  EXPECT_EQ(ConsumerOptionsFor(*a).secret_key, "secret");
  EXPECT_EQ(EventsOptionsFor(*a).access_key, "AKIDTEST");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(ConsumerOptionsFor(*a).access_key, "");
}

TEST(EpochSeconds, SixDecimalsExactly) {
  EXPECT_EQ(EpochSeconds(1'700'000'003'040'000), "1700000003.040000");
  EXPECT_EQ(EpochSeconds(0), "0.000000");
  EXPECT_EQ(EpochSeconds(999'999), "0.999999");
}

}  // namespace
}  // namespace streamarc::samples
