#include "objectstore/s3.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>

#include "common/base64.h"
#include "common/digest.h"
#include "common/mutex.h"
#include "common/sigv4.h"

namespace streamarc::objectstore {

namespace {

// S3's size limit for one PUT (beyond it, multipart upload, which this client does not do).
constexpr uint64_t kMaxPutBytes = uint64_t{5} << 30;
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxIdleHandles = 8;
constexpr size_t kHashChunk = 1 << 20;
// "slower than 1 kB/s for 30 s" fails a transfer (S3Config::request_timeout_ms).
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr long kLowSpeedSeconds = 30;

struct CurlEasyCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyCleanup>;
struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistFree>;
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

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

Status CheckKey(std::string_view op, const std::string& key) {
  if (key.empty()) return InvalidArgument("S3 " + std::string(op) + ": the key is empty");
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgument("S3 " + std::string(op) + ": the key is longer than 1024 bytes");
  }
  return Status::Ok();
}

}  // namespace

// Idle easy handles, each keeping its own connection open for the next request. Thread-safe.
class CurlPool {
 public:
  // A handle with default options (and its live connections), or a new one; null only when
  // curl cannot allocate.
  CurlEasy Take() {
    {
      MutexLock lock(mu_);
      if (!idle_.empty()) {
        CurlEasy c = std::move(idle_.back());
        idle_.pop_back();
        curl_easy_reset(c.get());  // options back to defaults; connections kept
        return c;
      }
    }
    return CurlEasy(curl_easy_init());
  }
  void Give(CurlEasy c) {
    MutexLock lock(mu_);
    if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(c));
  }

 private:
  Mutex mu_;
  std::vector<CurlEasy> idle_ GUARDED_BY(mu_);
};

namespace {

// Returns a taken handle to the pool however the request ends.
class Lease {
 public:
  explicit Lease(CurlPool& pool) : pool_(pool), c_(pool.Take()) {}
  ~Lease() {
    if (c_) pool_.Give(std::move(c_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  CURL* get() const { return c_.get(); }

 private:
  CurlPool& pool_;
  CurlEasy c_;
};

}  // namespace

// One request: what is signed and sent, where the body comes from and where a ranged GET's
// bytes go.
struct S3Request {
  std::string op;  // S3's name for it, in messages: "PutObject"
  std::string method = "GET";
  std::string key;    // "" for a bucket request
  std::string query;  // percent-encoded, without '?'
  // Lowercase names; signed and sent with host, x-amz-content-sha256, x-amz-date.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256 = std::string(sigv4::kEmptyPayloadSha256);
  // The body of a PUT: `body_bytes`, or `body_size` bytes of the file `body_fd`.
  bool upload = false;
  std::string_view body_bytes;
  int body_fd = -1;
  uint64_t body_size = 0;
  uint64_t body_pos = 0;
  // A GET into `sink` (bytes [sink_offset, sink_offset + sink_n) of the object) instead of
  // into S3Response::body.
  char* sink = nullptr;
  uint64_t sink_offset = 0;
  size_t sink_n = 0;
};

struct S3Response {
  long status = 0;
  std::string body;                     // an error reply, or the body of a GET without a sink
  std::string etag;                     // unquoted
  std::optional<uint64_t> range_start;  // a 206's Content-Range first byte
  int64_t content_length = -1;
  // The sink: bytes of the response body seen, bytes copied, and whether the body did not
  // start at or before the offset asked for.
  uint64_t body_seen = 0;
  size_t sink_filled = 0;
  bool sink_misplaced = false;
  bool sink_full_early = false;  // the transfer was stopped once the sink was full
};

namespace {

struct Transfer {
  CURL* curl;
  S3Request* req;
  S3Response* resp;
};

}  // namespace

// Trampolines for curl: noexcept, nothing here throws.
namespace {

size_t OnHeader(char* data, size_t size, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue): start over
    t->resp->etag.clear();
    t->resp->range_start.reset();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (name == "etag") {
    t->resp->etag = Unquote(std::string(value));
  } else if (name == "content-range" && value.starts_with("bytes ")) {
    // "bytes first-last/size"
    std::string_view v = value.substr(6);
    uint64_t first = 0;
    size_t i = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9' && first < (UINT64_MAX / 10 - 9); ++i) {
      first = first * 10 + static_cast<uint64_t>(v[i] - '0');
    }
    if (i > 0 && i < v.size() && v[i] == '-') t->resp->range_start = first;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  S3Request& req = *t->req;
  S3Response& resp = *t->resp;
  if (req.sink == nullptr || (status != 200 && status != 206)) {
    resp.body.append(data, len);
    return len;
  }
  // The body's first byte is the object's `start`: 0 for a 200 (a server that ignored Range).
  const uint64_t start = status == 206 ? resp.range_start.value_or(UINT64_MAX) : 0;
  if (start > req.sink_offset) {
    resp.sink_misplaced = true;
    return 0;  // stops the transfer
  }
  const uint64_t skip = req.sink_offset - start;  // body bytes before the wanted ones
  const uint64_t from = resp.body_seen;
  resp.body_seen += len;
  if (resp.body_seen > skip) {
    const uint64_t begin = std::max(from, skip);
    const uint64_t want_end = skip + req.sink_n;
    const uint64_t end = std::min(resp.body_seen, want_end);
    if (end > begin) {
      std::copy(data + (begin - from), data + (end - from), req.sink + (begin - skip));
      resp.sink_filled = static_cast<size_t>(end - skip);
    }
    if (resp.body_seen > want_end) {
      // More than asked for (a server that answers a 1-byte range with the rest): stop here.
      resp.sink_full_early = true;
      return 0;
    }
  }
  return len;
}

size_t OnRead(char* out, size_t size, size_t n, void* user) noexcept {
  auto* req = static_cast<S3Request*>(user);
  const size_t room = size * n;
  const uint64_t left = req->body_size - req->body_pos;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(room, left));
  if (want == 0) return 0;
  if (req->body_fd < 0) {
    std::copy_n(req->body_bytes.data() + req->body_pos, want, out);
    req->body_pos += want;
    return want;
  }
  ssize_t got;
  do {
    got = pread(req->body_fd, out, want, static_cast<off_t>(req->body_pos));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return CURL_READFUNC_ABORT;  // an error, or the file shrank since it was hashed
  req->body_pos += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

// curl rewinds the body when it must send it again (a reused connection that was closed).
int OnSeek(void* user, curl_off_t offset, int origin) noexcept {
  auto* req = static_cast<S3Request*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > req->body_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  req->body_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
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

S3Client::S3Client(S3Config config, Endpoint endpoint)
    : config_(std::move(config)),
      endpoint_(std::move(endpoint)),
      clock_(config_.clock != nullptr ? *config_.clock : system_clock_),
      pool_(std::make_unique<CurlPool>()) {}

S3Client::~S3Client() = default;

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

Result<S3Response> S3Client::Send(S3Request& req) {
  const std::string path = PathOf(req.key);
  sigv4::Request to_sign;
  to_sign.method = req.method;
  to_sign.path = path;
  to_sign.query = req.query;
  to_sign.headers = req.headers;
  to_sign.headers.emplace_back("host", endpoint_.host);
  to_sign.headers.emplace_back("x-amz-content-sha256", req.payload_sha256);
  to_sign.payload_sha256_hex = req.payload_sha256;
  ASSIGN_OR_RETURN(auto auth_headers,
                   sigv4::Sign(to_sign, {config_.access_key_id, config_.secret_access_key, {}},
                               config_.region, "s3", clock_.NowMicros()));
  curl_slist* list = nullptr;
  auto append = [&list](const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next != nullptr) list = next;
    return next != nullptr;
  };
  bool appended = true;
  for (const auto& [name, value] : to_sign.headers) {
    if (name != "x-amz-date") appended = appended && append(name + ": " + value);
  }
  for (const auto& [name, value] : auth_headers) appended = appended && append(name + ": " + value);
  CurlSlist headers(list);
  if (!appended) return Internal("curl_slist_append failed");

  // The same encoding as the canonical request's, so what is signed is what is sent.
  std::string url = endpoint_.scheme + "://" + endpoint_.host + sigv4::UriEncode(path, true);
  if (!req.query.empty()) url += "?" + req.query;

  Lease lease(*pool_);
  CURL* c = lease.get();
  if (c == nullptr) return Internal("curl_easy_init failed");
  S3Response resp;
  Transfer transfer{c, &req, &resp};
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // keys may hold "/../": send them unchanged
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout_ms));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  if (!config_.ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_cert.c_str());
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.upload) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &req);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &req);
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  req.body_pos = 0;
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc == CURLE_WRITE_ERROR && (resp.sink_full_early || resp.sink_misplaced)) return resp;
  if (rc != CURLE_OK) {
    std::string msg = "S3 " + req.op + " \"" + config_.bucket + "/" + req.key + "\" (" +
                      req.method + " " + url + "): " + curl_easy_strerror(rc);
    if (error[0] != '\0') msg += std::string(": ") + error;
    switch (rc) {
      case CURLE_READ_ERROR:
      case CURLE_ABORTED_BY_CALLBACK:
        return IoError(msg + " (reading the body failed, or the file changed)");
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return FailedPrecondition(msg);
      default:  // cannot connect, timed out, connection dropped: worth retrying
        return Unavailable(msg);
    }
  }
  curl_off_t length = -1;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK) {
    resp.content_length = length;
  }
  return resp;
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
