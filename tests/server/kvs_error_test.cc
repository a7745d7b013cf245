// KVS's error shape for statuses: the packagers' refusals (one mapping for HLS/DASH and
// GetClip: playback::PackagingError, answered by KvsErrorResponse) and the archive's.
#include "server/kvs_error.h"

#include <gtest/gtest.h>

#include <string>

#include "playback/api_error.h"
#include "playback/remux.h"
#include "server/http_server.h"

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
  HttpResponse r = KvsErrorResponse(
      playback::PackagingError(InvalidArgument("bad NAL"), KvsErrorType::kInvalidMediaFrame));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorType(r), "InvalidMediaFrameException");
  EXPECT_NE(r.body.find("bad NAL"), std::string::npos);
  // The codec refusals keep their own names whatever the API calls malformed media.
  HttpResponse u = KvsErrorResponse(playback::PackagingError(
      InvalidArgument(std::string(playback::kUnsupportedCodecPrefix) + " A_OPUS"),
      KvsErrorType::kInvalidMediaFrame));
  EXPECT_EQ(ErrorType(u), "UnsupportedStreamMediaTypeException");
}

// Every exception has one HTTP status, chosen in KvsHttpStatus, and KVS's shape.
TEST(KvsErrorResponseTest, EveryTypeHasAStatusAndKvsShape) {
  for (int i = 0; i < kKvsErrorTypeCount; ++i) {
    const auto type = static_cast<KvsErrorType>(i);
    HttpResponse r = KvsErrorResponse({type, InvalidArgument("why \"this\"")});
    const int s = r.status;
    EXPECT_TRUE(s == 400 || s == 403 || s == 404 || s == 500 || s == 503)
        << KvsErrorName(type) << " " << s;
    EXPECT_EQ(s, KvsHttpStatus(type));
    EXPECT_EQ(ErrorType(r), KvsErrorName(type));
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, "{\"Message\":\"why \\\"this\\\"\"}") << KvsErrorName(type);
  }
  struct Case {
    KvsErrorType type;
    int http;
  };
  // kvs-api.md: 404 for what is not there, 503 for retry, 500 for ours, 400 for the rest;
  // NotAuthorized and AccessDenied 403 as KVS's front door answers (see KvsHttpStatus).
  const Case cases[] = {
      {KvsErrorType::kResourceNotFound, 404},
      {KvsErrorType::kUnknownOperation, 404},
      {KvsErrorType::kServiceUnavailable, 503},
      {KvsErrorType::kInternalFailure, 500},
      {KvsErrorType::kNotAuthorized, 403},
      {KvsErrorType::kAccessDenied, 403},
      {KvsErrorType::kInvalidArgument, 400},
      {KvsErrorType::kMissingParameter, 400},
      {KvsErrorType::kConnectionLimitExceeded, 400},
      {KvsErrorType::kClientLimitExceeded, 400},
      {KvsErrorType::kTagsPerResourceExceededLimit, 400},
      {KvsErrorType::kVersionMismatch, 400},
      {KvsErrorType::kResourceInUse, 400},
      {KvsErrorType::kNoDataRetention, 400},
  };
  for (const Case& c : cases) EXPECT_EQ(KvsHttpStatus(c.type), c.http) << KvsErrorName(c.type);
}

// The Status defaults, as the control plane, GetMedia and PutMedia answer an archive error.
TEST(KvsErrorResponseTest, StatusDefaultsInKvsShape) {
  HttpResponse missing = KvsErrorResponse(KvsErrorFromStatus(NotFound("no stream cam")));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorType(missing), "ResourceNotFoundException");
  EXPECT_EQ(missing.body, "{\"Message\":\"no stream cam\"}");
  HttpResponse ours = KvsErrorResponse(KvsErrorFromStatus(IoError("fsync: EIO")));
  EXPECT_EQ(ours.status, 500);
  EXPECT_EQ(ErrorType(ours), "InternalFailure");
  EXPECT_EQ(ours.body, "{\"Message\":\"IoError: fsync: EIO\"}");
  HttpResponse tags = KvsErrorResponse(KvsErrorFromStatus(
      ResourceExhausted("51 tags"), KvsErrorType::kTagsPerResourceExceededLimit));
  EXPECT_EQ(tags.status, 400);
  EXPECT_EQ(ErrorType(tags), "TagsPerResourceExceededLimitException");
}

// Busy is the same response everywhere, byte for byte what it was before it was derived.
TEST(KvsErrorResponseTest, BusyIs503ServiceUnavailable) {
  const HttpResponse busy = HttpServerOptions().busy_response;
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.content_type, "application/json");
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(ErrorType(busy), "ServiceUnavailableException");
  EXPECT_EQ(busy.body, "{\"Message\":\"the server is busy; try again\"}");
}

// What the HTTP layer refuses itself keeps its RFC status and names a KVS-style exception.
TEST(KvsErrorResponseTest, HttpLayerRefusalsKeepTheirStatus) {
  for (int status : {400, 411, 413, 414, 417, 431, 501, 505}) {
    HttpResponse r = HttpLayerErrorResponse(status, "why \"quoted\"");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(ErrorType(r), "InvalidArgumentException") << status;
    EXPECT_EQ(r.body, "{\"Message\":\"why \\\"quoted\\\"\"}");
  }
  EXPECT_EQ(ErrorType(HttpLayerErrorResponse(408, "slow")), "RequestTimeoutException");
  EXPECT_EQ(ErrorType(HttpLayerErrorResponse(503, "full")), "ServiceUnavailableException");
  EXPECT_EQ(ErrorType(HttpLayerErrorResponse(500, "bug")), "InternalFailure");
}

}  // namespace
}  // namespace streamarc::server
