// Read-only mode's refusals (server/read_only.h): every write API, and nothing else, is
// answered before its handler, with the exception each kind of client handles best.
#include "server/read_only.h"

#include <gtest/gtest.h>

#include <string>

namespace streamarc::server {
namespace {

constexpr char kReason[] = "the file system of /srv/video is mounted read-only";

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = {{"host", "127.0.0.1:8080"}};
  return r;
}

void ExpectRefused(const std::string& path, KvsErrorType type) {
  std::optional<KvsError> e = ReadOnlyRefusal(Request("POST", path), kReason);
  ASSERT_TRUE(e.has_value()) << path << " was let through";
  EXPECT_EQ(e->type, type) << path << ": " << KvsErrorName(e->type);
  const std::string& m = e->status.message();
  EXPECT_NE(m.find(std::string("read-only (") + kReason + ")"), std::string::npos) << m;
  EXPECT_NE(m.find(path.substr(1) + " is refused"), std::string::npos) << m;
  EXPECT_NE(m.find("restart it on a writable data directory"), std::string::npos) << m;
}

TEST(ReadOnlyRefusal, DataWritesAreServiceUnavailableSoProducersKeepAndResend) {
  for (const char* path : {"/putMedia", "/putEvents"}) {
    ExpectRefused(path, KvsErrorType::kServiceUnavailable);
  }
}

TEST(ReadOnlyRefusal, ChangesToStreamsAreResourceInUse) {
  for (const char* path :
       {"/createStream", "/deleteStream", "/updateStream", "/updateDataRetention", "/tagStream",
        "/untagStream", "/TagResource", "/UntagResource", "/updateImageGenerationConfiguration",
        "/updateNotificationConfiguration", "/updateStreamStorageConfiguration",
        "/updateMediaStorageConfiguration"}) {
    ExpectRefused(path, KvsErrorType::kResourceInUse);
  }
}

TEST(ReadOnlyRefusal, ReadsAndOpenRoutesPass) {
  for (const char* path :
       {"/describeStream", "/listStreams", "/getDataEndpoint", "/listTagsForStream",
        "/ListTagsForResource", "/getMedia", "/getMediaForFragmentList", "/listFragments",
        "/getHLSStreamingSessionURL", "/getDASHStreamingSessionURL", "/getClip", "/getImages",
        "/listEvents", "/listRecordingSpans", "/noSuchOperation"}) {
    EXPECT_FALSE(ReadOnlyRefusal(Request("POST", path), kReason)) << path;
  }
  // GET /metrics needs the admin right, yet reads.
  for (const char* path : {"/metrics", "/health", "/ready", "/", "/web/app.js", "/thumbnail",
                           "/hls/v1/getHLSMasterPlaylist.m3u8"}) {
    EXPECT_FALSE(ReadOnlyRefusal(Request("GET", path), kReason)) << path;
  }
  EXPECT_FALSE(ReadOnlyRefusal(Request("OPTIONS", "/putMedia"), kReason));
}

}  // namespace
}  // namespace streamarc::server
