// libcurl, wrapped for the SDK. Why libcurl: it is what the KVS producer SDKs use, it is in
// Debian and well kept, and it does the two things PutMedia needs without a hand-written
// HTTP stack: a live chunked request body (CURLOPT_READFUNCTION returning
// CURL_READFUNC_PAUSE while no bytes are ready, resumed with curl_easy_pause) and the
// response bytes as they arrive (CURLOPT_WRITEFUNCTION) for the ACK stream, both on one
// connection, driven by a multi handle that another thread can wake (curl_multi_wakeup).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/sigv4.h"
#include "common/status.h"

namespace streamarc::producer {

struct CurlEasyCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyCleanup>;
struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistFree>;
struct CurlMultiCleanup {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using CurlMulti = std::unique_ptr<CURLM, CurlMultiCleanup>;

// What a request needs to be signed and sent.
struct SignContext {
  std::string region;
  sigv4::Credentials credentials;
  std::string user_agent;
  // CA certificates (PEM) trusted for an https endpoint (CURLOPT_CAINFO); empty: the system's.
  std::string ca_cert;
};

// The CA file a client trusts: `ca_cert` when given, else $AWS_CA_BUNDLE (as the AWS CLI and
// SDKs read it), else "" (the system's store). kInvalidArgument naming a file that cannot be
// read.
Result<std::string> ResolveCaCert(const std::string& ca_cert);

// Sets a CA file on a handle (nothing for "").
void SetCaCert(CURL* c, const std::string& ca_cert);

// "host[:port]" and the path prefix of an http(s) URL, parsed by curl's URL API.
struct ParsedUrl {
  std::string scheme;
  std::string host_header;  // as curl sends it in Host:
  std::string path;         // without a trailing '/'
};
Result<ParsedUrl> ParseUrl(const std::string& url);

// The signed header lines ("Name: value") for a request to `path` at `url`, with `headers`
// (lowercase names) signed too and included. `payload_hash` is the body's SHA-256 hex.
Result<CurlSlist> SignedHeaderList(const ParsedUrl& url, const std::string& path,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   const std::string& payload_hash, const SignContext& ctx,
                                   int64_t now_micros);

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string error_type;  // x-amzn-ErrorType, cut at ':'
};

// A blocking signed POST of a JSON body (the control plane). kUnavailable when the server
// cannot be reached or did not answer within `timeout_ms`.
Result<HttpResponse> PostJson(const std::string& base_url, const std::string& path,
                              const std::string& body, const SignContext& ctx,
                              int64_t connect_timeout_ms, int64_t timeout_ms, int64_t now_micros);

}  // namespace streamarc::producer
