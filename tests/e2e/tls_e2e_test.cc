// The real streamarcd with --tls-cert/--tls-key, a CA and a server certificate made by the
// openssl CLI at test time, and real clients that are told to trust that CA: the AWS CLI
// (--ca-bundle), streamarc-put (--ca-cert, and AWS_CA_BUNDLE), curl, and ffprobe reading an
// HLS session over https (-tls_verify 1 -ca_file). Clients that are not told of the CA refuse
// the server, so each check is really over verified TLS.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace streamarc::testing {
namespace {

using json = nlohmann::json;

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = MakeTestCerts(dir_.path());
    ASSERT_FALSE(certs_.cert.empty());
    ASSERT_TRUE(
        server_.Start(dir_.File("data"), {"--tls-cert", certs_.cert, "--tls-key", certs_.key}).ok())
        << server_.log();
    url_ = "https://127.0.0.1:" + std::to_string(server_.port());
  }

  // The AWS CLI trusting the test CA; the JSON it printed (a gtest failure unless it succeeded).
  json Aws(std::vector<std::string> args) {
    args.insert(args.begin(), {"--ca-bundle", certs_.ca});
    CommandOutput r = RunAws(url_, args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }

  // streamarc-put with a short test pattern; `extra` before it (e.g. "--ca-cert" PATH) and
  // `env` in its environment.
  CommandOutput Put(const std::string& stream, const std::vector<std::string>& extra,
                    const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {"env", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                                     "AWS_SECRET_ACCESS_KEY=secret", "AWS_CA_BUNDLE="};
    // Under AddressSanitizer: glib is built without frame pointers, so the fast unwinder stops
    // at g_malloc and tests/lsan.supp could not name glib's start-up allocations (as
    // tests/producer/gst_test_util.cc explains); full unwinding lets it.
    if (const char* asan = std::getenv("ASAN_OPTIONS"); asan != nullptr) {
      argv.push_back(std::string("ASAN_OPTIONS=") + asan + ":fast_unwind_on_malloc=0");
    }
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {STREAMARC_PUT_PATH, "--endpoint", url_, "--stream", stream, "--quiet",
                             "--connect-timeout", "5"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--test-pattern", "--duration", "3", "--width", "320", "--height",
                             "240", "--fps", "15", "--fragment-ms", "1000"});
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CommandOutput{};
  }

  TempDir dir_;
  TestCerts certs_;
  ServerProcess server_;
  std::string url_;
};

TEST_F(TlsE2eTest, AwsCliStreamarcPutAndFfprobeOverHttps) {
  json created = Aws({"kinesisvideo", "create-stream", "--stream-name", "tls-cam",
                      "--data-retention-in-hours", "2"});
  EXPECT_TRUE(created.contains("StreamARN")) << created.dump();
  json described = Aws({"kinesisvideo", "describe-stream", "--stream-name", "tls-cam"});
  EXPECT_EQ(described["StreamInfo"].value("StreamName", ""), "tls-cam") << described.dump();
  json endpoint = Aws(
      {"kinesisvideo", "get-data-endpoint", "--stream-name", "tls-cam", "--api-name", "PUT_MEDIA"});
  EXPECT_EQ(endpoint.value("DataEndpoint", ""), url_) << endpoint.dump();

  // Without the CA the CLI refuses the server's certificate.
  CommandOutput untrusted = RunAws(url_, {"kinesisvideo", "list-streams"});
  EXPECT_NE(untrusted.exit_code, 0) << untrusted.out;
  EXPECT_NE(untrusted.out.find("CERTIFICATE_VERIFY_FAILED"), std::string::npos) << untrusted.out;

  // streamarc-put trusts the CA it is given (exit 0: every frame sent was persisted).
  CommandOutput put = Put("tls-cam", {"--ca-cert", certs_.ca});
  ASSERT_EQ(put.exit_code, 0) << put.out << server_.log();
  // ... or the one in AWS_CA_BUNDLE, as the AWS tools do.
  CommandOutput env_put = Put("tls-cam-2", {}, {"AWS_CA_BUNDLE=" + certs_.ca});
  EXPECT_EQ(env_put.exit_code, 0) << env_put.out;
  // And refuses a server it cannot verify (exit 3: the server could not be reached).
  CommandOutput refused = Put("tls-cam-3", {"--connect-timeout", "0"});
  EXPECT_EQ(refused.exit_code, 3) << refused.out;
  EXPECT_NE(refused.out.find("certificate"), std::string::npos) << refused.out;

  const int64_t now = std::time(nullptr);
  const std::string range = "TimestampRange={StartTimestamp=" + std::to_string(now - 600) +
                            ",EndTimestamp=" + std::to_string(now + 60) + "}";
  json fragments =
      Aws({"kinesis-video-archived-media", "list-fragments", "--stream-name", "tls-cam",
           "--fragment-selector", "FragmentSelectorType=SERVER_TIMESTAMP," + range});
  ASSERT_GE(fragments["Fragments"].size(), 2u) << fragments.dump();

  json hls = Aws({"kinesis-video-archived-media", "get-hls-streaming-session-url", "--stream-name",
                  "tls-cam", "--playback-mode", "ON_DEMAND", "--hls-fragment-selector",
                  "FragmentSelectorType=SERVER_TIMESTAMP," + range});
  const std::string session = hls.value("HLSStreamingSessionURL", "");
  ASSERT_EQ(session.rfind(url_ + "/", 0), 0u) << hls.dump();

  // ffprobe checks the certificate only when asked (-tls_verify 1): with the CA it reads the
  // playlist and the media over https; with another CA's, it is refused.
  auto probe = RunCommand({"ffprobe", "-v", "error", "-tls_verify", "1", "-ca_file", certs_.ca,
                           "-show_entries", "stream=codec_name", "-of", "csv=p=0", session});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->exit_code, 0) << probe->out;
  EXPECT_NE(probe->out.find("h264"), std::string::npos) << probe->out;
  TempDir other;
  const TestCerts stranger = MakeTestCerts(other.path());
  auto unverified =
      RunCommand({"ffprobe", "-v", "error", "-tls_verify", "1", "-ca_file", stranger.ca,
                  "-show_entries", "stream=codec_name", "-of", "csv=p=0", session});
  ASSERT_TRUE(unverified.ok());
  EXPECT_NE(unverified->exit_code, 0) << unverified->out;

  // Plain HTTP to the same port gets an answer that says what is wrong.
  const std::string plain =
      Curl({"http://127.0.0.1:" + std::to_string(server_.port()) + "/health"});
  EXPECT_NE(plain.find("Use an https:// URL"), std::string::npos) << plain;
}

TEST(TlsE2eStartTest, BadTlsSettingsStopTheServerWithAClearMessage) {
  TempDir dir;
  TestCerts certs = MakeTestCerts(dir.path());
  ASSERT_FALSE(certs.cert.empty());
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {StreamarcdPath(), "--port", "0", "--data-dir",
                                     dir.File("data")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CommandOutput{};
  };
  CommandOutput only_cert = run({"--tls-cert", certs.cert});
  EXPECT_EQ(only_cert.exit_code, 2) << only_cert.out;
  EXPECT_NE(only_cert.out.find("--tls-cert and --tls-key go together"), std::string::npos)
      << only_cert.out;
  const std::string missing = dir.File("nope.pem");
  CommandOutput no_file = run({"--tls-cert", missing, "--tls-key", certs.key});
  EXPECT_EQ(no_file.exit_code, 1) << no_file.out;
  EXPECT_NE(no_file.out.find(missing), std::string::npos) << no_file.out;
  CommandOutput wrong_key = run({"--tls-cert", certs.cert, "--tls-key", dir.File("ca.key")});
  EXPECT_EQ(wrong_key.exit_code, 1) << wrong_key.out;
  EXPECT_NE(wrong_key.out.find("does not belong"), std::string::npos) << wrong_key.out;
  CommandOutput http_url =
      run({"--tls-cert", certs.cert, "--tls-key", certs.key, "--public-url", "http://127.0.0.1:9"});
  EXPECT_EQ(http_url.exit_code, 1) << http_url.out;
  EXPECT_NE(http_url.out.find("use https://"), std::string::npos) << http_url.out;
}

}  // namespace
}  // namespace streamarc::testing
