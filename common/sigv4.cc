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

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "AKID/YYYYMMDD/region/service/aws4_request" into `out`.
Status ParseCredential(std::string_view credential, SignedBy* out) {
  std::vector<std::string_view> parts;
  size_t p = 0;
  while (parts.size() < 6) {
    size_t slash = credential.find('/', p);
    parts.push_back(credential.substr(p, slash == std::string_view::npos ? slash : slash - p));
    if (slash == std::string_view::npos) break;
    p = slash + 1;
  }
  if (parts.size() != 5 || parts[4] != "aws4_request" || parts[0].empty() || parts[2].empty() ||
      parts[3].empty() || parts[1].size() != 8 || !IsDigits(parts[1])) {
    return InvalidArgument(
        "Credential should be scoped to a valid region and service: "
        "Credential=<access key>/<YYYYMMDD>/<region>/kinesisvideo/aws4_request");
  }
  out->access_key = parts[0];
  out->date = parts[1];
  out->region = parts[2];
  out->service = parts[3];
  return Status::Ok();
}

// "host;x-amz-date" into out->signed_headers (lowercase; host among them).
Status ParseSignedHeaders(std::string_view list, SignedBy* out) {
  size_t p = 0;
  while (p <= list.size()) {
    size_t semi = list.find(';', p);
    if (semi == std::string_view::npos) semi = list.size();
    std::string name = ToLower(list.substr(p, semi - p));
    if (name.empty() || name.find_first_of(" \t,=") != std::string::npos) {
      return InvalidArgument("SignedHeaders is malformed: \"" + std::string(list) + "\"");
    }
    out->signed_headers.push_back(std::move(name));
    p = semi + 1;
  }
  if (std::find(out->signed_headers.begin(), out->signed_headers.end(), "host") ==
      out->signed_headers.end()) {
    return InvalidArgument("SignedHeaders must include host");
  }
  return Status::Ok();
}

Status SetSignature(std::string_view hex, SignedBy* out) {
  if (!IsHex64(hex)) return InvalidArgument("Signature must be 64 hexadecimal digits");
  out->signature = ToLower(hex);
  return Status::Ok();
}

// Calls `f(name, value)` for each "name=value" of a query as received, undecoded.
template <typename F>
void ForEachParam(std::string_view query, F f) {
  size_t p = 0;
  while (p < query.size()) {
    size_t amp = query.find('&', p);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(p, amp - p);
    size_t eq = part.find('=');
    f(part.substr(0, eq), eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    p = amp + 1;
  }
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
  return SignatureWithKey(request, SigningKey(secret_key, amz_date.substr(0, 8), region, service),
                          amz_date, region, service);
}

std::string SignatureWithKey(const Request& request, std::string_view signing_key,
                             std::string_view amz_date, std::string_view region,
                             std::string_view service) {
  std::string_view date = amz_date.substr(0, 8);
  std::string sts = StringToSign(amz_date, Scope(date, region, service), CanonicalRequest(request));
  return Hex(HmacSha256(signing_key, sts));
}

namespace {
// Each part length-prefixed, so no two tuples share a name whatever bytes they hold.
std::string CacheName(std::initializer_list<std::string_view> parts) {
  std::string name;
  for (std::string_view p : parts) {
    name += std::to_string(p.size());
    name += ':';
    name += p;
  }
  return name;
}
}  // namespace

std::optional<std::string> SigningKeyCache::Find(std::string_view access_key,
                                                 std::string_view secret_key, std::string_view date,
                                                 std::string_view region,
                                                 std::string_view service) const {
  const std::string name = CacheName({access_key, secret_key, date, region, service});
  MutexLock lock(mu_);
  auto it = keys_.find(name);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

void SigningKeyCache::Insert(std::string_view access_key, std::string_view secret_key,
                             std::string_view date, std::string_view region,
                             std::string_view service, std::string signing_key) {
  std::string name = CacheName({access_key, secret_key, date, region, service});
  MutexLock lock(mu_);
  if (keys_.size() >= max_entries_) keys_.clear();
  keys_.insert_or_assign(std::move(name), std::move(signing_key));
}

void SigningKeyCache::Clear() {
  MutexLock lock(mu_);
  keys_.clear();
}

size_t SigningKeyCache::size() const {
  MutexLock lock(mu_);
  return keys_.size();
}

std::string AmzDate(int64_t micros_since_epoch) {
  time_t secs = static_cast<time_t>(micros_since_epoch / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<SignedBy> ParseAuthorization(std::string_view header) {
  constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm || header.size() == kAlgorithm.size() ||
      header[kAlgorithm.size()] != ' ') {
    return InvalidArgument("Authorization must start with AWS4-HMAC-SHA256");
  }
  SignedBy out;
  bool credential = false, signed_headers = false, signature = false;
  std::string_view rest = header.substr(kAlgorithm.size());
  size_t p = 0;
  while (p <= rest.size()) {
    size_t comma = rest.find(',', p);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view item = rest.substr(p, comma - p);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    bool* seen = key == "Credential"      ? &credential
                 : key == "SignedHeaders" ? &signed_headers
                 : key == "Signature"     ? &signature
                                          : nullptr;
    if (seen == nullptr || eq == std::string_view::npos || *seen) {
      return InvalidArgument("Authorization has an unexpected or repeated part: \"" +
                             std::string(item.substr(0, 64)) + "\"");
    }
    *seen = true;
    if (seen == &credential) {
      RETURN_IF_ERROR(ParseCredential(value, &out));
    } else if (seen == &signed_headers) {
      RETURN_IF_ERROR(ParseSignedHeaders(value, &out));
    } else {
      RETURN_IF_ERROR(SetSignature(value, &out));
    }
    p = comma + 1;
  }
  if (!credential || !signed_headers || !signature) {
    return InvalidArgument("Authorization needs Credential, SignedHeaders and Signature");
  }
  return out;
}

bool IsPresignedQuery(std::string_view raw_query) {
  bool presigned = false;
  ForEachParam(raw_query, [&](std::string_view name, std::string_view) {
    presigned = presigned || name == "X-Amz-Algorithm" || name == "X-Amz-Signature";
  });
  return presigned;
}

Result<SignedBy> ParsePresignedQuery(std::string_view raw_query) {
  std::map<std::string, std::string, std::less<>> params;
  bool repeated = false;
  ForEachParam(raw_query, [&](std::string_view name, std::string_view value) {
    if (name.substr(0, 6) != "X-Amz-") return;
    repeated = repeated || !params.emplace(std::string(name), UriDecode(value)).second;
  });
  if (repeated) return InvalidArgument("a presigned URL's X-Amz-* parameter is repeated");
  auto get = [&](std::string_view name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* algorithm = get("X-Amz-Algorithm");
  const std::string* credential = get("X-Amz-Credential");
  const std::string* date = get("X-Amz-Date");
  const std::string* headers = get("X-Amz-SignedHeaders");
  const std::string* signature = get("X-Amz-Signature");
  const std::string* expires = get("X-Amz-Expires");
  if (algorithm == nullptr || *algorithm != "AWS4-HMAC-SHA256" || credential == nullptr ||
      date == nullptr || headers == nullptr || signature == nullptr || expires == nullptr) {
    return InvalidArgument(
        "a presigned URL needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, "
        "X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature");
  }
  SignedBy out;
  out.presigned = true;
  RETURN_IF_ERROR(ParseCredential(*credential, &out));
  RETURN_IF_ERROR(ParseSignedHeaders(*headers, &out));
  RETURN_IF_ERROR(SetSignature(*signature, &out));
  RETURN_IF_ERROR(ParseAmzDate(*date).status());
  out.amz_date = *date;
  if (!IsDigits(*expires) || expires->size() > 6 || std::stoi(*expires) < 1 ||
      std::stoi(*expires) > 604800) {
    return InvalidArgument("X-Amz-Expires must be a number of seconds from 1 to 604800");
  }
  out.expires_seconds = std::stoi(*expires);
  return out;
}

std::string QueryWithoutSignature(std::string_view raw_query) {
  std::string out;
  ForEachParam(raw_query, [&](std::string_view name, std::string_view value) {
    if (name == "X-Amz-Signature") return;
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  });
  return out;
}

Result<int64_t> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !IsDigits(s.substr(0, 8)) ||
      !IsDigits(s.substr(9, 6))) {
    return InvalidArgument("X-Amz-Date must be YYYYMMDDTHHMMSSZ, got \"" +
                           std::string(s.substr(0, 32)) + "\"");
  }
  auto num = [&](size_t pos, size_t len) { return std::stoi(std::string(s.substr(pos, len))); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return InvalidArgument("X-Amz-Date is not a valid time: \"" + std::string(s) + "\"");
  }
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000;
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
