#include "common/sigv4.h"

#include <algorithm>
#include <ctime>
#include <map>

namespace streamarc::sigv4 {

namespace {

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and collapses inner runs of spaces, as SigV4's canonical header values require.
std::string TrimCollapse(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Lowercase name -> values joined by ',' (a sorted map gives the canonical order).
std::map<std::string, std::string> CanonicalHeaders(const Request& r) {
  std::map<std::string, std::string> h;
  for (const auto& [name, value] : r.headers) {
    std::string key = ToLower(name);
    std::string v = TrimCollapse(value);
    auto [it, inserted] = h.emplace(key, v);
    if (!inserted) it->second += "," + v;
  }
  return h;
}

// Percent-decodes a query component as received ('+' stays '+': SigV4 clients encode spaces
// as %20), so it can be re-encoded canonically.
std::string UriDecode(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    size_t amp = query.find('&', pos);
    std::string_view part = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string_view k = part.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? "" : part.substr(eq + 1);
      params.emplace_back(UriEncode(UriDecode(k), false), UriEncode(UriDecode(v), false));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xF]);
    }
  }
  return out;
}

std::string SignedHeaderList(const Request& request) {
  std::string out;
  for (const auto& [name, value] : CanonicalHeaders(request)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string CanonicalRequest(const Request& r) {
  // Appends only: GCC 12 at -O3 reports a false -Wrestrict inside std::string for
  // `"\n" + std::string` (GCC bug 105329).
  std::string out = r.method;
  out += '\n';
  out += r.path.empty() ? std::string("/") : UriEncode(r.path, true);
  out += '\n';
  out += CanonicalQuery(r.query);
  out += '\n';
  for (const auto& [name, value] : CanonicalHeaders(r)) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += SignedHeaderList(r);
  out += '\n';
  out += r.payload_sha256_hex;
  return out;
}

std::string Scope(std::string_view date, std::string_view region, std::string_view service) {
  return std::string(date) + "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request";
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret_key, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret_key), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string Signature(const Request& request, std::string_view secret_key,
                      std::string_view amz_date, std::string_view region,
                      std::string_view service) {
  std::string_view date = amz_date.substr(0, 8);
  std::string sts = StringToSign(amz_date, Scope(date, region, service), CanonicalRequest(request));
  return Hex(HmacSha256(SigningKey(secret_key, date, region, service), sts));
}

std::string AmzDate(int64_t micros_since_epoch) {
  time_t secs = static_cast<time_t>(micros_since_epoch / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<std::vector<std::pair<std::string, std::string>>> Sign(Request& request,
                                                              const Credentials& creds,
                                                              std::string_view region,
                                                              std::string_view service,
                                                              int64_t now_micros) {
  if (creds.access_key.empty() || creds.secret_key.empty()) {
    return PermissionDenied("SigV4: no access key or secret key");
  }
  std::string amz_date = AmzDate(now_micros);
  request.headers.emplace_back("x-amz-date", amz_date);
  std::string sig = Signature(request, creds.secret_key, amz_date, region, service);
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("X-Amz-Date", amz_date);
  out.emplace_back("Authorization",
                   "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" +
                       Scope(std::string_view(amz_date).substr(0, 8), region, service) +
                       ", SignedHeaders=" + SignedHeaderList(request) + ", Signature=" + sig);
  if (!creds.session_token.empty()) out.emplace_back("X-Amz-Security-Token", creds.session_token);
  return out;
}

}  // namespace streamarc::sigv4
