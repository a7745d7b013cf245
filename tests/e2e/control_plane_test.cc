// The KVS control plane driven by the real AWS CLI (Debian's awscli) against the real
// streamarcd, plus raw curl calls for error shapes the CLI would refuse to send.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/aws_cli.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log(); }

  json AwsJson(std::vector<std::string> args) {
    CommandOutput r = RunAws(server_.url(), args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    if (r.out.empty()) return json::object();
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // The CLI fails and names the KVS exception.
  void ExpectAwsError(std::vector<std::string> args, const std::string& exception) {
    CommandOutput r = RunAws(server_.url(), args);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("(" + exception + ")"), std::string::npos) << r.out;
  }

  std::string Version(const std::string& stream) {
    return AwsJson(
        {"kinesisvideo", "describe-stream", "--stream-name", stream})["StreamInfo"]["Version"];
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(ControlPlaneTest, StreamLifecycle) {
  json created = AwsJson({"kinesisvideo", "create-stream", "--stream-name", "front-door.cam_1",
                          "--device-name", "dev1", "--media-type", "video/h264,audio/aac",
                          "--data-retention-in-hours", "24", "--tags", "site=home,floor=1"});
  std::string arn = created["StreamARN"];
  EXPECT_EQ(arn.rfind("arn:aws:kinesisvideo:us-east-1:000000000000:stream/front-door.cam_1/", 0),
            0u)
      << arn;

  json info = AwsJson(
      {"kinesisvideo", "describe-stream", "--stream-name", "front-door.cam_1"})["StreamInfo"];
  EXPECT_EQ(info["StreamARN"], arn);
  EXPECT_EQ(info["Status"], "ACTIVE");
  EXPECT_EQ(info["DeviceName"], "dev1");
  EXPECT_EQ(info["MediaType"], "video/h264,audio/aac");
  EXPECT_EQ(info["DataRetentionInHours"], 24);
  std::string v1 = info["Version"];
  EXPECT_EQ(v1.size(), 20u);
  EXPECT_EQ(
      AwsJson({"kinesisvideo", "describe-stream", "--stream-arn", arn})["StreamInfo"]["StreamName"],
      "front-door.cam_1");

  AwsJson({"kinesisvideo", "update-stream", "--stream-name", "front-door.cam_1",
           "--current-version", v1, "--media-type", "video/h265"});
  std::string v2 = Version("front-door.cam_1");
  EXPECT_NE(v2, v1);
  ExpectAwsError({"kinesisvideo", "update-stream", "--stream-name", "front-door.cam_1",
                  "--current-version", v1, "--media-type", "video/h264"},
                 "VersionMismatchException");

  AwsJson({"kinesisvideo", "update-data-retention", "--stream-name", "front-door.cam_1",
           "--current-version", v2, "--operation", "INCREASE_DATA_RETENTION",
           "--data-retention-change-in-hours", "87000"});
  std::string v3 = Version("front-door.cam_1");
  json after = AwsJson({"kinesisvideo", "describe-stream", "--stream-name", "front-door.cam_1"});
  EXPECT_EQ(after["StreamInfo"]["DataRetentionInHours"], 87024);
  EXPECT_EQ(after["StreamInfo"]["MediaType"], "video/h265");
  ExpectAwsError({"kinesisvideo", "update-data-retention", "--stream-name", "front-door.cam_1",
                  "--current-version", v3, "--operation", "INCREASE_DATA_RETENTION",
                  "--data-retention-change-in-hours", "1000"},
                 "InvalidArgumentException");  // past ten years
  AwsJson({"kinesisvideo", "update-data-retention", "--stream-arn", arn, "--current-version", v3,
           "--operation", "DECREASE_DATA_RETENTION", "--data-retention-change-in-hours", "87023"});
  EXPECT_EQ(AwsJson({"kinesisvideo", "describe-stream", "--stream-name",
                     "front-door.cam_1"})["StreamInfo"]["DataRetentionInHours"],
            1);

  // Tags, by name and by resource ARN.
  AwsJson(
      {"kinesisvideo", "tag-stream", "--stream-name", "front-door.cam_1", "--tags", "owner=ops"});
  AwsJson({"kinesisvideo", "untag-stream", "--stream-arn", arn, "--tag-key-list", "floor"});
  json tags = AwsJson(
      {"kinesisvideo", "list-tags-for-stream", "--stream-name", "front-door.cam_1"})["Tags"];
  EXPECT_EQ(tags, (json{{"owner", "ops"}, {"site", "home"}}));
  AwsJson({"kinesisvideo", "tag-resource", "--resource-arn", arn, "--tags", "Key=tier,Value=hot"});
  AwsJson({"kinesisvideo", "untag-resource", "--resource-arn", arn, "--tag-key-list", "site"});
  EXPECT_EQ(AwsJson({"kinesisvideo", "list-tags-for-resource", "--resource-arn", arn})["Tags"],
            (json{{"owner", "ops"}, {"tier", "hot"}}));

  for (const char* api : {"PUT_MEDIA", "GET_MEDIA", "LIST_FRAGMENTS", "GET_MEDIA_FOR_FRAGMENT_LIST",
                          "GET_HLS_STREAMING_SESSION_URL", "GET_DASH_STREAMING_SESSION_URL",
                          "GET_CLIP", "GET_IMAGES"}) {
    EXPECT_EQ(AwsJson({"kinesisvideo", "get-data-endpoint", "--stream-name", "front-door.cam_1",
                       "--api-name", api})["DataEndpoint"],
              server_.url());
  }

  ExpectAwsError({"kinesisvideo", "delete-stream", "--stream-arn", arn, "--current-version",
                  "WRONGVERSION00000000"},
                 "VersionMismatchException");
  AwsJson({"kinesisvideo", "delete-stream", "--stream-arn", arn, "--current-version",
           Version("front-door.cam_1")});
  ExpectAwsError({"kinesisvideo", "describe-stream", "--stream-name", "front-door.cam_1"},
                 "ResourceNotFoundException");
}

TEST_F(ControlPlaneTest, ListStreamsPaginatesAndFilters) {
  for (const char* name : {"lobby-1", "lobby-2", "lobby-3", "garage", "lobby-4"}) {
    AwsJson(
        {"kinesisvideo", "create-stream", "--stream-name", name, "--data-retention-in-hours", "1"});
  }
  // The CLI follows NextToken itself: two at a time still yields every stream, in order.
  json all = AwsJson({"kinesisvideo", "list-streams", "--page-size", "2"});
  std::vector<std::string> names;
  for (const json& s : all["StreamInfoList"]) names.push_back(s["StreamName"]);
  EXPECT_EQ(names,
            (std::vector<std::string>{"garage", "lobby-1", "lobby-2", "lobby-3", "lobby-4"}));
  json page = AwsJson({"kinesisvideo", "list-streams", "--max-results", "2", "--no-paginate"});
  EXPECT_EQ(page["StreamInfoList"].size(), 2u);
  EXPECT_TRUE(page.contains("NextToken"));
  json lobby = AwsJson({"kinesisvideo", "list-streams", "--stream-name-condition",
                        "ComparisonOperator=BEGINS_WITH,ComparisonValue=lobby-"});
  EXPECT_EQ(lobby["StreamInfoList"].size(), 4u);
  json none = AwsJson({"kinesisvideo", "list-streams", "--stream-name-condition",
                       "ComparisonOperator=BEGINS_WITH,ComparisonValue=zzz"});
  EXPECT_EQ(none["StreamInfoList"].size(), 0u);
}

TEST_F(ControlPlaneTest, ErrorsHaveKvsShapes) {
  AwsJson({"kinesisvideo", "create-stream", "--stream-name", "dup"});
  ExpectAwsError({"kinesisvideo", "create-stream", "--stream-name", "dup"},
                 "ResourceInUseException");
  ExpectAwsError({"kinesisvideo", "create-stream", "--stream-name", "bad/name"},
                 "InvalidArgumentException");
  ExpectAwsError({"kinesisvideo", "create-stream", "--stream-name", "x", "--media-type", "h264"},
                 "InvalidArgumentException");
  ExpectAwsError(
      {"kinesisvideo", "get-data-endpoint", "--stream-name", "dup", "--api-name", "NOT_AN_API"},
      "InvalidArgumentException");
  ExpectAwsError(
      {"kinesisvideo", "get-data-endpoint", "--stream-name", "missing", "--api-name", "PUT_MEDIA"},
      "ResourceNotFoundException");
  std::string many_tags;
  for (int i = 0; i < 50; ++i)
    many_tags += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  AwsJson({"kinesisvideo", "tag-stream", "--stream-name", "dup", "--tags", many_tags});
  ExpectAwsError({"kinesisvideo", "tag-stream", "--stream-name", "dup", "--tags", "one-more=v"},
                 "TagsPerResourceExceededLimitException");

  // Shapes the CLI would not send, straight over HTTP.
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = RunCommand({"curl", "-sS", "-i", "-X", "POST", "-H", "content-type: application/json",
                         "--data-binary", body, server_.url() + path});
    EXPECT_TRUE(r.ok());
    return r->out;
  };
  std::string bad_json = post("/describeStream", "{not json");
  EXPECT_NE(bad_json.find("HTTP/1.1 400"), std::string::npos) << bad_json;
  EXPECT_NE(bad_json.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos);
  EXPECT_NE(bad_json.find("x-amzn-requestid: "), std::string::npos);
  EXPECT_NE(bad_json.find("{\"Message\":"), std::string::npos);
  std::string both = post("/describeStream", R"({"StreamName":"dup","StreamARN":"arn:x"})");
  EXPECT_NE(both.find("exactly one of StreamName or StreamARN"), std::string::npos) << both;
  std::string missing = post("/describeStream", R"({"StreamName":"nope"})");
  EXPECT_NE(missing.find("HTTP/1.1 404"), std::string::npos) << missing;
  EXPECT_NE(missing.find("x-amzn-errortype: ResourceNotFoundException"), std::string::npos);
  std::string wrong_type =
      post("/createStream", R"({"StreamName":"t","DataRetentionInHours":"1"})");
  EXPECT_NE(wrong_type.find("must be an integer"), std::string::npos) << wrong_type;
  std::string bad_token = post("/listStreams", R"({"NextToken":"abc"})");
  EXPECT_NE(bad_token.find("NextToken is not valid"), std::string::npos) << bad_token;
}

// Tag keys and values as KVS checks them (1-128 and 0-256 characters of Unicode letters,
// numbers and spaces and _ . : / = + - @; no key starting with aws:), through the CLI and,
// for what the CLI would not send, raw JSON.
TEST_F(ControlPlaneTest, TagsAreCheckedAsKvsChecksThem) {
  ExpectAwsError({"kinesisvideo", "create-stream", "--stream-name", "tagged", "--tags",
                  R"({"site":"lab","aws:owner":"me"})"},
                 "InvalidArgumentException");
  ExpectAwsError({"kinesisvideo", "describe-stream", "--stream-name", "tagged"},
                 "ResourceNotFoundException");
  // Accented letters, CJK, spaces and KVS's symbols are all fine.
  const json good = {{"Caf\xC3\xA9", "\xE6\x9D\xB1\xE4\xBA\xAC"},  // Café: 東京
                     {"floor 2", "a b"},
                     {"path", "x:/=+-@_."},
                     {"empty", ""}};
  AwsJson({"kinesisvideo", "create-stream", "--stream-name", "tagged", "--tags", good.dump()});
  EXPECT_EQ(AwsJson({"kinesisvideo", "list-tags-for-stream", "--stream-name", "tagged"})["Tags"],
            good);

  for (const std::string& tags : {
           std::string(R"({"<script>":"x"})"),
           std::string(R"({"AWS:x":"y"})"),
           std::string(R"({"k":"<b>hi</b>"})"),
           std::string(R"({"\ud83d\ude00":"emoji"})"),
           json{{std::string(129, 'k'), "v"}}.dump(),
           json{{"k", std::string(257, 'v')}}.dump(),
       }) {
    ExpectAwsError({"kinesisvideo", "tag-stream", "--stream-name", "tagged", "--tags", tags},
                   "InvalidArgumentException");
  }
  json arn = AwsJson({"kinesisvideo", "describe-stream", "--stream-name", "tagged"});
  const std::string stream_arn = arn["StreamInfo"]["StreamARN"];
  ExpectAwsError(
      {"kinesisvideo", "tag-resource", "--resource-arn", stream_arn, "--tags", "Key=aws:x,Value=y"},
      "InvalidArgumentException");
  ExpectAwsError(
      {"kinesisvideo", "untag-stream", "--stream-name", "tagged", "--tag-key-list", "a<b"},
      "InvalidArgumentException");
  ExpectAwsError(
      {"kinesisvideo", "untag-resource", "--resource-arn", stream_arn, "--tag-key-list", "aws:x"},
      "InvalidArgumentException");
  EXPECT_EQ(AwsJson({"kinesisvideo", "list-tags-for-stream", "--stream-name", "tagged"})["Tags"],
            good)
      << "nothing refused was stored";

  // Straight over HTTP: NUL and newlines, in the map and the list form.
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = RunCommand({"curl", "-sS", "-i", "-X", "POST", "-H", "content-type: application/json",
                         "--data-binary", body, server_.url() + path});
    EXPECT_TRUE(r.ok());
    return r->out;
  };
  std::string newline = post("/tagStream", R"({"StreamName":"tagged","Tags":{"a\nb":"v"}})");
  EXPECT_NE(newline.find("HTTP/1.1 400"), std::string::npos) << newline;
  EXPECT_NE(newline.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos);
  EXPECT_NE(newline.find(R"({"Message":"tag key \"a\\x0Ab\" holds U+000A)"), std::string::npos)
      << newline;
  const json nul_value = {{"ResourceARN", stream_arn},
                          {"Tags", {{{"Key", "k"}, {"Value", std::string("a\0", 2)}}}}};
  std::string nul = post("/TagResource", nul_value.dump());
  EXPECT_NE(nul.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos) << nul;
  EXPECT_NE(nul.find(R"(the value of tag key \"k\" holds U+0000)"), std::string::npos) << nul;
  std::string not_utf8 =
      post("/tagStream", "{\"StreamName\":\"tagged\",\"Tags\":{\"\xff\":\"v\"}}");
  EXPECT_NE(not_utf8.find("x-amzn-errortype: InvalidArgumentException"), std::string::npos)
      << not_utf8;
  EXPECT_EQ(AwsJson({"kinesisvideo", "list-tags-for-stream", "--stream-name", "tagged"})["Tags"],
            good);
}

TEST_F(ControlPlaneTest, StreamsSurviveARestart) {
  AwsJson({"kinesisvideo", "create-stream", "--stream-name", "kept", "--data-retention-in-hours",
           "48"});
  std::string version = Version("kept");
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start(dir_.File("data")).ok()) << server_.log();
  json info = AwsJson({"kinesisvideo", "describe-stream", "--stream-name", "kept"})["StreamInfo"];
  EXPECT_EQ(info["DataRetentionInHours"], 48);
  EXPECT_EQ(info["Version"], version);
}

}  // namespace
}  // namespace streamarc::e2e
