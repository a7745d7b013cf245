#include "objectstore/s3.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "common/base64.h"
#include "common/digest.h"
#include "common/sigv4.h"
#include "objectstore/s3_transport.h"

namespace streamarc::objectstore {

namespace {

// S3's size limit for one PUT (beyond it, multipart upload, which this client does not do).
constexpr uint64_t kMaxPutBytes = uint64_t{5} << 30;
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kHashChunk = 1 << 20;

struct CurlUrlCleanup {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringFree {
  void operator()(char* s) const { curl_free(s); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(u, part, &raw, 0) != CURLUE_OK) return "";
  std::unique_ptr<char, CurlStringFree> s(raw);
  return s.get();
}

// S3's rules for new bucket names (3-63 of [a-z0-9.-], starting and ending with a letter or
// digit, no "..", not an IPv4 address): also what makes a name safe in a host name.
bool ValidBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  if (b.find("..") != std::string_view::npos) return false;
  bool digits_and_dots = true;
  for (char c : b) {
    if (!alnum(c) && c != '.' && c != '-') return false;
    if (c != '.' && !(c >= '0' && c <= '9')) digits_and_dots = false;
  }
  return !(digits_and_dots && std::count(b.begin(), b.end(), '.') == 3);
}

// MD5 (Content-MD5, the ETag of a single PUT) and SHA-256 (x-amz-content-sha256) of a body,
// fed in pieces so a file is hashed without holding it in memory.
class BodyDigests {
 public:
  BodyDigests() : md5_(EVP_MD_CTX_new()), sha256_(EVP_MD_CTX_new()) {
    if (!md5_ || !sha256_ || EVP_DigestInit_ex(md5_.get(), EVP_md5(), nullptr) != 1 ||
        EVP_DigestInit_ex(sha256_.get(), EVP_sha256(), nullptr) != 1) {
      std::abort();  // only when OpenSSL cannot allocate (as common/digest.h)
    }
  }
  void Update(const char* data, size_t n) {
    if (EVP_DigestUpdate(md5_.get(), data, n) != 1 ||
        EVP_DigestUpdate(sha256_.get(), data, n) != 1) {
      std::abort();
    }
  }
  // The raw MD5 and the SHA-256 hex.
  std::pair<std::string, std::string> Finish() {
    return {Final(md5_.get()), Hex(Final(sha256_.get()))};
  }

 private:
  static std::string Final(EVP_MD_CTX* c) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(c, md, &len) != 1) std::abort();
    return std::string(reinterpret_cast<const char*>(md), len);
  }
  EvpMdCtx md5_;
  EvpMdCtx sha256_;
};

Status CheckKey(std::string_view op, const std::string& key) {
  if (key.empty()) return InvalidArgument("S3 " + std::string(op) + ": the key is empty");
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgument("S3 " + std::string(op) + ": the key is longer than 1024 bytes");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  std::unique_ptr<CURLU, CurlUrlCleanup> u(curl_url());
  if (!u) return Internal("curl_url failed");
  if (config.endpoint.empty()) return InvalidArgument("S3Config.endpoint is empty");
  if (curl_url_set(u.get(), CURLUPART_URL, config.endpoint.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("S3Config.endpoint is not a URL: \"" + config.endpoint + "\"");
  }
  Endpoint ep;
  ep.scheme = UrlPart(u.get(), CURLUPART_SCHEME);
  if (ep.scheme != "http" && ep.scheme != "https") {
    return InvalidArgument("S3Config.endpoint must be http:// or https://: \"" + config.endpoint +
                           "\"");
  }
  if (!UrlPart(u.get(), CURLUPART_QUERY).empty() || !UrlPart(u.get(), CURLUPART_USER).empty()) {
    return InvalidArgument("S3Config.endpoint has a query or user: \"" + config.endpoint + "\"");
  }
  ep.host = UrlPart(u.get(), CURLUPART_HOST);
  const std::string port = UrlPart(u.get(), CURLUPART_PORT);
  if (!port.empty()) ep.host += ":" + port;
  ep.base_path = UrlPart(u.get(), CURLUPART_PATH);
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  if (sigv4::UriEncode(ep.base_path, true) != ep.base_path) {
    return InvalidArgument("S3Config.endpoint's path needs percent-encoding: \"" + config.endpoint +
                           "\"");
  }
  if (!ValidBucketName(config.bucket)) {
    return InvalidArgument("S3Config.bucket \"" + config.bucket +
                           "\" is not a valid bucket name (3-63 of a-z 0-9 . -, starting and "
                           "ending with a letter or digit)");
  }
  if (!config.path_style) ep.host = config.bucket + "." + ep.host;
  if (config.region.empty() || !std::all_of(config.region.begin(), config.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      })) {
    return InvalidArgument("S3Config.region \"" + config.region + "\" is not a region name");
  }
  if (config.access_key_id.empty()) return InvalidArgument("S3Config.access_key_id is empty");
  if (config.secret_access_key.empty()) {
    return InvalidArgument("S3Config.secret_access_key is empty");
  }
  if (config.list_page_size < 1 || config.list_page_size > 1000) {
    return InvalidArgument("S3Config.list_page_size must be 1 to 1000");
  }
  if (config.connect_timeout_ms <= 0 || config.request_timeout_ms <= 0) {
    return InvalidArgument("S3Config.connect_timeout_ms and request_timeout_ms must be positive");
  }
  return std::unique_ptr<S3Client>(new S3Client(std::move(config), std::move(ep)));
}

std::string S3Client::PathOf(std::string_view key) const {
  std::string path = endpoint_.base_path;
  if (config_.path_style) {
    path += "/" + config_.bucket;
    if (!key.empty()) path += "/";
  } else {
    path += "/";
  }
  path += key;
  return path;
}

Status S3Client::HttpError(std::string_view op, std::string_view key,
                           const S3Response& resp) const {
  std::optional<S3Error> err = ParseError(resp.body);
  std::string msg = "S3 " + std::string(op) + " \"" + config_.bucket + "/" + std::string(key) +
                    "\": HTTP " + std::to_string(resp.status);
  if (err) {
    msg += " " + err->code;
    if (!err->message.empty()) msg += ": " + err->message;
  }
  const std::string code = err ? err->code : "";
  if (resp.status == 500 || resp.status == 502 || resp.status == 503 || resp.status == 504 ||
      resp.status == 429 || code == "SlowDown" || code == "RequestTimeout" ||
      code == "InternalError") {
    return Unavailable(std::move(msg));
  }
  switch (resp.status) {
    case 400:
      return InvalidArgument(std::move(msg));
    case 403:
      return PermissionDenied(std::move(msg));
    case 404:
      return NotFound(std::move(msg));
    case 409:
      return AlreadyExists(std::move(msg));
    case 416:
      return OutOfRange(std::move(msg));
    default:  // 301 (another region's endpoint), 405, 411, 412...: not worth a retry
      return FailedPrecondition(std::move(msg));
  }
}

Result<std::string> S3Client::PutFile(const std::string& key, const std::string& path) {
  return Put(key, &path, {});
}

Result<std::string> S3Client::PutBytes(const std::string& key, std::string_view bytes) {
  return Put(key, nullptr, bytes);
}

Result<std::string> S3Client::Put(const std::string& key, const std::string* path,
                                  std::string_view bytes) {
  RETURN_IF_ERROR(CheckKey("PutObject", key));
  S3Request req;
  req.op = "PutObject";
  req.method = "PUT";
  req.key = key;
  req.upload = true;
  BodyDigests digests;
  std::optional<Fd> fd;
  if (path != nullptr) {
    fd.emplace(open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (fd->get() < 0) return ErrnoStatus(errno, "S3 PutObject: open " + *path);
    struct stat st;
    if (fstat(fd->get(), &st) != 0) return ErrnoStatus(errno, "S3 PutObject: stat " + *path);
    req.body_size = static_cast<uint64_t>(st.st_size);
    req.body_fd = fd->get();
    std::string chunk(kHashChunk, '\0');
    for (uint64_t pos = 0; pos < req.body_size;) {
      ssize_t got = pread(fd->get(), chunk.data(), chunk.size(), static_cast<off_t>(pos));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoStatus(errno, "S3 PutObject: read " + *path);
      if (got == 0) return IoError("S3 PutObject: " + *path + " shrank while it was read");
      digests.Update(chunk.data(), static_cast<size_t>(got));
      pos += static_cast<uint64_t>(got);
    }
  } else {
    req.body_bytes = bytes;
    req.body_size = bytes.size();
    digests.Update(bytes.data(), bytes.size());
  }
  if (req.body_size > kMaxPutBytes) {
    return InvalidArgument("S3 PutObject \"" + key + "\": " + std::to_string(req.body_size) +
                           " bytes is more than one PUT may carry (5 GiB)");
  }
  auto [md5, sha256_hex] = digests.Finish();
  req.payload_sha256 = sha256_hex;
  req.headers.emplace_back("content-md5", Base64Encode(md5));
  ASSIGN_OR_RETURN(S3Response resp, Send(req));
  if (resp.status != 200) return HttpError(req.op, key, resp);
  if (resp.etag.empty()) {
    return DataLoss("S3 PutObject \"" + config_.bucket + "/" + key + "\": the reply has no ETag");
  }
  return resp.etag;
}

Result<ObjectInfo> S3Client::Head(const std::string& key) {
  RETURN_IF_ERROR(CheckKey("HeadObject", key));
  S3Request req;
  req.op = "HeadObject";
  req.method = "HEAD";
  req.key = key;
  ASSIGN_OR_RETURN(S3Response resp, Send(req));
  if (resp.status != 200) return HttpError(req.op, key, resp);
  if (resp.content_length < 0) {
    return DataLoss("S3 HeadObject \"" + config_.bucket + "/" + key +
                    "\": the reply has no Content-Length");
  }
  return ObjectInfo{static_cast<uint64_t>(resp.content_length), resp.etag};
}

Status S3Client::GetRange(const std::string& key, uint64_t offset, size_t n, char* buf) {
  RETURN_IF_ERROR(CheckKey("GetObject", key));
  if (n == 0) return Status::Ok();
  const uint64_t last = offset + (n - 1);
  if (last < offset) return InvalidArgument("S3 GetObject \"" + key + "\": the range overflows");
  S3Request req;
  req.op = "GetObject";
  req.key = key;
  req.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" + std::to_string(last));
  req.sink = buf;
  req.sink_offset = offset;
  req.sink_n = n;
  ASSIGN_OR_RETURN(S3Response resp, Send(req));
  const std::string what = "S3 GetObject \"" + config_.bucket + "/" + key + "\" bytes " +
                           std::to_string(offset) + "-" + std::to_string(last);
  if (resp.status == 416) {
    return DataLoss(what + ": the object ends before byte " + std::to_string(offset));
  }
  if (resp.status != 200 && resp.status != 206) return HttpError(req.op, key, resp);
  if (resp.sink_misplaced || (resp.status == 206 && !resp.range_start)) {
    return DataLoss(what + ": the reply's Content-Range does not start at the offset asked for");
  }
  if (resp.sink_filled < n) {
    return DataLoss(what + ": the object is shorter (" + std::to_string(resp.sink_filled) + " of " +
                    std::to_string(n) + " bytes there)");
  }
  return Status::Ok();
}

Result<std::string> S3Client::Get(const std::string& key) {
  RETURN_IF_ERROR(CheckKey("GetObject", key));
  S3Request req;
  req.op = "GetObject";
  req.key = key;
  ASSIGN_OR_RETURN(S3Response resp, Send(req));
  if (resp.status != 200) return HttpError(req.op, key, resp);
  if (resp.content_length >= 0 && static_cast<uint64_t>(resp.content_length) != resp.body.size()) {
    return DataLoss("S3 GetObject \"" + config_.bucket + "/" + key +
                    "\": " + std::to_string(resp.body.size()) + " bytes of " +
                    std::to_string(resp.content_length));
  }
  return std::move(resp.body);
}

Status S3Client::Delete(const std::string& key) {
  RETURN_IF_ERROR(CheckKey("DeleteObject", key));
  S3Request req;
  req.op = "DeleteObject";
  req.method = "DELETE";
  req.key = key;
  ASSIGN_OR_RETURN(S3Response resp, Send(req));
  if (resp.status == 200 || resp.status == 204) return Status::Ok();
  // S3 answers 204 for a missing key; a 404 is a missing bucket, unless it says NoSuchKey.
  if (resp.status == 404) {
    std::optional<S3Error> err = ParseError(resp.body);
    if (err && err->code == "NoSuchKey") return Status::Ok();
  }
  return HttpError(req.op, key, resp);
}

Result<std::vector<ObjectEntry>> S3Client::List(const std::string& prefix) {
  std::vector<ObjectEntry> out;
  std::string token;
  for (;;) {
    S3Request req;
    req.op = "ListObjectsV2";
    // Keys come back URL-encoded, so any key survives XML 1.0 (which cannot hold some bytes).
    req.query = "encoding-type=url&list-type=2&max-keys=" + std::to_string(config_.list_page_size) +
                "&prefix=" + sigv4::UriEncode(prefix, false);
    if (!token.empty()) req.query += "&continuation-token=" + sigv4::UriEncode(token, false);
    ASSIGN_OR_RETURN(S3Response resp, Send(req));
    if (resp.status != 200) return HttpError(req.op, "?prefix=" + prefix, resp);
    Result<ListPage> page = ParseListObjectsV2(resp.body);
    if (!page.ok()) {
      return Status(page.status().code(), "S3 ListObjectsV2 \"" + config_.bucket + "/" + prefix +
                                              "\": " + page.status().message());
    }
    for (ObjectEntry& e : page->entries) out.push_back(std::move(e));
    if (!page->truncated) break;
    if (page->next_token == token) {
      return DataLoss("S3 ListObjectsV2 \"" + config_.bucket + "/" + prefix +
                      "\": the server repeated its continuation token");
    }
    token = std::move(page->next_token);
  }
  // S3 lists in key (UTF-8 byte) order already; sorted here too so other stores match.
  std::sort(out.begin(), out.end(),
            [](const ObjectEntry& a, const ObjectEntry& b) { return a.key < b.key; });
  return out;
}

Status S3Client::EnsureBucket() {
  S3Request head;
  head.op = "HeadBucket";
  head.method = "HEAD";
  ASSIGN_OR_RETURN(S3Response found, Send(head));
  if (found.status == 200) return Status::Ok();
  if (found.status != 404) return HttpError(head.op, "", found);

  S3Request create;
  create.op = "CreateBucket";
  create.method = "PUT";
  create.upload = true;
  // us-east-1 is the default location; anywhere else S3 wants it named.
  std::string body;
  if (config_.region != "us-east-1") {
    body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        config_.region + "</LocationConstraint></CreateBucketConfiguration>";
  }
  create.body_bytes = body;
  create.body_size = body.size();
  create.payload_sha256 = Sha256Hex(body);
  ASSIGN_OR_RETURN(S3Response made, Send(create));
  if (made.status == 200) return Status::Ok();
  std::optional<S3Error> err = ParseError(made.body);
  if (made.status == 409 && err && err->code == "BucketAlreadyOwnedByYou") return Status::Ok();
  if (made.status == 409) {
    // Made by someone else meanwhile, or (s3rver) ours and reported as BucketAlreadyExists:
    // ours if we can see it now.
    ASSIGN_OR_RETURN(S3Response again, Send(head));
    if (again.status == 200) return Status::Ok();
  }
  return HttpError(create.op, "", made);
}

}  // namespace streamarc::objectstore