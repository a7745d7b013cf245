#include "server/auth.h"

#include <fnmatch.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/digest.h"
#include "common/kvs_request.h"
#include "common/sigv4.h"
#include "server/kvs_error.h"

namespace streamarc::server {
namespace {

constexpr std::string_view kService = "kinesisvideo";

// The rights each operation needs, any one of them (kvs-api.md §1-3 and our own APIs). An
// operation not listed needs a valid signature from any key.
const std::map<std::string, uint8_t, std::less<>>& PostRights() {
  static const auto* rights = new std::map<std::string, uint8_t, std::less<>>{
      // What a producer must do before PutMedia (its stream's state, where to send it), so
      // a write-only camera key can stream; AWS's producer policies grant the same.
      {"/describeStream", kRightRead | kRightWrite},
      {"/getDataEndpoint", kRightRead | kRightWrite},
      // Reading.
      {"/listStreams", kRightRead},
      {"/listTagsForStream", kRightRead},
      {"/ListTagsForResource", kRightRead},
      {"/describeImageGenerationConfiguration", kRightRead},
      {"/describeNotificationConfiguration", kRightRead},
      {"/describeStreamStorageConfiguration", kRightRead},
      {"/describeMediaStorageConfiguration", kRightRead},
      {"/getMedia", kRightRead},
      {"/getMediaForFragmentList", kRightRead},
      {"/listFragments", kRightRead},
      {"/getHLSStreamingSessionURL", kRightRead},
      {"/getDASHStreamingSessionURL", kRightRead},
      {"/getClip", kRightRead},
      {"/getImages", kRightRead},
      {"/listEvents", kRightRead},
      {"/listRecordingSpans", kRightRead},
      // Writing.
      {"/putMedia", kRightWrite},
      {"/putEvents", kRightWrite},
      // Administration.
      {"/createStream", kRightAdmin},
      {"/deleteStream", kRightAdmin},
      {"/updateStream", kRightAdmin},
      {"/updateDataRetention", kRightAdmin},
      {"/tagStream", kRightAdmin},
      {"/untagStream", kRightAdmin},
      {"/TagResource", kRightAdmin},
      {"/UntagResource", kRightAdmin},
      {"/updateImageGenerationConfiguration", kRightAdmin},
      {"/updateNotificationConfiguration", kRightAdmin},
      {"/updateStreamStorageConfiguration", kRightAdmin},
      {"/updateMediaStorageConfiguration", kRightAdmin},
  };
  return *rights;
}

std::string_view RightName(uint8_t right) {
  switch (right) {
    case kRightRead:
      return "read";
    case kRightWrite:
      return "write";
    case kRightAdmin:
      return "admin";
    case kRightRead | kRightWrite:
      return "read or write";
    default:
      return "any";
  }
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

KvsError Refuse(KvsErrorType type, std::string message) {
  return {type, PermissionDenied(std::move(message))};
}

// The value of query parameter `name` (already decoded: HttpRequest::query), or "".
std::string QueryParam(std::string_view query, std::string_view name) {
  size_t p = 0;
  while (p < query.size()) {
    size_t amp = query.find('&', p);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(p, amp - p);
    if (StartsWith(part, name) && part.size() > name.size() && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    p = amp + 1;
  }
  return "";
}

bool StreamAllowed(const AccessKey& key, const std::string& stream) {
  if (key.streams.empty()) return true;
  return std::any_of(key.streams.begin(), key.streams.end(), [&](const std::string& pattern) {
    return fnmatch(pattern.c_str(), stream.c_str(), 0) == 0;
  });
}

// "20201106T000000Z is now earlier than 20201106T000500Z (20201106T001000Z - 5 min.)", AWS's
// wording, which clients and people searching for it recognise.
std::string SkewMessage(const std::string& amz_date, int64_t now_us, int64_t skew_us) {
  const std::string minutes = std::to_string(skew_us / 60'000'000);
  const std::string now = sigv4::AmzDate(now_us);
  if (sigv4::ParseAmzDate(amz_date).value() < now_us) {
    return "Signature expired: " + amz_date + " is now earlier than " +
           sigv4::AmzDate(now_us - skew_us) + " (" + now + " - " + minutes + " min.)";
  }
  return "Signature not yet current: " + amz_date + " is still later than " +
         sigv4::AmzDate(now_us + skew_us) + " (" + now + " + " + minutes + " min.)";
}

bool SameSignature(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Verifies the signature; the key it was made with, or the refusal.
Result<const AccessKey*, KvsError> VerifySignature(const HttpRequest& req,
                                                   const AuthOptions& options, int64_t now_us) {
  const std::string* authorization = req.FindHeader("authorization");
  const bool presigned = authorization == nullptr && sigv4::IsPresignedQuery(req.raw_query);
  if (authorization == nullptr && !presigned) {
    return Refuse(KvsErrorType::kMissingAuthenticationToken,
                  "Missing Authentication Token: this server requires requests signed with "
                  "AWS Signature Version 4 by one of its access keys");
  }
  auto parsed = presigned ? sigv4::ParsePresignedQuery(req.raw_query)
                          : sigv4::ParseAuthorization(*authorization);
  if (!parsed.ok()) {
    return Refuse(KvsErrorType::kIncompleteSignature, parsed.status().message());
  }
  const sigv4::SignedBy& by = *parsed;
  if (by.service != kService) {
    return Refuse(KvsErrorType::kInvalidSignature,
                  "Credential should be scoped to correct service: 'kinesisvideo'.");
  }
  const auto key = std::find_if(options.keys.begin(), options.keys.end(),
                                [&](const AccessKey& k) { return k.id == by.access_key; });
  if (key == options.keys.end()) {
    return Refuse(KvsErrorType::kUnrecognizedClient,
                  "The security token included in the request is invalid: access key " +
                      by.access_key + " is not one of this server's");
  }

  std::string amz_date = by.amz_date;
  if (!presigned) {
    const std::string* d = req.FindHeader("x-amz-date");
    if (d == nullptr) {
      return Refuse(KvsErrorType::kIncompleteSignature, "the signed request has no X-Amz-Date");
    }
    amz_date = *d;
  }
  auto signed_at = sigv4::ParseAmzDate(amz_date);
  if (!signed_at.ok()) {
    return Refuse(KvsErrorType::kIncompleteSignature, signed_at.status().message());
  }
  if (amz_date.substr(0, 8) != by.date) {
    return Refuse(KvsErrorType::kInvalidSignature,
                  "Date in Credential scope does not match YYYYMMDD from X-Amz-Date");
  }
  if (presigned && now_us > *signed_at + by.expires_seconds * int64_t{1'000'000}) {
    return Refuse(KvsErrorType::kInvalidSignature,
                  "Signature expired: the presigned URL expired at " +
                      sigv4::AmzDate(*signed_at + by.expires_seconds * int64_t{1'000'000}));
  }
  if ((!presigned && *signed_at < now_us - options.max_skew_us) ||
      *signed_at > now_us + options.max_skew_us) {
    return Refuse(KvsErrorType::kInvalidSignature,
                  SkewMessage(amz_date, now_us, options.max_skew_us));
  }

  sigv4::Request canonical;
  canonical.method = req.method;
  canonical.path = req.path;
  canonical.query = presigned ? sigv4::QueryWithoutSignature(req.raw_query) : req.raw_query;
  for (const std::string& name : by.signed_headers) {
    bool found = false;
    for (const Header& h : req.headers) {
      if (h.name != name) continue;
      canonical.headers.emplace_back(h.name, h.value);
      found = true;
    }
    if (!found) {
      return Refuse(KvsErrorType::kInvalidSignature,
                    "SignedHeaders lists " + name + ", which the request does not carry");
    }
  }
  // PutMedia's body is a stream: producers sign the empty body (kvs-api.md §5). Other bodies
  // are whole here; a client that sends their hash must send the right one.
  std::vector<std::string> payload_hashes;
  const std::string* content_sha = req.FindHeader("x-amz-content-sha256");
  if (req.path == "/putMedia") {
    payload_hashes.emplace_back(content_sha ? *content_sha : sigv4::kEmptyPayloadSha256);
  } else {
    std::string actual = Sha256Hex(req.body);
    if (content_sha != nullptr && *content_sha != actual) {
      return Refuse(KvsErrorType::kInvalidSignature,
                    "x-amz-content-sha256 is not the SHA-256 of the request body");
    }
    payload_hashes.push_back(std::move(actual));
    // Some presigners sign no payload (S3's rule, which JavaScript's signer also applies).
    if (presigned) payload_hashes.emplace_back("UNSIGNED-PAYLOAD");
  }
  // The signing key, derived once per key, day and region when a cache is given; one derived
  // here is remembered only once a signature made with it verified.
  std::optional<std::string> cached;
  if (options.signing_keys) {
    cached = options.signing_keys->Find(key->id, key->secret, by.date, by.region, kService);
  }
  const std::string signing_key =
      cached ? *cached : sigv4::SigningKey(key->secret, by.date, by.region, kService);
  for (const std::string& hash : payload_hashes) {
    canonical.payload_sha256_hex = hash;
    if (SameSignature(
            sigv4::SignatureWithKey(canonical, signing_key, amz_date, by.region, kService),
            by.signature)) {
      if (options.signing_keys && !cached) {
        options.signing_keys->Insert(key->id, key->secret, by.date, by.region, kService,
                                     signing_key);
      }
      return &*key;
    }
  }
  return Refuse(KvsErrorType::kInvalidSignature,
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.");
}

}  // namespace

Requirement RequirementOf(const HttpRequest& req) {
  Requirement r;
  const std::string& p = req.path;
  if (req.method == "OPTIONS" || p == "/" || p == "/health" || p == "/ready" ||
      StartsWith(p, "/web/") || StartsWith(p, "/hls/v1/") || StartsWith(p, "/dash/v1/")) {
    r.open = true;
    return r;
  }
  if (req.method == "GET" && p == "/metrics") {
    r.right = kRightAdmin;
    return r;
  }
  if (req.method == "GET" && p == "/thumbnail") {
    r.right = kRightRead;
    r.names_stream = true;
    return r;
  }
  if (req.method != "POST") return r;
  const auto& rights = PostRights();
  if (auto it = rights.find(p); it != rights.end()) {
    r.right = it->second;
    r.names_stream = p != "/listStreams";
  }
  return r;
}

std::string RequestStream(const HttpRequest& req) {
  if (const std::string* name = req.FindHeader("x-amzn-stream-name")) return *name;
  auto from_arn = [](const std::string& arn) {
    auto name = kvs::StreamNameFromArn(arn);
    return name.ok() ? *name : std::string();
  };
  if (const std::string* arn = req.FindHeader("x-amzn-stream-arn")) return from_arn(*arn);
  if (!req.body.empty()) {
    nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      for (const char* field : {"StreamName", "StreamARN", "ResourceARN"}) {
        auto it = j.find(field);
        if (it == j.end() || !it->is_string()) continue;
        return std::string_view(field) == "StreamName" ? it->get<std::string>()
                                                       : from_arn(it->get<std::string>());
      }
    }
  }
  return QueryParam(req.query, "StreamName");
}

std::optional<KvsError> Authenticate(const HttpRequest& req, const AuthOptions& options,
                                     int64_t now_us) {
  if (options.keys.empty()) return std::nullopt;
  const Requirement need = RequirementOf(req);
  if (need.open) return std::nullopt;
  if (options.metrics_open && req.method == "GET" && req.path == "/metrics") return std::nullopt;
  auto key = VerifySignature(req, options, now_us);
  if (!key.ok()) return key.error();
  if (need.right != 0 && ((*key)->rights & need.right) == 0) {
    return Refuse(KvsErrorType::kAccessDenied, "access key " + (*key)->id + " may not perform " +
                                                   req.path.substr(1) + ": it needs the " +
                                                   std::string(RightName(need.right)) + " action");
  }
  if (need.names_stream && !(*key)->streams.empty()) {
    const std::string stream = RequestStream(req);
    if (stream.empty() || !StreamAllowed(**key, stream)) {
      return Refuse(KvsErrorType::kAccessDenied, "access key " + (*key)->id + " may not perform " +
                                                     req.path.substr(1) + " on stream \"" + stream +
                                                     "\": it is limited to the streams it lists");
    }
  }
  return std::nullopt;
}

bool StreamVisible(const HttpRequest& req, const AuthOptions& options, const std::string& stream) {
  if (options.keys.empty()) return true;
  const std::string* authorization = req.FindHeader("authorization");
  auto by = authorization != nullptr ? sigv4::ParseAuthorization(*authorization)
                                     : sigv4::ParsePresignedQuery(req.raw_query);
  if (!by.ok()) return false;
  const auto key = std::find_if(options.keys.begin(), options.keys.end(),
                                [&](const AccessKey& k) { return k.id == by->access_key; });
  return key != options.keys.end() && StreamAllowed(*key, stream);
}

std::string SignerOf(const HttpRequest& req, const AuthOptions& options) {
  if (options.keys.empty()) return "";
  const std::string* authorization = req.FindHeader("authorization");
  auto by = authorization != nullptr ? sigv4::ParseAuthorization(*authorization)
                                     : sigv4::ParsePresignedQuery(req.raw_query);
  return by.ok() ? by->access_key : "";
}

Status CheckSessionKey(const AuthOptions& options, const std::string& access_key_id,
                       const std::string& stream) {
  if (access_key_id.empty()) {
    if (options.keys.empty()) return Status::Ok();
    return PermissionDenied(
        "The streaming session was made without an access key, and this server now requires "
        "one: ask for a new session URL with a signed request");
  }
  const auto key = std::find_if(options.keys.begin(), options.keys.end(),
                                [&](const AccessKey& k) { return k.id == access_key_id; });
  if (key == options.keys.end()) {
    return PermissionDenied("The streaming session was made with access key " + access_key_id +
                            ", which this server no longer has");
  }
  if ((key->rights & kRightRead) == 0 || !StreamAllowed(*key, stream)) {
    return PermissionDenied("Access key " + access_key_id +
                            ", which made the streaming session, may no longer read stream \"" +
                            stream + "\"");
  }
  return Status::Ok();
}

AuthState::AuthState(AuthOptions options)
    : current_(std::make_shared<const AuthOptions>(std::move(options))) {}

std::shared_ptr<const AuthOptions> AuthState::Current() const {
  MutexLock lock(mu_);
  return current_;
}

void AuthState::ReplaceKeys(std::vector<AccessKey> keys) {
  MutexLock lock(mu_);
  auto next = std::make_shared<AuthOptions>(*current_);
  next->keys = std::move(keys);
  // A fresh cache: requests still checking against the old snapshot fill only the old one,
  // which goes with them.
  if (next->signing_keys) next->signing_keys = std::make_shared<sigv4::SigningKeyCache>();
  current_ = std::move(next);
}

Middleware Authentication(const std::shared_ptr<const AuthState>& state, const Clock& clock) {
  return Middleware{[state, &clock](const HttpRequest& req) -> std::optional<HttpResponse> {
                      auto refusal = Authenticate(req, *state->Current(), clock.NowMicros());
                      if (!refusal) return std::nullopt;
                      return KvsErrorResponse(*refusal);
                    },
                    nullptr};
}

}  // namespace streamarc::server
