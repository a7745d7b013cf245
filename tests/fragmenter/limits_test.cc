// Every limit and refusal ends the session with the right KVS ACK error, and every fragment
// emitted before it stays valid.
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

// The fragments emitted before an error re-read cleanly.
void ExpectValid(const CollectingSink& sink) {
  for (const auto& f : sink.fragments) {
    ReadBack rb;
    Status s = ReadFragment(*f, &rb);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(rb.frames.size(), f->frame_count);
  }
}

TEST(Limits, FragmentDuration) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 25).Gop(1000, 75).Gop(4000, 25);  // a 3 s GOP
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_duration_us = 2'000'000;
  auto run = RunStream(b.bytes(), o, sink, clock);
  EXPECT_EQ(run.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(run.error.ack, AckErrorId::kMaxFragmentDurationReached);
  EXPECT_EQ(run.error.fragment_timecode, 1000);
  ASSERT_TRUE(run.error.fragment_index.has_value());
  EXPECT_EQ(*run.error.fragment_index, 1u);
  ASSERT_EQ(sink.fragments.size(), 1u);
  ExpectValid(sink);
  // The same stream passes with the default 20 s.
  CollectingSink ok_sink;
  EXPECT_TRUE(RunStream(b.bytes(), Options{}, ok_sink, clock).status.ok());
  EXPECT_EQ(ok_sink.fragments.size(), 3u);
}

TEST(Limits, DurationIncludesTheLastFrame) {
  // 50 frames of 40 ms: exactly 2 s is allowed, 2 s minus a tick is not.
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 50);
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_duration_us = 2'000'000;
  EXPECT_TRUE(RunStream(b.bytes(), o, sink, clock).status.ok());
  o.max_duration_us = 1'999'000;
  CollectingSink sink2;
  EXPECT_EQ(RunStream(b.bytes(), o, sink2, clock).error.ack,
            AckErrorId::kMaxFragmentDurationReached);
}

TEST(Limits, FragmentSize) {
  StreamBuilder b;
  b.Header({VideoTrack()});
  b.Cluster(0, {{1, 0, true, 1000}, {1, 40, false, 1000}});
  b.Cluster(80, {{1, 80, true, 1000}, {1, 120, false, 5000}});
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_bytes = 4096;
  auto run = RunStream(b.bytes(), o, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kMaxFragmentSizeReached);
  EXPECT_EQ(run.error.fragment_timecode, 80);
  ASSERT_EQ(sink.fragments.size(), 1u);
  ExpectValid(sink);
}

TEST(Limits, FragmentTimecodeGoingBackwards) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 5).Gop(1000, 5).Gop(500, 5);
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.status.code(), Code::kOutOfRange);
  EXPECT_EQ(run.error.ack, AckErrorId::kFragmentTimecodeLesserThanPrevious);
  EXPECT_EQ(run.error.fragment_timecode, 500);
  EXPECT_FALSE(run.error.fragment_index.has_value());  // never opened
  EXPECT_EQ(sink.fragments.size(), 2u);
  ExpectValid(sink);
}

TEST(Limits, EqualFragmentTimecodeIsRefused) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 5).Gop(0, 5);
  ManualClock clock;
  CollectingSink sink;
  EXPECT_EQ(RunStream(b.bytes(), Options{}, sink, clock).error.ack,
            AckErrorId::kFragmentTimecodeLesserThanPrevious);
}

TEST(Limits, FrameJumpingBackBeforeThePreviousFragment) {
  // An RTSP-style timestamp jump inside a fragment.
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(500, 5);
  b.Cluster(1000, {{1, 1000, true}, {1, 1040, false}, {1, 100, false}});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kFragmentTimecodeLesserThanPrevious);
  EXPECT_EQ(run.error.fragment_timecode, 1000);
  EXPECT_EQ(sink.fragments.size(), 1u);
}

TEST(Limits, TooManyTracks) {
  StreamBuilder b;
  b.Header({VideoTrack(1), AudioTrack(2), AudioTrack(3), AudioTrack(4)}).Gop(0, 5);
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kMoreThanAllowedTracksFound);
  EXPECT_TRUE(sink.fragments.empty());
  // Three are fine.
  StreamBuilder three;
  three.Header({VideoTrack(1), AudioTrack(2), AudioTrack(3)}).Gop(0, 5);
  CollectingSink sink3;
  EXPECT_TRUE(RunStream(three.bytes(), Options{}, sink3, clock).status.ok());
}

TEST(Limits, FragmentRate) {
  // 20 one-frame GOPs 100 ms apart sent at once: the burst of 10 passes, the 11th does not.
  StreamBuilder b;
  b.Header({VideoTrack()});
  for (int i = 0; i < 20; ++i) b.Gop(100 * i, 1);
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(run.error.ack, AckErrorId::kStreamReadError);
  EXPECT_EQ(run.error.fragment_timecode, 1000);
  EXPECT_EQ(sink.heads.size(), 10u);
  EXPECT_EQ(sink.fragments.size(), 10u);
  ExpectValid(sink);
}

// A clock that moves 200 ms every time it is read for a rate decision: 5 fragments/s.
class PacedClock final : public Clock {
 public:
  int64_t NowMicros() const override { return now_; }
  int64_t MonotonicMicros() const override { return now_ += step_; }
  int64_t step_ = 200'000;
  mutable int64_t now_ = 0;
};

TEST(Limits, FragmentRateRefillsWithTime) {
  StreamBuilder b;
  b.Header({VideoTrack()});
  for (int i = 0; i < 40; ++i) b.Gop(200 * i, 1);
  PacedClock clock;
  // Two clock reads per fragment (fragment start, then frame bytes): 50 ms each, so 10
  // fragments/s against a limit of 5/s with a burst of 10: refused after about 20.
  clock.step_ = 50'000;
  CollectingSink fast;
  auto run = RunStream(b.bytes(), Options{}, fast, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kStreamReadError);
  EXPECT_GT(fast.fragments.size(), 15u);
  EXPECT_LT(fast.fragments.size(), 25u);
  // 200 ms per read: 2.5 fragments/s, never refused.
  PacedClock slow_clock;
  CollectingSink slow;
  EXPECT_TRUE(RunStream(b.bytes(), Options{}, slow, slow_clock).status.ok());
  EXPECT_EQ(slow.fragments.size(), 40u);
}

TEST(Limits, DataRate) {
  StreamBuilder b;
  b.Header({VideoTrack()});
  for (int i = 0; i < 10; ++i) b.Cluster(1000 * i, {{1, 1000 * i, true, 30'000}});
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_bytes_per_second = 50'000;
  o.byte_burst = 100'000;
  auto run = RunStream(b.bytes(), o, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kStreamReadError);
  EXPECT_EQ(run.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(sink.fragments.size(), 3u);  // 3 x 30 KB fit in the burst, the 4th does not
  EXPECT_EQ(run.error.fragment_timecode, 3000);
  // Disabled: passes.
  o.max_bytes_per_second = 0;
  CollectingSink sink2;
  EXPECT_TRUE(RunStream(b.bytes(), o, sink2, clock).status.ok());
}

TEST(Limits, MissingKeyFrameAtTheStart) {
  StreamBuilder b;
  b.Header({VideoTrack()});
  b.Cluster(0, {{1, 0, false}, {1, 40, true}});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(run.error.ack, AckErrorId::kInvalidMkvData);
  EXPECT_EQ(run.error.fragment_timecode, 0);
  EXPECT_TRUE(sink.heads.empty());
}

TEST(Limits, MissingKeyFrameAfterEndOfFragment) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 5).EndOfFragment();
  b.Cluster(200, {{1, 200, false}});
  ManualClock clock;
  CollectingSink sink;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.error.ack, AckErrorId::kInvalidMkvData);
  EXPECT_EQ(run.error.fragment_timecode, 200);
  EXPECT_EQ(sink.fragments.size(), 1u);
}

// mkv::Reader itself refuses a block for a track that is not in Tracks, so the fragmenter's
// own check is exercised with events sent directly.
TEST(Limits, FrameOfUnknownTrack) {
  ManualClock clock;
  CollectingSink sink;
  auto f = NewFragmenter(Options{}, sink, clock);
  ASSERT_TRUE(f.ok());
  Fragmenter& fr = **f;
  ASSERT_TRUE(fr.OnEbmlHeader({}).ok());
  ASSERT_TRUE(fr.OnSegmentStart(0, std::nullopt).ok());
  ASSERT_TRUE(fr.OnInfo({}).ok());
  ASSERT_TRUE(fr.OnTracks({VideoTrack(1)}).ok());
  ASSERT_TRUE(fr.OnClusterStart({0, 0, false}).ok());
  uint8_t data[4] = {1, 2, 3, 4};
  mkv::Frame frame;
  frame.track = 1;
  frame.key = true;
  frame.data = data;
  ASSERT_TRUE(fr.OnFrame(frame).ok());
  frame.track = 7;
  frame.timecode = 40;
  Status s = fr.OnFrame(frame);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(fr.error().ack, AckErrorId::kTrackNumberMismatch);
  EXPECT_EQ(fr.error().fragment_timecode, 0);
  // Stopped: every later event returns the same error, nothing more is emitted.
  EXPECT_EQ(fr.OnSegmentEnd(), s);
  EXPECT_TRUE(sink.fragments.empty());
  EXPECT_EQ(fr.ErrorFor(s).ack, AckErrorId::kTrackNumberMismatch);
}

TEST(Limits, FrameBeforeTracksOfANewSegment) {
  ManualClock clock;
  CollectingSink sink;
  auto f = NewFragmenter(Options{}, sink, clock);
  ASSERT_TRUE(f.ok());
  Fragmenter& fr = **f;
  ASSERT_TRUE(fr.OnTracks({VideoTrack(1)}).ok());
  ASSERT_TRUE(fr.OnSegmentEnd().ok());
  ASSERT_TRUE(fr.OnSegmentStart(0, std::nullopt).ok());  // the old tracks no longer hold
  ASSERT_TRUE(fr.OnClusterStart({0, 0, false}).ok());
  uint8_t data[1] = {0};
  mkv::Frame frame;
  frame.track = 1;
  frame.key = true;
  frame.data = data;
  EXPECT_FALSE(fr.OnFrame(frame).ok());
  EXPECT_EQ(fr.error().ack, AckErrorId::kInvalidMkvData);
}

TEST(Limits, SinkFailureIsAnArchivalError) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 5).Gop(200, 5).Gop(400, 5);
  ManualClock clock;
  CollectingSink sink;
  sink.fail_after = 1;
  auto run = RunStream(b.bytes(), Options{}, sink, clock);
  EXPECT_EQ(run.status.code(), Code::kIoError);
  EXPECT_EQ(run.error.ack, AckErrorId::kArchivalError);
  EXPECT_EQ(sink.fragments.size(), 1u);
  // The ack names the refused fragment (the second), not the one that was opening.
  EXPECT_EQ(run.error.fragment_timecode, 200);
  EXPECT_EQ(run.error.fragment_index, std::optional<uint64_t>(1));
}

TEST(Limits, ReaderErrorsMapToKvsCodes) {
  StreamBuilder b;
  b.Header({VideoTrack()}).Gop(0, 5).Gop(200, 5);
  ManualClock clock;
  // Truncated inside a block: the producer resends (4000), the open fragment is dropped.
  {
    CollectingSink sink;
    mkv::Bytes cut(b.bytes().begin(), b.bytes().end() - 50);
    auto run = RunStream(cut, Options{}, sink, clock);
    EXPECT_EQ(run.status.code(), Code::kDataLoss);
    EXPECT_EQ(run.error.ack, AckErrorId::kStreamReadError);
    EXPECT_EQ(run.error.fragment_timecode, 200);
    EXPECT_EQ(run.error.fragment_index, std::optional<uint64_t>(1));
    EXPECT_EQ(sink.fragments.size(), 1u);
  }
  // Garbage after a fragment: 4006.
  {
    CollectingSink sink;
    mkv::Bytes bad = b.bytes();
    bad.insert(bad.end(), {0x00, 0x00, 0x00, 0x00});
    auto run = RunStream(bad, Options{}, sink, clock);
    EXPECT_EQ(run.error.ack, AckErrorId::kInvalidMkvData);
    EXPECT_FALSE(run.status.ok());
  }
}

TEST(Limits, InvalidOptionsAreRefused) {
  ManualClock clock;
  CollectingSink sink;
  Options o;
  o.max_duration_us = 0;
  EXPECT_FALSE(NewFragmenter(o, sink, clock).ok());
  o = Options{};
  o.min_recut_duration_us = o.max_duration_us + 1;
  EXPECT_FALSE(NewFragmenter(o, sink, clock).ok());
  o = Options{};
  o.fragment_burst = 0;
  EXPECT_FALSE(NewFragmenter(o, sink, clock).ok());
  o = Options{};
  o.max_duration_us = INT64_MAX;  // would overflow the ns comparisons
  EXPECT_FALSE(NewFragmenter(o, sink, clock).ok());
  o.max_duration_us = 86'400'000'000;
  EXPECT_TRUE(NewFragmenter(o, sink, clock).ok());
}

TEST(Limits, AckErrorNames) {
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kFragmentTimecodeLesserThanPrevious),
            "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS");
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kMaxFragmentDurationReached),
            "MAX_FRAGMENT_DURATION_REACHED");
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kMoreThanAllowedTracksFound),
            "MORE_THAN_ALLOWED_TRACKS_FOUND");
  EXPECT_EQ(static_cast<int>(AckErrorId::kInvalidMkvData), 4006);
  EXPECT_TRUE(IsRetriedByProducer(AckErrorId::kStreamReadError));
  EXPECT_FALSE(IsRetriedByProducer(AckErrorId::kMaxFragmentSizeReached));
}

}  // namespace
}  // namespace streamarc::fragmenter
