// The byte layout the KVS producer SDK (PIC) sends, built by hand (kvs-api.md §4): a
// Segment and Clusters of unknown size, epoch-millisecond cluster timecodes,
// END_OF_FRAGMENT tags from the intermittent-producer mode, audio and video interleaved.
#include <gtest/gtest.h>

#include "tests/common/mkv_build.h"
#include "tests/fragmenter/fragmenter_test_util.h"

namespace streamarc::fragmenter {
namespace {

using mkv::Bytes;
using namespace mkv::testing;  // NOLINT: the element builders
namespace ebml = mkv::ebml;
using testing::CollectingSink;
using testing::ReadBack;
using testing::ReadFragment;
using testing::RunStream;

constexpr int64_t kT0 = 1'700'000'000'000;  // ms since the epoch

Bytes EndOfFragmentTags() {
  return El(ebml::kTags,
            El(ebml::kTag,
               El(ebml::kSimpleTag, Cat({Str(ebml::kTagName, "AWS_KINESISVIDEO_END_OF_FRAGMENT"),
                                         Str(ebml::kTagString, "")}))));
}

// One PIC cluster: unknown size, Timecode, Position 0, then a GOP of 25 video frames (40 ms)
// with two AAC frames (21 ms) after each video frame.
Bytes PicCluster(int64_t timecode) {
  Bytes body =
      Cat({Uint(ebml::kTimecode, static_cast<uint64_t>(timecode)), Uint(ebml::kPosition, 0)});
  for (int i = 0; i < 25; ++i) {
    body = Cat({body, SimpleBlock(1, static_cast<int16_t>(40 * i), i == 0,
                                  Payload(200, static_cast<uint8_t>(i)))});
    for (int a = 0; a < 2; ++a) {
      body = Cat(
          {body, SimpleBlock(2, static_cast<int16_t>(40 * i + 21 * a), true, Payload(20, 0xA0))});
    }
  }
  return UnknownSizeEl(ebml::kCluster, body);
}

Bytes PicHeader() { return Cat({Header(), UnknownSizeEl(ebml::kSegment, Bytes{})}); }

Bytes PicTracks() {
  return Cat({Info(), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC", 40'000'000), Track(2, 2, "A_AAC")})});
}

TEST(KvsProducer, UnknownSizeClustersWithEpochTimecodes) {
  // Streams, pauses (EoFr), resumes a minute later.
  Bytes stream = Cat({PicHeader(), PicTracks(), PicCluster(kT0), PicCluster(kT0 + 1000),
                      EndOfFragmentTags(), PicCluster(kT0 + 61'000)});
  for (size_t piece : {size_t{0}, size_t{1}}) {
    ManualClock clock(kT0 * 1000 + 400'000);
    CollectingSink sink;
    auto run = RunStream(stream, Options{}, sink, clock, piece);
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    ASSERT_EQ(sink.fragments.size(), 3u);
    const int64_t want[] = {kT0, kT0 + 1000, kT0 + 61'000};
    for (size_t i = 0; i < 3; ++i) {
      const Fragment& f = *sink.fragments[i];
      EXPECT_EQ(f.fragment_timecode, want[i]);
      EXPECT_EQ(f.producer_timestamp_ms, want[i]);  // ABSOLUTE: the timecode itself
      EXPECT_TRUE(f.kept_producer_cluster);
      EXPECT_EQ(f.frame_count, 75u);
      EXPECT_EQ(f.duration_ms, 1000);
      ReadBack rb;
      ASSERT_TRUE(ReadFragment(f, &rb).ok());
      ASSERT_EQ(rb.frames.size(), 75u);
      EXPECT_EQ(rb.frames[0].track, 1u);
      EXPECT_EQ(rb.frames[1].track, 2u);  // interleaving kept
      EXPECT_EQ(rb.frames[74].timecode, want[i] + 40 * 24 + 21);
    }
  }
}

TEST(KvsProducer, EndOfFragmentEmitsBeforeTheNextClusterArrives) {
  // The intermittent producer sends EoFr and then nothing for a long time: the fragment must
  // not wait for the next cluster (or the end of the connection) to be emitted.
  Bytes head = Cat({PicHeader(), PicTracks(), PicCluster(kT0)});
  ManualClock clock;
  CollectingSink sink;
  auto f = NewFragmenter(Options{}, sink, clock);
  ASSERT_TRUE(f.ok());
  mkv::Reader reader(**f);
  ASSERT_TRUE(reader.Feed(head).ok());
  EXPECT_TRUE(sink.fragments.empty());  // an unknown-size cluster may still continue
  ASSERT_TRUE(reader.Feed(EndOfFragmentTags()).ok());
  ASSERT_EQ(sink.fragments.size(), 1u);
  EXPECT_EQ(sink.fragments[0]->frame_count, 75u);
}

TEST(KvsProducer, RelativeTimecodesAddTheStartTimestamp) {
  // absolute_fragment_times=false: cluster timecodes count from 0 in each session.
  Bytes stream = Cat({PicHeader(), PicTracks(), PicCluster(0), PicCluster(1000)});
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.timecode_type = TimecodeType::kRelative;
  o.producer_start_timestamp_ms = kT0 + 5;
  auto run = RunStream(stream, o, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_EQ(sink.fragments.size(), 2u);
  EXPECT_EQ(sink.fragments[0]->fragment_timecode, 0);  // the ACK echoes what was sent
  EXPECT_EQ(sink.fragments[0]->producer_timestamp_ms, kT0 + 5);
  EXPECT_EQ(sink.fragments[1]->producer_timestamp_ms, kT0 + 1005);
}

TEST(KvsProducer, TimecodeNotMonotonicAcrossClusters) {
  // The 4004 users see when RTSP timestamps jump back.
  Bytes stream = Cat({PicHeader(), PicTracks(), PicCluster(kT0 + 2000), PicCluster(kT0 + 1000)});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(stream, Options{}, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kFragmentTimecodeLesserThanPrevious);
  EXPECT_EQ(run.error.fragment_timecode, kT0 + 1000);
  EXPECT_EQ(sink.fragments.size(), 1u);
}

}  // namespace
}  // namespace streamarc::fragmenter
