// The reader against real media from ffmpeg and GStreamer: its frame list must equal
// ffprobe's packet list, however the bytes are split.
#include <gtest/gtest.h>

#include "common/mkv.h"
#include "tests/common/mkv_test_util.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::mkv {
namespace {

using streamarc::testing::MakeMedia;
using streamarc::testing::ProbePackets;
using streamarc::testing::ReadFileOrDie;
using testing::AsBytes;
using testing::FeedInPieces;
using testing::Recorder;

struct Case {
  const char* medium;
  size_t piece;  // 0: random sizes
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.medium << " in pieces of " << c.piece; }

class MediaTest : public ::testing::TestWithParam<Case> {};

TEST_P(MediaTest, FramesEqualFfprobePackets) {
  auto path = MakeMedia(GetParam().medium);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  auto packets = ProbePackets(*path);
  ASSERT_TRUE(packets.ok()) << packets.status().ToString();
  ASSERT_GT(packets->size(), 50u);
  std::string bytes = ReadFileOrDie(*path);

  Recorder rec;
  Reader reader(rec);
  Status s = FeedInPieces(reader, AsBytes(bytes), GetParam().piece, 42);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(reader.offset(), bytes.size());

  ASSERT_EQ(rec.frames.size(), packets->size());
  for (size_t i = 0; i < packets->size(); ++i) {
    const auto& want = (*packets)[i];
    const auto& got = rec.frames[i];
    ASSERT_LT(static_cast<size_t>(want.stream_index), rec.tracks.size());
    EXPECT_EQ(got.track, rec.tracks[want.stream_index].number) << "packet " << i;
    // FFmpeg presents a track's frames CodecDelay earlier (Opus); the reader gives the
    // timecodes as stored.
    const TrackInfo& track = rec.tracks[want.stream_index];
    const int64_t scale = static_cast<int64_t>(rec.info.timecode_scale_ns);
    const int64_t delay = (static_cast<int64_t>(track.codec_delay_ns) + scale / 2) / scale;
    EXPECT_EQ(got.timecode - delay, want.pts) << "packet " << i;
    EXPECT_EQ(got.key, want.key) << "packet " << i;
    EXPECT_EQ(static_cast<int64_t>(got.data.size()), want.size) << "packet " << i;
  }
  // The section closes cleanly, as many times as it opened.
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "segment"),
            std::count(rec.events.begin(), rec.events.end(), "/segment"));
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "cluster"),
            std::count(rec.events.begin(), rec.events.end(), "/cluster"));
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.medium;
  for (char& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n + (info.param.piece == 0 ? "_random" : "_" + std::to_string(info.param.piece));
}

INSTANTIATE_TEST_SUITE_P(
    Media, MediaTest,
    ::testing::Values(
        Case{streamarc::testing::kH264AacMkv, 1 << 30}, Case{streamarc::testing::kH264AacMkv, 1},
        Case{streamarc::testing::kH264AacMkv, 0},
        Case{streamarc::testing::kH264AacPipeMkv, 1 << 30},
        Case{streamarc::testing::kH264AacPipeMkv, 0}, Case{streamarc::testing::kH265Mkv, 1 << 30},
        Case{streamarc::testing::kH265Mkv, 1}, Case{streamarc::testing::kH265Mkv, 0},
        Case{streamarc::testing::kGstX264Mkv, 1 << 30}, Case{streamarc::testing::kGstX264Mkv, 1},
        Case{streamarc::testing::kGstX264Mkv, 0}, Case{streamarc::testing::kGstStreamableMkv, 0},
        Case{streamarc::testing::kVp9OpusWebm, 1 << 30}, Case{streamarc::testing::kVp9OpusWebm, 0}),
    CaseName);

TEST(MediaTrackInfo, H264AacTracksAndInfo) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  std::string bytes = ReadFileOrDie(*path);
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(AsBytes(bytes)).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(rec.doc_types, std::vector<std::string>{"matroska"});
  EXPECT_EQ(rec.info.timecode_scale_ns, 1'000'000u);
  ASSERT_TRUE(rec.info.duration.has_value());
  EXPECT_NEAR(*rec.info.duration, 6000, 100);  // ticks of 1 ms
  ASSERT_EQ(rec.tracks.size(), 2u);
  EXPECT_EQ(rec.tracks[0].codec_id, "V_MPEG4/ISO/AVC");
  EXPECT_EQ(rec.tracks[0].type, TrackType::kVideo);
  EXPECT_EQ(rec.tracks[0].pixel_width, 320u);
  EXPECT_EQ(rec.tracks[0].pixel_height, 240u);
  ASSERT_GT(rec.tracks[0].codec_private.size(), 8u);
  EXPECT_EQ(rec.tracks[0].codec_private[0], 1);  // avcC configurationVersion
  EXPECT_NE(rec.tracks[0].uid, 0u);
  EXPECT_EQ(rec.tracks[1].codec_id, "A_AAC");
  EXPECT_EQ(rec.tracks[1].type, TrackType::kAudio);
  EXPECT_EQ(rec.tracks[1].sampling_frequency, 48000.0);
  EXPECT_EQ(rec.tracks[1].channels, 1u);
  ASSERT_FALSE(rec.tags.empty());  // ffmpeg writes ENCODER and per-track DURATION tags
  bool has_encoder = false;
  for (const auto& tags : rec.tags) {
    for (const auto& t : tags) has_encoder |= t.name == "ENCODER";
  }
  EXPECT_TRUE(has_encoder);
}

TEST(MediaTrackInfo, H265CodecIdAndWebmDocType) {
  auto h265 = MakeMedia(streamarc::testing::kH265Mkv);
  auto webm = MakeMedia(streamarc::testing::kVp9OpusWebm);
  ASSERT_TRUE(h265.ok() && webm.ok());
  Recorder a, b;
  Reader ra(a), rb(b);
  ASSERT_TRUE(ra.Feed(AsBytes(ReadFileOrDie(*h265))).ok());
  ASSERT_TRUE(rb.Feed(AsBytes(ReadFileOrDie(*webm))).ok());
  ASSERT_EQ(a.tracks.size(), 1u);
  EXPECT_EQ(a.tracks[0].codec_id, "V_MPEGH/ISO/HEVC");
  EXPECT_EQ(b.doc_types, std::vector<std::string>{"webm"});
  ASSERT_EQ(b.tracks.size(), 2u);
  EXPECT_EQ(b.tracks[0].codec_id, "V_VP9");
  EXPECT_EQ(b.tracks[1].codec_id, "A_OPUS");
  EXPECT_GT(b.tracks[1].codec_delay_ns, 0u);
}

TEST(MediaTrackInfo, PipeOutputHasUnknownSizeSegment) {
  auto path = MakeMedia(streamarc::testing::kH264AacPipeMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(AsBytes(ReadFileOrDie(*path))).ok());
  ASSERT_TRUE(reader.Finish().ok());
  ASSERT_EQ(rec.segment_sizes.size(), 1u);
  EXPECT_FALSE(rec.segment_sizes[0].has_value());
  EXPECT_EQ(rec.events.back(), "/segment");
}

}  // namespace
}  // namespace streamarc::mkv
