#include "server/http_wire.h"

#include <algorithm>
#include <charconv>

namespace streamarc::server {

// Here, with the other pure pieces of HTTP, so parsers compiled alone (fuzz targets) have it.
const std::string* HttpRequest::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

namespace {

constexpr size_t kMaxTargetBytes = 16 << 10;

bool IsTokenChar(unsigned char c) {
  // RFC 9110 5.6.2 tchar.
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

// Field values: visible characters, spaces, tabs and obs-text; no other control characters.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    unsigned char c = static_cast<unsigned char>(ch);
    return c == '\t' || c >= 0x20 ? c != 0x7f : false;
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
bool ListHas(std::string_view value, std::string_view token) {
  size_t p = 0;
  while (p <= value.size()) {
    size_t q = value.find(',', p);
    if (q == std::string_view::npos) q = value.size();
    if (Lower(Trim(value.substr(p, q - p))) == token) return true;
    p = q + 1;
  }
  return false;
}

HeadResult Fail(int status, std::string message) {
  HeadResult r;
  r.state = HeadParse::kError;
  r.error_status = status;
  r.error_message = std::move(message);
  return r;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace

std::string FormatResponseHead(int status, std::string_view content_type,
                               const std::vector<Header>& headers, bool chunked, uint64_t length,
                               bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += ReasonPhrase(status);
  out += "\r\n";
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  if (!content_type.empty()) add("content-type", content_type);
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (chunked) {
    add("transfer-encoding", "chunked");
  } else if (!bodiless) {
    add("content-length", std::to_string(length));
  }
  for (const Header& h : headers) add(h.name, h.value);
  if (close) add("connection", "close");
  out += "\r\n";
  return out;
}

bool SplitTarget(std::string_view target, RequestHead* head) {
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, &head->path)) return false;
  if (head->path.find('\0') != std::string::npos) return false;
  head->query.clear();
  head->raw_query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  head->raw_query = rest;
  size_t p = 0;
  while (p <= rest.size()) {
    size_t amp = rest.find('&', p);
    if (amp == std::string_view::npos) amp = rest.size();
    std::string arg;
    if (!PercentDecode(rest.substr(p, amp - p), true, &arg)) return false;
    if (!arg.empty()) {
      if (!head->query.empty()) head->query += '&';
      head->query += arg;
    }
    p = amp + 1;
  }
  return true;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else if (c == '%') {
      unsigned value = 0;
      if (i + 2 >= in.size()) return false;
      auto [ptr, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16);
      if (ec != std::errc() || ptr != in.data() + i + 3) return false;
      out->push_back(static_cast<char>(value));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

HeadResult ParseRequestHead(std::string_view in, const HeadLimits& limits, RequestHead* head) {
  // Leading empty lines are allowed before a request line.
  size_t start = 0;
  while (start + 1 < in.size() && in[start] == '\r' && in[start + 1] == '\n') start += 2;
  const size_t end = in.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (in.size() - start > limits.max_head_bytes) {
      return Fail(431, "The request head is larger than " + std::to_string(limits.max_head_bytes) +
                           " bytes");
    }
    // A bare LF is refused at once rather than waited on until the time-out.
    for (size_t i = in.find('\n', start); i != std::string_view::npos; i = in.find('\n', i + 1)) {
      if (i == start || in[i - 1] != '\r') return Fail(400, "Lines must end with CRLF");
    }
    return {};
  }
  if (end - start > limits.max_head_bytes) {
    return Fail(
        431, "The request head is larger than " + std::to_string(limits.max_head_bytes) + " bytes");
  }
  std::string_view block = in.substr(start, end + 2 - start);  // each line ends with CRLF

  *head = RequestHead();
  // Request line: method SP request-target SP HTTP-version.
  size_t eol = block.find("\r\n");
  std::string_view line = block.substr(0, eol);
  if (line.find('\n') != std::string_view::npos) return Fail(400, "Lines must end with CRLF");
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "Malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "Malformed method");
  if (version == "HTTP/1.1") {
    head->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head->minor_version = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/") {
    return Fail(505, "Only HTTP/1.0 and HTTP/1.1 are served");
  } else {
    return Fail(400, "Malformed HTTP version");
  }
  if (target.size() > kMaxTargetBytes) return Fail(414, "The request target is too long");
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
      })) {
    return Fail(400, "Malformed request target");
  }
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target != "*" && target.front() != '/') return Fail(400, "Malformed request target");
  if (target == "*" && method != "OPTIONS") return Fail(400, "Malformed request target");
  head->method = std::string(method);
  if (!SplitTarget(target, head)) return Fail(400, "Malformed percent-encoding in the target");

  // Header fields.
  bool has_length = false;
  bool has_te = false;
  std::string connection;
  size_t p = eol + 2;
  while (p < block.size()) {
    size_t e = block.find("\r\n", p);
    std::string_view field = block.substr(p, e - p);
    p = e + 2;
    if (field.find('\n') != std::string_view::npos || field.find('\r') != std::string_view::npos) {
      return Fail(400, "Lines must end with CRLF");
    }
    if (field.front() == ' ' || field.front() == '\t') {
      return Fail(400, "Obsolete line folding is not accepted");
    }
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) {
      return Fail(400, "Malformed header field");
    }
    std::string_view value = Trim(field.substr(colon + 1));
    if (!IsFieldValue(value)) return Fail(400, "Control characters in a header value");
    if (head->headers.size() >= limits.max_headers) return Fail(431, "Too many header fields");
    std::string name = Lower(field.substr(0, colon));
    if (name == "content-length") {
      uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return Fail(400, "Malformed Content-Length");
      }
      if (has_length && n != head->content_length) return Fail(400, "Conflicting Content-Length");
      has_length = true;
      head->content_length = n;
    } else if (name == "transfer-encoding") {
      if (has_te || Lower(value) != "chunked") {
        return Fail(501, "Only Transfer-Encoding: chunked is accepted");
      }
      has_te = true;
    } else if (name == "connection") {
      if (!connection.empty()) connection += ',';
      connection += value;
    } else if (name == "expect") {
      if (Lower(value) != "100-continue") return Fail(417, "Only Expect: 100-continue is met");
      head->expect_continue = true;
    }
    head->headers.push_back({std::move(name), std::string(value)});
  }
  if (has_te && has_length) {
    return Fail(400, "Content-Length and Transfer-Encoding together are refused");
  }
  if (has_te && head->minor_version == 0) return Fail(400, "Chunked bodies need HTTP/1.1");
  head->chunked = has_te;
  head->keep_alive =
      head->minor_version == 1 ? !ListHas(connection, "close") : ListHas(connection, "keep-alive");
  HeadResult r;
  r.state = HeadParse::kDone;
  r.consumed = end + 4;
  return r;
}

}  // namespace streamarc::server
