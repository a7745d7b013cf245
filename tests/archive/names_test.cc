#include "archive/names.h"

#include <gtest/gtest.h>

#include "archive/archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
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

TEST(FragmentNumberTest, FortySevenDigitsSortedBySequence) {
  const std::string suffix = FragmentNumberSuffix(1234567890123456789ull);
  std::string prev;
  for (uint64_t seq : {1ull, 9ull, 10ull, 1'767'225'600'000'000ull, 99'999'999'999'999'999ull}) {
    std::string n = FormatFragmentNumber(seq, suffix);
    EXPECT_EQ(n.size(), kFragmentNumberDigits);
    EXPECT_EQ(n.find_first_not_of("0123456789"), std::string::npos);
    EXPECT_LT(prev, n);  // text order is numeric order
    EXPECT_EQ(*ParseFragmentNumber(n, suffix), seq);
    prev = n;
  }
  const std::string other = FragmentNumberSuffix(7);
  EXPECT_FALSE(ParseFragmentNumber(FormatFragmentNumber(5, suffix), other).ok());
  EXPECT_FALSE(ParseFragmentNumber("123", suffix).ok());
  EXPECT_FALSE(ParseFragmentNumber(std::string(47, 'x'), suffix).ok());
}

TEST(CursorTest, RoundTripsAndDetectsTampering) {
  ListCursor c{42, 1, 1'000'000, -5, 77};
  std::string token = EncodeCursor(c);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
      std::string::npos);
  Result<ListCursor> back = DecodeCursor(token);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->stream_id, 42);
  EXPECT_EQ(back->type, 1);
  EXPECT_EQ(back->end_us, 1'000'000);
  EXPECT_EQ(back->last_ts, -5);
  EXPECT_EQ(back->last_seq, 77);
  std::string bad = token;
  bad[3] = bad[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(DecodeCursor(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeCursor("!!!").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeCursor("").status().code(), Code::kInvalidArgument);
}

TEST(Base64Test, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
    s += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
}

TEST(OffsetsTest, RoundTripsSortedAndUnsorted) {
  for (const std::vector<uint32_t>& v :
       {std::vector<uint32_t>{}, {0}, {0, 1000, 500000, 4000000000u}, {9, 3, 7}}) {
    EXPECT_EQ(*DecodeOffsets(EncodeOffsets(v)), v);
  }
  EXPECT_EQ(EncodeOffsets({0}).size(), 1u);
  EXPECT_EQ(DecodeOffsets("\x80").status().code(), Code::kDataLoss);
}

TEST(SegmentFormatTest, HeadersRoundTripAndDetectDamage) {
  std::string h = EncodeSegmentHeader(3, 17);
  ASSERT_EQ(h.size(), kSegmentHeaderSize);
  EXPECT_TRUE(CheckSegmentHeader(h, 3, 17).ok());
  EXPECT_EQ(CheckSegmentHeader(h, 3, 18).code(), Code::kDataLoss);
  h[10] ^= 1;
  EXPECT_EQ(CheckSegmentHeader(h, 3, 17).code(), Code::kDataLoss);

  std::string r = EncodeRecordHeader(99, "payload");
  ASSERT_EQ(r.size(), kRecordHeaderSize);
  Result<RecordHeader> rh = DecodeRecordHeader(r);
  ASSERT_TRUE(rh.ok());
  EXPECT_EQ(rh->seq, 99u);
  EXPECT_EQ(rh->length, 7u);
  EXPECT_EQ(rh->crc32, Crc32("payload"));
  r[9] ^= 4;
  EXPECT_EQ(DecodeRecordHeader(r).status().code(), Code::kDataLoss);
  EXPECT_EQ(SegmentPath("/r", 3, 17), "/r/segments/3/17.seg");
  EXPECT_EQ(ParseSegmentFileName("17.seg"), 17);
  EXPECT_EQ(ParseSegmentFileName("x17.seg"), -1);
  EXPECT_EQ(ParseSegmentFileName("17.seg.tmp"), -1);
}

}  // namespace
}  // namespace streamarc::archive
