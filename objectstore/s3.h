// A small S3 client: single-request PUT, HEAD, ranged and whole GET, DELETE, ListObjectsV2 and
// bucket creation, signed with our own SigV4 (common/sigv4.h) and sent by libcurl. Enough to
// keep archive segments in an S3 bucket (AWS, or any S3-compatible store); no multipart upload,
// so one PUT carries at most 5 GiB (S3's limit).
//
// Errors are values. What a caller may retry is kUnavailable: the server could not be
// reached, timed out, or answered 500/502/503/504 or SlowDown. S3's refusals map to
// 403 kPermissionDenied, 404 kNotFound, 400 kInvalidArgument; every message names the
// operation, the key and S3's <Code> and <Message>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace streamarc::objectstore {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:4568" or "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  bool path_style = true;  // endpoint/bucket/key; false: bucket.host/key (virtual-hosted)
  int64_t connect_timeout_ms = 5000;
  // The whole request; a transfer slower than 1 kB/s for 30 s also fails.
  int64_t request_timeout_ms = 120000;
  // ListObjectsV2's max-keys: keys per page, 1 to 1000 (S3 sends at most 1000).
  int list_page_size = 1000;
  // PEM CA file trusted for an https endpoint; empty: the system's store.
  std::string ca_cert;
  // Signs requests (x-amz-date). Not owned; must outlive the client. nullptr: the system clock.
  const Clock* clock = nullptr;
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;  // without quotes
};

struct ObjectEntry {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes
};

// Internal: CurlPool in s3_transport.cc, S3Request and S3Response in s3_transport.h.
class CurlPool;
struct S3Request;
struct S3Response;

// Thread-safe: any number of threads may call it at once. Each call is one blocking HTTP
// request (List: one per page) on a pooled connection; idle connections are kept for reuse.
class S3Client {
 public:
  // Checks the config (endpoint http(s)://, bucket name rules, both keys non-empty, the page
  // size): kInvalidArgument naming the field.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Uploads the file's bytes as `key` with a Content-MD5 header (the server checks it) and
  // x-amz-content-sha256 of the body; returns the object's ETag (for a single PUT, the MD5
  // hex). The file is read twice (hashed, then sent) and must not change in between. A file
  // that cannot be read fails with ErrnoStatus's code (kNotFound when missing, kIoError...).
  Result<std::string> PutFile(const std::string& key, const std::string& path);
  Result<std::string> PutBytes(const std::string& key, std::string_view bytes);
  // kNotFound on 404.
  Result<ObjectInfo> Head(const std::string& key);
  // Exactly `n` bytes at `offset` into `buf` (Range: bytes=offset-(offset+n-1)). kNotFound on
  // 404, kDataLoss when the object is shorter. n == 0 sends nothing and succeeds.
  Status GetRange(const std::string& key, uint64_t offset, size_t n, char* buf);
  Result<std::string> Get(const std::string& key);
  // OK when it did not exist.
  Status Delete(const std::string& key);
  // Every object under `prefix` (ListObjectsV2 with continuation tokens), in key order.
  Result<std::vector<ObjectEntry>> List(const std::string& prefix);
  // Creates the bucket when missing (tests, first start); OK when it exists and is ours.
  Status EnsureBucket();

  const S3Config& config() const { return config_; }

 private:
  struct Endpoint {
    std::string scheme;     // "http" or "https"
    std::string host;       // "host[:port]" as sent in Host:, with the bucket when virtual
    std::string base_path;  // the endpoint's own path, no trailing '/'; "" for most
  };
  S3Client(S3Config config, Endpoint endpoint);
  // Signs and sends one request; a transport failure is the error, an HTTP error is not.
  Result<S3Response> Send(S3Request& request);
  // The Status for an HTTP error reply: "<op> <key>: HTTP <status> <Code>: <Message>".
  Status HttpError(std::string_view op, std::string_view key, const S3Response& response) const;
  Result<std::string> Put(const std::string& key, const std::string* path, std::string_view bytes);
  // The path (before percent-encoding) of `key`, or of the bucket when `key` is empty.
  std::string PathOf(std::string_view key) const;

  const S3Config config_;
  const Endpoint endpoint_;
  const SystemClock system_clock_;
  const Clock& clock_;
  std::unique_ptr<CurlPool> pool_;
};

// Pure (no I/O), for tests and the fuzz target. A ListObjectsV2 reply body: its entries,
// IsTruncated and NextContinuationToken (keys URL-decoded when the reply says
// EncodingType=url). kDataLoss, saying what is wrong, for malformed XML or a reply that is not
// a ListBucketResult (or is truncated without a token); never a crash.
struct ListPage {
  std::vector<ObjectEntry> entries;
  bool truncated = false;
  std::string next_token;
};
Result<ListPage> ParseListObjectsV2(std::string_view xml);

// An S3 <Error> body's Code and Message; nullopt when `xml` is not one (or has no Code).
struct S3Error {
  std::string code;
  std::string message;
};
std::optional<S3Error> ParseError(std::string_view xml);

}  // namespace streamarc::objectstore
