#include "playback/hls_low_latency.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <string>

#include "playback/hls.h"

namespace streamarc::playback {
namespace {

template <typename T>
Status ReadNumber(const std::map<std::string, std::string>& q, const char* key, bool* has, T* out) {
  auto it = q.find(key);
  *has = it != q.end();
  if (!*has) return Status::Ok();
  const std::string& v = it->second;
  T n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return InvalidArgument(std::string(key) + " must be a decimal number, got \"" + v + "\"");
  }
  *out = n;
  return Status::Ok();
}

}  // namespace

Result<BlockingRequest> ParseBlockingRequest(std::string_view query) {
  ASSIGN_OR_RETURN(auto q, ParseQuery(query));
  BlockingRequest r;
  RETURN_IF_ERROR(ReadNumber(q, "_HLS_msn", &r.has_msn, &r.msn));
  RETURN_IF_ERROR(ReadNumber(q, "_HLS_part", &r.has_part, &r.part));
  if (r.has_part && !r.has_msn) return InvalidArgument("_HLS_part requires _HLS_msn");
  return r;
}

Result<PartAddress> ParsePartAddress(std::string_view query) {
  ASSIGN_OR_RETURN(auto q, ParseQuery(query));
  PartAddress a;
  bool has_fragment = false, has_part = false;
  RETURN_IF_ERROR(ReadNumber(q, "LiveFragment", &has_fragment, &a.fragment_id));
  RETURN_IF_ERROR(ReadNumber(q, "Part", &has_part, &a.part));
  if (!has_fragment || !has_part) return InvalidArgument("LiveFragment and Part are required");
  return a;
}

uint32_t AdvancePartLimit(int64_t part_target_us) {
  if (part_target_us <= 0) return 3;
  const int64_t parts = (3'000'000 + part_target_us - 1) / part_target_us;
  return static_cast<uint32_t>(std::clamp<int64_t>(parts, 3, 1000));
}

Decision Decide(const BlockingRequest& r, const LiveEnd& end, int64_t part_target_us,
                uint32_t parts_per_segment) {
  Decision d;
  if (!r.has_msn || r.msn < end.msn) return d;
  const uint32_t limit = AdvancePartLimit(part_target_us);
  if (r.msn == end.msn) {
    if (!end.open) return d;  // that segment is complete, every part of it listed
    if (!r.has_part) return {Verdict::kWait, {end.fragment_id, std::nullopt}};
    if (r.part < end.parts) return d;
    // Parts ahead of the last one listed.
    const uint64_t ahead = uint64_t{r.part} + 1 - end.parts;
    if (ahead > limit) return {Verdict::kTooFar, {}};
    return {Verdict::kWait, {end.fragment_id, r.part}};
  }
  // The spec: more than two segments ahead of the last one is a Bad Request.
  if (r.msn - end.msn > 2) return {Verdict::kTooFar, {}};
  const uint64_t step = r.msn - end.msn;  // 1 or 2
  const EdgeWant want{end.fragment_id + step,
                      r.has_part ? std::optional<uint32_t>(r.part) : std::nullopt};
  if (r.has_part) {
    const uint64_t rest_of_open =
        end.open && parts_per_segment > end.parts ? parts_per_segment - end.parts : 0;
    const uint64_t ahead = rest_of_open + (step - 1) * parts_per_segment + r.part + 1;
    if (ahead > limit) return {Verdict::kTooFar, {}};
  }
  return {Verdict::kWait, want};
}

}  // namespace streamarc::playback
