// SIGTERM while the server is busy: HLS segment remuxes queued on the worker pool, GetMedia
// readers with a backlog nobody reads, a PutMedia in the middle of its body. The daemon must
// stop cleanly: the pool runs its queued jobs before the services they use are destroyed.
// Run in the sanitizer build, a job touching a destroyed service aborts the server and the
// exit status shows it.
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/kvs_curl.h"
#include "tests/support/media.h"
#include "tests/support/raw_http.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace streamarc::e2e {
namespace {

using nlohmann::json;
using streamarc::testing::CurlGet;
using streamarc::testing::CurlPost;
using streamarc::testing::CurlPutMedia;
using streamarc::testing::MakeMedia;
using streamarc::testing::PlaylistUris;
using streamarc::testing::RawHttp;
using streamarc::testing::ReadFileOrDie;
using streamarc::testing::ServerProcess;
using streamarc::testing::TempDir;

std::string Post(const ServerProcess& server, const std::string& op, const json& body) {
  return CurlPost(server.url() + "/" + op, body.dump(), {"-m", "20"}).body;
}

std::string Get(const std::string& url) { return CurlGet(url, {"-m", "20"}); }

// "GET <path?query> HTTP/1.1" for a URL on the server.
std::string GetRequest(const ServerProcess& server, const std::string& url) {
  return "GET " + url.substr(server.url().size()) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

TEST(ShutdownTest, StopsCleanlyWithHlsGetMediaAndPutMediaWorkQueued) {
  auto media = MakeMedia(streamarc::testing::kH264AacMkv);
  ASSERT_TRUE(media.ok()) << media.status().ToString();
  TempDir dir;
  ServerProcess server;
  // One worker: the segment jobs queue up behind each other.
  ASSERT_TRUE(server.Start(dir.path() + "/data", {"--worker-threads", "1"}).ok());
  Post(server, "createStream", {{"StreamName", "cam1"}, {"DataRetentionInHours", 1}});
  const std::string pushed = CurlPutMedia(server.url(), {"cam1", *media, "", true, {}});
  ASSERT_NE(pushed.find("PERSISTED"), std::string::npos) << pushed;

  // An HLS session over the last hour (server time), and its media segments.
  const int64_t now = std::time(nullptr);
  json session = json::parse(
      Post(server, "getHLSStreamingSessionURL",
           {{"StreamName", "cam1"},
            {"PlaybackMode", "ON_DEMAND"},
            {"HLSFragmentSelector",
             {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
              {"TimestampRange", {{"StartTimestamp", now - 3600}, {"EndTimestamp", now + 600}}}}}}),
      nullptr, false);
  ASSERT_FALSE(session.is_discarded());
  const std::string master = session.value("HLSStreamingSessionURL", "");
  ASSERT_FALSE(master.empty()) << session.dump();
  std::vector<std::string> playlists = PlaylistUris(master, Get(master));
  ASSERT_FALSE(playlists.empty());
  std::vector<std::string> segments;
  for (const std::string& uri : PlaylistUris(playlists[0], Get(playlists[0]))) {
    if (uri.find("getMP4MediaFragment") != std::string::npos) segments.push_back(uri);
  }
  ASSERT_GE(segments.size(), 3u);

  std::vector<std::unique_ptr<RawHttp>> clients;
  auto open = [&](const std::string& request) {
    auto c = std::make_unique<RawHttp>(server.port());
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->Send(request));
    clients.push_back(std::move(c));
  };
  // Segment requests, each a remux job on the one worker; nobody reads the answers.
  for (int i = 0; i < 40; ++i) open(GetRequest(server, segments[i % segments.size()]));
  // GetMedia readers from the start of the stream: a backlog to read from the archive.
  const std::string get_media =
      json{{"StreamName", "cam1"}, {"StartSelector", {{"StartSelectorType", "EARLIEST"}}}}.dump();
  for (int i = 0; i < 3; ++i) {
    open(
        "POST /getMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(get_media.size()) + "\r\n\r\n" + get_media);
  }
  // A producer half-way through its body.
  const std::string file = ReadFileOrDie(*media);
  auto producer = std::make_unique<RawHttp>(server.port());
  ASSERT_TRUE(producer->Send(
      "POST /putMedia HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amzn-stream-name: cam1\r\n"
      "x-amzn-fragment-timecode-type: ABSOLUTE\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(producer->SendChunk(file.substr(0, file.size() / 2)));

  EXPECT_EQ(server.Stop(), 0) << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("shutting down"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
  EXPECT_EQ(log.find("AddressSanitizer"), std::string::npos) << log;
  EXPECT_EQ(log.find("runtime error"), std::string::npos) << log;
}

}  // namespace
}  // namespace streamarc::e2e
