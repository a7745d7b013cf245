// HLS/DASH session parsing: the session request JSON, the query strings of playlist and
// segment URLs, base64url, and session tokens, including tokens whose payload is arbitrary
// but correctly signed (so the payload parser is reached, not just the MAC check).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/digest.h"
#include "playback/hls.h"

namespace {

constexpr std::string_view kKey = "fuzz-key-fuzz-key-fuzz-key-0123";

std::string Sign(std::string_view payload) {
  return streamarc::Base64UrlEncode(payload) + "." +
         streamarc::Base64UrlEncode(streamarc::HmacSha256(kKey, payload)) + "~";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamarc::playback;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const int64_t now = 1'700'000'000'000'000;
  for (SessionKind kind : {SessionKind::kHls, SessionKind::kDash}) {
    auto req = ParseSessionRequest(kind, in, now);
    if (req.ok()) {
      // Whatever the parser accepts must survive a token round trip unchanged.
      req->params.stream_name = "fuzz";
      auto back = DecodeSessionToken(EncodeSessionToken(req->params, kKey), kKey, now);
      if (!back.ok() || !(*back == req->params)) __builtin_trap();
    }
  }
  (void)ParseSegmentQuery(in);
  (void)DecodeSessionToken(in, kKey, now);
  (void)DecodeSessionToken(Sign(in), kKey, now);
  auto decoded = streamarc::Base64UrlDecode(in);
  if (decoded.ok() && streamarc::Base64UrlEncode(*decoded) != in) __builtin_trap();
  return 0;
}
