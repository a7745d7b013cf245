// The reader on hand-built layouts: unknown sizes, Void and CRC-32, lacing, BlockGroups,
// new sections mid-stream, handler errors.
#include <gtest/gtest.h>

#include "common/ebml.h"
#include "common/mkv.h"
#include "tests/common/mkv_build.h"
#include "tests/common/mkv_test_util.h"

namespace streamarc::mkv {
namespace {

using namespace testing;
namespace id = ebml;

// The KVS producer's layout: Segment and Clusters of unknown size, Tags between clusters.
Bytes KvsLikeStream() {
  return Cat({Header(),
              UnknownSizeEl(
                  id::kSegment,
                  Cat({
                      Info(),
                      Tracks({Track(1, 1, "V_MPEG4/ISO/AVC"), Track(2, 2, "A_AAC")}),
                      UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 1'700'000'000'000),
                                                       SimpleBlock(1, 0, true, Payload(100, 1)),
                                                       SimpleBlock(2, 5, true, Payload(10, 2)),
                                                       SimpleBlock(1, 33, false, Payload(50, 3))})),
                      El(id::kTags,
                         El(id::kTag, El(id::kSimpleTag,
                                         Cat({Str(id::kTagName, "AWS_KINESISVIDEO_END_OF_FRAGMENT"),
                                              Str(id::kTagString, "")})))),
                      UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 1'700'000'002'000),
                                                       SimpleBlock(1, 0, true, Payload(70, 4))})),
                  }))});
}

TEST(MkvReader, UnknownSizeSegmentAndClusters) {
  Bytes s = KvsLikeStream();
  for (size_t piece : {size_t{1}, size_t{3}, size_t{0}, s.size()}) {
    Recorder rec;
    rec.keep_events_for_frames = true;
    Reader reader(rec);
    Status st = FeedInPieces(reader, s, piece);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(rec.events, (std::vector<std::string>{"ebml", "segment", "info", "tracks", "cluster",
                                                    "frame", "frame", "frame", "/cluster", "tags",
                                                    "cluster", "frame", "/cluster", "/segment"}))
        << "piece " << piece;
    ASSERT_EQ(rec.frames.size(), 4u);
    EXPECT_EQ(rec.frames[1], (RecordedFrame{2, 1'700'000'000'005, true, 0, Payload(10, 2)}));
    EXPECT_EQ(rec.frames[2].timecode, 1'700'000'000'033);
    EXPECT_FALSE(rec.frames[2].key);
    EXPECT_EQ(rec.frames[3].timecode, 1'700'000'002'000);
    EXPECT_FALSE(rec.segment_sizes[0].has_value());
    EXPECT_FALSE(rec.clusters[0].known_size);
    ASSERT_EQ(rec.tags.size(), 1u);
    EXPECT_EQ(rec.tags[0][0].name, "AWS_KINESISVIDEO_END_OF_FRAGMENT");
  }
}

TEST(MkvReader, ClusterEndIsReportedBeforeFinishWhenTheNextElementArrives) {
  Bytes s = KvsLikeStream();
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(s).ok());
  // The last cluster is still open: an unknown-size cluster ends only when something else
  // begins or the stream ends.
  EXPECT_EQ(rec.events.back(), "cluster");
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(rec.events.back(), "/segment");
  EXPECT_EQ(reader.offset(), s.size());
}

TEST(MkvReader, FrameDataIsAViewIntoTheInputWhenWhole) {
  Bytes s = KvsLikeStream();
  struct Checker : ReaderHandler {
    const Bytes* input;
    int views = 0;
    Status OnFrame(const Frame& f) override {
      if (f.data.data() >= input->data() && f.data.data() < input->data() + input->size()) {
        ++views;
      }
      return Status::Ok();
    }
  } checker;
  checker.input = &s;
  Reader reader(checker);
  ASSERT_TRUE(reader.Feed(s).ok());
  EXPECT_EQ(checker.views, 4);
}

TEST(MkvReader, KnownSizeSegmentEndsOnItsOwnAndAnotherSectionFollows) {
  Bytes first =
      Cat({Header(), El(id::kSegment,
                        Cat({Info(), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC")}),
                             El(id::kCluster, Cat({Uint(id::kTimecode, 0),
                                                   SimpleBlock(1, 0, true, Payload(5, 1))}))}))});
  Bytes second =
      Cat({Header("webm"),
           UnknownSizeEl(
               id::kSegment,
               Cat({Info(), Tracks({Track(1, 1, "V_VP8"), Track(2, 2, "A_OPUS")}),
                    UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 10),
                                                     SimpleBlock(2, 0, true, Payload(3, 9))}))}))});
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(first).ok());
  EXPECT_EQ(rec.events.back(), "/segment");  // known size: closed without waiting
  ASSERT_TRUE(reader.Feed(second).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(rec.doc_types, (std::vector<std::string>{"matroska", "webm"}));
  ASSERT_EQ(rec.tracks.size(), 2u);
  EXPECT_EQ(rec.tracks[0].codec_id, "V_VP8");
  ASSERT_EQ(rec.frames.size(), 2u);
  EXPECT_EQ(rec.frames[1].track, 2u);
}

TEST(MkvReader, NewEbmlHeaderMidStreamClosesTheUnknownSizeSection) {
  Bytes a = KvsLikeStream();
  Bytes b = KvsLikeStream();
  Bytes s = Cat({a, b});
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(FeedInPieces(reader, s, 0, 3).ok());
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "ebml"), 2);
  EXPECT_EQ(std::count(rec.events.begin(), rec.events.end(), "/segment"), 2);
  auto second_ebml = std::find(rec.events.begin() + 1, rec.events.end(), "ebml");
  EXPECT_EQ(*(second_ebml - 1), "/segment");
  EXPECT_EQ(*(second_ebml - 2), "/cluster");
  EXPECT_EQ(rec.frames.size(), 8u);
}

TEST(MkvReader, RequiresTracksAgainAfterANewSection) {
  Bytes s =
      Cat({KvsLikeStream(), Header(),
           UnknownSizeEl(
               id::kSegment,
               Cat({UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 5),
                                                     SimpleBlock(1, 0, true, Payload(3, 1))}))}))});
  Recorder rec;
  Reader reader(rec);
  Status st = reader.Feed(s);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("before Tracks"), std::string::npos) << st.message();
}

TEST(MkvReader, VoidCrcAndUnknownElementsAreSkipped) {
  Bytes tracks_body = Cat({Track(1, 1, "V_MPEG4/ISO/AVC")});
  Bytes s = Cat(
      {Header(), El(id::kVoid, Payload(20, 0)),
       UnknownSizeEl(
           id::kSegment,
           Cat({El(id::kSeekHead, Payload(30, 7)), El(id::kVoid, Payload(100, 0)), Info(),
                El(id::kTracks, Cat({Crc32Of(tracks_body), tracks_body})),
                El(0x4DBB, Payload(4, 1)),  // a Seek element where it does not belong: unknown here
                UnknownSizeEl(
                    id::kCluster,
                    Cat({Crc32Of(Payload(4, 4)), Uint(id::kTimecode, 0), El(id::kVoid, {}),
                         El(0x4567, Payload(9, 9)),  // unknown ID inside an unknown-size cluster
                         SimpleBlock(1, 0, true, Payload(8, 1)),
                         El(id::kPosition, Payload(2, 0))})),
                El(id::kCues, Payload(40, 3))}))});
  Recorder rec;
  rec.keep_events_for_frames = true;
  Reader reader(rec);
  Status st = FeedInPieces(reader, s, 0, 9);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(rec.events, (std::vector<std::string>{"ebml", "segment", "info", "tracks", "cluster",
                                                  "frame", "/cluster", "/segment"}));
}

TEST(MkvReader, CrcMismatchInTracksIsDataLoss) {
  Bytes tracks_body = Track(1, 1, "V_MPEG4/ISO/AVC");
  Bytes crc = Crc32Of(tracks_body);
  crc.back() ^= 0x55;
  Bytes s = Cat({Header(), UnknownSizeEl(id::kSegment,
                                         Cat({Info(), El(id::kTracks, Cat({crc, tracks_body}))}))});
  Recorder rec;
  Reader reader(rec);
  Status st = reader.Feed(s);
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_NE(st.message().find("CRC-32"), std::string::npos);
  ReaderOptions lax;
  lax.verify_crc = false;
  Recorder rec2;
  Reader reader2(rec2, lax);
  EXPECT_TRUE(reader2.Feed(s).ok());
}

Bytes LacedStream(uint8_t lacing_bits, const Bytes& lace) {
  return Cat(
      {Header(),
       UnknownSizeEl(id::kSegment,
                     Cat({Info(), Tracks({Track(1, 2, "A_AAC", 20'000'000)}),
                          UnknownSizeEl(id::kCluster,
                                        Cat({Uint(id::kTimecode, 1000),
                                             El(id::kSimpleBlock,
                                                BlockBody(1, 0, 0x80 | lacing_bits, lace))}))}))});
}

void ExpectThreeLacedFrames(const Bytes& s) {
  Recorder rec;
  Reader reader(rec);
  Status st = FeedInPieces(reader, s, 1);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(rec.frames.size(), 3u);
  EXPECT_EQ(rec.frames[0], (RecordedFrame{1, 1000, true, 0, Payload(300, 1)}));
  EXPECT_EQ(rec.frames[1], (RecordedFrame{1, 1020, true, 0, Payload(5, 2)}));
  EXPECT_EQ(rec.frames[2], (RecordedFrame{1, 1040, true, 0, Payload(40, 3)}));
}

TEST(MkvReader, XiphLacing) {
  // 3 frames: count-1 = 2; sizes 300 = 255 + 45, and 5; the last takes the rest.
  Bytes lace = Cat({{2, 255, 45, 5}, Payload(300, 1), Payload(5, 2), Payload(40, 3)});
  ExpectThreeLacedFrames(LacedStream(0x02, lace));
}

TEST(MkvReader, EbmlLacing) {
  // First size as a vint (300 = 0x412C in two bytes), then the signed difference 5 - 300
  // = -295 as a 2-byte signed vint (bias 8191): 7896 = 0x5ED8.
  Bytes lace = Cat({{2, 0x41, 0x2C, 0x5E, 0xD8}, Payload(300, 1), Payload(5, 2), Payload(40, 3)});
  ExpectThreeLacedFrames(LacedStream(0x06, lace));
}

TEST(MkvReader, FixedSizeLacing) {
  Bytes lace = Cat({{2}, Payload(10, 1), Payload(10, 2), Payload(10, 3)});
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(LacedStream(0x04, lace)).ok());
  ASSERT_EQ(rec.frames.size(), 3u);
  EXPECT_EQ(rec.frames[2], (RecordedFrame{1, 1040, true, 0, Payload(10, 3)}));
}

TEST(MkvReader, BadLacesAreRefused) {
  const std::vector<std::pair<uint8_t, Bytes>> bad = {
      {0x02, {2, 255, 255}},                          // Xiph sizes run off the end
      {0x02, Cat({{1, 200}, Payload(100, 1)})},       // Xiph size beyond the data
      {0x06, {1, 0x00}},                              // EBML size vint invalid
      {0x06, Cat({{2, 0x85, 0x80}, Payload(8, 1)})},  // negative second size
      {0x04, Cat({{2}, Payload(10, 1)})},             // fixed: 10 bytes do not split in 3
      {0x02, {}},                                     // no frame count
  };
  for (const auto& [bits, lace] : bad) {
    Recorder rec;
    Reader reader(rec);
    Status st = reader.Feed(LacedStream(bits, lace));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  }
}

TEST(MkvReader, BlockGroupKeyFlagComesFromReferenceBlock) {
  Bytes group_key =
      El(id::kBlockGroup,
         Cat({El(id::kBlock, BlockBody(1, 0, 0, Payload(4, 1))), Uint(id::kBlockDuration, 33)}));
  Bytes group_delta = El(id::kBlockGroup, Cat({El(id::kBlock, BlockBody(1, 33, 0, Payload(4, 2))),
                                               El(id::kReferenceBlock, {0xDF})}));
  Bytes s = Cat({Header(), UnknownSizeEl(id::kSegment,
                                         Cat({Info(), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC")}),
                                              El(id::kCluster, Cat({Uint(id::kTimecode, 0),
                                                                    group_key, group_delta}))}))});
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(s).ok());
  ASSERT_EQ(rec.frames.size(), 2u);
  EXPECT_EQ(rec.frames[0], (RecordedFrame{1, 0, true, 33, Payload(4, 1)}));
  EXPECT_EQ(rec.frames[1], (RecordedFrame{1, 33, false, 0, Payload(4, 2)}));
}

TEST(MkvReader, TimecodeScaleAppliesToNanoseconds) {
  Bytes s = Cat(
      {Header(),
       UnknownSizeEl(
           id::kSegment,
           Cat({Info(100'000), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC")}),
                UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 50),
                                                 SimpleBlock(1, -3, true, Payload(1, 1))}))}))});
  struct H : ReaderHandler {
    int64_t ns = 0, tc = 0;
    Status OnFrame(const Frame& f) override {
      ns = f.timestamp_ns;
      tc = f.timecode;
      return Status::Ok();
    }
  } h;
  Reader reader(h);
  ASSERT_TRUE(reader.Feed(s).ok());
  EXPECT_EQ(h.tc, 47);
  EXPECT_EQ(h.ns, 4'700'000);
}

TEST(MkvReader, NestedSimpleTagsAreFlattened) {
  Bytes inner = El(id::kSimpleTag, Cat({Str(id::kTagName, "CHILD"), Str(id::kTagString, "c")}));
  Bytes outer =
      El(id::kSimpleTag, Cat({Str(id::kTagName, "PARENT"), Str(id::kTagString, "p"), inner}));
  Bytes binary = El(id::kSimpleTag, Cat({Str(id::kTagName, "BIN"), El(id::kTagBinary, {0, 1, 2})}));
  Bytes s = Cat(
      {Header(), UnknownSizeEl(id::kSegment, El(id::kTags, El(id::kTag, Cat({outer, binary}))))});
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(s).ok());
  ASSERT_EQ(rec.tags.size(), 1u);
  ASSERT_EQ(rec.tags[0].size(), 3u);
  EXPECT_EQ(rec.tags[0][0].name, "PARENT");
  EXPECT_EQ(rec.tags[0][1].name, "CHILD");
  EXPECT_EQ(rec.tags[0][1].value, "c");
  EXPECT_TRUE(rec.tags[0][2].binary);
  EXPECT_EQ(rec.tags[0][2].value, std::string("\0\1\2", 3));
}

TEST(MkvReader, HandlerErrorStopsTheReaderForGood) {
  struct Stopper : ReaderHandler {
    int frames = 0;
    Status OnFrame(const Frame&) override {
      return ++frames == 2 ? Cancelled("enough") : Status::Ok();
    }
  } h;
  Reader reader(h);
  Bytes s = KvsLikeStream();
  Status st = reader.Feed(s);
  EXPECT_EQ(st.code(), Code::kCancelled);
  EXPECT_EQ(h.frames, 2);
  EXPECT_EQ(reader.Feed(s).code(), Code::kCancelled);
  EXPECT_EQ(reader.Finish().code(), Code::kCancelled);
  EXPECT_EQ(h.frames, 2);
}

TEST(MkvReader, EmptyStreamFinishesCleanly) {
  Recorder rec;
  Reader reader(rec);
  EXPECT_TRUE(reader.Feed({}).ok());
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(reader.Feed(Header()).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace streamarc::mkv
