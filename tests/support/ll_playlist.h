// A Low-Latency HLS media playlist as a client reads it (RFC 8216bis), written apart from
// the server's own code so tests and benchmarks check the server against the text, not
// against itself: segments with their parts, the server control, the preload hint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace streamarc::testing {

struct LlPart {
  double duration_s = 0;
  std::string uri;
  bool independent = false;
};

struct LlSegment {
  uint64_t msn = 0;
  std::vector<LlPart> parts;
  bool complete = false;  // has its EXTINF and URI (the last one may be parts only)
  double duration_s = 0;  // EXTINF
  std::string uri;
  std::string program_date_time;  // "" when absent
};

struct LlPlaylist {
  int version = 0;
  double target_duration_s = 0;
  uint64_t media_sequence = 0;
  bool can_block_reload = false;
  double part_hold_back_s = 0;
  double part_target_s = 0;  // 0: no EXT-X-PART-INF (plain HLS)
  std::vector<LlSegment> segments;
  std::string hint_uri;               // EXT-X-PRELOAD-HINT:TYPE=PART
  bool hint_last = false;             // the hint is the last tag
  std::vector<std::string> problems;  // tags out of place, attributes missing
};

LlPlaylist ParseLlPlaylist(const std::string& text);

// The spec's rules a client can check on one playlist; empty when it follows them:
// PART-HOLD-BACK >= 3 part targets (our promise; the spec's floor is 2), every part at most
// the part target, the parts of each complete segment adding up to its EXTINF, a segment's
// first part INDEPENDENT, EXTINF within the target duration, the preload hint last.
std::vector<std::string> CheckLlRules(const LlPlaylist& p);

// `base` (a playlist URL) with its last path segment replaced by `relative`.
std::string Resolve(const std::string& base, const std::string& relative);

}  // namespace streamarc::testing
