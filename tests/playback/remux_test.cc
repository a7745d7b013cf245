// The packagers on real media: ffmpeg-made MKV, cut into fragments by the project's own
// fragmenter, remuxed to fMP4 / MPEG-TS / MP4 and read back by the real ffprobe.
#include "playback/remux.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "tests/fragmenter/fragmenter_test_util.h"
#include "tests/support/media.h"
#include "tests/support/mkv_stream.h"
#include "tests/support/subprocess.h"

namespace streamarc::playback {
namespace {

using streamarc::testing::MakeMedia;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

// Where the test's timeline starts: past the B-frame decode delay (see Fmp4MediaSegment).
constexpr int64_t kOriginUs = 10'000'000;

struct StoredFragments {
  std::vector<std::shared_ptr<const fragmenter::Fragment>> fragments;
  std::string header;
  std::vector<std::string> clusters;
  std::vector<MkvFragment> views;  // into header/clusters; start_us = origin + producer time
};

// Cuts a real file into fragments the way PutMedia stores them.
StoredFragments Fragment(const std::string& path) {
  StoredFragments out;
  std::string bytes = ReadFileOrDie(path);
  fragmenter::testing::CollectingSink sink;
  ManualClock clock(1'700'000'000'000'000);
  fragmenter::Options options;
  options.max_fragments_per_second = 0;
  options.max_bytes_per_second = 0;
  auto run = fragmenter::testing::RunStream(fragmenter::testing::AsBytes(bytes), options, sink,
                                            clock, 65536);
  EXPECT_TRUE(run.status.ok()) << run.status.ToString();
  out.fragments = sink.fragments;
  if (out.fragments.empty()) return out;
  const auto& h = out.fragments[0]->section->header;
  out.header.assign(h.begin(), h.end());
  for (const auto& f : out.fragments) {
    out.clusters.emplace_back(f->cluster.begin(), f->cluster.end());
  }
  for (size_t i = 0; i < out.fragments.size(); ++i) {
    out.views.push_back(MkvFragment{out.header, out.clusters[i],
                                    kOriginUs + out.fragments[i]->producer_timestamp_ms * 1000});
  }
  return out;
}

struct ProbedFrame {
  std::string type;  // "video" / "audio"
  double pts = 0;
  bool key = false;
};

// Every packet ffprobe reads, with its stream's codec type and pts in seconds.
std::vector<ProbedFrame> Probe(const std::string& path) {
  auto probed = streamarc::testing::ProbeTimes(path);
  EXPECT_TRUE(probed.ok()) << probed.status().ToString();
  std::vector<ProbedFrame> frames;
  if (!probed.ok()) return frames;
  for (const auto& p : *probed) frames.push_back({p.type, p.pts_s, p.key});
  return frames;
}

// Sorted presentation times of one codec type, shifted by `offset` seconds.
std::vector<double> Times(const std::vector<ProbedFrame>& frames, const std::string& type,
                          double offset) {
  std::vector<double> t;
  for (const ProbedFrame& f : frames) {
    if (f.type == type) t.push_back(f.pts - offset);
  }
  std::sort(t.begin(), t.end());
  return t;
}

// Same count and the same times to within `tolerance` seconds.
void ExpectSameTimes(const std::vector<double>& want, const std::vector<double>& got,
                     double tolerance, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  ASSERT_FALSE(want.empty()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(want[i], got[i], tolerance) << what << " frame " << i;
  }
}

double Origin() { return static_cast<double>(kOriginUs) / 1e6; }

TEST(RemuxTest, DescribesH264AndAacTracks) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_FALSE(s.views.empty());
  auto tracks = DescribeTracks(s.header);
  ASSERT_TRUE(tracks.ok()) << tracks.status().ToString();
  ASSERT_EQ(tracks->size(), 2u);
  const TrackDescription& v = (*tracks)[0];
  EXPECT_EQ(v.kind, TrackKind::kVideo);
  EXPECT_EQ(v.codec_id, "V_MPEG4/ISO/AVC");
  // libx264 at 320x240 picks High profile (0x64), level 1.3 (0x0d) or so: check the shape,
  // and the exact bytes against the avcC record itself.
  ASSERT_EQ(v.codecs.size(), 11u) << v.codecs;
  EXPECT_EQ(v.codecs.substr(0, 7), "avc1.64") << v.codecs;
  EXPECT_EQ(v.width, 320);
  EXPECT_EQ(v.height, 240);
  const TrackDescription& a = (*tracks)[1];
  EXPECT_EQ(a.kind, TrackKind::kAudio);
  EXPECT_EQ(a.codecs, "mp4a.40.2");  // AAC-LC
  EXPECT_EQ(a.sample_rate, 48000);
  EXPECT_TRUE(CheckPackageable(v).ok());
  EXPECT_TRUE(CheckPackageable(a).ok());
}

TEST(RemuxTest, DescribesH265Track) {
  auto path = MakeMedia(streamarc::testing::kH265Mkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_FALSE(s.views.empty());
  auto tracks = DescribeTracks(s.header);
  ASSERT_TRUE(tracks.ok()) << tracks.status().ToString();
  ASSERT_EQ(tracks->size(), 1u);
  // libx265 at 320x240: Main profile (general_profile_idc 1), compatibility flags
  // 0x60000000 bit-reversed = 6, Main tier, level 2 (60), constraint byte 0x90
  // (progressive source, frame only), the five zero constraint bytes left out.
  EXPECT_EQ((*tracks)[0].codecs, "hvc1.1.6.L60.90");
}

TEST(RemuxTest, Fmp4InitAndSegmentsPlayLikeTheInput) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_GE(s.views.size(), 3u);

  auto init = Fmp4InitSegment(s.header, {});
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  ASSERT_GE(init->size(), 16u);
  EXPECT_EQ(init->substr(4, 4), "ftyp");
  EXPECT_NE(init->find("moov"), std::string::npos);
  EXPECT_EQ(init->find("moof"), std::string::npos);

  std::string all = *init;
  for (size_t i = 0; i < s.views.size(); ++i) {
    auto seg = Fmp4MediaSegment(s.views[i], {}, static_cast<uint32_t>(i + 1));
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ASSERT_EQ(seg->substr(4, 4), "moof");
    // mfhd carries the caller's sequence number.
    size_t mfhd = seg->find("mfhd");
    ASSERT_NE(mfhd, std::string::npos);
    EXPECT_EQ(static_cast<uint8_t>((*seg)[mfhd + 11]), i + 1);
    all += *seg;
  }
  TempDir dir;
  WriteFileOrDie(dir.File("out.mp4"), all);
  std::vector<ProbedFrame> in = Probe(*path);
  std::vector<ProbedFrame> out = Probe(dir.File("out.mp4"));
  ExpectSameTimes(Times(in, "video", 0), Times(out, "video", Origin()), 0.0015, "video");
  // AAC frames are 21.33 ms; Matroska rounds them to the millisecond.
  ExpectSameTimes(Times(in, "audio", 0), Times(out, "audio", Origin()), 0.0015, "audio");

  // And it decodes from end to end with no error.
  auto decode = RunCommand({"ffmpeg", "-v", "error", "-i", dir.File("out.mp4"), "-f", "null", "-"});
  ASSERT_TRUE(decode.ok());
  EXPECT_EQ(decode->exit_code, 0) << decode->out;
  EXPECT_EQ(decode->out, "");
}

TEST(RemuxTest, Fmp4OneTrackSelected) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_GE(s.views.size(), 2u);
  TrackSelection audio{{2}};
  auto init = Fmp4InitSegment(s.header, audio);
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  std::string all = *init;
  for (size_t i = 0; i < s.views.size(); ++i) {
    auto seg = Fmp4MediaSegment(s.views[i], audio, static_cast<uint32_t>(i + 1));
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    all += *seg;
  }
  TempDir dir;
  WriteFileOrDie(dir.File("a.mp4"), all);
  std::vector<ProbedFrame> in = Probe(*path);
  std::vector<ProbedFrame> out = Probe(dir.File("a.mp4"));
  EXPECT_TRUE(Times(out, "video", 0).empty());
  ExpectSameTimes(Times(in, "audio", 0), Times(out, "audio", Origin()), 0.0015, "audio");

  auto missing = Fmp4InitSegment(s.header, TrackSelection{{7}});
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
}

TEST(RemuxTest, H265Fmp4UsesHvc1AndKeepsEveryFrame) {
  auto path = MakeMedia(streamarc::testing::kH265Mkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_GE(s.views.size(), 2u);
  auto init = Fmp4InitSegment(s.header, {});
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  EXPECT_NE(init->find("hvc1"), std::string::npos);
  std::string all = *init;
  for (size_t i = 0; i < s.views.size(); ++i) {
    auto seg = Fmp4MediaSegment(s.views[i], {}, static_cast<uint32_t>(i + 1));
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    all += *seg;
  }
  TempDir dir;
  WriteFileOrDie(dir.File("h.mp4"), all);
  std::vector<double> want = Times(Probe(*path), "video", 0);
  ExpectSameTimes(want, Times(Probe(dir.File("h.mp4")), "video", Origin()), 0.0015, "video");

  // MPEG-TS too (the muxer converts hvcC to Annex B with in-band parameter sets).
  std::string ts;
  for (const MkvFragment& f : s.views) {
    auto seg = TsSegment(f, {});
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ts += *seg;
  }
  WriteFileOrDie(dir.File("h.ts"), ts);
  ExpectSameTimes(want, Times(Probe(dir.File("h.ts")), "video", Origin()), 0.0015, "ts video");
  auto decode = RunCommand({"ffmpeg", "-v", "error", "-i", dir.File("h.ts"), "-f", "null", "-"});
  ASSERT_TRUE(decode.ok());
  EXPECT_EQ(decode->exit_code, 0) << decode->out;
}

TEST(RemuxTest, TsSegmentsPlayLikeTheInput) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_GE(s.views.size(), 3u);
  std::string all;
  for (const MkvFragment& f : s.views) {
    auto seg = TsSegment(f, {});
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ASSERT_EQ(seg->size() % 188, 0u);
    ASSERT_EQ((*seg)[0], 0x47);
    all += *seg;
  }
  TempDir dir;
  WriteFileOrDie(dir.File("out.ts"), all);
  std::vector<ProbedFrame> in = Probe(*path);
  std::vector<ProbedFrame> out = Probe(dir.File("out.ts"));
  ExpectSameTimes(Times(in, "video", 0), Times(out, "video", Origin()), 0.0015, "video");
  ExpectSameTimes(Times(in, "audio", 0), Times(out, "audio", Origin()), 0.0015, "audio");
  auto decode = RunCommand({"ffmpeg", "-v", "error", "-i", dir.File("out.ts"), "-f", "null", "-"});
  ASSERT_TRUE(decode.ok());
  EXPECT_EQ(decode->exit_code, 0) << decode->out;
}

TEST(RemuxTest, ClipStartsAtZeroWithTheRightDuration) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_GE(s.views.size(), 4u);
  // Fragments 1..3 of the stream: a clip from the middle.
  std::span<const MkvFragment> part(s.views.data() + 1, 3);
  auto clip = Mp4ClipOf(part, {});
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->fragments_used, 3u);
  // moov before mdat (faststart).
  size_t moov = clip->bytes.find("moov"), mdat = clip->bytes.find("mdat");
  ASSERT_NE(moov, std::string::npos);
  ASSERT_NE(mdat, std::string::npos);
  EXPECT_LT(moov, mdat);

  TempDir dir;
  WriteFileOrDie(dir.File("clip.mp4"), clip->bytes);
  std::vector<ProbedFrame> in = Probe(*path);
  std::vector<ProbedFrame> out = Probe(dir.File("clip.mp4"));
  double clip_start = static_cast<double>(s.views[1].start_us - kOriginUs) / 1e6;
  double clip_end = static_cast<double>(s.views[4].start_us - kOriginUs) / 1e6;
  std::vector<double> want;
  for (double t : Times(in, "video", 0)) {
    if (t >= clip_start - 1e-6 && t < clip_end - 1e-6) want.push_back(t - clip_start);
  }
  std::vector<double> got = Times(out, "video", 0);
  ExpectSameTimes(want, got, 0.0015, "clip video");
  EXPECT_NEAR(got.front(), 0.0, 1e-6);
  // Audio held for the first key frame starts a little before the video, and runs a little
  // past the last video frame.
  EXPECT_NEAR(static_cast<double>(clip->duration_us) / 1e6, clip_end - clip_start, 0.1);

  auto format = streamarc::testing::ProbeDuration(dir.File("clip.mp4"));
  ASSERT_TRUE(format.ok()) << format.status().ToString();
  EXPECT_NEAR(*format, clip_end - clip_start, 0.1);
}

TEST(RemuxTest, ClipEndsWhereTheTracksChange) {
  auto h264 = MakeMedia(streamarc::testing::kH264AacMkv);
  auto h265 = MakeMedia(streamarc::testing::kH265Mkv);
  ASSERT_TRUE(h264.ok() && h265.ok());
  StoredFragments a = Fragment(*h264), b = Fragment(*h265);
  ASSERT_GE(a.views.size(), 2u);
  ASSERT_GE(b.views.size(), 1u);
  std::vector<MkvFragment> mixed = {a.views[0], a.views[1], b.views[0]};
  auto clip = Mp4ClipOf(mixed, {});
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  EXPECT_EQ(clip->fragments_used, 2u);
}

// ---- Refusals ----

std::string HeaderWith(const std::vector<mkv::TrackInfo>& tracks) {
  const mkv::Bytes out = streamarc::testing::MkvHeader(tracks);
  return std::string(out.begin(), out.end());
}

TEST(RemuxTest, MissingCodecPrivateIsRefusedClearly) {
  std::string header = HeaderWith({fragmenter::testing::VideoTrack(1, {})});
  auto init = Fmp4InitSegment(header, {});
  ASSERT_FALSE(init.ok());
  EXPECT_TRUE(IsMissingCodecPrivate(init.status())) << init.status().ToString();
  auto tracks = DescribeTracks(header);
  ASSERT_TRUE(tracks.ok());
  EXPECT_FALSE((*tracks)[0].has_codec_private);
  // A CodecPrivate too short to be an avcC record.
  std::string short_cp = HeaderWith({fragmenter::testing::VideoTrack(1, {1, 2, 3})});
  EXPECT_TRUE(IsMissingCodecPrivate(Fmp4InitSegment(short_cp, {}).status()));
}

TEST(RemuxTest, UnsupportedCodecIsRefusedClearly) {
  mkv::TrackInfo vp8 = fragmenter::testing::VideoTrack(1, {});
  vp8.codec_id = "V_VP8";
  std::string header = HeaderWith({vp8});
  auto init = Fmp4InitSegment(header, {});
  ASSERT_FALSE(init.ok());
  EXPECT_TRUE(IsUnsupportedCodec(init.status())) << init.status().ToString();
  MkvFragment f{header, "", 0};
  EXPECT_TRUE(IsUnsupportedCodec(TsSegment(f, {}).status()));
  MkvFragment frags[] = {f};
  EXPECT_TRUE(IsUnsupportedCodec(Mp4ClipOf(frags, {}).status()));
}

TEST(RemuxTest, GarbageNeverCrashes) {
  auto path = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  StoredFragments s = Fragment(*path);
  ASSERT_FALSE(s.views.empty());
  std::mt19937 rng(42);
  // Pure garbage as header and cluster.
  std::string junk(4096, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  EXPECT_FALSE(DescribeTracks(junk).ok());
  EXPECT_FALSE(Fmp4InitSegment(junk, {}).ok());
  EXPECT_FALSE(Fmp4MediaSegment({s.header, junk, kOriginUs}, {}, 1).ok());
  EXPECT_FALSE(TsSegment({junk, junk, kOriginUs}, {}).ok());
  // An empty cluster: no frames.
  EXPECT_FALSE(Fmp4MediaSegment({s.header, "", kOriginUs}, {}, 1).ok());
  // Truncated and bit-flipped real clusters: an error or a segment, never a crash.
  const std::string& cluster = s.clusters[0];
  for (int i = 0; i < 40; ++i) {
    std::string bad = cluster;
    if (i % 2 == 0) {
      bad.resize(rng() % cluster.size());
    } else {
      for (int k = 0; k < 8; ++k) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    }
    MkvFragment f{s.header, bad, kOriginUs};
    (void)Fmp4MediaSegment(f, {}, 1);
    (void)TsSegment(f, {});
    MkvFragment frags[] = {f};
    (void)Mp4ClipOf(frags, {});
  }
  std::span<const MkvFragment> none;
  EXPECT_EQ(Mp4ClipOf(none, {}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace streamarc::playback
