// AWS Signature Version 4 (AWS4-HMAC-SHA256): the canonical request, the string to sign,
// the signing key and the Authorization header (the hashing is common/digest.h's). The pieces
// are separate functions so a verifier (the server, later) can rebuild the canonical
// request from a received request and the header names its Authorization lists, and compare
// signatures with the same code that made them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "common/mutex.h"
#include "common/status.h"

namespace streamarc::sigv4 {

// SHA-256 of the empty string: PutMedia's payload hash (its body is streamed).
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Request {
  std::string method = "POST";
  std::string path = "/";  // as sent, before URI-encoding; "" means "/"
  std::string query;       // as sent ("a=1&b=2"), without '?'; may be empty
  // Every header to sign, any case, in any order. Repeated names are joined with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256_hex;  // Sha256Hex(body), or kEmptyPayloadSha256 for PutMedia
};

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // sent as x-amz-security-token; not signed (producer-c's rule)
};

// SHA-256, HMAC-SHA256 and hex come from common/digest.h (streamarc::Sha256Hex, ...).

// RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept, the rest %XX
// upper-case); '/' kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);

// "host;x-amz-date": the lowercase names of `headers`, sorted, de-duplicated.
std::string SignedHeaderList(const Request& request);

// The six-line canonical request. Header values are trimmed and inner runs of spaces
// collapsed; the query is split, encoded and sorted by key, then value.
std::string CanonicalRequest(const Request& request);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string Scope(std::string_view date, std::string_view region, std::string_view service);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::string SigningKey(std::string_view secret_key, std::string_view date, std::string_view region,
                       std::string_view service);

// The hex signature of `request` (whose headers must include x-amz-date = `amz_date`, and
// host). `amz_date` is "YYYYMMDDTHHMMSSZ".
std::string Signature(const Request& request, std::string_view secret_key,
                      std::string_view amz_date, std::string_view region, std::string_view service);

// As Signature, with the signing key already derived (SigningKey(secret, the date of
// `amz_date`, region, service)).
std::string SignatureWithKey(const Request& request, std::string_view signing_key,
                             std::string_view amz_date, std::string_view region,
                             std::string_view service);

// Derived signing keys by (access key id, secret, date, region, service), so a verifier
// derives a key's once per day and region instead of on every request (four HMACs). Bounded:
// once full it starts over (a day's change makes every entry stale anyway). The verifier
// inserts only keys whose signature verified, so unsigned traffic cannot fill it.
// Thread-safe.
class SigningKeyCache {
 public:
  explicit SigningKeyCache(size_t max_entries = 1024) : max_entries_(max_entries) {}
  std::optional<std::string> Find(std::string_view access_key, std::string_view secret_key,
                                  std::string_view date, std::string_view region,
                                  std::string_view service) const;
  void Insert(std::string_view access_key, std::string_view secret_key, std::string_view date,
              std::string_view region, std::string_view service, std::string signing_key);
  // Forgets every key (after a reload: removed secrets leave memory).
  void Clear();
  size_t size() const;

 private:
  const size_t max_entries_;
  mutable Mutex mu_;
  std::map<std::string, std::string, std::less<>> keys_ GUARDED_BY(mu_);
};

// "YYYYMMDDTHHMMSSZ" for a time in microseconds since the epoch (UTC).
std::string AmzDate(int64_t micros_since_epoch);

// What a signed request says about its signature: from the Authorization header, or from a
// presigned URL's query (X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...). The
// verifier (server/auth.h) looks up the key, rebuilds the canonical request over
// `signed_headers` and compares.
struct SignedBy {
  std::string access_key;
  std::string date;                         // the credential scope's YYYYMMDD
  std::string region;                       // as the client scoped it
  std::string service;                      // "kinesisvideo" for every KVS API
  std::vector<std::string> signed_headers;  // lowercase, in the order listed
  std::string signature;                    // 64 lowercase hex digits
  bool presigned = false;
  std::string amz_date;         // presigned: X-Amz-Date ("YYYYMMDDTHHMMSSZ")
  int64_t expires_seconds = 0;  // presigned: X-Amz-Expires, 1 to 604800
};

// Parses "AWS4-HMAC-SHA256 Credential=AKID/20201106/us-west-2/kinesisvideo/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=<hex>" (spaces after the commas optional).
// kInvalidArgument, naming what is wrong, for anything else.
Result<SignedBy> ParseAuthorization(std::string_view header);

// True when a query as received (percent-encoded) is a presigned URL's: it has
// X-Amz-Algorithm or X-Amz-Signature.
bool IsPresignedQuery(std::string_view raw_query);

// The X-Amz-* parameters of a presigned URL's query as received (percent-encoded).
Result<SignedBy> ParsePresignedQuery(std::string_view raw_query);

// `raw_query` without its X-Amz-Signature parameter: what a presigned URL signs.
std::string QueryWithoutSignature(std::string_view raw_query);

// "YYYYMMDDTHHMMSSZ" as microseconds since the epoch (UTC); kInvalidArgument if malformed.
Result<int64_t> ParseAmzDate(std::string_view amz_date);

// Signs `request` in place: adds x-amz-date (from `now_micros`) to its headers, then
// returns the headers to send: X-Amz-Date, Authorization and, with a session token,
// X-Amz-Security-Token. The request must already carry its Host header. Fails when the
// access key or secret is empty.
Result<std::vector<std::pair<std::string, std::string>>> Sign(Request& request,
                                                              const Credentials& creds,
                                                              std::string_view region,
                                                              std::string_view service,
                                                              int64_t now_micros);

}  // namespace streamarc::sigv4
