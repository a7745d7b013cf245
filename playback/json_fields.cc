#include "playback/json_fields.h"

namespace streamarc::playback::json_fields {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

bool Base64Chars(std::string_view s) {
  size_t end = s.size();
  int pad = 0;
  while (end > 0 && s[end - 1] == '=' && pad < 2) {
    --end;
    ++pad;
  }
  if (end == 0) return false;
  for (size_t i = 0; i < end; ++i) {
    char c = s[i];
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Result<json> ParseObject(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  return j;
}

const json* Find(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> String(const json& j, const char* key, size_t min, size_t max) {
  const json* v = Find(j, key);
  if (!v) return InvalidArgument(std::string(key) + " is required");
  if (!v->is_string()) return InvalidArgument(std::string(key) + " must be a string");
  std::string s = v->get<std::string>();
  if (s.size() < min || s.size() > max) {
    return InvalidArgument(std::string(key) + " must be " + std::to_string(min) + " to " +
                           std::to_string(max) + " characters");
  }
  return s;
}

Result<std::optional<int64_t>> Integer(const json& j, const char* key, int64_t lo, int64_t hi) {
  const json* v = Find(j, key);
  if (!v) return std::optional<int64_t>();
  if (!v->is_number_integer()) return InvalidArgument(std::string(key) + " must be an integer");
  // A huge unsigned value reads as negative through int64: refuse it as out of range too.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return InvalidArgument(std::string(key) + " must be from " + std::to_string(lo) + " to " +
                           std::to_string(hi));
  }
  const int64_t n = v->get<int64_t>();
  if (n < lo || n > hi) {
    return InvalidArgument(std::string(key) + " must be from " + std::to_string(lo) + " to " +
                           std::to_string(hi));
  }
  return std::optional<int64_t>(n);
}

Result<std::string> NextToken(const json& j) {
  if (!Find(j, "NextToken")) return std::string();
  ASSIGN_OR_RETURN(std::string token, String(j, "NextToken", 1, 4096));
  if (!Base64Chars(token)) return InvalidArgument("NextToken must match [a-zA-Z0-9+/]+={0,2}");
  return token;
}

Result<int64_t> Timestamp(const json& j, const char* key) {
  const json* v = Find(j, key);
  if (!v) return InvalidArgument(std::string(key) + " is required");
  if (!v->is_number()) {
    return InvalidArgument(std::string(key) + " must be a number of seconds since the epoch");
  }
  return kvs::EpochSecondsToMicros(v->get<double>(), key);
}

Result<kvs::StreamRef> Stream(const json& j) {
  const json* name = Find(j, "StreamName");
  const json* arn = Find(j, "StreamARN");
  // The JSON types first (when only one is given); the rules are ParseStreamRef's.
  std::string n, a;
  if (name && !arn) {
    ASSIGN_OR_RETURN(n, String(j, "StreamName", 1, 256));
  } else if (arn && !name) {
    ASSIGN_OR_RETURN(a, String(j, "StreamARN", 1, 1024));
  }
  return kvs::ParseStreamRef(name ? &n : nullptr, arn ? &a : nullptr);
}

json Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

}  // namespace streamarc::playback::json_fields
