// Real media from ffmpeg and GStreamer through mkv::Reader into the fragmenter: fragments
// start at key frames, re-read cleanly, and together hold exactly the input's frames.
#include "tests/support/media.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/fragmenter/fragmenter_test_util.h"
#include "tests/support/subprocess.h"

namespace streamarc::fragmenter {
namespace {

using streamarc::testing::MakeMedia;
using streamarc::testing::ProbePackets;
using streamarc::testing::ReadFileOrDie;
using testing::AsBytes;
using testing::CollectingSink;
using testing::ReadBack;
using testing::ReadFragment;
using testing::RunStream;

struct Case {
  const char* medium;
  size_t fragments;  // expected count
  bool kept;         // the producer's clusters (after the first) are kept whole
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.medium; }

class FragmenterMediaTest : public ::testing::TestWithParam<Case> {};

// Input frames as the reader sees them, per track.
std::map<uint64_t, std::vector<ReadBack::F>> InputFrames(const std::string& bytes) {
  ReadBack rb;
  mkv::Reader r(rb);
  EXPECT_TRUE(r.Feed(AsBytes(bytes)).ok());
  EXPECT_TRUE(r.Finish().ok());
  std::map<uint64_t, std::vector<ReadBack::F>> by_track;
  for (auto& f : rb.frames) by_track[f.track].push_back(std::move(f));
  return by_track;
}

TEST_P(FragmenterMediaTest, KeyFrameStartsAndExactFrames) {
  const Case& c = GetParam();
  auto path = MakeMedia(c.medium);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  const std::string bytes = ReadFileOrDie(*path);

  ManualClock clock(1'700'000'000'000'000);
  CollectingSink sink;
  testing::RunResult run = RunStream(AsBytes(bytes), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.error.ack, AckErrorId::kNone);
  ASSERT_EQ(sink.fragments.size(), c.fragments);
  ASSERT_EQ(sink.heads.size(), sink.fragments.size());
  EXPECT_EQ(run.stats.dropped_frames, 0u);

  std::map<uint64_t, std::vector<ReadBack::F>> got;
  int64_t prev_start = -1;
  for (size_t i = 0; i < sink.fragments.size(); ++i) {
    const Fragment& f = *sink.fragments[i];
    SCOPED_TRACE("fragment " + std::to_string(i));
    EXPECT_EQ(f.index, i);
    EXPECT_EQ(sink.heads[i].fragment_timecode, f.fragment_timecode);
    // (ffmpeg's first cluster does start at the video key frame; its later ones start with
    // audio.)
    if (i > 0) {
      EXPECT_EQ(f.kept_producer_cluster, c.kept);
    }
    EXPECT_EQ(f.section.get(), sink.fragments[0]->section.get());  // one track section
    EXPECT_GT(f.producer_timestamp_ms, prev_start);
    prev_start = f.producer_timestamp_ms;
    EXPECT_EQ(f.producer_timestamp_ms, f.fragment_timecode);  // ABSOLUTE, 1 ms ticks
    EXPECT_EQ(f.server_timestamp_us, 1'700'000'000'000'000);
    EXPECT_GT(f.duration_ms, 0);
    EXPECT_LE(f.duration_ms, 2100);

    ReadBack rb;
    Status s = ReadFragment(f, &rb);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(rb.clusters.size(), 1u);
    EXPECT_TRUE(rb.clusters[0].known_size);
    EXPECT_EQ(rb.clusters[0].timecode, f.fragment_timecode);
    ASSERT_EQ(rb.frames.size(), f.frame_count);
    // The first block is a key frame of the cut track (the video track when there is one).
    const uint64_t cut = f.section->cut_track;
    EXPECT_NE(cut, 0u);
    EXPECT_EQ(rb.frames[0].track, cut);
    EXPECT_TRUE(rb.frames[0].key);
    EXPECT_EQ(rb.frames[0].timecode, f.fragment_timecode);
    // Key-frame offsets point at the cut track's key blocks.
    ASSERT_FALSE(f.key_frames.empty());
    const uint64_t cluster_base = f.section->header.size();
    EXPECT_EQ(f.key_frames[0].offset + cluster_base, rb.block_offsets[0]);
    size_t k = 0;
    for (size_t j = 0; j < rb.frames.size(); ++j) {
      if (rb.frames[j].track != cut || !rb.frames[j].key) continue;
      ASSERT_LT(k, f.key_frames.size());
      EXPECT_EQ(f.key_frames[k].offset + cluster_base, rb.block_offsets[j]);
      EXPECT_EQ(f.key_frames[k].timecode, rb.frames[j].timecode);
      ++k;
    }
    EXPECT_EQ(k, f.key_frames.size());
    for (auto& fr : rb.frames) got[fr.track].push_back(std::move(fr));
  }

  // Every frame of every track, in order, with its bytes, exactly once.
  auto want = InputFrames(bytes);
  ASSERT_EQ(got.size(), want.size());
  for (auto& [track, frames] : want) {
    SCOPED_TRACE("track " + std::to_string(track));
    ASSERT_EQ(got[track].size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(got[track][i].timecode, frames[i].timecode) << "frame " << i;
      EXPECT_EQ(got[track][i].key, frames[i].key) << "frame " << i;
      ASSERT_EQ(got[track][i].data, frames[i].data) << "frame " << i;
    }
  }
}

// The fragments, concatenated (one track section header, then every cluster), are a file
// that ffprobe reads with the same packets as the input.
TEST_P(FragmenterMediaTest, ConcatenationEqualsFfprobePackets) {
  const Case& c = GetParam();
  auto path = MakeMedia(c.medium);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  auto want = ProbePackets(*path);
  ASSERT_TRUE(want.ok()) << want.status().ToString();

  ManualClock clock;
  CollectingSink sink;
  testing::RunResult run =
      RunStream(AsBytes(ReadFileOrDie(*path)), Options{}, sink, clock, 1 << 30);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_FALSE(sink.fragments.empty());
  std::string out(sink.fragments[0]->section->header.begin(),
                  sink.fragments[0]->section->header.end());
  for (const auto& f : sink.fragments) out.append(f->cluster.begin(), f->cluster.end());
  streamarc::testing::TempDir dir;
  streamarc::testing::WriteFileOrDie(dir.File("out.mkv"), out);
  auto got = ProbePackets(dir.File("out.mkv"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();

  // Compare per stream: frames held before the first video key frame move behind it.
  std::map<int, std::vector<streamarc::testing::ProbePacket>> a, b;
  for (const auto& p : *want) a[p.stream_index].push_back(p);
  for (const auto& p : *got) b[p.stream_index].push_back(p);
  ASSERT_EQ(a.size(), b.size());
  for (auto& [stream, packets] : a) {
    SCOPED_TRACE("stream " + std::to_string(stream));
    ASSERT_EQ(b[stream].size(), packets.size());
    for (size_t i = 0; i < packets.size(); ++i) {
      EXPECT_EQ(b[stream][i].pts, packets[i].pts) << "packet " << i;
      EXPECT_EQ(b[stream][i].key, packets[i].key) << "packet " << i;
      EXPECT_EQ(b[stream][i].size, packets[i].size) << "packet " << i;
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.medium;
  for (char& ch : n) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

// Fragment counts: 6 s of 1 s GOPs, except the pipe recipe (-g 50: 2 s GOPs) and h265 (4 s).
INSTANTIATE_TEST_SUITE_P(Media, FragmenterMediaTest,
                         ::testing::Values(Case{streamarc::testing::kH264AacMkv, 6, false},
                                           Case{streamarc::testing::kH264AacPipeMkv, 3, false},
                                           Case{streamarc::testing::kH265Mkv, 4, true},
                                           Case{streamarc::testing::kGstX264Mkv, 6, true},
                                           Case{streamarc::testing::kGstStreamableMkv, 6, true},
                                           Case{streamarc::testing::kGstX264OpusMkv, 6, true},
                                           Case{streamarc::testing::kVp9OpusWebm, 6, false}),
                         CaseName);

// The same stream, fed whole, byte by byte and in random pieces, gives the same fragments.
TEST(FragmenterMedia, AnySplitGivesTheSameFragments) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  const std::string bytes = ReadFileOrDie(*path);
  ManualClock clock;
  std::vector<std::vector<mkv::Bytes>> runs;
  for (size_t piece : {size_t{1} << 30, size_t{1}, size_t{0}}) {
    CollectingSink sink;
    ASSERT_TRUE(RunStream(AsBytes(bytes), Options{}, sink, clock, piece, 99).status.ok());
    std::vector<mkv::Bytes> clusters;
    for (const auto& f : sink.fragments) clusters.push_back(f->cluster);
    runs.push_back(std::move(clusters));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
}

// A long-GOP real stream against a short duration limit: 4002, nothing half-emitted.
TEST(FragmenterMedia, RealStreamOverDurationLimit) {
  auto path = MakeMedia(streamarc::testing::kH264AacPipeMkv);  // 2 s GOPs
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_duration_us = 1'500'000;
  o.min_recut_duration_us = 500'000;
  auto run = RunStream(AsBytes(ReadFileOrDie(*path)), o, sink, clock);
  EXPECT_FALSE(run.status.ok());
  EXPECT_EQ(run.error.ack, AckErrorId::kMaxFragmentDurationReached);
  EXPECT_EQ(run.status.code(), Code::kResourceExhausted);
  EXPECT_TRUE(sink.fragments.empty());
  ASSERT_EQ(sink.heads.size(), 1u);
  ASSERT_TRUE(run.error.fragment_index.has_value());
  EXPECT_EQ(*run.error.fragment_index, 0u);
  EXPECT_EQ(run.error.fragment_timecode, sink.heads[0].fragment_timecode);
}

}  // namespace
}  // namespace streamarc::fragmenter
