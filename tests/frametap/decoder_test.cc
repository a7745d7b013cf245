// VideoDecoder and Converter on real media made by ffmpeg, checked against ffprobe.
#include "frametap/decoder.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "common/mkv.h"
#include "tests/support/media.h"
#include "tests/support/subprocess.h"

namespace streamarc::frametap {
namespace {

// The first video track's frames of a Matroska file, in file order.
struct VideoFrames : mkv::ReaderHandler {
  mkv::TrackInfo track;
  struct Item {
    int64_t timecode = 0;
    bool key = false;
    std::vector<uint8_t> data;
  };
  std::vector<Item> frames;

  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    for (const auto& t : tracks) {
      if (t.type == mkv::TrackType::kVideo) {
        track = t;
        return Status::Ok();
      }
    }
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame& f) override {
    if (f.track == track.number)
      frames.push_back({f.timecode, f.key, {f.data.begin(), f.data.end()}});
    return Status::Ok();
  }
};

VideoFrames ReadVideo(const std::string& path) {
  VideoFrames v;
  mkv::Reader reader(v);
  std::string bytes = testing::ReadFileOrDie(path);
  EXPECT_TRUE(reader.Feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  EXPECT_TRUE(reader.Finish().ok());
  return v;
}

// Decodes every frame (all of them, or key frames only) and returns the pictures' pts.
std::vector<int64_t> DecodeAll(const VideoFrames& v, bool key_only, cv::Size* size = nullptr) {
  auto decoder = VideoDecoder::Open(v.track.codec_id, v.track.codec_private, {.threads = 2});
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  if (!decoder.ok()) return {};
  Converter converter;
  cv::Mat bgr;
  std::vector<int64_t> pts;
  auto drain = [&] {
    for (;;) {
      auto picture = (*decoder)->Receive();
      EXPECT_TRUE(picture.ok()) << picture.status().ToString();
      if (!picture.ok() || *picture == nullptr) return;
      pts.push_back((*picture)->pts);
      EXPECT_TRUE(converter.ToMat(**picture, {}, &bgr).ok());
      if (size != nullptr) *size = bgr.size();
    }
  };
  for (const auto& f : v.frames) {
    if (key_only && !f.key) continue;
    Status s = (*decoder)->Send(f.data, f.timecode, f.key);
    EXPECT_TRUE(s.ok()) << s.ToString();
    drain();
  }
  EXPECT_TRUE((*decoder)->Flush().ok());
  drain();
  return pts;
}

class DecoderTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderTest, EveryFrameDecodesWithFfprobesTimestamps) {
  auto path = testing::MakeMedia(GetParam());
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  VideoFrames v = ReadVideo(*path);
  ASSERT_FALSE(v.frames.empty());
  auto probe = testing::ProbeTimes(*path);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  std::vector<int64_t> expected;
  for (const auto& p : *probe) {
    if (p.type == "video") expected.push_back(std::llround(p.pts_s * 1000));  // ms ticks
  }
  cv::Size size;
  std::vector<int64_t> got = DecodeAll(v, /*key_only=*/false, &size);
  std::sort(expected.begin(), expected.end());
  std::vector<int64_t> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected);
  // Pictures leave in presentation order.
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(size, cv::Size(static_cast<int>(v.track.pixel_width),
                           static_cast<int>(v.track.pixel_height)));
}

TEST_P(DecoderTest, KeyFramesAloneDecode) {
  auto path = testing::MakeMedia(GetParam());
  ASSERT_TRUE(path.ok());
  VideoFrames v = ReadVideo(*path);
  size_t keys = std::count_if(v.frames.begin(), v.frames.end(), [](auto& f) { return f.key; });
  ASSERT_GT(keys, 1u);
  EXPECT_EQ(DecodeAll(v, /*key_only=*/true).size(), keys);
}

INSTANTIATE_TEST_SUITE_P(Codecs, DecoderTest,
                         ::testing::Values(testing::kH264AacMkv, testing::kH265Mkv));

TEST(DecoderOpen, RefusesOtherCodecsAndMissingCodecPrivate) {
  std::vector<uint8_t> none;
  auto vp9 = VideoDecoder::Open("V_VP9", none);
  ASSERT_FALSE(vp9.ok());
  EXPECT_EQ(vp9.status().code(), Code::kInvalidArgument);
  auto h264 = VideoDecoder::Open("V_MPEG4/ISO/AVC", none);
  ASSERT_FALSE(h264.ok());
  EXPECT_EQ(h264.status().code(), Code::kDataLoss);
}

TEST(DecoderSend, GarbageIsAnErrorAndTheNextKeyFrameRecovers) {
  auto path = testing::MakeMedia(testing::kH264AacMkv);
  ASSERT_TRUE(path.ok());
  VideoFrames v = ReadVideo(*path);
  auto decoder = VideoDecoder::Open(v.track.codec_id, v.track.codec_private, {.threads = 1});
  ASSERT_TRUE(decoder.ok());
  std::vector<uint8_t> garbage(64, 0xff);  // a NAL length far past the frame's end
  Status bad = (*decoder)->Send(garbage, 0, true);
  EXPECT_FALSE(bad.ok());
  auto drained = (*decoder)->Receive();
  ASSERT_TRUE(drained.ok());
  ASSERT_TRUE((*decoder)->Send(v.frames[0].data, v.frames[0].timecode, true).ok());
  ASSERT_TRUE((*decoder)->Flush().ok());
  auto picture = (*decoder)->Receive();
  ASSERT_TRUE(picture.ok());
  ASSERT_NE(*picture, nullptr);
  EXPECT_EQ((*picture)->pts, v.frames[0].timecode);
}

TEST(Converter, GrayAndScaledTargets) {
  auto path = testing::MakeMedia(testing::kH264AacMkv);
  ASSERT_TRUE(path.ok());
  VideoFrames v = ReadVideo(*path);
  auto decoder = VideoDecoder::Open(v.track.codec_id, v.track.codec_private, {.threads = 1});
  ASSERT_TRUE(decoder.ok());
  ASSERT_TRUE((*decoder)->Send(v.frames[0].data, 0, true).ok());
  ASSERT_TRUE((*decoder)->Flush().ok());
  auto picture = (*decoder)->Receive();
  ASSERT_TRUE(picture.ok() && *picture != nullptr);
  Converter converter;
  cv::Mat gray, half, bgr;
  ASSERT_TRUE(converter.ToMat(**picture, {.format = PixelFormat::kGray}, &gray).ok());
  EXPECT_EQ(gray.type(), CV_8UC1);
  EXPECT_EQ(gray.cols, (*picture)->width);
  ASSERT_TRUE(converter.ToMat(**picture, {.width = (*picture)->width / 2}, &half).ok());
  EXPECT_EQ(half.type(), CV_8UC3);
  EXPECT_EQ(half.cols, (*picture)->width / 2);
  EXPECT_EQ(half.rows, (*picture)->height / 2);
  // Gray from the converter matches OpenCV's own BGR->gray of the BGR picture (within the
  // rounding of two paths).
  ASSERT_TRUE(converter.ToMat(**picture, {}, &bgr).ok());
  cv::Mat mean_gray;
  EXPECT_NEAR(cv::mean(gray)[0],
              (cv::mean(bgr)[0] * 0.114 + cv::mean(bgr)[1] * 0.587 + cv::mean(bgr)[2] * 0.299),
              3.0);
  // An encoder's input: YUV 4:2:0 at a quarter size.
  std::unique_ptr<AVFrame, void (*)(AVFrame*)> out(av_frame_alloc(),
                                                   [](AVFrame* f) { av_frame_free(&f); });
  out->format = AV_PIX_FMT_YUVJ420P;
  out->width = 160;
  out->height = 90;
  ASSERT_TRUE(converter.ToFrame(**picture, out.get()).ok());
  EXPECT_NE(out->data[0], nullptr);
}

}  // namespace
}  // namespace streamarc::frametap
