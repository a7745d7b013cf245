#include "server/http_range.h"

#include <cctype>
#include <charconv>

namespace streamarc::server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A non-empty run of decimal digits that fits in 64 bits.
std::optional<uint64_t> Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

RangeRequest ParseRange(std::string_view value, uint64_t length) {
  RangeRequest none;
  value = Trim(value);
  if (!StartsWithNoCase(value, "bytes")) return none;
  value = Trim(value.substr(5));
  if (value.empty() || value.front() != '=') return none;
  value = Trim(value.substr(1));
  if (value.find(',') != std::string_view::npos) return none;  // multi-range: whole body
  size_t dash = value.find('-');
  if (dash == std::string_view::npos) return none;
  std::string_view a = Trim(value.substr(0, dash)), b = Trim(value.substr(dash + 1));
  RangeRequest out;
  if (a.empty()) {  // suffix: the last n bytes
    std::optional<uint64_t> n = Number(b);
    if (!n) return none;
    if (*n == 0 || length == 0) {
      out.kind = RangeKind::kUnsatisfiable;
      return out;
    }
    out.kind = RangeKind::kSatisfiable;
    out.range.first = *n >= length ? 0 : length - *n;
    out.range.last = length - 1;
    return out;
  }
  std::optional<uint64_t> first = Number(a);
  if (!first) return none;
  std::optional<uint64_t> last;
  if (!b.empty()) {
    last = Number(b);
    if (!last || *last < *first) return none;  // invalid: ignored
  }
  if (*first >= length) {
    out.kind = RangeKind::kUnsatisfiable;
    return out;
  }
  out.kind = RangeKind::kSatisfiable;
  out.range.first = *first;
  out.range.last = last && *last < length ? *last : length - 1;
  return out;
}

HttpResponse ServeBody(const HttpRequest& request, std::string body, std::string content_type,
                       std::vector<Header> extra_headers) {
  HttpResponse r{200, std::move(content_type), std::move(extra_headers), {}};
  r.headers.push_back({"accept-ranges", "bytes"});
  const bool head = request.method == "HEAD";
  // Looked up here rather than with HttpRequest::FindHeader, which lives with the HTTP
  // server: this file stays free of it (the fuzz build compiles it alone).
  const std::string* range = nullptr;
  for (const Header& h : request.headers) {
    if (h.name == "range") range = &h.value;
  }
  const uint64_t length = body.size();
  RangeRequest parsed = range ? ParseRange(*range, length) : RangeRequest{};
  switch (parsed.kind) {
    case RangeKind::kNone:
      r.body = std::move(body);
      break;
    case RangeKind::kUnsatisfiable:
      r.status = 416;
      r.headers.push_back({"content-range", "bytes */" + std::to_string(length)});
      break;
    case RangeKind::kSatisfiable:
      r.status = 206;
      r.headers.push_back({"content-range", "bytes " + std::to_string(parsed.range.first) + "-" +
                                                std::to_string(parsed.range.last) + "/" +
                                                std::to_string(length)});
      if (parsed.range.first == 0 && parsed.range.last + 1 == length) {
        r.body = std::move(body);
      } else {
        r.body = body.substr(parsed.range.first, parsed.range.last - parsed.range.first + 1);
      }
      break;
  }
  if (head) r.body.clear();
  return r;
}

}  // namespace streamarc::server
