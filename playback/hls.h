// HLS and DASH sessions: the request of GetHLSStreamingSessionURL / GetDASHStreamingSessionURL
// checked as KVS's model constrains it, the session token that carries it (HMAC-SHA256,
// expiring), and the query strings of the segment and playlist URLs.
//
// Pure logic: no archive, no HTTP, no clock of its own (callers pass "now"). Thread-safe (no
// state). The fuzz build compiles this file alone with common/, so it depends on nothing
// else of streamarc.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc::playback {

enum class SessionKind { kHls, kDash };
enum class PlaybackMode { kLive, kLiveReplay, kOnDemand };
enum class ContainerFormat { kFragmentedMp4, kMpegTs };
enum class DiscontinuityMode { kAlways, kNever, kOnDiscontinuity };
enum class SelectorType { kServerTimestamp, kProducerTimestamp };

inline constexpr int64_t kMinExpiresSeconds = 300;
inline constexpr int64_t kMaxExpiresSeconds = 43'200;
inline constexpr int64_t kDefaultExpiresSeconds = 300;
inline constexpr int kMaxPlaylistFragments = 5000;
inline constexpr int kDefaultLiveFragments = 5;
inline constexpr int kDefaultOnDemandFragments = 1000;
// End must be within 24 hours of Start.
inline constexpr int64_t kMaxRangeMicros = 24LL * 3600 * 1'000'000;

// Everything a session needs after GetHLS/DASHStreamingSessionURL, carried in its token. The
// token binds the session to its stream and, for ON_DEMAND and LIVE_REPLAY, to its timestamp
// range (InSessionRange), and names the access key that made it so the server can refuse the
// token once that key is gone.
struct SessionParams {
  SessionKind kind = SessionKind::kHls;
  std::string stream_name;  // resolved from StreamARN by the caller when needed
  PlaybackMode mode = PlaybackMode::kLive;
  SelectorType selector = SelectorType::kServerTimestamp;
  bool has_start = false;
  bool has_end = false;
  int64_t start_us = 0;
  int64_t end_us = 0;
  ContainerFormat container = ContainerFormat::kFragmentedMp4;  // DASH: always fMP4
  DiscontinuityMode discontinuity = DiscontinuityMode::kAlways;
  bool display_timestamp = false;        // HLS: EXT-X-PROGRAM-DATE-TIME; DASH: kvs:ts
  bool display_fragment_number = false;  // DASH only: kvs:fn
  int max_results = kDefaultLiveFragments;
  int64_t created_us = 0;     // when the session was made (LIVE_REPLAY's clock starts here)
  int64_t expires_at_us = 0;  // the token is refused from this time on
  // The access key whose signed request made the session; empty when the server checked no
  // signature (no keys configured). Any bytes: the token encodes it.
  std::string access_key_id;

  bool operator==(const SessionParams&) const = default;
};

// A parsed session request: the stream as given (exactly one of name or ARN) and the
// session's parameters (stream_name is empty when the request named an ARN).
struct SessionRequest {
  std::string stream_name;
  std::string stream_arn;
  SessionParams params;
  int64_t expires_seconds = kDefaultExpiresSeconds;
};

// Parses and checks a GetHLSStreamingSessionURL (kHls) or GetDASHStreamingSessionURL (kDash)
// JSON body, applying KVS's defaults. `now_us` sets created_us and expires_at_us.
// kInvalidArgument names the offending field.
Result<SessionRequest> ParseSessionRequest(SessionKind kind, std::string_view json_body,
                                           int64_t now_us);

// Whether a fragment whose selector time (server or producer timestamp, as the session
// selects) is `fragment_us` lies in the session's range: for ON_DEMAND and LIVE_REPLAY, from
// Start (inclusive) to End (inclusive, when there is one), compared with the fragment's start
// as KVS does; a LIVE session has no range (any fragment of its stream).
bool InSessionRange(const SessionParams& params, int64_t fragment_us);

// The session token: "<base64url(payload)>.<base64url(HMAC-SHA256(secret, payload))>~".
// URL-safe as it is (no escaping needed in a query string).
std::string EncodeSessionToken(const SessionParams& params, std::string_view secret);

// Checks a token and returns its session. kPermissionDenied for a token that is malformed,
// forged or tampered with (message "...not valid...") and for an expired one (message
// "...expired..."); the two messages differ so callers can tell. Tokens of the previous
// format (version 1, before tokens named their access key) decode with no access key.
Result<SessionParams> DecodeSessionToken(std::string_view token, std::string_view secret,
                                         int64_t now_us);
// True when `status` (from DecodeSessionToken) is the expiry rather than a bad token.
bool IsExpiredTokenError(const Status& status);

// "a=1&b=2" into a map. libwebsockets has already URL-decoded each argument; repeated names
// are refused (kInvalidArgument), as are empty names.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

// What a playlist, manifest or segment request names.
struct SegmentQuery {
  std::string token;
  uint64_t track = 0;           // TrackNumber; 0 when absent
  std::string fragment_number;  // FragmentNumber; empty when absent
  std::string init_id;          // InitId (init segments): lowercase hex, 1-64 digits
  bool has_time = false;        // DASH $Time$ addressing, in milliseconds
  int64_t time_ms = 0;
};
// Parses SessionToken (required), TrackNumber (1..2^32), FragmentNumber (1-128 digits),
// InitId and Time (DASH, milliseconds); unknown parameters are ignored (players add cache busters).
Result<SegmentQuery> ParseSegmentQuery(std::string_view query);

std::string_view PlaybackModeName(PlaybackMode mode);

}  // namespace streamarc::playback
