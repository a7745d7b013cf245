// The SigV4 verifier and the keys' rights, on requests signed here with common/sigv4 (the
// e2e tests sign with botocore, the AWS CLI's signer, instead).
#include "server/auth.h"

#include <gtest/gtest.h>

#include <cctype>

#include "common/digest.h"
#include "common/sigv4.h"

namespace streamarc::server {
namespace {

constexpr int64_t kNow = 1'764'000'000'000'000;  // 2025-11-24T16:00:00Z
constexpr int64_t kMinute = 60'000'000;

AccessKey Key(std::string id, std::string secret,
              uint8_t rights = kRightRead | kRightWrite | kRightAdmin,
              std::vector<std::string> streams = {}) {
  return AccessKey{std::move(id), std::move(secret), std::move(streams), rights};
}

AuthOptions Options() {
  AuthOptions o;
  o.keys = {Key("AKIDALL", "secret-all"), Key("AKIDREAD", "secret-read", kRightRead),
            Key("AKIDCAM", "secret-cam", kRightRead | kRightWrite, {"cam-*"})};
  return o;
}

HttpRequest Post(std::string path, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.body = std::move(body);
  r.headers = {{"host", "127.0.0.1:8080"}, {"content-type", "application/json"}};
  return r;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Signs `r` as a KVS client does: over every header it has, and its body (PutMedia: the
// empty body).
HttpRequest Signed(HttpRequest r, const std::string& id, const std::string& secret,
                   int64_t now = kNow, const std::string& service = "kinesisvideo") {
  sigv4::Request s;
  s.method = r.method;
  s.path = r.path;
  s.query = r.raw_query;
  for (const Header& h : r.headers) s.headers.emplace_back(h.name, h.value);
  s.payload_sha256_hex =
      r.path == "/putMedia" ? std::string(sigv4::kEmptyPayloadSha256) : Sha256Hex(r.body);
  auto add = sigv4::Sign(s, {id, secret, ""}, "us-west-2", service, now);
  EXPECT_TRUE(add.ok());
  for (const auto& [name, value] : *add) r.headers.push_back({Lower(name), value});
  return r;
}

// A presigned GET: the X-Amz-* parameters in the query, the signature over the rest.
HttpRequest Presigned(std::string path, const std::string& query, const std::string& id,
                      const std::string& secret, int64_t signed_at, int expires_s) {
  const std::string date = sigv4::AmzDate(signed_at);
  const std::string scope = sigv4::Scope(date.substr(0, 8), "us-east-1", "kinesisvideo");
  std::string q = query + (query.empty() ? "" : "&") +
                  "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                  sigv4::UriEncode(id + "/" + scope, false) + "&X-Amz-Date=" + date +
                  "&X-Amz-Expires=" + std::to_string(expires_s) + "&X-Amz-SignedHeaders=host";
  sigv4::Request s;
  s.method = "GET";
  s.path = path;
  s.query = q;
  s.headers = {{"host", "cams.example:8080"}};
  s.payload_sha256_hex = Sha256Hex(std::string_view());
  const std::string sig = sigv4::Signature(s, secret, date, "us-east-1", "kinesisvideo");
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.raw_query = q + "&X-Amz-Signature=" + sig;
  r.query = query;  // what the handlers see; the verifier reads raw_query
  r.headers = {{"host", "cams.example:8080"}};
  return r;
}

std::optional<KvsErrorType> Check(const HttpRequest& r, int64_t now = kNow) {
  auto refusal = Authenticate(r, Options(), now);
  if (!refusal) return std::nullopt;
  return refusal->type;
}

std::string Message(const HttpRequest& r, int64_t now = kNow) {
  auto refusal = Authenticate(r, Options(), now);
  return refusal ? refusal->status.message() : "";
}

const std::string kDescribe = R"({"StreamName":"cam-1"})";

TEST(Auth, WithoutKeysEveryRequestPasses) {
  EXPECT_FALSE(Authenticate(Post("/deleteStream", "{}"), AuthOptions{}, kNow));
}

TEST(Auth, ARequestSignedByAKnownKeyPasses) {
  EXPECT_EQ(Check(Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all")),
            std::nullopt);
}

TEST(Auth, AnUnsignedRequestIsMissingItsToken) {
  EXPECT_EQ(Check(Post("/describeStream", kDescribe)), KvsErrorType::kMissingAuthenticationToken);
}

TEST(Auth, AWrongSecretOrAnUnknownKeyIsRefused) {
  EXPECT_EQ(Check(Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-read")),
            KvsErrorType::kInvalidSignature);
  EXPECT_EQ(Check(Signed(Post("/describeStream", kDescribe), "AKIDNONE", "secret-all")),
            KvsErrorType::kUnrecognizedClient);
}

TEST(Auth, AChangedBodyOrSignedHeaderBreaksTheSignature) {
  HttpRequest body = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  body.body = R"({"StreamName":"cam-2"})";
  EXPECT_EQ(Check(body), KvsErrorType::kInvalidSignature);

  HttpRequest header = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  header.headers[1].value = "text/plain";  // content-type, signed
  EXPECT_EQ(Check(header), KvsErrorType::kInvalidSignature);

  HttpRequest extra = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  extra.headers.push_back({"user-agent", "added after signing"});  // not signed: harmless
  EXPECT_EQ(Check(extra), std::nullopt);

  HttpRequest dropped = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  dropped.headers.erase(dropped.headers.begin() + 1);
  EXPECT_EQ(Check(dropped), KvsErrorType::kInvalidSignature);
  EXPECT_NE(Message(dropped).find("content-type"), std::string::npos) << Message(dropped);
}

TEST(Auth, AContentHashHeaderMustBeTheBodys) {
  HttpRequest r = Post("/describeStream", kDescribe);
  r.headers.push_back({"x-amz-content-sha256", Sha256Hex(std::string_view("{}"))});
  EXPECT_EQ(Check(Signed(r, "AKIDALL", "secret-all")), KvsErrorType::kInvalidSignature);
  r.headers.back().value = Sha256Hex(kDescribe);
  EXPECT_EQ(Check(Signed(r, "AKIDALL", "secret-all")), std::nullopt);
}

TEST(Auth, PutMediaIsSignedOverTheEmptyBody) {
  HttpRequest r = Post("/putMedia", "");
  r.headers.push_back({"x-amzn-stream-name", "cam-1"});
  r.headers.push_back({"transfer-encoding", "chunked"});
  EXPECT_EQ(Check(Signed(r, "AKIDCAM", "secret-cam")), std::nullopt);
  EXPECT_EQ(Check(Signed(r, "AKIDREAD", "secret-read")), KvsErrorType::kAccessDenied);
}

TEST(Auth, TheClockMayBeOffByFiveMinutes) {
  HttpRequest r = Post("/describeStream", kDescribe);
  EXPECT_EQ(Check(Signed(r, "AKIDALL", "secret-all", kNow - 4 * kMinute)), std::nullopt);
  EXPECT_EQ(Check(Signed(r, "AKIDALL", "secret-all", kNow + 4 * kMinute)), std::nullopt);
  HttpRequest old = Signed(r, "AKIDALL", "secret-all", kNow - 6 * kMinute);
  EXPECT_EQ(Check(old), KvsErrorType::kInvalidSignature);
  EXPECT_EQ(Message(old),
            "Signature expired: 20251124T155400Z is now earlier than 20251124T155500Z "
            "(20251124T160000Z - 5 min.)");
  HttpRequest future = Signed(r, "AKIDALL", "secret-all", kNow + 6 * kMinute);
  EXPECT_EQ(Check(future), KvsErrorType::kInvalidSignature);
  EXPECT_NE(Message(future).find("not yet current"), std::string::npos) << Message(future);
}

TEST(Auth, MalformedSignaturesAreIncomplete) {
  HttpRequest good = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  const std::string auth = *good.FindHeader("authorization");
  for (const std::string& bad :
       {std::string("AWS4-HMAC-SHA256"), std::string("Basic dXNlcjpwYXNz"),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDALL/20251124/us-west-2/kinesisvideo"),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDALL/2025112/x/kinesisvideo/aws4_request, "
                    "SignedHeaders=host, Signature=") +
            std::string(64, 'a'),
        auth.substr(0, auth.size() - 1),  // a signature of 63 digits
        auth + ", Signature=" + std::string(64, 'b'),
        std::string("AWS4-HMAC-SHA256 Credential=AKIDALL/20251124/us-west-2/kinesisvideo/"
                    "aws4_request, SignedHeaders=x-amz-date, Signature=") +
            std::string(64, 'a')}) {
    HttpRequest r = good;
    for (Header& h : r.headers) {
      if (h.name == "authorization") h.value = bad;
    }
    EXPECT_EQ(Check(r), KvsErrorType::kIncompleteSignature) << bad;
  }
  HttpRequest no_date = good;
  std::erase_if(no_date.headers, [](const Header& h) { return h.name == "x-amz-date"; });
  EXPECT_EQ(Check(no_date), KvsErrorType::kIncompleteSignature);
}

TEST(Auth, AnotherServicesSignatureIsRefused) {
  EXPECT_EQ(Check(Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all", kNow, "s3")),
            KvsErrorType::kInvalidSignature);
}

TEST(Auth, EachOperationNeedsItsRight) {
  EXPECT_EQ(Check(Signed(Post("/describeStream", kDescribe), "AKIDREAD", "secret-read")),
            std::nullopt);
  EXPECT_EQ(Check(Signed(Post("/deleteStream", R"({"StreamARN":"arn:aws:kinesisvideo:us-east-1:)"
                                               R"(000000000000:stream/cam-1/1"})"),
                         "AKIDREAD", "secret-read")),
            KvsErrorType::kAccessDenied);
  EXPECT_EQ(Check(Signed(Post("/putEvents", kDescribe), "AKIDREAD", "secret-read")),
            KvsErrorType::kAccessDenied);
  EXPECT_EQ(Check(Signed(Post("/createStream", kDescribe), "AKIDCAM", "secret-cam")),
            KvsErrorType::kAccessDenied);
  // A write-only camera key learns what a producer needs before PutMedia, and reads nothing.
  AuthOptions cams;
  cams.keys = {Key("AKIDWO", "secret-wo", kRightWrite, {"cam-*"})};
  auto as_write_only = [&cams](const std::string& path, const std::string& body) {
    return Authenticate(Signed(Post(path, body), "AKIDWO", "secret-wo"), cams, kNow);
  };
  EXPECT_EQ(as_write_only("/describeStream", kDescribe), std::nullopt);
  EXPECT_EQ(as_write_only("/getDataEndpoint", R"({"StreamName":"cam-1","APIName":"PUT_MEDIA"})"),
            std::nullopt);
  for (const char* read : {"/listFragments", "/getMedia", "/getHLSStreamingSessionURL"}) {
    const auto refused = as_write_only(read, kDescribe);
    ASSERT_TRUE(refused.has_value()) << read;
    EXPECT_EQ(refused->type, KvsErrorType::kAccessDenied) << read;
  }
  EXPECT_EQ(as_write_only("/listStreams", "{}")->type, KvsErrorType::kAccessDenied);
  EXPECT_EQ(Check(Signed(Post("/createStream", kDescribe), "AKIDALL", "secret-all")), std::nullopt);
  // An unknown operation needs a valid signature only; its handler answers 404.
  EXPECT_EQ(Check(Signed(Post("/noSuchOperation", "{}"), "AKIDREAD", "secret-read")), std::nullopt);
  EXPECT_EQ(Check(Post("/noSuchOperation", "{}")), KvsErrorType::kMissingAuthenticationToken);
}

TEST(Auth, AKeyLimitedToStreamsActsOnThoseOnly) {
  auto as_cam = [](const std::string& path, const std::string& body) {
    return Check(Signed(Post(path, body), "AKIDCAM", "secret-cam"));
  };
  EXPECT_EQ(as_cam("/describeStream", kDescribe), std::nullopt);
  EXPECT_EQ(as_cam("/describeStream", R"({"StreamName":"door"})"), KvsErrorType::kAccessDenied);
  EXPECT_EQ(as_cam("/listFragments", R"({"StreamARN":"arn:aws:kinesisvideo:us-east-1:)"
                                     R"(000000000000:stream/cam-7/1"})"),
            std::nullopt);
  EXPECT_EQ(as_cam("/listFragments", R"({"StreamARN":"arn:aws:kinesisvideo:us-east-1:)"
                                     R"(000000000000:stream/door/1"})"),
            KvsErrorType::kAccessDenied);
  EXPECT_EQ(as_cam("/getMedia", R"({"StreamName":"cam-1","StartSelector":{}})"), std::nullopt);
  // A request that names no stream, or one that is not JSON, is not let through.
  EXPECT_EQ(as_cam("/describeStream", "{}"), KvsErrorType::kAccessDenied);
  EXPECT_EQ(as_cam("/describeStream", "not json"), KvsErrorType::kAccessDenied);
  // Listing names no stream.
  EXPECT_EQ(as_cam("/listStreams", "{}"), std::nullopt);

  HttpRequest put = Post("/putMedia", "");
  put.headers.push_back({"x-amzn-stream-name", "door"});
  EXPECT_EQ(Check(Signed(put, "AKIDCAM", "secret-cam")), KvsErrorType::kAccessDenied);
}

TEST(Auth, ALimitedKeySeesItsStreamsOnly) {
  HttpRequest cam = Signed(Post("/listStreams", "{}"), "AKIDCAM", "secret-cam");
  EXPECT_TRUE(StreamVisible(cam, Options(), "cam-1"));
  EXPECT_FALSE(StreamVisible(cam, Options(), "door"));
  HttpRequest all = Signed(Post("/listStreams", "{}"), "AKIDALL", "secret-all");
  EXPECT_TRUE(StreamVisible(all, Options(), "door"));
  EXPECT_TRUE(StreamVisible(Post("/listStreams", "{}"), AuthOptions{}, "door"));
}

TEST(Auth, TheSignerIsTheKeyThatSigned) {
  EXPECT_EQ(SignerOf(Signed(Post("/getHLSStreamingSessionURL", kDescribe), "AKIDCAM", "secret-cam"),
                     Options()),
            "AKIDCAM");
  EXPECT_EQ(
      SignerOf(Presigned("/thumbnail", "StreamName=cam-1", "AKIDREAD", "secret-read", kNow, 300),
               Options()),
      "AKIDREAD");
  // Without keys nothing was checked, so a claimed key means nothing.
  EXPECT_EQ(SignerOf(Signed(Post("/getHLSStreamingSessionURL", kDescribe), "AKIDCAM", "x"),
                     AuthOptions{}),
            "");
  EXPECT_EQ(SignerOf(Post("/getHLSStreamingSessionURL", kDescribe), Options()), "");
}

// A session token is good while the key that made it is configured and may read its stream.
TEST(Auth, SessionTokensLiveAsLongAsTheirKey) {
  const AuthOptions o = Options();
  EXPECT_TRUE(CheckSessionKey(o, "AKIDALL", "door").ok());
  EXPECT_TRUE(CheckSessionKey(o, "AKIDREAD", "door").ok());
  EXPECT_TRUE(CheckSessionKey(o, "AKIDCAM", "cam-1").ok());
  EXPECT_TRUE(CheckSessionKey(AuthOptions{}, "", "door").ok());  // no keys then, none now
  auto code = [](const Status& s) { return s.code(); };
  EXPECT_EQ(code(CheckSessionKey(o, "AKIDCAM", "door")), Code::kPermissionDenied);  // not its
  EXPECT_EQ(code(CheckSessionKey(o, "AKIDGONE", "door")), Code::kPermissionDenied);
  EXPECT_EQ(code(CheckSessionKey(o, "", "door")), Code::kPermissionDenied);  // keys came since
  EXPECT_EQ(code(CheckSessionKey(AuthOptions{}, "AKIDALL", "door")), Code::kPermissionDenied);
  AuthOptions write_only;
  write_only.keys = {Key("AKIDALL", "secret-all", kRightWrite)};
  const Status lost = CheckSessionKey(write_only, "AKIDALL", "door");
  EXPECT_EQ(lost.code(), Code::kPermissionDenied);
  EXPECT_NE(lost.message().find("may no longer read"), std::string::npos) << lost.ToString();
  EXPECT_NE(CheckSessionKey(o, "AKIDGONE", "door").message().find("no longer has"),
            std::string::npos);
}

// A reload swaps the keys for the requests that come after; a snapshot taken before keeps
// the keys it had.
TEST(Auth, ReplacedKeysTakeEffectForLaterRequests) {
  AuthOptions first = Options();
  first.signing_keys = std::make_shared<sigv4::SigningKeyCache>();
  AuthState state(std::move(first));
  const HttpRequest cam = Signed(Post("/describeStream", kDescribe), "AKIDCAM", "secret-cam");
  std::shared_ptr<const AuthOptions> before = state.Current();
  EXPECT_FALSE(Authenticate(cam, *before, kNow));
  EXPECT_EQ(before->signing_keys->size(), 1u);

  state.ReplaceKeys({Key("AKIDALL", "secret-all")});
  auto refusal = Authenticate(cam, *state.Current(), kNow);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->type, KvsErrorType::kUnrecognizedClient);
  EXPECT_FALSE(Authenticate(cam, *before, kNow));        // the old snapshot is intact
  EXPECT_EQ(state.Current()->signing_keys->size(), 0u);  // a fresh cache
  EXPECT_EQ(state.Current()->max_skew_us, before->max_skew_us);
  EXPECT_FALSE(Authenticate(Signed(Post("/deleteStream", kDescribe), "AKIDALL", "secret-all"),
                            *state.Current(), kNow));
}

// The cache changes how fast, never what: the same verdicts with and without it, and only
// keys whose signature verified are kept.
TEST(Auth, TheSigningKeyCacheKeepsVerifiedKeysOnly) {
  AuthOptions cached = Options();
  cached.signing_keys = std::make_shared<sigv4::SigningKeyCache>(2);
  const HttpRequest good = Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all");
  const HttpRequest bad = Signed(Post("/describeStream", kDescribe), "AKIDALL", "wrong");
  const HttpRequest yesterday =
      Signed(Post("/describeStream", kDescribe), "AKIDALL", "secret-all", kNow - 24 * 60 * kMinute);
  EXPECT_EQ(Authenticate(bad, cached, kNow)->type, KvsErrorType::kInvalidSignature);
  EXPECT_EQ(cached.signing_keys->size(), 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(Authenticate(good, cached, kNow)) << i;
    EXPECT_EQ(cached.signing_keys->size(), 1u);
  }
  // The wrong secret is still wrong once the right one's key is cached.
  EXPECT_EQ(Authenticate(bad, cached, kNow)->type, KvsErrorType::kInvalidSignature);
  EXPECT_EQ(Authenticate(yesterday, cached, kNow)->type, KvsErrorType::kInvalidSignature);
  // A key whose secret changed (same id) gets its own entry; the bound starts the cache over.
  cached.keys[0].secret = "rotated";
  EXPECT_EQ(Authenticate(good, cached, kNow)->type, KvsErrorType::kInvalidSignature);
  EXPECT_FALSE(
      Authenticate(Signed(Post("/describeStream", kDescribe), "AKIDALL", "rotated"), cached, kNow));
  EXPECT_EQ(cached.signing_keys->size(), 2u);
  EXPECT_FALSE(Authenticate(Signed(Post("/describeStream", kDescribe), "AKIDREAD", "secret-read"),
                            cached, kNow));
  EXPECT_EQ(cached.signing_keys->size(), 1u);
}

TEST(Auth, PresignedUrlsAreVerifiedUntilTheyExpire) {
  HttpRequest r = Presigned("/thumbnail", "StreamName=cam-1", "AKIDCAM", "secret-cam", kNow, 300);
  EXPECT_EQ(Check(r), std::nullopt);
  EXPECT_EQ(Check(r, kNow + 299'000'000), std::nullopt);
  EXPECT_EQ(Check(r, kNow + 301'000'000), KvsErrorType::kInvalidSignature);
  HttpRequest other =
      Presigned("/thumbnail", "StreamName=door", "AKIDCAM", "secret-cam", kNow, 300);
  EXPECT_EQ(Check(other), KvsErrorType::kAccessDenied);

  HttpRequest tampered = r;
  tampered.raw_query.replace(tampered.raw_query.find("cam-1"), 5, "cam-2");
  tampered.query = "StreamName=cam-2";
  EXPECT_EQ(Check(tampered), KvsErrorType::kInvalidSignature);

  HttpRequest repeated = r;
  repeated.raw_query += "&X-Amz-Expires=604800";
  EXPECT_EQ(Check(repeated), KvsErrorType::kIncompleteSignature);
}

TEST(Auth, TheConsoleHealthAndSessionUrlsAreOpen) {
  for (const char* path : {"/", "/health", "/ready", "/web/app.js",
                           "/hls/v1/getHLSMediaPlaylist.m3u8", "/dash/v1/getDASHManifest.mpd"}) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    EXPECT_EQ(Check(r), std::nullopt) << path;
  }
  HttpRequest thumbnail;
  thumbnail.method = "GET";
  thumbnail.path = "/thumbnail";
  thumbnail.query = "StreamName=cam-1";
  EXPECT_EQ(Check(thumbnail), KvsErrorType::kMissingAuthenticationToken);
}

HttpRequest Get(std::string path) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers = {{"host", "127.0.0.1:8080"}};
  return r;
}

// Its labels name every stream: with keys, admin only, unless the operator opened it.
TEST(Auth, MetricsNeedTheAdminRightUnlessOpened) {
  EXPECT_EQ(Check(Get("/metrics")), KvsErrorType::kMissingAuthenticationToken);
  EXPECT_EQ(Check(Signed(Get("/metrics"), "AKIDREAD", "secret-read")), KvsErrorType::kAccessDenied);
  EXPECT_EQ(Check(Signed(Get("/metrics"), "AKIDALL", "secret-all")), std::nullopt);
  AuthOptions open = Options();
  open.metrics_open = true;
  EXPECT_FALSE(Authenticate(Get("/metrics"), open, kNow));
  // Only /metrics: everything else still needs its signature.
  EXPECT_EQ(Authenticate(Post("/describeStream", kDescribe), open, kNow)->type,
            KvsErrorType::kMissingAuthenticationToken);
  // Without keys it is open, like every route on loopback.
  EXPECT_FALSE(Authenticate(Get("/metrics"), AuthOptions{}, kNow));
}

TEST(Auth, SigV4HeaderParsing) {
  auto by = sigv4::ParseAuthorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20201106/us-west-2/kinesisvideo/aws4_request,"
      "SignedHeaders=Host;user-agent;x-amz-date,Signature=" +
      std::string(64, 'A'));
  ASSERT_TRUE(by.ok()) << by.status().ToString();
  EXPECT_EQ(by->access_key, "AKID");
  EXPECT_EQ(by->date, "20201106");
  EXPECT_EQ(by->region, "us-west-2");
  EXPECT_EQ(by->service, "kinesisvideo");
  EXPECT_EQ(by->signed_headers, (std::vector<std::string>{"host", "user-agent", "x-amz-date"}));
  EXPECT_EQ(by->signature, std::string(64, 'a'));
  EXPECT_FALSE(sigv4::ParseAmzDate("20201306T000000Z").ok());
  EXPECT_FALSE(sigv4::ParseAmzDate("2020-11-06T00:00:00Z").ok());
  EXPECT_EQ(*sigv4::ParseAmzDate("20251124T160000Z"), kNow);
}

}  // namespace
}  // namespace streamarc::server
