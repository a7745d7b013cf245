// Storage tiers end to end: the real streamarcd with --object-store on a real S3 server
// (s3rver from npm, tests/support/s3_server.sh), real media pushed with curl, the bucket
// checked independently with the AWS CLI's s3 commands, clips fetched with the AWS CLI and
// checked by ffprobe after the local copies are gone.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/s3_server.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::RunAws;
using streamarc::testing::RunAwsAs;
using streamarc::testing::S3Server;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

class TiersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(s3_.Start());
    MakeBucket();
  }

  void MakeBucket() { s3_.MakeBucket(bucket_); }

  void StartServer(int warm_after_seconds = 0) {
    ASSERT_TRUE(server_
                    .Start(dir_.File("data"),
                           {"--object-store", s3_.ObjectStoreJson(bucket_), "--warm-after-seconds",
                            std::to_string(warm_after_seconds), "--segment-window-seconds", "1"})
                    .ok())
        << server_.log();
  }

  json Post(const std::string& path, const json& body, int want_status = 200) {
    auto reply = CurlPost(server_.url() + path, body.dump());
    EXPECT_EQ(reply.status, want_status) << path << ": " << reply.body;
    json j = json::parse(reply.body, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }

  // The x-amzn-errortype of a refused request, with its HTTP status checked.
  std::string Refused(const std::string& path, const json& body, int want_status = 400) {
    auto reply = CurlPost(server_.url() + path, body.dump(), {"-D", "-"});
    EXPECT_EQ(reply.status, want_status) << path << ": " << reply.body;
    const std::string h = "x-amzn-errortype: ";
    const size_t at = reply.body.find(h);
    if (at == std::string::npos) return "";
    const size_t end = reply.body.find_first_of("\r\n", at);
    return reply.body.substr(at + h.size(), end - at - h.size());
  }

  std::string Tier(const std::string& stream) {
    json j = Post("/describeStreamStorageConfiguration", {{"StreamName", stream}});
    return j.value("/StreamStorageConfiguration/DefaultStorageTier"_json_pointer, "");
  }

  void Push(const std::string& file, const std::string& stream) {
    const std::string out = CurlPutMedia(server_.url(), {stream, file, "", false, {}});
    ASSERT_NE(out.find("PERSISTED"), std::string::npos) << out;
    ASSERT_EQ(out.find("\"ERROR\""), std::string::npos) << out;
  }

  // The bucket's object keys, as the AWS CLI lists them.
  std::set<std::string> Objects() {
    CommandOutput r = RunAwsAs(streamarc::testing::kS3rverKey, s3_.endpoint(),
                               {"s3api", "list-objects-v2", "--bucket", bucket_});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::set<std::string> keys;
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return keys;  // no objects: the CLI prints nothing
    for (const json& o : j.value("Contents", json::array())) keys.insert(o["Key"]);
    return keys;
  }

  // Segment files on local disk.
  size_t LocalSegments() {
    size_t n = 0;
    std::error_code ec;
    const std::string root = dir_.File("data") + "/segments";
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().extension() == ".seg") ++n;
    }
    return n;
  }

  // Polls until every segment is in the bucket and none is left locally.
  bool WaitUntilAllMoved(int timeout_s) {
    for (int i = 0; i < timeout_s * 4; ++i) {
      if (LocalSegments() == 0 && !Objects().empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  // The clip of the whole stream, checked frame for frame against the input.
  void ExpectWholeClip(const std::string& stream, const std::string& input) {
    const std::string out = dir_.File("clip-" + stream + ".mp4");
    const std::string selector =
        json{{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
             {"TimestampRange", {{"StartTimestamp", 0}, {"EndTimestamp", 3600}}}}
            .dump();
    CommandOutput r =
        RunAws(server_.url(), {"kinesis-video-archived-media", "get-clip", "--stream-name", stream,
                               "--clip-fragment-selector", selector, out});
    ASSERT_EQ(r.exit_code, 0) << r.out << server_.log();
    auto want = streamarc::testing::ProbeTimes(input);
    auto got = streamarc::testing::ProbeTimes(out);
    ASSERT_TRUE(want.ok() && got.ok());
    size_t want_video = 0, got_video = 0;
    for (const auto& p : *want) want_video += p.type == "video";
    for (const auto& p : *got) got_video += p.type == "video";
    EXPECT_GT(want_video, 0u);
    EXPECT_EQ(got_video, want_video);
  }

  TempDir dir_;
  S3Server s3_{dir_.File("s3")};
  std::string bucket_ = "video-" + std::to_string(::getpid());
  ServerProcess server_;
};

TEST_F(TiersTest, WarmSegmentsMoveToTheBucketAndPlayFromThere) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  StartServer();
  streamarc::testing::CurlCreateStream(server_.url(), "cam1", 24);
  // With an object store, a stream created without a tier is WARM.
  EXPECT_EQ(Tier("cam1"), "WARM");
  Push(*input, "cam1");
  ASSERT_TRUE(WaitUntilAllMoved(60)) << LocalSegments() << " local\n" << server_.log();
  for (const std::string& key : Objects()) {
    EXPECT_EQ(key.rfind("segments/", 0), 0u) << key;
    EXPECT_EQ(key.substr(key.size() - 4), ".seg") << key;
  }
  // Read back from the bucket only: every frame, through GetClip.
  ExpectWholeClip("cam1", *input);
  // GetMedia from the first fragment reads them too.
  auto frags = streamarc::testing::ListAllFragments(server_.url(), "cam1");
  ASSERT_FALSE(frags.empty());

  // After a restart the index still finds them in the bucket.
  EXPECT_EQ(server_.Stop(), 0);
  StartServer();
  ExpectWholeClip("cam1", *input);

  // Deleting the stream deletes its objects.
  json d = Post("/describeStream", {{"StreamName", "cam1"}});
  Post("/deleteStream", {{"StreamARN", d["StreamInfo"]["StreamARN"]}});
  EXPECT_TRUE(Objects().empty());
}

TEST_F(TiersTest, HotStaysLocalUntilMadeWarm) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  StartServer();
  Post("/createStream", {{"StreamName", "hot1"},
                         {"DataRetentionInHours", 24},
                         {"StreamStorageConfiguration", {{"DefaultStorageTier", "HOT"}}}});
  EXPECT_EQ(Tier("hot1"), "HOT");
  Push(*input, "hot1");
  // Sealed (a 1 s window) and old enough (0 s), yet HOT: nothing moves. The uploader looks
  // at least every 5 s; 8 s covers a pass after the seal.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  EXPECT_TRUE(Objects().empty());
  EXPECT_GT(LocalSegments(), 0u);

  // Bad requests: KVS's error shapes.
  json d = Post("/describeStream", {{"StreamName", "hot1"}});
  const std::string version = d["StreamInfo"]["Version"];
  EXPECT_EQ(Refused("/updateStreamStorageConfiguration",
                    {{"StreamName", "hot1"},
                     {"CurrentVersion", version},
                     {"StreamStorageConfiguration", {{"DefaultStorageTier", "COLD"}}}}),
            "InvalidArgumentException");
  EXPECT_EQ(Refused("/updateStreamStorageConfiguration",
                    {{"StreamName", "hot1"},
                     {"CurrentVersion", "wrongversion0000000"},
                     {"StreamStorageConfiguration", {{"DefaultStorageTier", "WARM"}}}}),
            "VersionMismatchException");
  EXPECT_EQ(Refused("/describeStreamStorageConfiguration", {{"StreamName", "nosuch"}}, 404),
            "ResourceNotFoundException");

  Post("/updateStreamStorageConfiguration",
       {{"StreamName", "hot1"},
        {"CurrentVersion", version},
        {"StreamStorageConfiguration", {{"DefaultStorageTier", "WARM"}}}});
  EXPECT_EQ(Tier("hot1"), "WARM");
  ASSERT_TRUE(WaitUntilAllMoved(60)) << server_.log();
  ExpectWholeClip("hot1", *input);
}

TEST_F(TiersTest, BucketAwayForAMinuteIngestGoesOnAndCatchesUp) {
  auto input = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  StartServer();
  streamarc::testing::CurlCreateStream(server_.url(), "cam2", 24);
  const int port = s3_.port();
  s3_.Stop();
  const auto away = std::chrono::steady_clock::now();
  // Ingest does not wait for the bucket: every fragment is PERSISTED on local disk.
  Push(*input, "cam2");
  ASSERT_TRUE(server_.WaitForLog("could not move a segment to the bucket", 30000)) << server_.log();
  EXPECT_GT(LocalSegments(), 0u);
  std::this_thread::sleep_until(away + std::chrono::seconds(60));
  // Back on the same address, empty (as after a disaster at the store): the bucket is made
  // again and the segments still local go there.
  ASSERT_TRUE(s3_.Start(port));
  MakeBucket();
  ASSERT_TRUE(WaitUntilAllMoved(90)) << LocalSegments() << " local\n" << server_.log();
  ExpectWholeClip("cam2", *input);
}

TEST_F(TiersTest, WarmWithoutAnObjectStoreIsRefused) {
  ASSERT_TRUE(server_.Start(dir_.File("plain")).ok()) << server_.log();
  EXPECT_EQ(
      Refused("/createStream", {{"StreamName", "w1"},
                                {"DataRetentionInHours", 1},
                                {"StreamStorageConfiguration", {{"DefaultStorageTier", "WARM"}}}}),
      "InvalidArgumentException");
  Post("/createStream", {{"StreamName", "h1"}, {"DataRetentionInHours", 1}});
  EXPECT_EQ(Tier("h1"), "HOT");
}

TEST(TiersConfig, BadObjectStoreIsRefusedAtStart) {
  TempDir dir;
  for (const std::string& bad :
       {std::string("{\"bucket\": \"b\", \"access-key-id\": \"k\", \"secret-access-key\": \"s\"}"),
        std::string("{\"endpoint\": \"ftp://x\", \"bucket\": \"b\", \"access-key-id\": \"k\","
                    " \"secret-access-key\": \"s\"}"),
        std::string("{\"endpoint\": \"http://127.0.0.1:1\", \"bucket\": \"b\", \"colour\": 1}"),
        std::string("not json")}) {
    ServerProcess server;
    Status s = server.Start(dir.File("data"), {"--object-store", bad});
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(server.log().find("object-store"), std::string::npos) << server.log();
  }
}

}  // namespace
}  // namespace streamarc::e2e
