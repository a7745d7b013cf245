// JPEG/PNG stills from decoded pictures, read back with OpenCV's own decoders.
#include "frametap/image_encoder.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <vector>

namespace streamarc::frametap {
namespace {

// A picture with structure (gradients and a bright square), so compression is measurable.
cv::Mat TestImage(int width, int height) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      m.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(x * 255 / width), static_cast<uint8_t>(y * 255 / height),
                    static_cast<uint8_t>((x + y) % 256));
    }
  }
  m(cv::Rect(width / 4, height / 4, width / 4, height / 4)).setTo(cv::Scalar(250, 250, 250));
  return m;
}

cv::Mat Decode(const std::string& bytes) {
  std::vector<uint8_t> v(bytes.begin(), bytes.end());
  return cv::imdecode(v, cv::IMREAD_COLOR);
}

TEST(ImageEncoderTest, JpegAndPngDecodeToTheSourceAtTheAskedSize) {
  const cv::Mat src = TestImage(320, 240);
  for (ImageFormat format : {ImageFormat::kJpeg, ImageFormat::kPng}) {
    ImageOptions o;
    o.format = format;
    o.jpeg_quality = 95;
    auto enc = ImageEncoder::Create(o);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto bytes = (*enc)->Encode(src);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    if (format == ImageFormat::kJpeg) {
      EXPECT_EQ(bytes->substr(0, 2), std::string("\xff\xd8", 2));
    } else {
      EXPECT_EQ(bytes->substr(1, 3), "PNG");
    }
    cv::Mat back = Decode(*bytes);
    ASSERT_FALSE(back.empty());
    ASSERT_EQ(back.size(), src.size());
    // PNG keeps the pixels; JPEG at 95 stays close (4:2:0 chroma costs a little).
    EXPECT_GT(cv::PSNR(src, back), format == ImageFormat::kPng ? 99.0 : 30.0);
  }
}

TEST(ImageEncoderTest, SizesAndQuality) {
  const cv::Mat src = TestImage(640, 360);
  struct Case {
    int width, height, want_width, want_height;
  };
  for (const Case& c : {Case{320, 0, 320, 180}, Case{0, 90, 160, 90}, Case{100, 100, 100, 100},
                        Case{0, 0, 640, 360}}) {
    ImageOptions o;
    o.width = c.width;
    o.height = c.height;
    auto enc = ImageEncoder::Create(o);
    ASSERT_TRUE(enc.ok());
    auto bytes = (*enc)->Encode(src);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    cv::Mat back = Decode(*bytes);
    EXPECT_EQ(back.cols, c.want_width);
    EXPECT_EQ(back.rows, c.want_height);
  }
  auto size_at = [&](int quality) {
    ImageOptions o;
    o.jpeg_quality = quality;
    auto enc = ImageEncoder::Create(o);
    EXPECT_TRUE(enc.ok());
    auto bytes = (*enc)->Encode(src);
    EXPECT_TRUE(bytes.ok());
    return bytes.ok() ? bytes->size() : 0;
  };
  EXPECT_LT(size_at(5), size_at(50));
  EXPECT_LT(size_at(50), size_at(100));
  // One encoder, several sizes in turn (reopened when the size changes).
  auto enc = ImageEncoder::Create({});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(Decode(*(*enc)->Encode(TestImage(64, 48))).cols, 64);
  EXPECT_EQ(Decode(*(*enc)->Encode(TestImage(96, 64))).cols, 96);
  EXPECT_EQ(Decode(*(*enc)->Encode(TestImage(64, 48))).cols, 64);
}

TEST(ImageEncoderTest, RefusesBadOptionsAndPictures) {
  EXPECT_EQ(ImageEncoder::Create({.jpeg_quality = 0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ImageEncoder::Create({.jpeg_quality = 101}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ImageEncoder::Create({.width = -1}).status().code(), Code::kInvalidArgument);
  auto enc = ImageEncoder::Create({});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ((*enc)->Encode(cv::Mat()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*enc)->Encode(cv::Mat(10, 10, CV_32FC3)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace streamarc::frametap
