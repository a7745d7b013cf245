// HTTP/1.1 on the wire (RFC 9112): request heads parsed from the front of a connection's
// input, response heads formatted. Pure: no sockets, so it is unit-tested and fuzzed alone.
//
// Why our own: libwebsockets 4.1.6 (Debian 12) cannot answer a request asynchronously while
// the next pipelined request waits behind it (see http_server.cc), so the server takes the raw
// bytes from lws and frames requests itself. Only what the server needs is accepted:
//   - origin-form targets ("/path?query"), "*" for OPTIONS, and absolute-form
//     ("http://host/path"), which is reduced to its path;
//   - HTTP/1.0 and HTTP/1.1 (anything else: 505);
//   - a body framed by one Content-Length or by Transfer-Encoding: chunked, never both
//     (both, several different lengths, or another coding: 400/501, the request smuggling
//     cases);
//   - CRLF line ends, no obsolete line folding, no control characters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"

namespace streamarc::server {

struct RequestHead {
  std::string method;
  std::string path;       // percent-decoded
  std::string query;      // each name and value percent-decoded ('+' is a space), joined by '&'
  std::string raw_query;  // as received, without the '?'
  int minor_version = 1;
  std::vector<Header> headers;  // names lower-cased, values trimmed, in arrival order
  bool keep_alive = true;       // HTTP/1.1 unless "Connection: close"; 1.0 only if asked
  bool chunked = false;         // Transfer-Encoding: chunked
  uint64_t content_length = 0;  // 0 when chunked
  bool expect_continue = false;
};

struct HeadLimits {
  size_t max_head_bytes = 64 << 10;  // request line plus headers
  size_t max_headers = 128;
};

enum class HeadParse {
  kDone,      // `head` is filled; `consumed` bytes of the input belong to it
  kNeedMore,  // no complete head yet
  kError,     // `error_status` and `error_message` say why; the connection must close
};

struct HeadResult {
  HeadParse state = HeadParse::kNeedMore;
  size_t consumed = 0;
  int error_status = 0;  // 400, 414 (target too long), 431, 501, 505
  std::string error_message;
};

// Parses the head at the front of `in`. Empty lines before the request line are skipped
// (RFC 9112 2.2). Re-parses from the start on every call, so callers keep unconsumed bytes.
HeadResult ParseRequestHead(std::string_view in, const HeadLimits& limits, RequestHead* head);

// Splits an origin-form target ("path?query") into `head`'s path, query and raw_query, decoded
// as ParseRequestHead does (query arguments one by one, so handlers see the same strings).
// False when an escape is malformed or the path holds a NUL. (HTTP/2's :path uses it too.)
bool SplitTarget(std::string_view target, RequestHead* head);

// Decodes %XX escapes; '+' becomes a space when `plus_is_space`. False on a malformed escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// "HTTP/1.1 200 OK\r\n" and the fields, then the empty line. The framing is
// "transfer-encoding: chunked" when `chunked`, else "content-length: `length`" (none for
// 1xx, 204 and 304); "connection: close" when `close`.
std::string FormatResponseHead(int status, std::string_view content_type,
                               const std::vector<Header>& headers, bool chunked, uint64_t length,
                               bool close);

}  // namespace streamarc::server
