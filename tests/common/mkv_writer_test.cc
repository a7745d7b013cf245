// The writer: what it writes reads back identically, and real tools (ffprobe, mkvinfo)
// read it without a warning.
#include <gtest/gtest.h>

#include <random>
#include <span>
#include <tuple>

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

// Writes `src` as a live stream: one cluster per video key frame, like the fragmenter (or,
// with ClusterSize::kUnknown, like a KVS producer).
Bytes WriteLive(const Source& src, bool with_tags, ClusterSize size = ClusterSize::kKnown) {
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
              {"AWS_KINESISVIDEO_FRAGMENT_NUMBER",
               "9134385233318143239268206260774392014615" + std::to_string(1000000 + n++)},
              {"AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1511852109.126"}};
          w.WriteTags(tags);
        }
      }
      EXPECT_TRUE(w.BeginCluster(f.timecode, size).ok());
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

// A KVS producer's layout: every Cluster of unknown size, ended by the next Cluster or Tags.
TEST(MkvWriter, UnknownSizeClustersReadBackIdentically) {
  Source src = LoadSource();
  Bytes known = WriteLive(src, /*with_tags=*/true);
  Bytes out = WriteLive(src, /*with_tags=*/true, ClusterSize::kUnknown);
  // Each Cluster's size field is one byte instead of eight.
  Recorder known_rec;
  Reader known_reader(known_rec);
  ASSERT_TRUE(known_reader.Feed(known).ok());
  ASSERT_TRUE(known_reader.Finish().ok());
  const size_t clusters = known_rec.clusters.size();
  ASSERT_GT(clusters, 1u);
  EXPECT_EQ(out.size() + 7 * clusters, known.size());

  for (size_t piece : {size_t{0}, size_t{1}, out.size()}) {
    Recorder rec;
    Reader reader(rec);
    Status s = FeedInPieces(reader, out, piece, 11);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(rec.clusters.size(), clusters);
    for (size_t i = 0; i < clusters; ++i) {
      EXPECT_FALSE(rec.clusters[i].known_size) << i;
      EXPECT_EQ(rec.clusters[i].timecode, known_rec.clusters[i].timecode) << i;
    }
    EXPECT_TRUE(rec.frames == known_rec.frames);
    ASSERT_EQ(rec.tags.size(), known_rec.tags.size());
    for (size_t i = 0; i < rec.tags.size(); ++i) {
      ASSERT_EQ(rec.tags[i].size(), 2u);
      EXPECT_EQ(rec.tags[i][0].value, known_rec.tags[i][0].value);
    }
    // Every Cluster closes before the Tags that follow it, as with known sizes.
    EXPECT_EQ(rec.events, known_rec.events);
  }
}

TEST(MkvWriter, UnknownSizeClusterBytes) {
  Bytes out;
  Writer w(out);
  ASSERT_TRUE(w.BeginCluster(5, ClusterSize::kUnknown).ok());
  EXPECT_TRUE(w.cluster_open());
  const uint8_t a[] = {0xAA};
  ASSERT_TRUE(w.WriteFrame(2, 7, true, a).ok());
  const Bytes before_end = out;
  ASSERT_TRUE(w.EndCluster().ok());
  EXPECT_EQ(out, before_end);  // nothing to patch
  EXPECT_FALSE(w.cluster_open());
  // Cluster ID, the one-byte unknown size, Timecode 5, then SimpleBlock track 2 at +2, key.
  const Bytes want = {0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x81, 0x05,
                      0xA3, 0x85, 0x82, 0x00, 0x02, 0x80, 0xAA};
  EXPECT_EQ(out, want);
}

// The producer SDK appends each frame to a fragment's bytes with a fresh Writer.
TEST(MkvWriter, ResumedClusterMatchesOneWriter) {
  const uint8_t a[] = {1, 2}, b[] = {3}, c[] = {4, 5, 6};
  Bytes whole;
  {
    Writer w(whole);
    ASSERT_TRUE(w.BeginCluster(1000, ClusterSize::kUnknown).ok());
    ASSERT_TRUE(w.WriteFrame(1, 1000, true, a).ok());
    ASSERT_TRUE(w.WriteFrame(1, 1040, false, b).ok());
    ASSERT_TRUE(w.WriteFrame(2, 990, true, c).ok());
  }
  Bytes pieces;
  ASSERT_TRUE(Writer(pieces).BeginCluster(1000, ClusterSize::kUnknown).ok());
  for (auto [tc, key, data] : {std::tuple{int64_t{1000}, true, std::span<const uint8_t>(a)},
                               std::tuple{int64_t{1040}, false, std::span<const uint8_t>(b)}}) {
    Writer w(pieces);
    ASSERT_TRUE(w.ResumeCluster(1000).ok());
    ASSERT_TRUE(w.WriteFrame(1, tc, key, data).ok());
  }
  Writer last(pieces);
  ASSERT_TRUE(last.ResumeCluster(1000).ok());
  ASSERT_TRUE(last.WriteFrame(2, 990, true, c).ok());
  EXPECT_EQ(pieces, whole);

  // Read back after a header: the frames at their absolute times.
  Bytes stream;
  Writer hw(stream);
  hw.WriteEbmlHeader();
  hw.BeginSegment();
  hw.WriteInfo({});
  TrackInfo tracks[2];
  tracks[0].number = 1;
  tracks[0].codec_id = "V_MPEG4/ISO/AVC";
  tracks[1].number = 2;
  tracks[1].type = TrackType::kAudio;
  tracks[1].codec_id = "A_AAC";
  hw.WriteTracks(tracks);
  stream.insert(stream.end(), pieces.begin(), pieces.end());
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(stream).ok());
  ASSERT_TRUE(reader.Finish().ok());
  ASSERT_EQ(rec.frames.size(), 3u);
  EXPECT_EQ(rec.frames[0], (RecordedFrame{1, 1000, true, 0, {1, 2}}));
  EXPECT_EQ(rec.frames[1], (RecordedFrame{1, 1040, false, 0, {3}}));
  EXPECT_EQ(rec.frames[2], (RecordedFrame{2, 990, true, 0, {4, 5, 6}}));
  ASSERT_EQ(rec.clusters.size(), 1u);
  EXPECT_FALSE(rec.clusters[0].known_size);
}

TEST(MkvWriter, ResumeAndUnknownSizeRefusals) {
  Bytes out;
  Writer w(out);
  EXPECT_EQ(w.ResumeCluster(-1).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.BeginCluster(-1, ClusterSize::kUnknown).code(), Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(w.ResumeCluster(100).ok());
  EXPECT_TRUE(out.empty());  // resuming writes nothing
  EXPECT_EQ(w.ResumeCluster(100).code(), Code::kFailedPrecondition);
  EXPECT_EQ(w.BeginCluster(200, ClusterSize::kUnknown).code(), Code::kFailedPrecondition);
  const uint8_t a[] = {1};
  EXPECT_EQ(w.WriteFrame(1, 100 + 32768, true, a).code(), Code::kOutOfRange);
  EXPECT_TRUE(w.WriteFrame(1, 100 - 32768, true, a).ok());
  ASSERT_TRUE(w.EndCluster().ok());
  EXPECT_EQ(w.EndCluster().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace streamarc::mkv
