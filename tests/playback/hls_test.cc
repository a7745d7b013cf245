// HLS/DASH sessions: the request rules of GetHLS/DASHStreamingSessionURL, session tokens
// (round trip, tampering, expiry against a ManualClock) and the query strings of the
// playlist and segment URLs.
#include "playback/hls.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/base64.h"
#include "common/clock.h"
#include "common/digest.h"

namespace streamarc::playback {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000;  // 2023-11-14, in microseconds
const std::string kSecret(32, 'k');

Result<SessionRequest> Hls(const std::string& body) {
  return ParseSessionRequest(SessionKind::kHls, body, kNow);
}

std::string Message(const Result<SessionRequest>& r) { return r.status().message(); }

TEST(HlsRequest, DefaultsAreKvss) {
  auto r = Hls(R"({"StreamName":"cam1"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SessionParams& p = r->params;
  EXPECT_EQ(p.stream_name, "cam1");
  EXPECT_EQ(p.mode, PlaybackMode::kLive);
  EXPECT_EQ(p.selector, SelectorType::kServerTimestamp);
  EXPECT_EQ(p.container, ContainerFormat::kFragmentedMp4);
  EXPECT_EQ(p.discontinuity, DiscontinuityMode::kAlways);  // SERVER_TIMESTAMP's default
  EXPECT_FALSE(p.display_timestamp);
  EXPECT_EQ(p.max_results, 5);
  EXPECT_EQ(r->expires_seconds, 300);
  EXPECT_EQ(p.created_us, kNow);
  EXPECT_EQ(p.expires_at_us, kNow + 300'000'000);
}

TEST(HlsRequest, OnDemandWithProducerTimestampsDefaultsToNeverAnd1000) {
  auto r = Hls(R"({"StreamARN":"arn:aws:kinesisvideo:us-east-1:0:stream/cam1/1",
                   "PlaybackMode":"ON_DEMAND","ContainerFormat":"MPEG_TS",
                   "DisplayFragmentTimestamp":"ALWAYS","Expires":43200,
                   "HLSFragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP",
                     "TimestampRange":{"StartTimestamp":1.5,"EndTimestamp":3600.25}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stream_name.empty());
  EXPECT_EQ(r->stream_arn, "arn:aws:kinesisvideo:us-east-1:0:stream/cam1/1");
  const SessionParams& p = r->params;
  EXPECT_EQ(p.mode, PlaybackMode::kOnDemand);
  EXPECT_EQ(p.selector, SelectorType::kProducerTimestamp);
  EXPECT_EQ(p.discontinuity, DiscontinuityMode::kNever);
  EXPECT_EQ(p.container, ContainerFormat::kMpegTs);
  EXPECT_TRUE(p.display_timestamp);
  EXPECT_EQ(p.max_results, 1000);
  EXPECT_EQ(r->expires_seconds, 43200);
  EXPECT_EQ(p.start_us, 1'500'000);  // epoch seconds with a fraction, as the AWS CLI sends
  EXPECT_EQ(p.end_us, 3'600'250'000);
}

TEST(HlsRequest, RangeRules) {
  // ON_DEMAND needs both ends, within 24 h, in order.
  EXPECT_NE(Message(Hls(R"({"StreamName":"a","PlaybackMode":"ON_DEMAND"})")).find("required"),
            std::string::npos);
  EXPECT_FALSE(Hls(R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100}}})")
                   .ok());
  EXPECT_NE(Message(Hls(R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100,"EndTimestamp":90000}}})"))
                .find("24 hours"),
            std::string::npos);
  EXPECT_NE(Message(Hls(R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100,"EndTimestamp":99}}})"))
                .find("before"),
            std::string::npos);
  EXPECT_TRUE(Hls(R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100,"EndTimestamp":86500}}})")
                  .ok());
  // LIVE must not have a range; LIVE_REPLAY needs a start, the end is optional.
  EXPECT_NE(Message(Hls(R"({"StreamName":"a","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100}}})"))
                .find("LIVE"),
            std::string::npos);
  EXPECT_FALSE(Hls(R"({"StreamName":"a","PlaybackMode":"LIVE_REPLAY"})").ok());
  auto replay = Hls(R"({"StreamName":"a","PlaybackMode":"LIVE_REPLAY","HLSFragmentSelector":
      {"TimestampRange":{"StartTimestamp":100}}})");
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->params.has_start);
  EXPECT_FALSE(replay->params.has_end);
  EXPECT_EQ(replay->params.max_results, 5);
}

TEST(HlsRequest, MalformedFieldsAreInvalidArguments) {
  const char* bad[] = {
      "",
      "[]",
      "not json",
      R"({})",                                  // no stream
      R"({"StreamName":"a","StreamARN":"b"})",  // both
      R"({"StreamName":"bad name"})",           // pattern
      R"({"StreamName":7})",
      R"({"StreamName":"a","PlaybackMode":"ON-DEMAND"})",
      R"({"StreamName":"a","PlaybackMode":1})",
      R"({"StreamName":"a","ContainerFormat":"MP4"})",
      R"({"StreamName":"a","DiscontinuityMode":"SOMETIMES"})",
      R"({"StreamName":"a","DisplayFragmentTimestamp":"YES"})",
      R"({"StreamName":"a","Expires":299})",
      R"({"StreamName":"a","Expires":43201})",
      R"({"StreamName":"a","Expires":"300"})",
      R"({"StreamName":"a","MaxMediaPlaylistFragmentResults":0})",
      R"({"StreamName":"a","MaxMediaPlaylistFragmentResults":5001})",
      R"({"StreamName":"a","HLSFragmentSelector":[]})",
      R"({"StreamName":"a","HLSFragmentSelector":{"FragmentSelectorType":"CLIENT"}})",
      R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
          {"TimestampRange":{"StartTimestamp":"yesterday","EndTimestamp":2}}})",
      R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
          {"TimestampRange":{"StartTimestamp":-1,"EndTimestamp":2}}})",
      R"({"StreamName":"a","PlaybackMode":"ON_DEMAND","HLSFragmentSelector":
          {"TimestampRange":{"StartTimestamp":1e300,"EndTimestamp":1e300}}})",
  };
  for (const char* body : bad) {
    auto r = Hls(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
  }
}

TEST(DashRequest, ItsOwnFieldNames) {
  auto r = ParseSessionRequest(SessionKind::kDash,
                               R"({"StreamName":"a","PlaybackMode":"ON_DEMAND",
                                   "DisplayFragmentNumber":"ALWAYS","MaxManifestFragmentResults":7,
                                   "DASHFragmentSelector":{"TimestampRange":
                                   {"StartTimestamp":1,"EndTimestamp":2}}})",
                               kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->params.kind, SessionKind::kDash);
  EXPECT_TRUE(r->params.display_fragment_number);
  EXPECT_EQ(r->params.max_results, 7);
  EXPECT_EQ(r->params.start_us, 1'000'000);
  EXPECT_EQ(r->params.end_us, 2'000'000);
  // HLS's names mean nothing to DASH: its selector is absent, so ON_DEMAND lacks a range.
  EXPECT_FALSE(ParseSessionRequest(SessionKind::kDash,
                                   R"({"StreamName":"a","PlaybackMode":"ON_DEMAND",
                                   "HLSFragmentSelector":{"TimestampRange":
                                   {"StartTimestamp":1,"EndTimestamp":2}}})",
                                   kNow)
                   .ok());
}

SessionParams Sample() {
  auto r = Hls(R"({"StreamName":"cam.1_x-y","PlaybackMode":"LIVE_REPLAY",
                   "DiscontinuityMode":"ON_DISCONTINUITY","Expires":600,
                   "HLSFragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP",
                   "TimestampRange":{"StartTimestamp":1700000000.5}}})");
  EXPECT_TRUE(r.ok());
  return r->params;
}

TEST(SessionToken, RoundTripsEveryField) {
  SessionParams p = Sample();
  p.display_fragment_number = true;
  p.has_end = true;
  p.end_us = p.start_us + 5;
  std::string token = EncodeSessionToken(p, kSecret);
  EXPECT_EQ(token.back(), '~');
  for (char c : token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                c == '~')
        << "not URL-safe: " << c;
  }
  auto back = DecodeSessionToken(token, kSecret, kNow);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
}

TEST(SessionToken, TamperingAnyByteIsRefused) {
  std::string token = EncodeSessionToken(Sample(), kSecret);
  for (size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    auto r = DecodeSessionToken(t, kSecret, kNow);
    EXPECT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
    EXPECT_FALSE(IsExpiredTokenError(r.status()));
  }
  // Truncated, extended, another key, garbage.
  EXPECT_FALSE(DecodeSessionToken(token.substr(0, token.size() - 1), kSecret, kNow).ok());
  EXPECT_FALSE(DecodeSessionToken(token + "~", kSecret, kNow).ok());
  EXPECT_FALSE(DecodeSessionToken("A" + token, kSecret, kNow).ok());
  EXPECT_FALSE(DecodeSessionToken(token, std::string(32, 'x'), kNow).ok());
  for (const char* junk : {"", "~", ".~", "abc", "a.b~", "....~", "%%%.%%%~"}) {
    EXPECT_FALSE(DecodeSessionToken(junk, kSecret, kNow).ok()) << junk;
  }
}

TEST(SessionToken, ForgedPayloadWithoutTheKeyIsRefused) {
  // A forger who changes the stream name and re-encodes cannot make the MAC.
  SessionParams p = Sample();
  std::string token = EncodeSessionToken(p, kSecret);
  p.stream_name = "someone-else";
  std::string forged = EncodeSessionToken(p, "guessed key");
  std::string mixed = forged.substr(0, forged.find('.')) + token.substr(token.find('.'));
  EXPECT_FALSE(DecodeSessionToken(forged, kSecret, kNow).ok());
  EXPECT_FALSE(DecodeSessionToken(mixed, kSecret, kNow).ok());
}

TEST(SessionToken, ExpiresWithTheClock) {
  ManualClock clock(kNow);
  SessionParams p = Sample();  // Expires 600 s from kNow
  std::string token = EncodeSessionToken(p, kSecret);
  EXPECT_TRUE(DecodeSessionToken(token, kSecret, clock.NowMicros()).ok());
  clock.Advance(599'999'999);
  EXPECT_TRUE(DecodeSessionToken(token, kSecret, clock.NowMicros()).ok());
  clock.Advance(1);
  auto r = DecodeSessionToken(token, kSecret, clock.NowMicros());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(IsExpiredTokenError(r.status())) << r.status().ToString();
  EXPECT_NE(r.status().message().find("expired"), std::string::npos);
}

TEST(SessionToken, CarriesTheAccessKeyWhateverItHolds) {
  SessionParams p = Sample();
  const std::vector<std::string> ids = {"AKIDCAMERAS", "odd|id~with.bytes", std::string("\0x", 2),
                                        ""};
  for (const std::string& id : ids) {
    p.access_key_id = id;
    auto back = DecodeSessionToken(EncodeSessionToken(p, kSecret), kSecret, kNow);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->access_key_id, id);
    EXPECT_EQ(*back, p);
  }
}

// A token of the format before tokens named their key (version 1, 16 fields) still decodes,
// with no key: the server then refuses it once it has access keys (server/auth.h).
TEST(SessionToken, AVersionOneTokenHasNoAccessKey) {
  const std::string payload = "1|0|cam1|2|1|1|1700000000500000|1|1700000100000000|0|2|0|0|1000|" +
                              std::to_string(kNow) + "|" + std::to_string(kNow + 600'000'000);
  const std::string token =
      Base64UrlEncode(payload) + "." + Base64UrlEncode(HmacSha256(kSecret, payload)) + "~";
  auto p = DecodeSessionToken(token, kSecret, kNow);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->stream_name, "cam1");
  EXPECT_EQ(p->mode, PlaybackMode::kOnDemand);
  EXPECT_EQ(p->end_us, 1700000100000000);
  EXPECT_EQ(p->access_key_id, "");
  // Version 1 with a key field, and version 2 without one, are neither format.
  for (const std::string& bad : {payload + "|414b4944", "2" + payload.substr(1)}) {
    const std::string t =
        Base64UrlEncode(bad) + "." + Base64UrlEncode(HmacSha256(kSecret, bad)) + "~";
    EXPECT_FALSE(DecodeSessionToken(t, kSecret, kNow).ok()) << bad;
  }
  // A key field that is not lowercase hex.
  const std::string odd = "2" + payload.substr(1) + "|XYZ";
  EXPECT_FALSE(DecodeSessionToken(
                   Base64UrlEncode(odd) + "." + Base64UrlEncode(HmacSha256(kSecret, odd)) + "~",
                   kSecret, kNow)
                   .ok());
}

// KVS's range rule: a fragment counts when it starts at or after Start and at or before End.
TEST(SessionRange, StartAndEndAreInclusiveAndLiveHasNone) {
  SessionParams p;
  p.mode = PlaybackMode::kOnDemand;
  p.has_start = p.has_end = true;
  p.start_us = 1000;
  p.end_us = 2000;
  EXPECT_FALSE(InSessionRange(p, 999));
  EXPECT_TRUE(InSessionRange(p, 1000));
  EXPECT_TRUE(InSessionRange(p, 2000));
  EXPECT_FALSE(InSessionRange(p, 2001));
  p.mode = PlaybackMode::kLiveReplay;  // without an End: open-ended
  p.has_end = false;
  EXPECT_FALSE(InSessionRange(p, 999));
  EXPECT_TRUE(InSessionRange(p, int64_t{1} << 60));
  p.mode = PlaybackMode::kLive;
  p.has_start = false;
  EXPECT_TRUE(InSessionRange(p, 0));
  EXPECT_TRUE(InSessionRange(p, -5));
}

TEST(Query, ParsesSegmentParameters) {
  auto q = ParseSegmentQuery(
      "FragmentNumber=91343852333181432392682062607743920146264269246&SessionToken=abc~&"
      "TrackNumber=2&InitId=0123abcd&_HLS_msn=3");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->token, "abc~");
  EXPECT_EQ(q->track, 2u);
  EXPECT_EQ(q->fragment_number, "91343852333181432392682062607743920146264269246");
  EXPECT_EQ(q->init_id, "0123abcd");
  EXPECT_FALSE(q->has_time);
  auto t = ParseSegmentQuery("SessionToken=x&Time=1700000000123");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->has_time);
  EXPECT_EQ(t->time_ms, 1700000000123);
}

TEST(Query, MalformedParametersAreRefused) {
  const char* bad[] = {
      "",
      "TrackNumber=1",
      "SessionToken=",
      "SessionToken=a&SessionToken=b",
      "SessionToken=a&=x",
      "SessionToken=a&TrackNumber=0",
      "SessionToken=a&TrackNumber=-1",
      "SessionToken=a&TrackNumber=1x",
      "SessionToken=a&TrackNumber=99999999999",
      "SessionToken=a&FragmentNumber=12a",
      "SessionToken=a&FragmentNumber=",
      "SessionToken=a&InitId=XYZ",
      "SessionToken=a&Time=-5",
      "SessionToken=a&Time=soon",
  };
  for (const char* query : bad) {
    auto q = ParseSegmentQuery(query);
    EXPECT_FALSE(q.ok()) << query;
    EXPECT_EQ(q.status().code(), Code::kInvalidArgument) << query;
  }
}

}  // namespace
}  // namespace streamarc::playback
