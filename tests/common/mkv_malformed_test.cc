// The reader on broken input: every case ends in a clear Status or a clean stop, never a
// crash, a hang or memory past the bound.
#include <gtest/gtest.h>

#include <random>

#include "common/ebml.h"
#include "common/mkv.h"
#include "tests/common/mkv_build.h"
#include "tests/common/mkv_test_util.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::mkv {
namespace {

using namespace testing;
namespace id = ebml;

Bytes SmallStream(bool known_sizes) {
  Bytes cluster1 =
      Cat({Uint(id::kTimecode, 1000), SimpleBlock(1, 0, true, Payload(100, 1)),
           SimpleBlock(2, 5, true, Payload(10, 2)), SimpleBlock(1, 33, false, Payload(50, 3))});
  Bytes cluster2 = Cat({Uint(id::kTimecode, 3000), SimpleBlock(1, 0, true, Payload(70, 4))});
  Bytes tags =
      El(id::kTags,
         El(id::kTag, El(id::kSimpleTag, Cat({Str(id::kTagName, "A"), Str(id::kTagString, "b")}))));
  auto c = [&](const Bytes& b) {
    return known_sizes ? El(id::kCluster, b) : UnknownSizeEl(id::kCluster, b);
  };
  Bytes body = Cat({Info(), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC"), Track(2, 2, "A_AAC")}),
                    c(cluster1), tags, c(cluster2)});
  return Cat({Header(), known_sizes ? El(id::kSegment, body) : UnknownSizeEl(id::kSegment, body)});
}

Status ReadAll(const Bytes& s, Recorder* rec, const ReaderOptions& opt = {}) {
  Reader reader(*rec, opt);
  Status st = reader.Feed(s);
  if (!st.ok()) return st;
  return reader.Finish();
}

// Frames read from a damaged stream are never invented: each equals a frame of the
// original, in order.
void ExpectFramesArePrefix(const std::vector<RecordedFrame>& got,
                           const std::vector<RecordedFrame>& full) {
  ASSERT_LE(got.size(), full.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], full[i]) << i;
}

TEST(MkvMalformed, TruncatedAtEveryOffset) {
  for (bool known : {false, true}) {
    Bytes s = SmallStream(known);
    Recorder full;
    ASSERT_TRUE(ReadAll(s, &full).ok());
    ASSERT_EQ(full.frames.size(), 4u);
    const size_t header_end = Header().size();
    for (size_t cut = 0; cut < s.size(); ++cut) {
      Recorder rec;
      Status st = ReadAll(Bytes(s.begin(), s.begin() + cut), &rec);
      // Ending right after the EBML header is a clean stop; any later cut is inside the
      // Segment, which has a known size here.
      if (known && cut > header_end) {
        EXPECT_EQ(st.code(), Code::kDataLoss) << "cut " << cut;
      } else if (!st.ok()) {
        EXPECT_EQ(st.code(), Code::kDataLoss) << "cut " << cut << ": " << st.ToString();
        EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
      }
      ExpectFramesArePrefix(rec.frames, full.frames);
    }
  }
}

TEST(MkvMalformed, RealFileTruncatedAtManyOffsets) {
  auto path = streamarc::testing::MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  std::string file = streamarc::testing::ReadFileOrDie(*path);
  Bytes s(file.begin(), file.end());
  Recorder full;
  ASSERT_TRUE(ReadAll(s, &full).ok());
  uint64_t header_size = 0;
  size_t size_len = 0;
  ASSERT_EQ(ebml::ReadSize(std::span<const uint8_t>(s).subspan(4), &header_size, &size_len),
            ebml::VintResult::kOk);
  const size_t header_end = 4 + size_len + header_size;
  std::mt19937 rng(5);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < 600; ++i) cuts.push_back(i);  // every offset through the headers
  for (int i = 0; i < 300; ++i) cuts.push_back(rng() % s.size());
  for (size_t cut : cuts) {
    Recorder rec;
    Status st = ReadAll(Bytes(s.begin(), s.begin() + cut), &rec);
    if (cut > header_end) {
      EXPECT_EQ(st.code(), Code::kDataLoss) << cut;  // ffmpeg sizes its Segment
    }
    ExpectFramesArePrefix(rec.frames, full.frames);
  }
}

TEST(MkvMalformed, EveryByteCorrupted) {
  // Each byte in turn replaced by values that break sizes and IDs in different ways.
  for (bool known : {false, true}) {
    Bytes s = SmallStream(known);
    for (size_t i = 0; i < s.size(); ++i) {
      for (uint8_t v : {uint8_t{0x00}, uint8_t{0x01}, uint8_t{0x7F}, uint8_t{0xFF},
                        static_cast<uint8_t>(s[i] ^ 0x40)}) {
        Bytes bad = s;
        bad[i] = v;
        Recorder rec;
        ReaderOptions opt;
        opt.max_element_size = 1 << 20;
        Reader reader(rec, opt);
        Status st = FeedInPieces(reader, bad, 0, static_cast<uint32_t>(i));
        EXPECT_LE(reader.buffered_bytes(), (1u << 20) + 65536);
        if (!st.ok()) {
          EXPECT_FALSE(st.message().empty());
        }
      }
    }
  }
}

TEST(MkvMalformed, RandomBytes) {
  std::mt19937 rng(11);
  Bytes header = Header();
  for (int round = 0; round < 2000; ++round) {
    size_t n = rng() % 4096;
    Bytes junk(n);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    // Half the rounds start with a valid EBML header so the junk reaches deeper states.
    Bytes s = round % 2 ? Cat({header, UnknownSizeEl(id::kSegment, junk)}) : junk;
    Recorder rec;
    ReaderOptions opt;
    opt.max_element_size = 1 << 16;
    Reader reader(rec, opt);
    Status st = FeedInPieces(reader, s, 0, static_cast<uint32_t>(round));
    EXPECT_LE(reader.buffered_bytes(), (1u << 16) + 65536);
    (void)st;
  }
}

TEST(MkvMalformed, HugeSizesAreRefusedWithoutAllocating) {
  Bytes prefix =
      Cat({Header(), UnknownSizeEl(id::kSegment,
                                   Cat({Info(), Tracks({Track(1, 1, "V_MPEG4/ISO/AVC")}),
                                        UnknownSizeEl(id::kCluster, Uint(id::kTimecode, 0))}))});
  // A SimpleBlock claiming 2^56 - 2 bytes.
  Bytes huge = prefix;
  huge.insert(huge.end(), {0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE});
  Recorder rec;
  Reader reader(rec);
  Status st = reader.Feed(huge);
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_NE(st.message().find("SimpleBlock at offset"), std::string::npos) << st.message();
  EXPECT_EQ(reader.buffered_bytes(), 0u);

  // Just over a configured bound.
  ReaderOptions opt;
  opt.max_element_size = 1000;
  Bytes over = Cat({prefix, SimpleBlock(1, 0, true, Payload(1001, 1))});
  Recorder rec2;
  EXPECT_EQ(ReadAll(over, &rec2, opt).code(), Code::kResourceExhausted);
  Bytes at = Cat({prefix, SimpleBlock(1, 0, true, Payload(996, 1))});
  Recorder rec3;
  EXPECT_TRUE(ReadAll(at, &rec3, opt).ok());
}

TEST(MkvMalformed, SkippedElementsAreNotHeldInMemory) {
  Bytes s = Cat({Header(), UnknownSizeEl(id::kSegment, {})});
  s.insert(s.end(), {0xEC, 0x13, 0x00, 0x00, 0x00});  // Void of 48 MiB
  Recorder rec;
  Reader reader(rec);
  ASSERT_TRUE(reader.Feed(s).ok());
  Bytes zeros(1 << 20, 0);
  for (int i = 0; i < 48; ++i) ASSERT_TRUE(reader.Feed(zeros).ok());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_TRUE(reader.Finish().ok());
}

TEST(MkvMalformed, DeepNestingIsRefused) {
  Bytes tag = El(id::kSimpleTag, Str(id::kTagName, "LEAF"));
  for (int i = 0; i < 1000; ++i) tag = El(id::kSimpleTag, tag);
  Bytes s = Cat({Header(), UnknownSizeEl(id::kSegment, El(id::kTags, El(id::kTag, tag)))});
  Recorder rec;
  Status st = ReadAll(s, &rec);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos) << st.message();
}

struct BadCase {
  const char* name;
  Bytes stream;
  Code code;
  const char* message_part;
};

Bytes Seg(const Bytes& body) { return Cat({Header(), UnknownSizeEl(id::kSegment, body)}); }
Bytes VideoTracks() { return Tracks({Track(1, 1, "V_MPEG4/ISO/AVC")}); }

TEST(MkvMalformed, ClearErrorsNameOffsetAndElement) {
  const std::vector<BadCase> cases = {
      {"not mkv", Bytes{'R', 'I', 'F', 'F', 0, 0, 0, 0}, Code::kInvalidArgument, "EBML header"},
      {"invalid ID length", Cat({Header(), Bytes{0x08, 0x81, 0x00}}), Code::kInvalidArgument,
       "invalid element ID at offset"},
      {"invalid size length", Cat({Header(), Bytes{0xEC, 0x00}}), Code::kInvalidArgument,
       "invalid element size at offset"},
      {"doc type", El(id::kEbml, Str(id::kDocType, "avi")), Code::kInvalidArgument,
       "DocType \"avi\""},
      {"frame before tracks",
       Seg(UnknownSizeEl(id::kCluster,
                         Cat({Uint(id::kTimecode, 0), SimpleBlock(1, 0, true, Payload(3, 1))}))),
       Code::kInvalidArgument, "a frame before Tracks"},
      {"frame before timecode",
       Seg(Cat({VideoTracks(), UnknownSizeEl(id::kCluster, SimpleBlock(1, 0, true, {1}))})),
       Code::kInvalidArgument, "before its Cluster's Timecode"},
      {"unknown track",
       Seg(Cat({VideoTracks(), UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 0),
                                                                SimpleBlock(5, 0, true, {1})}))})),
       Code::kNotFound, "track 5 is not in Tracks"},
      {"unknown-size Tracks", Seg(UnknownSizeEl(id::kTracks, Track(1, 1, "V_VP8"))),
       Code::kInvalidArgument, "Tracks at offset"},
      {"child overruns known parent",
       Cat({Header(), El(id::kSegment, Cat({Info(), Bytes{0x16, 0x54, 0xAE, 0x6B, 0x90}}))}),
       Code::kInvalidArgument, "beyond the end of its parent Segment"},
      {"overrun inside held element", Seg(El(id::kTracks, Bytes{0xAE, 0x85, 0xD7, 0x81, 0x01})),
       Code::kInvalidArgument,
       "TrackEntry at offset 37 has size 5, beyond the end of its parent Tracks"},
      {"duplicate track number", Seg(Tracks({Track(1, 1, "V_VP8"), Track(1, 2, "A_OPUS")})),
       Code::kInvalidArgument, "appears twice"},
      {"second timecode",
       Seg(Cat({VideoTracks(), UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 0),
                                                                Uint(id::kTimecode, 1)}))})),
       Code::kInvalidArgument, "second Timecode"},
      {"zero timecode scale", Seg(Info(0)), Code::kInvalidArgument, "TimecodeScale"},
      {"short block",
       Seg(Cat({VideoTracks(), UnknownSizeEl(id::kCluster, Cat({Uint(id::kTimecode, 0),
                                                                El(id::kSimpleBlock, {0x81})}))})),
       Code::kInvalidArgument, "shorter than a block header"},
  };
  for (const BadCase& c : cases) {
    for (size_t piece : {size_t{1}, size_t{1} << 20}) {
      Recorder rec;
      Reader reader(rec);
      Status st = FeedInPieces(reader, c.stream, piece);
      EXPECT_EQ(st.code(), c.code) << c.name << ": " << st.ToString();
      EXPECT_NE(st.message().find(c.message_part), std::string::npos)
          << c.name << ": " << st.message();
    }
  }
}

}  // namespace
}  // namespace streamarc::mkv
