// GetImages and the frame tap's thumbnails end to end: real media pushed with curl into the
// real streamarcd, images fetched with Debian's AWS CLI (which checks the answer against
// KVS's API model) and with curl, and decoded by OpenCV.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "common/base64.h"
#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::CurlCreateStream;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::CurlReply;
using streamarc::testing::MakeMedia;
using streamarc::testing::RunAws;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

// "1970-01-01T00:16:40+00:00" or with ".500000" (the CLI's ISO 8601 rendering) to seconds.
double IsoSeconds(const std::string& iso) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) < 6) {
    ADD_FAILURE() << "not ISO 8601: " << iso;
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double fraction = 0;
  if (iso[static_cast<size_t>(consumed)] == '.') {
    fraction = std::atof(("0" + iso.substr(static_cast<size_t>(consumed))).c_str());
  }
  return static_cast<double>(timegm(&tm)) + fraction;
}

cv::Mat DecodeImage(const std::string& base64) {
  auto bytes = Base64Decode(base64);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  if (!bytes.ok()) return {};
  std::vector<uint8_t> v(bytes->begin(), bytes->end());
  return cv::imdecode(v, cv::IMREAD_COLOR);
}

class GetImagesTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    ASSERT_TRUE(server_.Start(dir_.File("data"), extra).ok()) << server_.log();
  }

  // kH264AacMkv (320x240, 25 fps, 6 s, a key frame a second) with its producer times moved
  // to start at `start` seconds.
  void Push(const std::string& stream, const std::string& start) {
    auto media = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(media.ok()) << media.status().ToString();
    const std::string out = CurlPutMedia(server_.url(), {stream, *media, start, true, {}});
    ASSERT_NE(out.find("PERSISTED"), std::string::npos) << out;
    ASSERT_EQ(out.find("\"ERROR\""), std::string::npos) << out;
  }

  CommandOutput GetImages(const std::string& stream, double start, double end, int interval_ms,
                          const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"kinesis-video-archived-media",
                                     "get-images",
                                     "--stream-name",
                                     stream,
                                     "--image-selector-type",
                                     "PRODUCER_TIMESTAMP",
                                     "--start-timestamp",
                                     std::to_string(start),
                                     "--end-timestamp",
                                     std::to_string(end),
                                     "--sampling-interval",
                                     std::to_string(interval_ms)};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunAws(server_.url(), args);
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(GetImagesTest, AwsCliImagesDecodeAtTheAskedSizeAndFollowTheInterval) {
  Start();
  CurlCreateStream(server_.url(), "cam1", 24);
  // Media at 1000-1006 s and at 1020-1026 s: a gap between.
  Push("cam1", "1000.000");
  Push("cam1", "1020.000");

  // The Debian CLI's model wants SamplingInterval >= 3000. 1001..1025 every 3 s: 9 instants,
  // those at 1007..1019 fall in the gap. --page-size 4 makes the CLI follow NextToken.
  for (const std::string& format : {std::string("JPEG"), std::string("PNG")}) {
    CommandOutput r = GetImages("cam1", 1001, 1025, 3000,
                                {"--format", format, "--width-pixels", "160", "--page-size", "4"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    ASSERT_EQ(j["Images"].size(), 9u) << r.out;
    for (size_t i = 0; i < 9; ++i) {
      const json& image = j["Images"][i];
      const double t = 1001 + 3.0 * static_cast<double>(i);
      EXPECT_NEAR(IsoSeconds(image["TimeStamp"]), t, 1e-3) << image.dump();
      const bool in_gap = t > 1006 && t < 1020;
      if (in_gap) {
        EXPECT_EQ(image.value("Error", ""), "NO_MEDIA") << image.dump();
        EXPECT_FALSE(image.contains("ImageContent"));
        continue;
      }
      ASSERT_TRUE(image.contains("ImageContent")) << image.dump();
      const std::string content = image["ImageContent"];
      auto raw = Base64Decode(content);
      ASSERT_TRUE(raw.ok());
      if (format == "JPEG") {
        EXPECT_EQ(raw->substr(0, 2), std::string("\xff\xd8", 2));
      } else {
        EXPECT_EQ(raw->substr(1, 3), "PNG");
      }
      cv::Mat m = DecodeImage(content);
      ASSERT_FALSE(m.empty()) << "image " << i;
      EXPECT_EQ(m.cols, 160);
      EXPECT_EQ(m.rows, 120);  // aspect kept from 320x240
    }
  }

  // Source size when no size is asked; both sizes given: exactly that size.
  CommandOutput r = GetImages("cam1", 1001, 1004, 3000, {"--format", "JPEG"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_EQ(j["Images"].size(), 2u) << r.out;
  cv::Mat full = DecodeImage(j["Images"][0]["ImageContent"]);
  EXPECT_EQ(full.cols, 320);
  EXPECT_EQ(full.rows, 240);
  r = GetImages("cam1", 1001, 1001, 3000,
                {"--format", "JPEG", "--width-pixels", "100", "--height-pixels", "64",
                 "--format-config", "JPEGQuality=20"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  j = json::parse(r.out, nullptr, false);
  ASSERT_EQ(j["Images"].size(), 1u) << r.out;
  cv::Mat stretched = DecodeImage(j["Images"][0]["ImageContent"]);
  EXPECT_EQ(stretched.cols, 100);
  EXPECT_EQ(stretched.rows, 64);
}

TEST_F(GetImagesTest, PagesOf25WithNextTokenAndKvsErrors) {
  Start();
  CurlCreateStream(server_.url(), "cam1", 24);
  Push("cam1", "1000.000");
  // Over curl, to see KVS's raw answer: 0.2 s apart over 5.8 s = 30 instants, pages of 25.
  // (The media's first frame, and so its first fragment, is at 1000.021.)
  json req = {{"StreamName", "cam1"},     {"ImageSelectorType", "PRODUCER_TIMESTAMP"},
              {"StartTimestamp", 1000.1}, {"EndTimestamp", 1005.9},
              {"SamplingInterval", 200},  {"Format", "JPEG"},
              {"MaxResults", 100}};
  CurlReply first = CurlPost(server_.url() + "/getImages", req.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  json page1 = json::parse(first.body);
  ASSERT_EQ(page1["Images"].size(), 25u);
  ASSERT_TRUE(page1.contains("NextToken"));
  req["NextToken"] = page1["NextToken"];
  CurlReply second = CurlPost(server_.url() + "/getImages", req.dump());
  ASSERT_EQ(second.status, 200) << second.body;
  json page2 = json::parse(second.body);
  ASSERT_EQ(page2["Images"].size(), 5u);
  EXPECT_FALSE(page2.contains("NextToken"));
  std::vector<double> times;
  for (const json* page : {&page1, &page2}) {
    for (const json& image : (*page)["Images"]) {
      times.push_back(image["TimeStamp"].get<double>());
      EXPECT_TRUE(image.contains("ImageContent")) << image.dump().substr(0, 200);
    }
  }
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_NEAR(times[i], 1000.1 + 0.2 * static_cast<double>(i), 1e-6) << i;
  }
  // The frames at 1000.1 and 1000.3 differ (testsrc2 moves), and so do their images.
  EXPECT_NE(page1["Images"][0]["ImageContent"], page1["Images"][1]["ImageContent"]);

  // KVS's errors through the CLI.
  CommandOutput r = GetImages("nope", 1000, 1006, 3000, {"--format", "JPEG"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("ResourceNotFoundException"), std::string::npos) << r.out;
  r = GetImages("cam1", 1000, 1400, 3000, {"--format", "JPEG"});  // over 300 s
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("InvalidArgumentException"), std::string::npos) << r.out;
  CurlReply bad = CurlPost(server_.url() + "/getImages", "{\"StreamName\":\"cam1\"}", {"-D", "-"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("InvalidArgumentException"), std::string::npos) << bad.body;
  CurlCreateStream(server_.url(), "noretention", 0);
  r = GetImages("noretention", 1000, 1006, 3000, {"--format", "JPEG"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("NoDataRetentionException"), std::string::npos) << r.out;
}

TEST_F(GetImagesTest, TappedStreamServesItsLatestKeyFrameAsJpeg) {
  Start({"--frame-tap", "tap*"});
  CurlCreateStream(server_.url(), "tap1", 24);
  CurlCreateStream(server_.url(), "other", 24);
  Push("tap1", "1000.000");
  Push("other", "1000.000");
  // The last fragment starts at the last key frame: the thumbnail shows it once the tap has
  // decoded it (asynchronously, after PERSISTED): ask until it does, within a deadline.
  auto fragments = streamarc::testing::ListAllFragments(server_.url(), "tap1");
  ASSERT_FALSE(fragments.empty());
  double last_start = 0;
  for (const json& f : fragments)
    last_start = std::max(last_start, f["ProducerTimestamp"].get<double>());

  const std::string jpeg = dir_.File("thumb.jpg");
  const std::string headers = dir_.File("headers");
  bool shown = false;
  std::string head;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!shown && std::chrono::steady_clock::now() < deadline) {
    streamarc::testing::Curl(
        {"-o", jpeg, "-D", headers, server_.url() + "/thumbnail?StreamName=tap1"});
    head = streamarc::testing::ReadFileOrDie(headers);
    const size_t at = head.find("x-amz-producer-timestamp: ");
    shown = head.find(" 200") != std::string::npos && at != std::string::npos &&
            std::abs(std::atof(head.c_str() + at + 26) - last_start) < 1e-3;
  }
  ASSERT_TRUE(shown) << head;
  EXPECT_NE(head.find("image/jpeg"), std::string::npos) << head;
  std::string bytes = streamarc::testing::ReadFileOrDie(jpeg);
  cv::Mat m = cv::imdecode(std::vector<uint8_t>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m.cols, 320);
  EXPECT_EQ(m.rows, 240);

  // A stream the tap does not match has no thumbnail; a bad name is refused.
  std::string other =
      streamarc::testing::CurlGet(server_.url() + "/thumbnail?StreamName=other", {"-i"});
  EXPECT_NE(other.find("404"), std::string::npos) << other;
  EXPECT_NE(other.find("ResourceNotFoundException"), std::string::npos) << other;
  std::string bad = streamarc::testing::CurlGet(server_.url() + "/thumbnail", {"-i"});
  EXPECT_NE(bad.find("MissingParameter"), std::string::npos) << bad;
}

}  // namespace
}  // namespace streamarc::e2e
