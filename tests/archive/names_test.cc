#include "archive/names.h"

#include <gtest/gtest.h>

#include "archive/archive.h"
#include "archive/segment.h"

namespace streamarc::archive {
namespace {

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

TEST(NamesTest, Crc32IsTheStandardCrcSoArchivesWrittenBeforeStillVerify) {
  // CRC-32/ISO-HDLC's check value, as zlib computed it for every archive written before.
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xCBF43926u);  // continued
  const std::string big(1 << 20, '\x5a');
  EXPECT_EQ(Crc32(std::string_view(big).substr(1000), Crc32(std::string_view(big).substr(0, 1000))),
            Crc32(big));
}

}  // namespace
}  // namespace streamarc::archive
