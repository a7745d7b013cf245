// GetClip end to end: real media pushed with curl into the real streamarcd, clips fetched
// with the real AWS CLI (Debian's awscli) and curl (with Range), checked by ffprobe.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

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
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

// Sorted video presentation times (seconds) of a file.
std::vector<double> VideoTimes(const std::string& path) {
  auto probed = streamarc::testing::ProbeTimes(path);
  EXPECT_TRUE(probed.ok()) << probed.status().ToString();
  std::vector<double> t;
  if (!probed.ok()) return t;
  for (const auto& p : *probed) {
    if (p.type == "video") t.push_back(p.pts_s);
  }
  std::sort(t.begin(), t.end());
  return t;
}

double Duration(const std::string& path) {
  auto d = streamarc::testing::ProbeDuration(path);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : 0;
}

class GetClipTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log(); }

  void CreateStream(const std::string& name, int hours) {
    CurlCreateStream(server_.url(), name, hours);
  }

  // Pushes a file with absolute timecodes: producer timestamps are the file's own times,
  // seconds after the epoch.
  void Push(const std::string& file, const std::string& stream) {
    const std::string out = CurlPutMedia(server_.url(), {stream, file, "", /*chunked=*/false, {}});
    ASSERT_NE(out.find("PERSISTED"), std::string::npos) << out;
    ASSERT_EQ(out.find("\"ERROR\""), std::string::npos) << out;
  }

  static std::string Selector(const std::string& type, double start, double end) {
    return json{{"FragmentSelectorType", type},
                {"TimestampRange", {{"StartTimestamp", start}, {"EndTimestamp", end}}}}
        .dump();
  }

  CommandOutput GetClip(const std::string& stream, const std::string& selector,
                        const std::string& out) {
    return RunAws(server_.url(), {"kinesis-video-archived-media", "get-clip", "--stream-name",
                                  stream, "--clip-fragment-selector", selector, out});
  }

  void ExpectClipError(const std::string& stream, const std::string& selector,
                       const std::string& exception) {
    CommandOutput r = GetClip(stream, selector, dir_.File("err.mp4"));
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("(" + exception + ")"), std::string::npos) << r.out;
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(GetClipTest, AwsCliClipPlaysFromZeroWithEveryFrame) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  CreateStream("cam1", 24);
  Push(*input, "cam1");

  std::string out = dir_.File("clip.mp4");
  CommandOutput r = GetClip("cam1", Selector("PRODUCER_TIMESTAMP", 0, 3600), out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json meta = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(meta.is_discarded()) << r.out;
  EXPECT_EQ(meta["ContentType"], "video/mp4");

  std::vector<double> want = VideoTimes(*input);
  std::vector<double> got = VideoTimes(out);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  EXPECT_NEAR(got.front(), 0.0, 1e-6);
  // The clip starts at the first fragment (the first key frame): the input's frames, shifted.
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i] - want.front(), 0.0015) << "frame " << i;
  }
  EXPECT_NEAR(Duration(out), Duration(*input), 0.1);
  std::string clip = ReadFileOrDie(out);
  EXPECT_LT(clip.find("moov"), clip.find("mdat"));  // plays while it downloads

  // A later part of the stream: only fragments starting in the range.
  std::string part = dir_.File("part.mp4");
  r = GetClip("cam1", Selector("PRODUCER_TIMESTAMP", 2.0, 3.5), part);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<double> part_times = VideoTimes(part);
  ASSERT_FALSE(part_times.empty());
  EXPECT_NEAR(part_times.front(), 0.0, 1e-6);
  EXPECT_LT(part_times.size(), want.size());
  EXPECT_GT(Duration(part), 0.9);
  EXPECT_LT(Duration(part), 3.0);

  // Server timestamps: everything was ingested within the last hour.
  double now = static_cast<double>(std::time(nullptr));
  std::string by_server = dir_.File("server.mp4");
  r = GetClip("cam1", Selector("SERVER_TIMESTAMP", now - 3600, now + 60), by_server);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(VideoTimes(by_server).size(), want.size());

  // Range over curl: the same bytes as the whole clip's.
  std::string body =
      json{{"StreamName", "cam1"},
           {"ClipFragmentSelector", json::parse(Selector("PRODUCER_TIMESTAMP", 0, 3600))}}
          .dump();
  auto ranged = RunCommand({"curl", "-sS", "-D", dir_.File("headers"), "-o", dir_.File("range"),
                            "-X", "POST", "-H", "Range: bytes=100-1123", "--data-binary", body,
                            server_.url() + "/getClip"});
  ASSERT_TRUE(ranged.ok());
  std::string headers = ReadFileOrDie(dir_.File("headers"));
  EXPECT_NE(headers.find("HTTP/1.1 206"), std::string::npos) << headers;
  EXPECT_NE(headers.find("bytes 100-1123/" + std::to_string(clip.size())), std::string::npos)
      << headers;
  EXPECT_EQ(ReadFileOrDie(dir_.File("range")), clip.substr(100, 1024));
  auto past_end =
      RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                  "Range: bytes=999999999-", "--data-binary", body, server_.url() + "/getClip"});
  ASSERT_TRUE(past_end.ok());
  EXPECT_EQ(past_end->out, "416");
}

TEST_F(GetClipTest, RefusalsInKvsShapes) {
  CreateStream("cam1", 24);
  CreateStream("noretention", 0);
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok());
  Push(*input, "cam1");
  ExpectClipError("nosuch", Selector("PRODUCER_TIMESTAMP", 0, 60), "ResourceNotFoundException");
  // A range with no fragments.
  ExpectClipError("cam1", Selector("PRODUCER_TIMESTAMP", 1000, 2000), "ResourceNotFoundException");
  ExpectClipError("cam1", Selector("PRODUCER_TIMESTAMP", 60, 10), "InvalidArgumentException");
  ExpectClipError("cam1", Selector("PRODUCER_TIMESTAMP", 0, 25 * 3600), "InvalidArgumentException");
  ExpectClipError("noretention", Selector("SERVER_TIMESTAMP", 0, 60), "NoDataRetentionException");
  // Malformed bodies the CLI would not send.
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"StreamName":"cam1"})"),
        std::string(R"({"StreamName":"cam1","ClipFragmentSelector":{"FragmentSelectorType":"X",)"
                    R"("TimestampRange":{"StartTimestamp":0,"EndTimestamp":1}}})"),
        std::string(
            R"({"StreamName":"cam1","ClipFragmentSelector":{"FragmentSelectorType":)"
            R"("SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":"a","EndTimestamp":1}}})")}) {
    auto r = RunCommand(
        {"curl", "-sS", "-i", "-X", "POST", "--data-binary", body, server_.url() + "/getClip"});
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->out.find("HTTP/1.1 400"), std::string::npos) << r->out;
    EXPECT_NE(r->out.find("InvalidArgumentException"), std::string::npos) << r->out;
  }
}

}  // namespace
}  // namespace streamarc::e2e
