#include "playback/hls.h"

#include <openssl/crypto.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/base64.h"
#include "common/digest.h"
#include "common/kvs_request.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;

// Version 2 added the access key (field 16); version 1 tokens still decode, without one.
constexpr int kTokenVersion = 2;
constexpr size_t kV1Fields = 16;
constexpr size_t kV2Fields = 17;
constexpr size_t kMaxTokenBytes = 4096;
constexpr char kExpiredMessage[] = "Streaming session token is expired";
constexpr char kInvalidMessage[] = "The streaming session token is not valid";

// A JSON object's optional string field that must be one of `names` (index returned);
// `fallback` when absent.
Result<int> Enum(const json& j, const char* key, std::initializer_list<const char*> names,
                 int fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) return InvalidArgument(std::string(key) + " must be a string");
  const std::string& v = it->get_ref<const std::string&>();
  int i = 0;
  for (const char* n : names) {
    if (v == n) return i;
    ++i;
  }
  std::string allowed;
  for (const char* n : names) allowed += (allowed.empty() ? "" : " | ") + std::string(n);
  return InvalidArgument(std::string(key) + " must be one of " + allowed + ", got '" + v + "'");
}

// rest-json timestamps are epoch seconds as a JSON number (the AWS CLI sends fractions).
Result<int64_t> Timestamp(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number()) return InvalidArgument(std::string(key) + " must be epoch seconds");
  return kvs::EpochSecondsToMicros(v.get<double>(), key);
}

Result<int64_t> Integer(const json& j, const char* key, int64_t min, int64_t max,
                        int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) return InvalidArgument(std::string(key) + " must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return InvalidArgument(std::string(key) + " must be from " + std::to_string(min) + " to " +
                           std::to_string(max));
  }
  return v;
}

Status ParseSelector(const json& j, SessionKind kind, SessionParams* p) {
  const char* key = kind == SessionKind::kHls ? "HLSFragmentSelector" : "DASHFragmentSelector";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return InvalidArgument(std::string(key) + " must be an object");
  ASSIGN_OR_RETURN(
      int type, Enum(*it, "FragmentSelectorType", {"SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"}, 0));
  p->selector = static_cast<SelectorType>(type);
  auto range = it->find("TimestampRange");
  if (range == it->end() || range->is_null()) return Status::Ok();
  if (!range->is_object()) return InvalidArgument("TimestampRange must be an object");
  if (range->contains("StartTimestamp") && !(*range)["StartTimestamp"].is_null()) {
    ASSIGN_OR_RETURN(p->start_us, Timestamp(*range, "StartTimestamp"));
    p->has_start = true;
  }
  if (range->contains("EndTimestamp") && !(*range)["EndTimestamp"].is_null()) {
    ASSIGN_OR_RETURN(p->end_us, Timestamp(*range, "EndTimestamp"));
    p->has_end = true;
  }
  return Status::Ok();
}

// The checks that depend on the playback mode (KVS's GetHLSStreamingSessionURL rules).
Status CheckModeRules(const SessionParams& p) {
  switch (p.mode) {
    case PlaybackMode::kLive:
      if (p.has_start || p.has_end) {
        return InvalidArgument("TimestampRange must not be set when PlaybackMode is LIVE");
      }
      break;
    case PlaybackMode::kLiveReplay:
      if (!p.has_start) {
        return InvalidArgument("StartTimestamp is required when PlaybackMode is LIVE_REPLAY");
      }
      break;
    case PlaybackMode::kOnDemand:
      if (!p.has_start || !p.has_end) {
        return InvalidArgument(
            "StartTimestamp and EndTimestamp are required when PlaybackMode is ON_DEMAND");
      }
      break;
  }
  if (p.has_start && p.has_end) {
    if (p.end_us < p.start_us) {
      return InvalidArgument("EndTimestamp must not be before StartTimestamp");
    }
    if (p.end_us - p.start_us > kMaxRangeMicros) {
      return InvalidArgument("EndTimestamp must be within 24 hours of StartTimestamp");
    }
  }
  return Status::Ok();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t p = 0;
  while (true) {
    size_t q = s.find(sep, p);
    parts.push_back(s.substr(p, q == std::string_view::npos ? s.size() - p : q - p));
    if (q == std::string_view::npos) break;
    p = q + 1;
  }
  return parts;
}

bool ToInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string Payload(const SessionParams& p) {
  std::string s;
  auto add = [&s](auto v) {
    if (!s.empty()) s += '|';
    if constexpr (std::is_same_v<decltype(v), std::string>) {
      s += v;
    } else {
      s += std::to_string(static_cast<int64_t>(v));
    }
  };
  add(kTokenVersion);
  add(static_cast<int>(p.kind));
  add(p.stream_name);
  add(static_cast<int>(p.mode));
  add(static_cast<int>(p.selector));
  add(p.has_start ? 1 : 0);
  add(p.start_us);
  add(p.has_end ? 1 : 0);
  add(p.end_us);
  add(static_cast<int>(p.container));
  add(static_cast<int>(p.discontinuity));
  add(p.display_timestamp ? 1 : 0);
  add(p.display_fragment_number ? 1 : 0);
  add(p.max_results);
  add(p.created_us);
  add(p.expires_at_us);
  // Hex: a key id may hold any character, the separator too.
  add(Hex(p.access_key_id));
  return s;
}

// Lowercase hex (Hex's output) back to bytes; false for anything else.
bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

Result<SessionParams> ParsePayload(std::string_view payload) {
  const Status bad(Code::kPermissionDenied, kInvalidMessage);
  std::vector<std::string_view> f = Split(payload, '|');
  if (f.size() != kV1Fields && f.size() != kV2Fields) return bad;
  int64_t n[kV1Fields] = {};
  for (size_t i = 0; i < kV1Fields; ++i) {
    if (i == 2) continue;
    if (!ToInt(f[i], &n[i])) return bad;
  }
  const int64_t version = f.size() == kV1Fields ? 1 : kTokenVersion;
  std::string key_id;
  if (f.size() == kV2Fields && !FromHex(f[16], &key_id)) return bad;
  auto in = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  if (n[0] != version || !in(n[1], 0, 1) || !kvs::ValidateStreamName(f[2]).ok() ||
      !in(n[3], 0, 2) || !in(n[4], 0, 1) || !in(n[5], 0, 1) || !in(n[7], 0, 1) || !in(n[9], 0, 1) ||
      !in(n[10], 0, 2) || !in(n[11], 0, 1) || !in(n[12], 0, 1) ||
      !in(n[13], 1, kMaxPlaylistFragments)) {
    return bad;
  }
  SessionParams p;
  p.kind = static_cast<SessionKind>(n[1]);
  p.stream_name = std::string(f[2]);
  p.mode = static_cast<PlaybackMode>(n[3]);
  p.selector = static_cast<SelectorType>(n[4]);
  p.has_start = n[5] != 0;
  p.start_us = n[6];
  p.has_end = n[7] != 0;
  p.end_us = n[8];
  p.container = static_cast<ContainerFormat>(n[9]);
  p.discontinuity = static_cast<DiscontinuityMode>(n[10]);
  p.display_timestamp = n[11] != 0;
  p.display_fragment_number = n[12] != 0;
  p.max_results = static_cast<int>(n[13]);
  p.created_us = n[14];
  p.expires_at_us = n[15];
  p.access_key_id = std::move(key_id);
  return p;
}

}  // namespace

std::string_view PlaybackModeName(PlaybackMode mode) {
  switch (mode) {
    case PlaybackMode::kLive:
      return "LIVE";
    case PlaybackMode::kLiveReplay:
      return "LIVE_REPLAY";
    case PlaybackMode::kOnDemand:
      return "ON_DEMAND";
  }
  return "?";
}

bool InSessionRange(const SessionParams& p, int64_t fragment_us) {
  if (p.mode == PlaybackMode::kLive) return true;
  if (p.has_start && fragment_us < p.start_us) return false;
  return !p.has_end || fragment_us <= p.end_us;
}

Result<SessionRequest> ParseSessionRequest(SessionKind kind, std::string_view body,
                                           int64_t now_us) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("the body must be a JSON object");
  SessionRequest r;
  SessionParams& p = r.params;
  p.kind = kind;
  bool given[2] = {false, false};
  for (int i = 0; i < 2; ++i) {
    const char* key = i == 0 ? "StreamName" : "StreamARN";
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_string()) return InvalidArgument(std::string(key) + " must be a string");
    (i == 0 ? r.stream_name : r.stream_arn) = it->get<std::string>();
    given[i] = true;
  }
  RETURN_IF_ERROR(
      kvs::ParseStreamRef(given[0] ? &r.stream_name : nullptr, given[1] ? &r.stream_arn : nullptr)
          .status());
  p.stream_name = r.stream_name;

  ASSIGN_OR_RETURN(int mode, Enum(j, "PlaybackMode", {"LIVE", "LIVE_REPLAY", "ON_DEMAND"}, 0));
  p.mode = static_cast<PlaybackMode>(mode);
  RETURN_IF_ERROR(ParseSelector(j, kind, &p));
  RETURN_IF_ERROR(CheckModeRules(p));

  if (kind == SessionKind::kHls) {
    ASSIGN_OR_RETURN(int container, Enum(j, "ContainerFormat", {"FRAGMENTED_MP4", "MPEG_TS"}, 0));
    p.container = static_cast<ContainerFormat>(container);
    // KVS's default: a marker between fragments for server time (fragments are stamped on
    // arrival, so their times rarely line up), none for the producer's own clock.
    const int fallback = p.selector == SelectorType::kServerTimestamp ? 0 : 1;
    ASSIGN_OR_RETURN(
        int disc, Enum(j, "DiscontinuityMode", {"ALWAYS", "NEVER", "ON_DISCONTINUITY"}, fallback));
    p.discontinuity = static_cast<DiscontinuityMode>(disc);
  } else {
    ASSIGN_OR_RETURN(int fn, Enum(j, "DisplayFragmentNumber", {"NEVER", "ALWAYS"}, 0));
    p.display_fragment_number = fn == 1;
  }
  ASSIGN_OR_RETURN(int ts, Enum(j, "DisplayFragmentTimestamp", {"NEVER", "ALWAYS"}, 0));
  p.display_timestamp = ts == 1;
  ASSIGN_OR_RETURN(r.expires_seconds, Integer(j, "Expires", kMinExpiresSeconds, kMaxExpiresSeconds,
                                              kDefaultExpiresSeconds));
  const char* max_key =
      kind == SessionKind::kHls ? "MaxMediaPlaylistFragmentResults" : "MaxManifestFragmentResults";
  const int max_default =
      p.mode == PlaybackMode::kOnDemand ? kDefaultOnDemandFragments : kDefaultLiveFragments;
  ASSIGN_OR_RETURN(int64_t max_results, Integer(j, max_key, 1, kMaxPlaylistFragments, max_default));
  p.max_results = static_cast<int>(max_results);
  p.created_us = now_us;
  p.expires_at_us = now_us + r.expires_seconds * 1'000'000;
  return r;
}

std::string EncodeSessionToken(const SessionParams& params, std::string_view secret) {
  std::string payload = Payload(params);
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(HmacSha256(secret, payload)) + "~";
}

Result<SessionParams> DecodeSessionToken(std::string_view token, std::string_view secret,
                                         int64_t now_us) {
  const Status bad(Code::kPermissionDenied, kInvalidMessage);
  if (token.size() < 2 || token.size() > kMaxTokenBytes || token.back() != '~') return bad;
  token.remove_suffix(1);
  size_t dot = token.find('.');
  if (dot == std::string_view::npos) return bad;
  auto payload = Base64UrlDecode(token.substr(0, dot));
  auto mac = Base64UrlDecode(token.substr(dot + 1));
  if (!payload.ok() || !mac.ok()) return bad;
  const std::string want = HmacSha256(secret, *payload);
  // Constant time: a forger learns nothing from how long the comparison took.
  if (mac->size() != want.size() || CRYPTO_memcmp(mac->data(), want.data(), want.size()) != 0) {
    return bad;
  }
  ASSIGN_OR_RETURN(SessionParams p, ParsePayload(*payload));
  if (now_us >= p.expires_at_us) return Status(Code::kPermissionDenied, kExpiredMessage);
  return p;
}

bool IsExpiredTokenError(const Status& status) {
  return status.code() == Code::kPermissionDenied && status.message() == kExpiredMessage;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  for (std::string_view part : Split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string name(part.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (name.empty()) return InvalidArgument("a query parameter has no name");
    if (!out.emplace(std::move(name), std::move(value)).second) {
      return InvalidArgument("query parameter " + std::string(part.substr(0, eq)) + " is repeated");
    }
  }
  return out;
}

Result<SegmentQuery> ParseSegmentQuery(std::string_view query) {
  ASSIGN_OR_RETURN(auto args, ParseQuery(query));
  SegmentQuery q;
  auto it = args.find("SessionToken");
  if (it == args.end() || it->second.empty()) return InvalidArgument("SessionToken is required");
  q.token = it->second;
  if ((it = args.find("TrackNumber")) != args.end()) {
    int64_t n = 0;
    if (!ToInt(it->second, &n) || n < 1 || n > 0xFFFFFFFFLL) {
      return InvalidArgument("TrackNumber must be a positive integer");
    }
    q.track = static_cast<uint64_t>(n);
  }
  if ((it = args.find("FragmentNumber")) != args.end()) {
    const std::string& f = it->second;
    bool digits = !f.empty() && f.size() <= 128;
    for (char c : f) digits = digits && c >= '0' && c <= '9';
    if (!digits) return InvalidArgument("FragmentNumber must be 1-128 decimal digits");
    q.fragment_number = f;
  }
  if ((it = args.find("InitId")) != args.end()) {
    const std::string& id = it->second;
    bool hex = !id.empty() && id.size() <= 64;
    for (char c : id) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex) return InvalidArgument("InitId must be 1-64 lowercase hex digits");
    q.init_id = id;
  }
  if ((it = args.find("Time")) != args.end()) {
    if (!ToInt(it->second, &q.time_ms) || q.time_ms < 0) {
      return InvalidArgument("Time must be a non-negative integer (milliseconds)");
    }
    q.has_time = true;
  }
  return q;
}

}  // namespace streamarc::playback
