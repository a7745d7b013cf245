// KVS's error shape for statuses: the packagers' refusals (one mapping for HLS/DASH and
// GetClip: playback::PackagingError, answered by KvsErrorResponse) and the archive's.
#include "server/kvs_error.h"

#include <gtest/gtest.h>

#include <string>

#include "playback/api_error.h"
#include "playback/remux.h"
#include "server/playback_error.h"

namespace streamarc::server {
namespace {

std::string ErrorType(const HttpResponse& r) {
  for (const auto& h : r.headers) {
    if (h.name == "x-amzn-errortype") return h.value;
  }
  return "";
}

TEST(PackagingErrorTest, MapsEveryRefusalOnce) {
  struct Case {
    Status status;
    int http;
    const char* type;
  };
  const Case cases[] = {
      {FailedPrecondition(std::string(playback::kMissingCodecPrivatePrefix) + " on track 1"), 400,
       "MissingCodecPrivateDataException"},
      {InvalidArgument(std::string(playback::kUnsupportedCodecPrefix) + " V_VP9"), 400,
       "UnsupportedStreamMediaTypeException"},
      {InvalidArgument("a frame libavformat cannot parse"), 400, "InvalidArgumentException"},
      {DataLoss("the fragment ends inside a block"), 500, "InternalFailure"},
      {FailedPrecondition("libavformat has no matroska demuxer"), 500, "InternalFailure"},
      {Internal("the fMP4 muxer's moof has no mfhd"), 500, "InternalFailure"},
      {NotFound("fragment expired"), 404, "ResourceNotFoundException"},
      {ResourceExhausted("no memory"), 400, "ClientLimitExceededException"},
      {Unavailable("busy"), 503, "ServiceUnavailableException"},
  };
  for (const Case& c : cases) {
    HttpResponse r = KvsErrorResponse(playback::PackagingError(c.status));
    EXPECT_EQ(r.status, c.http) << c.status.ToString();
    EXPECT_EQ(ErrorType(r), c.type) << c.status.ToString();
    EXPECT_NE(r.body.find("\"Message\""), std::string::npos);
  }
}

TEST(PackagingErrorTest, MalformedMediaTakesTheApisName) {
  HttpResponse r = KvsErrorResponse(playback::PackagingError(
      InvalidArgument("bad NAL"), playback::ErrorType::kInvalidMediaFrame));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorType(r), "InvalidMediaFrameException");
  EXPECT_NE(r.body.find("bad NAL"), std::string::npos);
  // The codec refusals keep their own names whatever the API calls malformed media.
  HttpResponse u = KvsErrorResponse(playback::PackagingError(
      InvalidArgument(std::string(playback::kUnsupportedCodecPrefix) + " A_OPUS"),
      playback::ErrorType::kInvalidMediaFrame));
  EXPECT_EQ(ErrorType(u), "UnsupportedStreamMediaTypeException");
}

}  // namespace
}  // namespace streamarc::server
