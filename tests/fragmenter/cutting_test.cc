// Where fragments begin and end, on synthetic streams built with mkv::Writer: kept
// producer clusters, re-cutting, END_OF_FRAGMENT, track sections, timestamps, tags.
#include <gtest/gtest.h>

#include "tests/fragmenter/fragmenter_test_util.h"

namespace streamarc::fragmenter {
namespace {

using testing::AudioTrack;
using testing::CollectingSink;
using testing::ReadBack;
using testing::ReadFragment;
using testing::RunStream;
using testing::StreamBuilder;
using testing::VideoTrack;

std::vector<int64_t> Timecodes(const CollectingSink& sink) {
  std::vector<int64_t> v;
  for (const auto& f : sink.fragments) v.push_back(f->fragment_timecode);
  return v;
}

TEST(Cutting, ProducerClustersAtKeyFramesAreKeptWhole) {
  // Like the KVS producer SDK without key-frame fragmentation: each cluster holds two GOPs.
  StreamBuilder b;
  b.Header({VideoTrack()});
  for (int c = 0; c < 3; ++c) {
    std::vector<testing::SynthFrame> frames;
    for (int i = 0; i < 50; ++i) frames.push_back({1, 2000 * c + 40 * i, i % 25 == 0});
    b.Cluster(2000 * c, frames);
  }
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 2000, 4000}));
  for (const auto& f : sink.fragments) {
    EXPECT_TRUE(f->kept_producer_cluster);
    EXPECT_EQ(f->frame_count, 50u);
    EXPECT_EQ(f->key_frames.size(), 2u);
    EXPECT_EQ(f->duration_ms, 2000);  // 50 frames of the track's 40 ms default duration
  }
}

TEST(Cutting, ClustersNotStartingAtKeyFramesAreRecut) {
  // Like ffmpeg: clusters start with audio and hold several GOPs, or parts of one.
  StreamBuilder b;
  b.Header({VideoTrack(), AudioTrack()});
  std::vector<testing::SynthFrame> frames;
  for (int i = 0; i < 100; ++i) {
    frames.push_back({2, 20 * i, true, 10});
    if (i % 2 == 0) frames.push_back({1, 20 * i, (i / 2) % 25 == 0});  // 1 s GOPs
  }
  // Two clusters, split in the middle of the second GOP, each starting with audio.
  b.Cluster(0, {frames.begin(), frames.begin() + 90});
  b.Cluster(frames[90].timecode, {frames.begin() + 90, frames.end()});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 1000}));
  ASSERT_EQ(sink.fragments.size(), 2u);
  EXPECT_FALSE(sink.fragments[1]->kept_producer_cluster);
  EXPECT_EQ(sink.fragments[0]->frame_count + sink.fragments[1]->frame_count, frames.size());
  for (const auto& f : sink.fragments) {
    ReadBack rb;
    ASSERT_TRUE(ReadFragment(*f, &rb).ok());
    EXPECT_EQ(rb.frames[0].track, 1u);
    EXPECT_TRUE(rb.frames[0].key);
  }
}

TEST(Cutting, RecutWaitsForMinimumDuration) {
  // An intra-only stream in one big cluster that starts with audio: every video frame is a
  // key frame; fragments last min_recut_duration_us, not one frame.
  StreamBuilder b;
  b.Header({VideoTrack(), AudioTrack()});
  std::vector<testing::SynthFrame> frames = {{2, 0, true, 10}};
  for (int i = 0; i < 75; ++i) frames.push_back({1, 40 * i, true});
  b.Cluster(0, frames);
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.min_recut_duration_us = 1'000'000;
  auto run = RunStream(b.bytes(), o, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 1000, 2000}));
}

TEST(Cutting, AudioOnlyCutsAtAnyKeyFrame) {
  StreamBuilder b;
  mkv::TrackInfo a = AudioTrack(1);
  b.Header({a});
  std::vector<testing::SynthFrame> frames;
  for (int i = 0; i < 150; ++i) frames.push_back({1, 20 * i, true, 10});
  b.Cluster(0, {frames.begin(), frames.begin() + 77});  // clusters at odd places
  b.Cluster(frames[77].timecode, {frames.begin() + 77, frames.end()});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // Every audio cluster starts at a key frame, so each is kept whole.
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 1540}));
  for (const auto& f : sink.fragments) EXPECT_EQ(f->section->cut_track, 0u);
}

TEST(Cutting, AudioBeforeFirstVideoKeyFrameGoesBehindIt) {
  StreamBuilder b;
  b.Header({VideoTrack(), AudioTrack()});
  b.Cluster(0, {{2, 0, true, 10, 0xA0},
                {2, 20, true, 10, 0xA1},
                {1, 7, true, 100, 0x10},
                {2, 40, true, 10, 0xA2},
                {1, 47, false, 100, 0x11}});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_EQ(sink.fragments.size(), 1u);
  EXPECT_EQ(sink.fragments[0]->fragment_timecode, 7);
  ReadBack rb;
  ASSERT_TRUE(ReadFragment(*sink.fragments[0], &rb).ok());
  std::vector<uint8_t> fills;
  for (const auto& f : rb.frames) fills.push_back(f.data[0]);
  EXPECT_EQ(fills, (std::vector<uint8_t>{0x10, 0xA0, 0xA1, 0xA2, 0x11}));
  EXPECT_EQ(rb.frames[1].timecode, 0);  // 7 ticks before its cluster: a negative block time
}

TEST(Cutting, EndOfFragmentTagClosesTheFragmentAtOnce) {
  StreamBuilder head;
  head.Header({VideoTrack()}).Gop(0, 10);
  StreamBuilder tail;
  tail.EndOfFragment();
  StreamBuilder rest;
  rest.Gop(5000, 10);

  ManualClock clock;
  CollectingSink sink;
  auto f = NewFragmenter(Options{}, sink, clock);
  ASSERT_TRUE(f.ok());
  mkv::Reader reader(**f);
  ASSERT_TRUE(reader.Feed(head.bytes()).ok());
  EXPECT_TRUE(sink.fragments.empty());  // the cluster's end alone does not close it
  ASSERT_TRUE(reader.Feed(tail.bytes()).ok());
  ASSERT_EQ(sink.fragments.size(), 1u);  // the tag did
  ASSERT_TRUE(reader.Feed(rest.bytes()).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 5000}));
}

TEST(Cutting, EndOfFragmentSplitsARecutStreamToo) {
  // Without the tag the second cluster (starting with audio) would continue the fragment.
  StreamBuilder b;
  b.Header({VideoTrack(), AudioTrack()});
  b.Cluster(0, {{1, 0, true}, {2, 0, true, 10}, {1, 40, false}});
  b.EndOfFragment();
  b.Cluster(80, {{2, 80, true, 10}, {1, 80, true}, {1, 120, false}});
  ManualClock clock;
  CollectingSink sink;
  ASSERT_TRUE(RunStream(b.bytes(), Options{}, sink, clock).status.ok());
  EXPECT_EQ(Timecodes(sink), (std::vector<int64_t>{0, 80}));
}

TEST(Cutting, CodecPrivateChangeStartsANewTrackSection) {
  StreamBuilder b;
  b.Header({VideoTrack(1, {1, 2, 3})}).Gop(0, 5).Gop(200, 5);
  b.Header({VideoTrack(1, {1, 2, 3})}).Gop(400, 5);  // reconnect, same tracks
  b.Header({VideoTrack(1, {9, 9})}).Gop(600, 5);     // new CodecPrivate
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_EQ(sink.fragments.size(), 4u);
  EXPECT_EQ(sink.fragments[0]->section, sink.fragments[1]->section);
  EXPECT_EQ(sink.fragments[1]->section, sink.fragments[2]->section);
  EXPECT_NE(sink.fragments[2]->section, sink.fragments[3]->section);
  EXPECT_EQ(sink.fragments[0]->section->id, 1u);
  EXPECT_EQ(sink.fragments[3]->section->id, 2u);
  EXPECT_EQ(sink.fragments[3]->section->tracks[0].codec_private, (mkv::Bytes{9, 9}));
  EXPECT_EQ(run.stats.sections, 2u);
  ReadBack rb;
  ASSERT_TRUE(ReadFragment(*sink.fragments[3], &rb).ok());
  ASSERT_EQ(rb.tracks.size(), 1u);
  EXPECT_EQ(rb.tracks[0].codec_private, (mkv::Bytes{9, 9}));
}

TEST(Cutting, TimestampsAbsoluteRelativeAndServer) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 25).Gop(1000, 25);
  ManualClock clock(5'000'000);
  CollectingSink sink;
  Options o;
  o.timecode_type = TimecodeType::kRelative;
  o.producer_start_timestamp_ms = 1'588'143'003'893;
  auto f = NewFragmenter(o, sink, clock);
  ASSERT_TRUE(f.ok());
  mkv::Reader reader(**f);
  ASSERT_TRUE(reader.Feed(b.bytes()).ok());  // the second fragment opens now...
  clock.Advance(250'000);
  ASSERT_TRUE(reader.Finish().ok());
  ASSERT_EQ(sink.fragments.size(), 2u);
  EXPECT_EQ(sink.fragments[0]->producer_timestamp_ms, 1'588'143'003'893);
  EXPECT_EQ(sink.fragments[1]->producer_timestamp_ms, 1'588'143'004'893);
  EXPECT_EQ(sink.fragments[1]->fragment_timecode, 1000);  // as sent, for the ACK
  EXPECT_EQ(sink.fragments[0]->server_timestamp_us, 5'000'000);
  EXPECT_EQ(sink.fragments[1]->server_timestamp_us, 5'000'000);  // ...not when it closes
  EXPECT_EQ(sink.fragments[1]->duration_ms, 1000);
}

TEST(Cutting, ProducerTagsTravelWithTheNextFragment) {
  StreamBuilder b;
  b.Header({VideoTrack()});
  b.Tags({{"MOTION", "yes"}});
  b.Gop(0, 5);
  b.Tags({{"A", "1"}, {"B", "2"}, {"C", "3"}});
  b.Gop(200, 5);
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_tags_per_fragment = 2;
  auto run = RunStream(b.bytes(), o, sink, clock);
  ASSERT_TRUE(run.status.ok());
  ASSERT_EQ(sink.fragments.size(), 2u);
  ASSERT_EQ(sink.fragments[0]->tags.size(), 1u);
  EXPECT_EQ(sink.fragments[0]->tags[0].name, "MOTION");
  ASSERT_EQ(sink.fragments[1]->tags.size(), 2u);
  EXPECT_EQ(sink.fragments[1]->tags[1].value, "2");
  EXPECT_EQ(run.stats.dropped_tags, 1u);
}

TEST(Cutting, AudioNeverFollowedByVideoIsCountedAsDropped) {
  StreamBuilder b;
  b.Header({VideoTrack(), AudioTrack()});
  b.Cluster(0, {{2, 0, true, 10}, {2, 20, true, 10}});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  ASSERT_TRUE(run.status.ok());
  EXPECT_TRUE(sink.fragments.empty());
  EXPECT_EQ(run.stats.dropped_frames, 2u);
}

}  // namespace
}  // namespace streamarc::fragmenter
