// Feeds arbitrary bytes to the HTTP/1.1 request-head parser, whole and split in two at a
// point the input picks. Invariants: nothing crashes or hangs; a parsed head never claims
// more bytes than it was given; splitting the input never turns a refusal into a head or
// changes what a complete head parses to; every refusal carries a status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http_wire.h"

using streamarc::server::HeadLimits;
using streamarc::server::HeadParse;
using streamarc::server::HeadResult;
using streamarc::server::ParseRequestHead;
using streamarc::server::RequestHead;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  HeadLimits limits;
  limits.max_head_bytes = 4096;  // small, so the limit is reached often
  limits.max_headers = 16;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestHead whole;
  HeadResult r = ParseRequestHead(in, limits, &whole);
  if (r.state == HeadParse::kDone && (r.consumed == 0 || r.consumed > in.size())) abort();
  if (r.state == HeadParse::kError && (r.error_status < 400 || r.error_status > 599)) abort();
  // A prefix of the input may need more, but a complete head must parse to the same thing.
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  RequestHead part;
  HeadResult p = ParseRequestHead(in.substr(0, cut), limits, &part);
  if (p.state == HeadParse::kDone) {
    if (r.state != HeadParse::kDone || p.consumed != r.consumed || part.path != whole.path ||
        part.query != whole.query || part.content_length != whole.content_length) {
      abort();
    }
  }
  if (r.state == HeadParse::kDone) {
    for (const auto& h : whole.headers) {
      for (char c : h.name) {
        if (c >= 'A' && c <= 'Z') abort();  // names are lower-cased
      }
    }
    if (whole.chunked && whole.content_length != 0) abort();
  }
  return 0;
}
