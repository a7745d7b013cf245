// The consumer's small parsers (KVS's timestamp tags, the checkpoint file) and its option
// checks: pure logic, no server.
#include "frametap/checkpoint.h"

#include <gtest/gtest.h>

#include "frametap/frametap.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

TEST(EpochSecondsTag, ParsesKvsTagsExactly) {
  EXPECT_EQ(*ParseEpochSecondsTag("1511852109.126"), 1511852109126000);
  EXPECT_EQ(*ParseEpochSecondsTag("1700000000"), 1700000000000000);
  EXPECT_EQ(*ParseEpochSecondsTag("0.000001"), 1);
  EXPECT_EQ(*ParseEpochSecondsTag("12.5"), 12500000);
}

TEST(EpochSecondsTag, RefusesMalformedValues) {
  for (const char* bad : {"", ".", "1.", ".5", "-1.000", "1e9", "12.1234567", "1,5", " 1.0", "1.0 ",
                          "1.2.3", "9999999999999.0", "abc"}) {
    auto r = ParseEpochSecondsTag(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(CheckpointFile, RoundTripsAndWritesAtomically) {
  testing::TempDir dir;
  const std::string path = dir.File("cp");
  auto missing = ReadCheckpoint(path);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());
  Checkpoint c{"91343852333181432392682062607743920146159169392",
               "91343852333181432392682062607743920146159169392"};
  ASSERT_TRUE(WriteCheckpoint(path, c).ok());
  c.fragment_number = "91343852333181432392682062607743920146159169393";
  ASSERT_TRUE(WriteCheckpoint(path, c).ok());
  auto read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->fragment_number, c.fragment_number);
  EXPECT_EQ((*read)->continuation_token, c.continuation_token);
  EXPECT_EQ(testing::ReadFileOrDie(path), FormatCheckpoint(c));
}

TEST(CheckpointFile, RefusesMalformedFiles) {
  const std::string good = FormatCheckpoint({"123", "123"});
  ASSERT_TRUE(ParseCheckpoint(good).ok());
  const std::string bad[] = {
      "",
      "streamarc-frametap-checkpoint 2\nfragment_number 1\ncontinuation_token 1\n",
      "streamarc-frametap-checkpoint 1\n",
      "streamarc-frametap-checkpoint 1\nfragment_number 1\n",
      "streamarc-frametap-checkpoint 1\nfragment_number x1\ncontinuation_token 1\n",
      "streamarc-frametap-checkpoint 1\nfragment_number 1\ncontinuation_token a/b\n",
      "streamarc-frametap-checkpoint 1\nfragment_number 1\ncontinuation_token 1",
      "streamarc-frametap-checkpoint 1\nfragment_number 1\ncontinuation_token 1\nmore",
      "streamarc-frametap-checkpoint 1\ncontinuation_token 1\nfragment_number 1\n",
      "streamarc-frametap-checkpoint 1\nfragment_number \ncontinuation_token 1\n",
      good.substr(0, good.size() - 1) + std::string(200, '1') + "\n",
  };
  for (const auto& text : bad) {
    auto r = ParseCheckpoint(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << text;
  }
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.File("cp"), "garbage");
  ConsumerOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.stream_name = "cam";
  o.checkpoint_path = dir.File("cp");
  auto consumer = Consumer::Open(o);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.status().code(), Code::kInvalidArgument);
}

TEST(ConsumerOpen, RefusesBadOptions) {
  ConsumerOptions base;
  base.endpoint = "http://127.0.0.1:1";
  base.stream_name = "cam";
  std::vector<ConsumerOptions> bad(7, base);
  bad[0].endpoint = "";
  bad[1].stream_name = "";
  bad[2].stream_arn = "arn:aws:kinesisvideo:us-west-2:0:stream/cam/1";  // both
  bad[3].sampling = {Sampling::Mode::kEveryNth, 0, 0};
  bad[4].sampling = {Sampling::Mode::kFps, 1, 0};
  bad[5].queue_frames = 0;
  bad[6].access_key = "AKID";  // no secret
  for (size_t i = 0; i < bad.size(); ++i) {
    auto c = Consumer::Open(bad[i]);
    ASSERT_FALSE(c.ok()) << i;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << i;
  }
  ConsumerOptions not_url = base;
  not_url.endpoint = "ftp://x";
  not_url.max_reconnects = 0;
  auto c = Consumer::Open(not_url);
  ASSERT_TRUE(c.ok());
  auto next = (*c)->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Code::kInvalidArgument) << next.status().ToString();
}

}  // namespace
}  // namespace streamarc::frametap
