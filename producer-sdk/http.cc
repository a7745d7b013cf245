#include "producer-sdk/http.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace streamarc::producer {

namespace {

struct CurlUrlCleanup {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringFree {
  void operator()(char* s) const { curl_free(s); }
};

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(u, part, &raw, 0) != CURLUE_OK) return "";
  std::unique_ptr<char, CurlStringFree> s(raw);
  return s.get();
}

size_t CollectBody(char* data, size_t size, size_t n, void* user) noexcept {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) noexcept {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "x-amzn-errortype:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string_view v = line.substr(kName.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    size_t end = v.find_first_of(":\r\n");
    *static_cast<std::string*>(user) = std::string(v.substr(0, end));
  }
  return size * n;
}

}  // namespace

Result<ParsedUrl> ParseUrl(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlCleanup> u(curl_url());
  if (!u) return Internal("curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("not a URL: \"" + url + "\"");
  }
  ParsedUrl out;
  out.scheme = UrlPart(u.get(), CURLUPART_SCHEME);
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgument("endpoint must be http:// or https://: \"" + url + "\"");
  }
  out.host_header = UrlPart(u.get(), CURLUPART_HOST);
  std::string port = UrlPart(u.get(), CURLUPART_PORT);
  if (!port.empty()) out.host_header += ":" + port;
  out.path = UrlPart(u.get(), CURLUPART_PATH);
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

Result<std::string> ResolveCaCert(const std::string& ca_cert) {
  std::string path = ca_cert;
  const char* from = "CA certificate file";
  if (path.empty()) {
    const char* env = std::getenv("AWS_CA_BUNDLE");
    if (env == nullptr || *env == '\0') return std::string();
    path = env;
    from = "AWS_CA_BUNDLE";
  }
  if (access(path.c_str(), R_OK) != 0) {
    return InvalidArgument(std::string(from) + " " + path +
                           ": cannot read it: " + std::strerror(errno));
  }
  return path;
}

void SetCaCert(CURL* c, const std::string& ca_cert) {
  if (!ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_cert.c_str());
}

Result<CurlSlist> SignedHeaderList(const ParsedUrl& url, const std::string& path,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   const std::string& payload_hash, const SignContext& ctx,
                                   int64_t now_micros) {
  sigv4::Request req;
  req.method = "POST";
  req.path = url.path + path;
  req.headers = headers;
  req.headers.emplace_back("host", url.host_header);
  req.headers.emplace_back("user-agent", ctx.user_agent);
  req.payload_sha256_hex = payload_hash;
  ASSIGN_OR_RETURN(auto auth,
                   sigv4::Sign(req, ctx.credentials, ctx.region, "kinesisvideo", now_micros));
  headers.emplace_back("Host", url.host_header);
  headers.emplace_back("User-Agent", ctx.user_agent);
  headers.insert(headers.end(), auth.begin(), auth.end());
  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) {
    curl_slist* next = curl_slist_append(list, (k + ": " + v).c_str());
    if (!next) {
      curl_slist_free_all(list);
      return Internal("curl_slist_append failed");
    }
    list = next;
  }
  return CurlSlist(list);
}

Result<HttpResponse> PostJson(const std::string& base_url, const std::string& path,
                              const std::string& body, const SignContext& ctx,
                              int64_t connect_timeout_ms, int64_t timeout_ms, int64_t now_micros) {
  ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(base_url));
  ASSIGN_OR_RETURN(CurlSlist headers,
                   SignedHeaderList(url, path, {{"content-type", "application/json"}},
                                    Sha256Hex(body), ctx, now_micros));
  CurlEasy c(curl_easy_init());
  if (!c) return Internal("curl_easy_init failed");
  HttpResponse resp;
  std::string full = url.scheme + "://" + url.host_header + url.path + path;
  // Expect: 100-continue would stall small bodies on servers that do not answer it.
  curl_slist* with_expect = curl_slist_append(headers.get(), "Expect:");
  if (!with_expect) return Internal("curl_slist_append failed");
  curl_easy_setopt(c.get(), CURLOPT_URL, full.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &resp.error_type);
  SetCaCert(c.get(), ctx.ca_cert);
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    return Unavailable("POST " + full + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace streamarc::producer
