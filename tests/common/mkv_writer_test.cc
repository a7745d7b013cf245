// The writer: what it writes reads back identically, and real tools (ffprobe, mkvinfo)
// read it without a warning.
#include <gtest/gtest.h>

#include <random>

#include "common/mkv.h"
#include "tests/common/mkv_test_util.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::mkv {
namespace {

using streamarc::testing::ProbePackets;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;
using testing::AsBytes;
using testing::FeedInPieces;
using testing::RecordedFrame;
using testing::Recorder;

// A real H.264 + AAC clip read with our reader, to be written out again.
struct Source {
  std::vector<TrackInfo> tracks;
  SegmentInfo info;
  std::vector<RecordedFrame> frames;
};

Source LoadSource() {
  auto path = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
  EXPECT_TRUE(path.ok()) << path.status().ToString();
  Recorder rec;
  Reader reader(rec);
  std::string bytes = ReadFileOrDie(*path);
  EXPECT_TRUE(reader.Feed(AsBytes(bytes)).ok());
  EXPECT_TRUE(reader.Finish().ok());
  return {rec.tracks, rec.info, rec.frames};
}

// Writes `src` as a live stream: one cluster per video key frame, like the fragmenter.
Bytes WriteLive(const Source& src, bool with_tags) {
  Bytes out;
  Writer w(out);
  w.WriteEbmlHeader();
  w.BeginSegment();
  SegmentInfo info;
  info.timecode_scale_ns = src.info.timecode_scale_ns;
  w.WriteInfo(info);
  w.WriteTracks(src.tracks);
  uint64_t video = src.tracks[0].number;
  int n = 0;
  for (const RecordedFrame& f : src.frames) {
    if (f.track == video && f.key) {
      if (w.cluster_open()) {
        EXPECT_TRUE(w.EndCluster().ok());
        if (with_tags) {
          std::vector<SimpleTag> tags = {
              {"AWS_KINESISVIDEO_FRAGMENT_NUMBER", "9134385233318143239268206260774392014615" +
                                                       std::to_string(1000000 + n++)},
              {"AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1511852109.126"}};
          w.WriteTags(tags);
        }
      }
      EXPECT_TRUE(w.BeginCluster(f.timecode).ok());
    }
    if (!w.cluster_open()) continue;  // audio before the first key frame
    Status s = w.WriteFrame(f.track, f.timecode, f.key, f.data);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_TRUE(w.EndCluster().ok());
  return out;
}

TEST(MkvWriter, RoundTripIsIdentical) {
  Source src = LoadSource();
  ASSERT_EQ(src.tracks.size(), 2u);
  Bytes out = WriteLive(src, /*with_tags=*/true);

  // The frames before the first video key frame (none here for video) are skipped by
  // WriteLive; compute what it kept.
  std::vector<RecordedFrame> kept;
  bool started = false;
  for (const auto& f : src.frames) {
    started |= f.track == src.tracks[0].number && f.key;
    if (started) kept.push_back(f);
  }
  for (size_t piece : {size_t{0}, size_t{1}, out.size()}) {
    Recorder rec;
    Reader reader(rec);
    Status s = FeedInPieces(reader, out, piece, 7);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(rec.tracks.size(), 2u);
    EXPECT_EQ(rec.tracks[0].codec_private, src.tracks[0].codec_private);
    EXPECT_EQ(rec.tracks[1].codec_private, src.tracks[1].codec_private);
    EXPECT_EQ(rec.tracks[1].sampling_frequency, src.tracks[1].sampling_frequency);
    EXPECT_EQ(rec.tracks[0].pixel_width, src.tracks[0].pixel_width);
    ASSERT_EQ(rec.frames.size(), kept.size());
    EXPECT_TRUE(rec.frames == kept);
    EXPECT_FALSE(rec.tags.empty());
    EXPECT_EQ(rec.tags[0][0].name, "AWS_KINESISVIDEO_FRAGMENT_NUMBER");
  }
}

TEST(MkvWriter, FfprobeAndMkvinfoReadItWithoutWarnings) {
  Source src = LoadSource();
  Bytes out = WriteLive(src, /*with_tags=*/true);
  TempDir dir;
  std::string file = dir.File("out.mkv");
  WriteFileOrDie(file, std::string(out.begin(), out.end()));

  // Decoding every frame finds no error and no warning.
  auto dec = RunCommand({"ffmpeg", "-nostdin", "-v", "warning", "-i", file, "-f", "null", "-"});
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->exit_code, 0) << dec->out;
  EXPECT_EQ(dec->out, "");

  auto packets = ProbePackets(file);
  ASSERT_TRUE(packets.ok()) << packets.status().ToString();
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(out).ok());
  ASSERT_EQ(packets->size(), rec.frames.size());
  for (size_t i = 0; i < packets->size(); ++i) {
    EXPECT_EQ((*packets)[i].pts, rec.frames[i].timecode) << i;
    EXPECT_EQ((*packets)[i].key, rec.frames[i].key) << i;
  }

  auto info = RunCommand({"mkvinfo", "-v", file});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->exit_code, 0) << info->out;
  EXPECT_EQ(info->out.find("Warning"), std::string::npos) << info->out;
  EXPECT_EQ(info->out.find("Error"), std::string::npos) << info->out;
  EXPECT_NE(info->out.find("AWS_KINESISVIDEO_FRAGMENT_NUMBER"), std::string::npos);
  EXPECT_NE(info->out.find("Segment: size unknown"), std::string::npos);
}

TEST(MkvWriter, BlockGroupWithDurationRoundTrips) {
  Bytes out;
  Writer w(out);
  w.WriteEbmlHeader();
  w.BeginSegment();
  w.WriteInfo({});
  TrackInfo t;
  t.number = 1;
  t.type = TrackType::kVideo;
  t.codec_id = "V_MPEG4/ISO/AVC";
  w.WriteTracks({&t, 1});
  ASSERT_TRUE(w.BeginCluster(1'700'000'000'000).ok());
  const uint8_t a[] = {1, 2, 3}, b[] = {4, 5};
  ASSERT_TRUE(w.WriteFrame(1, 1'700'000'000'000, true, a, 40).ok());
  ASSERT_TRUE(w.WriteFrame(1, 1'700'000'000'040, false, b, 40).ok());
  ASSERT_TRUE(w.EndCluster().ok());

  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(out).ok());
  ASSERT_TRUE(reader.Finish().ok());
  ASSERT_EQ(rec.frames.size(), 2u);
  EXPECT_EQ(rec.frames[0], (RecordedFrame{1, 1'700'000'000'000, true, 40, {1, 2, 3}}));
  EXPECT_EQ(rec.frames[1], (RecordedFrame{1, 1'700'000'000'040, false, 40, {4, 5}}));
  EXPECT_EQ(rec.clusters[0].timecode, 1'700'000'000'000);
}

TEST(MkvWriter, RefusesFramesOutsideTheClusterRange) {
  Bytes out;
  Writer w(out);
  const uint8_t a[] = {1};
  EXPECT_EQ(w.WriteFrame(1, 0, true, a).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(w.BeginCluster(100'000).ok());
  EXPECT_EQ(w.BeginCluster(5).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(w.WriteFrame(1, 100'000 + 32767, true, a).ok());
  EXPECT_EQ(w.WriteFrame(1, 100'000 + 32768, true, a).code(), Code::kOutOfRange);
  EXPECT_EQ(w.WriteFrame(1, 100'000 - 32769, true, a).code(), Code::kOutOfRange);
  EXPECT_EQ(w.WriteFrame(0, 100'000, true, a).code(), Code::kInvalidArgument);
  ASSERT_TRUE(w.EndCluster().ok());
  EXPECT_EQ(w.EndCluster().code(), Code::kFailedPrecondition);
  EXPECT_EQ(w.BeginCluster(-1).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace streamarc::mkv
