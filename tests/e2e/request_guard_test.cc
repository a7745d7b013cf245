// The request guard against the real streamarcd: what a web page the operator opens can send
// (a cross-origin text/plain POST, a DNS-rebound Host, a cross-site fetch) is refused, while
// curl, the AWS CLI, configured origins and players of session-token URLs keep working.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "server/config.h"
#include "server/daemon.h"
#include "tests/support/aws_cli.h"
#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CommandOutput;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::RawHttp;
using streamarc::testing::RunAws;
using streamarc::testing::RunCommand;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

constexpr const char* kEvil = "Origin: http://evil.example";
constexpr const char* kConsole = "http://console.example:3000";
constexpr const char* kEbmlMagic = "\x1a\x45\xdf\xa3";

class RequestGuardTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& args = {}) {
    ASSERT_TRUE(server_.Start(dir_.File("data"), args).ok()) << server_.log();
  }
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_EQ(server_.Stop(), 0) << server_.log();
    }
  }

  // `curl -i` with extra arguments before the URL: status line, headers and body.
  std::string Curl(const std::string& path, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    cmd.push_back(server_.url() + path);
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  }

  // POSTs a JSON body as a browser's simple request would (text/plain: no preflight).
  std::string Post(const std::string& path, const json& body, std::vector<std::string> args = {}) {
    args.insert(args.end(),
                {"-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", body.dump()});
    return Curl(path, args);
  }

  void CreateStream(const std::string& name) {
    std::string r = Post("/createStream", {{"StreamName", name}, {"DataRetentionInHours", 24}});
    ASSERT_NE(r.find("StreamARN"), std::string::npos) << r;
  }

  void Push(const std::string& stream) {
    auto input = MakeMedia(streamarc::testing::kH264AacMkv);
    ASSERT_TRUE(input.ok());
    const std::string out = CurlPutMedia(server_.url(), {stream, *input, "1000.000", true, {}});
    ASSERT_NE(out.find("PERSISTED"), std::string::npos) << out;
  }

  TempDir dir_;
  ServerProcess server_;
};

void ExpectRefused(const std::string& response) {
  EXPECT_NE(response.find("HTTP/1.1 403"), std::string::npos) << response;
  EXPECT_NE(response.find("x-amzn-errortype: AccessDeniedException"), std::string::npos)
      << response;
  EXPECT_NE(response.find("\"Message\""), std::string::npos) << response;
}

TEST_F(RequestGuardTest, CrossOriginTextPlainDeleteIsRefusedAndTheStreamStays) {
  Start();
  CreateStream("cam1");
  ExpectRefused(Post("/deleteStream", {{"StreamName", "cam1"}}, {"-H", kEvil}));
  // The same from a browser that sends Sec-Fetch-Site but (as an old one would) no Origin.
  ExpectRefused(
      Post("/deleteStream", {{"StreamName", "cam1"}}, {"-H", "Sec-Fetch-Site: cross-site"}));
  std::string described = Post("/describeStream", {{"StreamName", "cam1"}});
  EXPECT_NE(described.find("HTTP/1.1 200"), std::string::npos) << described;
  EXPECT_NE(described.find("\"ACTIVE\""), std::string::npos) << described;
}

TEST_F(RequestGuardTest, GetMediaWithForeignOriginIsRefused) {
  Start();
  CreateStream("cam1");
  Push("cam1");
  const std::string body =
      json{{"StreamName", "cam1"}, {"StartSelector", {{"StartSelectorType", "EARLIEST"}}}}.dump();
  auto request = [&](const std::string& extra) {
    return "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server_.port()) +
           "\r\nContent-Type: text/plain\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  RawHttp evil(server_.port());
  ASSERT_TRUE(evil.Send(request(std::string(kEvil) + "\r\n")));
  std::string refused = evil.ReadUntil("}");
  ExpectRefused(refused);
  EXPECT_EQ(refused.find(kEbmlMagic), std::string::npos);
  // Without an Origin (any non-browser client) the video flows.
  RawHttp plain(server_.port());
  ASSERT_TRUE(plain.Send(request("")));
  std::string video = plain.ReadUntil(kEbmlMagic);
  EXPECT_NE(video.find("HTTP/1.1 200"), std::string::npos) << video.substr(0, 300);
  EXPECT_NE(video.find(kEbmlMagic), std::string::npos);
}

TEST_F(RequestGuardTest, ForeignHostIsRefusedUnlessAllowed) {
  Start({"--allowed-host", "nas.lan"});
  const std::string port = std::to_string(server_.port());
  // DNS rebinding: the attacker's name now resolves to 127.0.0.1; the page is same-origin.
  ExpectRefused(
      Post("/listStreams", json::object(),
           {"-H", "Host: evil.example:" + port, "-H", "Origin: http://evil.example:" + port}));
  ExpectRefused(Post("/listStreams", json::object(), {"-H", "Host: evil.example"}));
  ExpectRefused(Curl("/health", {"-H", "Host: evil.example:" + port}));
  for (const std::string& host : std::vector<std::string>{
           "localhost:" + port, "127.0.0.1", "[::1]:" + port, "nas.lan:" + port, "NAS.lan"}) {
    std::string ok = Post("/listStreams", json::object(), {"-H", "Host: " + host});
    EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos) << host << "\n" << ok;
  }
}

TEST_F(RequestGuardTest, AllowedOriginGetsCorsHeadersAndPreflight) {
  Start({"--cors-origin", kConsole});
  const std::string origin = std::string("Origin: ") + kConsole;
  std::string preflight = Curl(
      "/createStream", {"-X", "OPTIONS", "-H", origin, "-H", "Access-Control-Request-Method: POST",
                        "-H", "Access-Control-Request-Headers: content-type"});
  EXPECT_NE(preflight.find("HTTP/1.1 204"), std::string::npos) << preflight;
  EXPECT_NE(preflight.find(std::string("access-control-allow-origin: ") + kConsole),
            std::string::npos)
      << preflight;
  EXPECT_NE(preflight.find("access-control-allow-methods: GET, POST, OPTIONS"), std::string::npos)
      << preflight;
  ExpectRefused(Curl("/createStream",
                     {"-X", "OPTIONS", "-H", kEvil, "-H", "Access-Control-Request-Method: POST"}));

  std::string created = Post("/createStream", {{"StreamName", "cam1"}}, {"-H", origin});
  EXPECT_NE(created.find("HTTP/1.1 200"), std::string::npos) << created;
  EXPECT_NE(created.find(std::string("access-control-allow-origin: ") + kConsole),
            std::string::npos)
      << created;
  EXPECT_NE(created.find("access-control-expose-headers:"), std::string::npos) << created;
  // A streaming route answers with the same headers, errors included.
  std::string missing =
      Post("/getMedia", {{"StreamName", "nope"}, {"StartSelector", {{"StartSelectorType", "NOW"}}}},
           {"-H", origin});
  EXPECT_NE(missing.find("HTTP/1.1 404"), std::string::npos) << missing;
  EXPECT_NE(missing.find(std::string("access-control-allow-origin: ") + kConsole),
            std::string::npos)
      << missing;
  // Other origins stay refused.
  ExpectRefused(Post("/listStreams", json::object(), {"-H", kEvil}));
}

TEST_F(RequestGuardTest, AwsCliStillWorks) {
  Start();
  CommandOutput r = RunAws(server_.url(), {"kinesisvideo", "create-stream", "--stream-name", "cam1",
                                           "--data-retention-in-hours", "24"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = RunAws(server_.url(), {"kinesisvideo", "get-data-endpoint", "--stream-name", "cam1",
                             "--api-name", "GET_MEDIA"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(server_.url()), std::string::npos) << r.out;
  r = RunAws(server_.url(), {"kinesisvideo", "delete-stream", "--stream-arn",
                             "arn:aws:kinesisvideo:us-east-1:000000000000:stream/none/1"});
  EXPECT_NE(r.out.find("ResourceNotFoundException"), std::string::npos) << r.out;
}

TEST_F(RequestGuardTest, CrossOriginSessionTokenGetsStayOpen) {
  Start();
  CreateStream("cam1");
  Push("cam1");
  std::string session =
      Post("/getHLSStreamingSessionURL",
           {{"StreamName", "cam1"},
            {"PlaybackMode", "ON_DEMAND"},
            {"HLSFragmentSelector",
             {{"FragmentSelectorType", "PRODUCER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", 900}, {"EndTimestamp", 1100}}}}}},
           {"-H", "Content-Type: application/json"});
  size_t body = session.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << session;
  json j = json::parse(session.substr(body + 4), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << session;
  std::string url = j.value("HLSStreamingSessionURL", "");
  ASSERT_FALSE(url.empty()) << session;
  // A player on another page: the browser adds Origin and Sec-Fetch-Site.
  std::vector<std::string> page = {"-H", "Origin: http://player.example", "-H",
                                   "Sec-Fetch-Site: cross-site"};
  std::vector<std::string> cmd = {"curl", "-sS", "-i"};
  cmd.insert(cmd.end(), page.begin(), page.end());
  cmd.push_back(url);
  auto master = RunCommand(cmd);
  ASSERT_TRUE(master.ok());
  EXPECT_NE(master->out.find("HTTP/1.1 200"), std::string::npos) << master->out;
  EXPECT_NE(master->out.find("access-control-allow-origin: *"), std::string::npos) << master->out;
  EXPECT_NE(master->out.find("#EXTM3U"), std::string::npos) << master->out;
  // But the page cannot create the session itself.
  ExpectRefused(Post("/getHLSStreamingSessionURL", {{"StreamName", "cam1"}}, page));
}

// In process (the Daemon streamarcd's main builds): the test harness's ServerProcess listens
// on 127.0.0.1 only.
TEST_F(RequestGuardTest, WildcardHostNeedsAPublicUrl) {
  SystemClock clock;
  Logger log(clock, LogLevel::kWarn, [](std::string_view) {});
  server::Config config;
  config.host = "0.0.0.0";
  config.port = 0;
  config.data_dir = dir_.File("data");
  auto refused = server::Daemon::Create(config, clock, log);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--public-url"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(server::UsageText().find("--public-url"), std::string::npos);

  config.public_url = "http://192.0.2.10:8080";
  config.allow_unauthenticated = true;  // no access keys: the guard alone is under test
  auto daemon = server::Daemon::Create(config, clock, log);
  ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
  std::thread runner([&] { (*daemon)->Run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string((*daemon)->port());
  auto post = [&](const std::string& op, const json& body, std::vector<std::string> args) {
    std::vector<std::string> cmd = {"curl", "-sS",           "-i",       "-X",
                                    "POST", "--data-binary", body.dump()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    cmd.push_back(url + "/" + op);
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : "";
  };
  std::string created = post("createStream", {{"StreamName", "cam1"}}, {});
  EXPECT_NE(created.find("HTTP/1.1 200"), std::string::npos) << created;
  std::string endpoint =
      post("getDataEndpoint", {{"StreamName", "cam1"}, {"APIName", "PUT_MEDIA"}}, {});
  EXPECT_NE(endpoint.find("\"DataEndpoint\":\"http://192.0.2.10:8080\""), std::string::npos)
      << endpoint;
  // Clients that use the public name are accepted; 0.0.0.0 is no name of ours.
  std::string ok = post("listStreams", json::object(), {"-H", "Host: 192.0.2.10:8080"});
  EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos) << ok;
  ExpectRefused(post("listStreams", json::object(), {"-H", "Host: 0.0.0.0:8080"}));
  (*daemon)->Stop();
  runner.join();
}

}  // namespace
}  // namespace streamarc::e2e
