// Feeds arbitrary signed-looking requests to the SigV4 verifier: the Authorization header,
// the query (presigned form), X-Amz-Date and the body come from the input. Nothing may crash,
// and no request to an API may pass, since the input cannot know the secret.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/sigv4.h"
#include "server/auth.h"

namespace {

// The next '\n'-separated field of `in`, consumed.
std::string Field(std::string_view* in) {
  size_t nl = in->find('\n');
  std::string out(in->substr(0, nl));
  in->remove_prefix(nl == std::string_view::npos ? in->size() : nl + 1);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamarc;
  if (size < 1) return 0;
  static const char* const kPaths[] = {"/describeStream", "/putMedia",    "/getMedia",
                                       "/thumbnail",      "/listStreams", "/noSuchOperation"};
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  server::HttpRequest r;
  r.path = kPaths[data[0] % 6];
  r.method = r.path == "/thumbnail" ? "GET" : "POST";
  const std::string authorization = Field(&in);
  r.raw_query = Field(&in);
  r.query = r.raw_query;
  const std::string amz_date = Field(&in);
  r.body = std::string(in);
  r.headers.push_back({"host", "127.0.0.1:8080"});
  if (!authorization.empty()) r.headers.push_back({"authorization", authorization});
  if (!amz_date.empty()) r.headers.push_back({"x-amz-date", amz_date});
  if (data[0] & 0x80) r.headers.push_back({"x-amzn-stream-name", "cam-1"});

  // The parsers alone, then the whole check.
  (void)sigv4::ParseAuthorization(authorization);
  (void)sigv4::ParsePresignedQuery(r.raw_query);
  (void)sigv4::QueryWithoutSignature(r.raw_query);
  (void)sigv4::ParseAmzDate(amz_date);

  server::AuthOptions options;
  options.keys = {{"AKIDFUZZ", "fuzz-secret", {"cam-*"}, server::kRightRead}};
  auto refusal = server::Authenticate(r, options, 1'764'000'000'000'000);
  if (!refusal) abort();  // a forged signature passed
  return 0;
}
