// The real streamarcd on HTTPS with an access key, spoken to over HTTP/2 (ALPN h2) by curl
// (libcurl's CURL_HTTP_VERSION_2TLS) and by streamarc-put (the producer SDK, whose libcurl
// picks HTTP/2 by itself over TLS): SigV4-signed control-plane calls, PutMedia of a real MKV
// made by ffmpeg acked PERSISTED, GetMedia streamed while a producer streams, and an HLS
// session whose playlists and segments come over HTTP/2 and ffprobe reads; HTTP/1.1 clients
// on the same port at the same time.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace streamarc::testing {
namespace {

using json = nlohmann::json;

constexpr char kKeyId[] = "AKIDADMIN";
constexpr char kSecret[] = "admin-secret-0123456789";

struct Reply {
  std::string version;  // curl's %{http_version}: "2" or "1.1"
  int status = 0;
  std::string body;
};

class Http2E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = MakeTestCerts(dir_.path());
    ASSERT_FALSE(certs_.cert.empty());
    const json config = {
        {"access-keys", {{{"access-key-id", kKeyId}, {"secret-access-key", kSecret}}}},
        {"tls-cert", certs_.cert},
        {"tls-key", certs_.key}};
    WriteFileOrDie(dir_.File("streamarc.json"), config.dump());
    ASSERT_TRUE(server_.Start(dir_.File("data"), {"--config", dir_.File("streamarc.json")}).ok())
        << server_.log();
    url_ = "https://127.0.0.1:" + std::to_string(server_.port());
  }

  // curl trusting the test CA, over `http` ("--http2" or "--http1.1"), signing with the key
  // unless `sign` is false.
  Reply Call(const std::vector<std::string>& args, bool sign = true,
             const std::string& http = "--http2") {
    std::vector<std::string> argv = {"--cacert", certs_.ca, http, "-w",
                                     "\n%{http_version} %{http_code}"};
    if (sign) {
      argv.insert(argv.end(), {"--aws-sigv4", "aws:amz:us-east-1:kinesisvideo", "--user",
                               std::string(kKeyId) + ":" + kSecret});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = Curl(argv);
    Reply r;
    const size_t nl = out.rfind('\n');
    if (nl == std::string::npos) return r;
    r.body = out.substr(0, nl);
    const std::string last = out.substr(nl + 1);
    const size_t sp = last.find(' ');
    r.version = last.substr(0, sp);
    if (sp != std::string::npos) r.status = std::atoi(last.c_str() + sp + 1);
    return r;
  }
  Reply Post(const std::string& op, const json& body, const std::string& http = "--http2") {
    return Call(
        {"-X", "POST", "-H", "content-type: application/json", "-d", body.dump(), url_ + "/" + op},
        true, http);
  }

  // PutMedia of the test MKV over HTTP/2; the ACK stream. Signed as KVS producers sign it
  // (x-amz-content-sha256 names what the signature covers: not the endless body) unless
  // `payload_hash` is false (then curl signs the body's hash, which the server refuses).
  Reply PutFile(const std::string& stream, bool payload_hash = true) {
    auto mkv = MakeMedia(kH264AacMkv);
    EXPECT_TRUE(mkv.ok());
    return Call({"-X", "POST", "-H",
                 payload_hash ? "x-amz-content-sha256: UNSIGNED-PAYLOAD" : "x-test: none", "-H",
                 "x-amzn-stream-name: " + stream, "-H", "x-amzn-fragment-timecode-type: RELATIVE",
                 "-H", "x-amzn-producer-start-timestamp: 1700000000.000", "--max-time", "60",
                 "--data-binary", "@" + (mkv.ok() ? *mkv : std::string("/nonexistent")),
                 url_ + "/putMedia"});
  }

  TempDir dir_;
  TestCerts certs_;
  ServerProcess server_;
  std::string url_;
};

TEST_F(Http2E2eTest, SignedControlPlaneOverHttp2AndHttp11OnTheSamePort) {
  Reply created = Post("createStream", {{"StreamName", "cam-1"}, {"DataRetentionInHours", 2}});
  EXPECT_EQ(created.version, "2");
  EXPECT_EQ(created.status, 200) << created.body;
  EXPECT_NE(created.body.find("StreamARN"), std::string::npos) << created.body;
  // Unsigned over HTTP/2: refused in KVS's shape, as on HTTP/1.1.
  Reply unsigned_call =
      Call({"-i", "-X", "POST", "-d", R"({"StreamName":"cam-1"})", url_ + "/describeStream"},
           /*sign=*/false);
  EXPECT_EQ(unsigned_call.status, 403) << unsigned_call.body;
  EXPECT_NE(unsigned_call.body.find("x-amzn-errortype: MissingAuthenticationTokenException"),
            std::string::npos)
      << unsigned_call.body;
  // The same call signed, over HTTP/1.1 on the same port.
  Reply described = Post("describeStream", {{"StreamName", "cam-1"}}, "--http1.1");
  EXPECT_EQ(described.version, "1.1");
  EXPECT_EQ(described.status, 200) << described.body;
  EXPECT_NE(described.body.find("\"cam-1\""), std::string::npos) << described.body;
}

TEST_F(Http2E2eTest, PutMediaOverHttp2IsAckedPersistedAndHlsServesItOverHttp2) {
  ASSERT_EQ(Post("createStream", {{"StreamName", "cam-1"}, {"DataRetentionInHours", 2}}).status,
            200);
  Reply put = PutFile("cam-1");
  EXPECT_EQ(put.version, "2");
  EXPECT_EQ(put.status, 200) << put.body;
  std::vector<json> acks = ParseAckEvents(put.body);
  size_t persisted = 0;
  for (const json& a : acks) persisted += a.value("EventType", "") == "PERSISTED";
  EXPECT_GE(persisted, 2u) << put.body;
  // Refused before its body is read (a signature over the body's hash): curl still reads the
  // answer, as the rest of the body is taken and dropped.
  Reply refused = PutFile("cam-1", /*payload_hash=*/false);
  EXPECT_EQ(refused.version, "2");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("signature"), std::string::npos) << refused.body;

  const int64_t now = std::time(nullptr);

  Reply session =
      Post("getHLSStreamingSessionURL",
           {{"StreamName", "cam-1"},
            {"PlaybackMode", "ON_DEMAND"},
            {"ContainerFormat", "MPEG_TS"},
            {"HLSFragmentSelector",
             {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", now - 600}, {"EndTimestamp", now + 60}}}}}});
  ASSERT_EQ(session.status, 200) << session.body;
  const std::string master_url =
      json::parse(session.body, nullptr, false).value("HLSStreamingSessionURL", "");
  ASSERT_EQ(master_url.rfind(url_ + "/hls/", 0), 0u) << session.body;
  // The session URL carries its token: no signature from here on, as for a player.
  Reply master = Call({master_url}, false);
  EXPECT_EQ(master.version, "2");
  std::vector<std::string> media_urls = PlaylistUris(master_url, master.body);
  ASSERT_EQ(media_urls.size(), 1u) << master.body;
  Reply media = Call({media_urls[0]}, false);
  EXPECT_EQ(media.version, "2");
  std::vector<std::string> segments = PlaylistUris(media_urls[0], media.body);
  ASSERT_GE(segments.size(), 1u) << media.body;
  // Every segment over HTTP/2; concatenated, ffprobe reads the video.
  const std::string ts = dir_.File("all.ts");
  std::string joined;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string part = dir_.File("seg" + std::to_string(i) + ".ts");
    Reply seg = Call({"-o", part, segments[i]}, false);
    EXPECT_EQ(seg.version, "2");
    EXPECT_EQ(seg.status, 200);
    joined += ReadFileOrDie(part);
  }
  WriteFileOrDie(ts, joined);
  auto probe = RunCommand(
      {"ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", ts});
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->exit_code, 0) << probe->out;
  EXPECT_NE(probe->out.find("h264"), std::string::npos) << probe->out;
}

TEST_F(Http2E2eTest, GetMediaStreamsOverHttp2WhileAProducerStreams) {
  ASSERT_EQ(Post("createStream", {{"StreamName", "live"}, {"DataRetentionInHours", 2}}).status,
            200);
  // streamarc-put streams (PutMedia on HTTP/1.1, as the SDK asks) while GetMedia reads over h2.
  std::vector<std::string> argv = {"env", std::string("AWS_ACCESS_KEY_ID=") + kKeyId,
                                   std::string("AWS_SECRET_ACCESS_KEY=") + kSecret,
                                   "AWS_CA_BUNDLE="};
  // Under AddressSanitizer, full unwinding lets tests/lsan.supp name glib's start-up
  // allocations in GStreamer (as tests/producer/gst_test_util.cc explains).
  if (const char* asan = std::getenv("ASAN_OPTIONS"); asan != nullptr) {
    argv.push_back(std::string("ASAN_OPTIONS=") + asan + ":fast_unwind_on_malloc=0");
  }
  argv.insert(argv.end(), {STREAMARC_PUT_PATH, "--endpoint", url_, "--stream", "live", "--quiet",
                           "--ca-cert", certs_.ca, "--test-pattern", "--duration", "8", "--width",
                           "320", "--height", "240", "--fps", "15", "--fragment-ms", "1000"});
  ChildProcess producer(argv);
  ASSERT_TRUE(producer.started());
  const std::string out = dir_.File("live.mkv");
  // NOW: what the producer sends from here on, until curl stops reading after 5 s.
  Reply got = Call({"-X", "POST", "-H", "content-type: application/json", "-d",
                    R"({"StreamName":"live","StartSelector":{"StartSelectorType":"NOW"}})",
                    "--max-time", "5", "-o", out, url_ + "/getMedia"});
  EXPECT_EQ(got.version, "2");
  EXPECT_EQ(got.status, 200);
  auto packets = ProbePackets(out, /*quiet=*/true);
  ASSERT_TRUE(packets.ok());
  EXPECT_GE(packets->size(), 15u);  // at least a second of live video arrived over HTTP/2
  EXPECT_EQ(producer.Wait(60'000), 0) << producer.Output();
}

}  // namespace
}  // namespace streamarc::testing
