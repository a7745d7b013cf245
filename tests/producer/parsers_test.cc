// The SDK's parsers on good and malformed input: the ACK stream, Annex-B/NAL splitting,
// the SPS readers and avcC/hvcC; and the packager's output read back by ffprobe.
#include <gtest/gtest.h>

#include <string>

#include "common/mkv.h"
#include "producer-sdk/ack_parser.h"
#include "producer-sdk/nal.h"
#include "producer-sdk/packager.h"
#include "tests/producer/sdk_media.h"
#include "tests/support/subprocess.h"

namespace streamarc::producer {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;

TEST(AckParserTest, ParsesKvsShapes) {
  auto a = ParseAck(
      R"({"EventType":"PERSISTED","FragmentTimecode":1663277247152,"FragmentNumber":"91343852333181432511524306419788296366724229586"})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, AckType::kPersisted);
  EXPECT_EQ(a->timecode, 1663277247152);
  EXPECT_EQ(a->fragment_number, "91343852333181432511524306419788296366724229586");
  auto e = ParseAck(
      R"({"EventType":"ERROR","FragmentTimecode":0,"FragmentNumber":"9","ErrorCode":"FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS","ErrorId":4004})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, AckType::kError);
  EXPECT_EQ(e->error_id, 4004);
  EXPECT_EQ(e->error_code, "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS");
  auto idle = ParseAck(R"({"EventType":"IDLE"})");
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->type, AckType::kIdle);
}

TEST(AckParserTest, RefusesMalformed) {
  for (const char* bad :
       {"", "{", "[]", "null", "42", R"({"EventType":"NOPE","FragmentTimecode":1})",
        R"({"EventType":"BUFFERING"})", R"({"EventType":7,"FragmentTimecode":1})",
        R"({"EventType":"RECEIVED","FragmentTimecode":"1"})",
        R"({"EventType":"RECEIVED","FragmentTimecode":1.5})",
        R"({"EventType":"ERROR","FragmentTimecode":1})",
        R"({"EventType":"ERROR","FragmentTimecode":1,"ErrorId":-3})",
        R"({"EventType":"PERSISTED","FragmentTimecode":1,"FragmentNumber":5})",
        R"({"eventtype":"PERSISTED","FragmentTimecode":1})"}) {
    EXPECT_FALSE(ParseAck(bad).ok()) << bad;
  }
}

TEST(AckParserTest, StreamSplitAnywhere) {
  const std::string body =
      "{\"EventType\":\"BUFFERING\",\"FragmentTimecode\":1}\n"
      "{\"EventType\":\"RECEIVED\",\"FragmentTimecode\":1,\"FragmentNumber\":\"2\"}\r\n"
      "\n"
      "garbage\n"
      "{\"EventType\":\"PERSISTED\",\"FragmentTimecode\":1,\"FragmentNumber\":\"2\"}\n";
  for (size_t step = 1; step <= body.size(); ++step) {
    AckStreamParser p;
    std::vector<FragmentAck> acks;
    for (size_t i = 0; i < body.size(); i += step)
      p.Feed(std::string_view(body).substr(i, step), acks);
    ASSERT_EQ(acks.size(), 3u) << "step " << step;
    EXPECT_EQ(acks[0].type, AckType::kBuffering);
    EXPECT_EQ(acks[1].type, AckType::kReceived);
    EXPECT_EQ(acks[2].type, AckType::kPersisted);
    EXPECT_EQ(p.malformed(), 1u);
  }
}

TEST(AckParserTest, OverlongLineIsSkipped) {
  AckStreamParser p;
  std::vector<FragmentAck> acks;
  p.Feed(std::string(AckStreamParser::kMaxLine + 10, 'x'), acks);
  p.Feed(std::string(100, 'y') + "\n{\"EventType\":\"IDLE\"}\n", acks);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].type, AckType::kIdle);
  EXPECT_EQ(p.malformed(), 1u);
}

std::vector<uint8_t> B(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int x : v) out.push_back(static_cast<uint8_t>(x));
  return out;
}

TEST(NalTest, SplitsThreeAndFourByteStartCodes) {
  auto d = B({0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0, 0});
  auto nals = nal::SplitAnnexB(d);
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(std::vector<uint8_t>(nals[0].begin(), nals[0].end()), B({0x67, 1, 2}));
  EXPECT_EQ(std::vector<uint8_t>(nals[1].begin(), nals[1].end()), B({0x68, 3}));
  EXPECT_EQ(std::vector<uint8_t>(nals[2].begin(), nals[2].end()), B({0x65, 4, 5}));
  nal::Bytes lp;
  nal::AppendLengthPrefixed(nals, lp);
  EXPECT_EQ(lp, B({0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 3, 0x65, 4, 5}));
}

TEST(NalTest, MalformedInputGivesNothingOrErrors) {
  EXPECT_TRUE(nal::SplitAnnexB({}).empty());
  EXPECT_TRUE(nal::SplitAnnexB(B({1, 2, 3})).empty());
  EXPECT_TRUE(nal::SplitAnnexB(B({0, 0, 1})).empty());
  EXPECT_TRUE(nal::SplitAnnexB(B({0, 0, 1, 0, 0, 1})).empty());
  EXPECT_FALSE(nal::ParseH264SpsSize(B({0x67})).ok());
  EXPECT_FALSE(nal::ParseH264SpsSize(B({0x68, 1, 2, 3})).ok());
  EXPECT_FALSE(nal::ParseH264SpsSize(B({0x67, 100, 0, 30, 0, 0, 0, 0})).ok());  // 31+ zero bits
  EXPECT_FALSE(nal::ParseH265Sps(B({0x42, 1, 1})).ok());
  EXPECT_FALSE(nal::ParseH265Sps(B({0x42, 1, 1, 1, 0x60, 0, 0, 0})).ok());
  std::vector<std::span<const uint8_t>> none;
  auto sps = B({0x67, 0x42});
  std::vector<std::span<const uint8_t>> short_sps = {sps};
  EXPECT_FALSE(nal::BuildAvcC(none, none).ok());
  EXPECT_FALSE(nal::BuildAvcC(short_sps, short_sps).ok());
  EXPECT_FALSE(nal::BuildHvcC(none, none, none).ok());
  EXPECT_EQ(nal::Unescape(B({0, 0, 3, 1, 0, 0, 3})), B({0, 0, 1, 0, 0}));
}

// Real encoders' parameter sets: sizes read from the SPS, records accepted by ffprobe below.
TEST(NalTest, RealSpsSizes) {
  TempDir dir;
  for (const char* codec : {"libx264", "libx265"}) {
    producer_test::MediaSpec spec;
    spec.codec = codec;
    spec.seconds = 1;
    spec.size = "426x240";  // not a multiple of 16: cropping must be applied
    auto frames = producer_test::MakeAnnexBFrames(dir.path(), spec);
    ASSERT_TRUE(frames.ok()) << frames.status().ToString();
    bool found = false;
    for (const auto& n : nal::SplitAnnexB((*frames)[0].annexb)) {
      if (std::string(codec) == "libx264" && nal::H264Type(n) == nal::kH264Sps) {
        auto size = nal::ParseH264SpsSize(n);
        ASSERT_TRUE(size.ok()) << size.status().ToString();
        EXPECT_EQ(size->width, 426);
        EXPECT_EQ(size->height, 240);
        found = true;
      }
      if (std::string(codec) == "libx265" && nal::H265Type(n) == nal::kH265Sps) {
        auto info = nal::ParseH265Sps(n);
        ASSERT_TRUE(info.ok()) << info.status().ToString();
        EXPECT_EQ(info->size.width, 426);
        EXPECT_EQ(info->size.height, 240);
        EXPECT_EQ(info->chroma_format_idc, 1u);
        EXPECT_EQ(info->bit_depth_luma, 8u);
        found = true;
      }
    }
    EXPECT_TRUE(found) << codec;
  }
}

TEST(PackagerTest, RefusesBadTrackSets) {
  EXPECT_FALSE(Packager::Create({}).ok());
  TrackConfig a;
  a.codec = Codec::kAac;
  EXPECT_FALSE(Packager::Create({a}).ok());  // no AudioSpecificConfig
  TrackConfig v;
  EXPECT_FALSE(Packager::Create({v, v}).ok());  // same number twice
  v.number = 4;
  EXPECT_FALSE(Packager::Create({v}).ok());
}

TEST(PackagerTest, DeltaBeforeKeyAndLengthPrefixedWithoutConfigAreRefused) {
  auto p = Packager::Create({TrackConfig{}});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->ready());
  auto data = B({0, 0, 0, 1, 0x41, 1, 2});
  Frame f;
  f.data = data;
  mkv::Bytes out;
  EXPECT_FALSE(p->Convert(f, out).ok());
  auto lp = B({0, 0, 0, 2, 0x65, 1});
  f.data = lp;
  f.key_frame = true;
  EXPECT_FALSE(p->Convert(f, out).ok());
  f.track = 2;
  EXPECT_FALSE(p->Convert(f, out).ok());
}

// Header + clusters exactly as the upload sends them, read by ffprobe: every frame, decoded
// size from the avcC built by the packager.
TEST(PackagerTest, OutputIsValidMatroska) {
  TempDir dir;
  auto frames = producer_test::MakeAnnexBFrames(dir.path(), {});
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto p = Packager::Create({TrackConfig{}});
  ASSERT_TRUE(p.ok());
  mkv::Bytes clusters;
  int64_t cluster_tc = -1;
  for (const auto& f : *frames) {
    Frame fr;
    fr.pts_us = f.pts_ms * 1000;
    fr.key_frame = f.key;
    fr.data = f.annexb;
    mkv::Bytes payload;
    ASSERT_TRUE(p->Convert(fr, payload).ok());
    if (f.key) {
      cluster_tc = f.pts_ms;
      ASSERT_TRUE(Packager::AppendClusterStart(cluster_tc, clusters).ok());
    }
    ASSERT_TRUE(Packager::AppendSimpleBlock(cluster_tc, 1,
                                            static_cast<int16_t>(f.pts_ms - cluster_tc), f.key,
                                            payload, clusters)
                    .ok());
  }
  ASSERT_TRUE(p->ready());
  std::string file = dir.File("out.mkv");
  std::string bytes(p->header().begin(), p->header().end());
  bytes.append(clusters.begin(), clusters.end());
  streamarc::testing::WriteFileOrDie(file, bytes);
  auto probe =
      RunCommand({"ffprobe", "-v", "error", "-count_frames", "-show_entries",
                  "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->out, "h264,320,240," + std::to_string(frames->size()) + "\n");
}

}  // namespace
}  // namespace streamarc::producer
