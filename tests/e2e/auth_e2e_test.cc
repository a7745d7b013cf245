// Access keys end to end: streamarcd with keys in its config file; the real AWS CLI
// (botocore's signer, independent of ours) with a right, a wrong and an unknown key; unsigned
// curl; and the start-up refusal of an address other machines reach, without keys.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/access_keys.h"
#include "tests/support/aws_cli.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::AccessKeyGrant;
using streamarc::testing::AccessKeysConfig;
using streamarc::testing::AwsKey;
using streamarc::testing::CommandOutput;
using streamarc::testing::RunAws;
using streamarc::testing::RunAwsAs;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::StreamarcdPath;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

const AwsKey kAdmin{"AKIDADMIN", "admin-secret-0123456789"};
const AwsKey kViewer{"AKIDVIEWER", "viewer-secret-0123456789"};
const AwsKey kCamera{"AKIDCAMERA", "camera-secret-0123456789"};

const std::vector<AccessKeyGrant> kKeys = {
    {kAdmin, {}, {}}, {kViewer, {}, {"read"}}, {kCamera, {"cam-*"}, {"read", "write"}}};

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFileOrDie(dir_.File("streamarc.json"), AccessKeysConfig(kKeys));
    ASSERT_TRUE(server_.Start(dir_.File("data"), {"--config", dir_.File("streamarc.json")}).ok())
        << server_.log();
  }

  json As(const AwsKey& key, std::vector<std::string> args) {
    CommandOutput r = RunAwsAs(key, server_.url(), args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    json j = r.out.empty() ? json::object() : json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // The CLI fails and names the exception.
  void ExpectRefused(const AwsKey& key, std::vector<std::string> args,
                     const std::string& exception) {
    CommandOutput r = RunAwsAs(key, server_.url(), args);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("(" + exception + ")"), std::string::npos) << r.out;
  }

  std::string Curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-sS", "-i"});
    auto r = RunCommand(args);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  TempDir dir_;
  ServerProcess server_;
};

TEST_F(AuthE2eTest, TheAwsCliSignsWithAConfiguredKey) {
  As(kAdmin, {"kinesisvideo", "create-stream", "--stream-name", "cam-1"});
  As(kAdmin, {"kinesisvideo", "create-stream", "--stream-name", "door"});
  EXPECT_EQ(As(kViewer, {"kinesisvideo", "describe-stream", "--stream-name",
                         "door"})["StreamInfo"]["StreamName"],
            "door");
  EXPECT_EQ(As(kViewer, {"kinesisvideo", "list-streams"})["StreamInfoList"].size(), 2u);
  // A key limited to some streams lists those only.
  json cams = As(kCamera, {"kinesisvideo", "list-streams"})["StreamInfoList"];
  ASSERT_EQ(cams.size(), 1u) << cams.dump();
  EXPECT_EQ(cams[0]["StreamName"], "cam-1");
  EXPECT_EQ(As(kCamera, {"kinesisvideo", "describe-stream", "--stream-name",
                         "cam-1"})["StreamInfo"]["StreamName"],
            "cam-1");
  EXPECT_FALSE(As(kCamera, {"kinesisvideo", "get-data-endpoint", "--stream-name", "cam-1",
                            "--api-name", "PUT_MEDIA"})["DataEndpoint"]
                   .empty());

  // A right the key does not hold, or a stream outside its list.
  ExpectRefused(kViewer,
                {"kinesisvideo", "delete-stream", "--stream-arn",
                 "arn:aws:kinesisvideo:us-east-1:000000000000:stream/door/1"},
                "AccessDeniedException");
  ExpectRefused(kCamera, {"kinesisvideo", "describe-stream", "--stream-name", "door"},
                "AccessDeniedException");
  ExpectRefused(kCamera, {"kinesisvideo", "create-stream", "--stream-name", "cam-2"},
                "AccessDeniedException");
  // A wrong secret, an unknown key.
  ExpectRefused({kAdmin.id, "not-the-secret"},
                {"kinesisvideo", "describe-stream", "--stream-name", "door"},
                "InvalidSignatureException");
  CommandOutput unknown = RunAws(server_.url(), {"kinesisvideo", "list-streams"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.out.find("(UnrecognizedClientException)"), std::string::npos) << unknown.out;
  // Nothing was changed by the refused calls.
  EXPECT_EQ(As(kAdmin, {"kinesisvideo", "list-streams"})["StreamInfoList"].size(), 2u);
}

// GetMedia-style APIs collect their body before the check, so the signature covers it.
TEST_F(AuthE2eTest, ArchivedMediaCallsAreSignedOverTheirBody) {
  As(kAdmin, {"kinesisvideo", "create-stream", "--stream-name", "cam-1"});
  json listed = As(kCamera, {"kinesis-video-archived-media", "list-fragments", "--stream-name",
                             "cam-1", "--fragment-selector",
                             "FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp="
                             "2020-01-01T00:00:00Z,EndTimestamp=2030-01-01T00:00:00Z}"});
  EXPECT_TRUE(listed["Fragments"].empty()) << listed.dump();
  const std::string fragment(47, '9');
  const std::string out = dir_.File("out.mkv");
  // Past the signature check, the handler refuses the unknown fragment.
  CommandOutput r = RunAwsAs(kCamera, server_.url(),
                             {"kinesis-video-archived-media", "get-media-for-fragment-list",
                              "--stream-name", "cam-1", out, "--fragments", fragment});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("Signature"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exception"), std::string::npos) << r.out;
  ExpectRefused({kCamera.id, "wrong"},
                {"kinesis-video-archived-media", "get-media-for-fragment-list", "--stream-name",
                 "cam-1", out, "--fragments", fragment},
                "InvalidSignatureException");
  ExpectRefused(kCamera,
                {"kinesis-video-archived-media", "get-media-for-fragment-list", "--stream-name",
                 "door", out, "--fragments", fragment},
                "AccessDeniedException");
}

// A presigned URL made by botocore (the signer of the AWS CLI and boto3) is accepted until
// it is changed or expires.
TEST_F(AuthE2eTest, PresignedUrlsFromBotocore) {
  auto presign = [&](const std::string& stream, int expires) {
    const std::string script =
        "import sys, botocore.auth, botocore.awsrequest, botocore.credentials\n"
        "c = botocore.credentials.Credentials(sys.argv[1], sys.argv[2])\n"
        "r = botocore.awsrequest.AWSRequest(method='GET', url=sys.argv[3])\n"
        "botocore.auth.SigV4QueryAuth(c, 'kinesisvideo', 'us-east-1', expires=int(sys.argv[4]))"
        ".add_auth(r)\n"
        "print(r.url)\n";
    auto r =
        RunCommand({"python3", "-c", script, kCamera.id, kCamera.secret,
                    server_.url() + "/thumbnail?StreamName=" + stream, std::to_string(expires)});
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->out : "");
    return r.ok() ? r->out.substr(0, r->out.find('\n')) : "";
  };
  auto status = [&](const std::string& url) {
    auto r = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url});
    return r.ok() ? r->out : "";
  };
  const std::string url = presign("cam-1", 300);
  ASSERT_NE(url.find("X-Amz-Signature="), std::string::npos) << url;
  // Past the check: no thumbnail of a stream the frame tap does not decode.
  EXPECT_EQ(status(url), "404");
  std::string changed = url;
  changed.replace(changed.find("cam-1"), 5, "cam-2");
  EXPECT_EQ(status(changed), "403");
  EXPECT_EQ(status(presign("door", 300)), "403");  // outside the key's streams
  EXPECT_EQ(status(server_.url() + "/thumbnail?StreamName=cam-1"), "403");
}

TEST_F(AuthE2eTest, UnsignedRequestsGetKvsShapedRefusals) {
  const std::string describe =
      Curl({"-X", "POST", "-H", "content-type: application/json", "-d", R"({"StreamName":"cam-1"})",
            server_.url() + "/describeStream"});
  EXPECT_NE(describe.find("HTTP/1.1 403"), std::string::npos) << describe;
  EXPECT_NE(describe.find("x-amzn-errortype: MissingAuthenticationTokenException"),
            std::string::npos)
      << describe;
  EXPECT_NE(describe.find("x-amzn-requestid: "), std::string::npos) << describe;
  EXPECT_NE(describe.find("{\"Message\":"), std::string::npos) << describe;

  const std::string put = Curl({"-X", "POST", "-H", "x-amzn-stream-name: cam-1", "--data-binary",
                                "x", server_.url() + "/putMedia"});
  EXPECT_NE(put.find("HTTP/1.1 403"), std::string::npos) << put;

  // What needs no key: liveness, and the console's page (its API calls are signed).
  const std::string health = Curl({server_.url() + "/health"});
  EXPECT_NE(health.find("HTTP/1.1 200"), std::string::npos) << health;
  EXPECT_NE(health.find("\"authentication\":\"sigv4\""), std::string::npos) << health;
  EXPECT_NE(Curl({server_.url() + "/"}).find("HTTP/1.1 200"), std::string::npos);
}

TEST(AuthStartTest, AnExposedAddressNeedsKeysOrConsent) {
  TempDir dir;
  // `timeout`: were the refusal missing, the server would run instead of exiting.
  auto refused = RunCommand({"timeout", "30", StreamarcdPath(), "--host", "0.0.0.0", "--port", "0",
                             "--public-url", "http://127.0.0.1:9", "--data-dir", dir.File("data")});
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->exit_code, 0);
  EXPECT_NE(refused->exit_code, 124) << "still running after 30 s: " << refused->out;
  EXPECT_NE(refused->out.find("no access keys are configured"), std::string::npos) << refused->out;
  EXPECT_NE(refused->out.find("access-keys"), std::string::npos) << refused->out;
  EXPECT_NE(refused->out.find("--allow-unauthenticated"), std::string::npos) << refused->out;

  ServerProcess open;
  ASSERT_TRUE(open.Start(dir.File("data"), {"--host", "0.0.0.0", "--public-url",
                                            "http://127.0.0.1:9", "--allow-unauthenticated"})
                  .ok())
      << open.log();
  EXPECT_NE(open.log().find("--allow-unauthenticated: no access keys"), std::string::npos)
      << open.log();
  auto health = RunCommand({"curl", "-sS", open.url() + "/health"});
  ASSERT_TRUE(health.ok());
  json h = json::parse(health->out, nullptr, false);
  ASSERT_FALSE(h.is_discarded()) << health->out;
  EXPECT_EQ(h["authentication"], "none");
  ASSERT_EQ(h["warnings"].size(), 1u) << health->out;
  EXPECT_NE(h["warnings"][0].get<std::string>().find("anyone"), std::string::npos);
  EXPECT_EQ(open.Stop(), 0);

  WriteFileOrDie(dir.File("keys.json"), AccessKeysConfig(kKeys));
  ServerProcess keyed;
  ASSERT_TRUE(
      keyed
          .Start(dir.File("data"), {"--host", "0.0.0.0", "--public-url", "http://127.0.0.1:9",
                                    "--config", dir.File("keys.json")})
          .ok())
      << keyed.log();
  CommandOutput listed = RunAwsAs(kViewer, keyed.url(), {"kinesisvideo", "list-streams"});
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
}

}  // namespace
}  // namespace streamarc::e2e
