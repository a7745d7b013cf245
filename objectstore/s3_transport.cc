// The libcurl transport behind S3Client: a pool of easy handles (one kept-alive connection
// each), the curl callbacks, and S3Client::Send, which signs a request and performs it.
#include "objectstore/s3_transport.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>

#include "common/mutex.h"
#include "common/sigv4.h"
#include "objectstore/s3.h"

namespace streamarc::objectstore {

namespace {

constexpr size_t kMaxIdleHandles = 8;
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

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
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

// Here rather than in s3.cc: constructing and destroying pool_ needs CurlPool complete.
S3Client::S3Client(S3Config config, Endpoint endpoint)
    : config_(std::move(config)),
      endpoint_(std::move(endpoint)),
      clock_(config_.clock != nullptr ? *config_.clock : system_clock_),
      pool_(std::make_unique<CurlPool>()) {}

S3Client::~S3Client() = default;

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

}  // namespace streamarc::objectstore
