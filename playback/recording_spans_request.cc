#include "playback/recording_spans_request.h"

#include <cmath>

#include "playback/json_fields.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;
using namespace json_fields;  // the readers every playback request shares

constexpr int64_t kMicrosPerMilli = 1000;

int64_t FloorMs(int64_t us) {
  const int64_t q = us / kMicrosPerMilli;
  return (us % kMicrosPerMilli < 0 ? q - 1 : q) * kMicrosPerMilli;
}
int64_t CeilMs(int64_t us) {
  const int64_t f = FloorMs(us);
  return f == us ? f : f + kMicrosPerMilli;
}

}  // namespace

Result<archive::ListSpansRequest> ParseListSpansRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  archive::ListSpansRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  r.max_results = kDefaultListSpansMaxResults;
  if (const json* m = Find(j, "MaxResults")) {
    if (!m->is_number_integer()) return InvalidArgument("MaxResults must be an integer");
    const int64_t v = m->get<int64_t>();  // past int64: negative, refused
    if (v < 1 || v > archive::kMaxListSpansResults) {
      return InvalidArgument("MaxResults must be from 1 to " +
                             std::to_string(archive::kMaxListSpansResults));
    }
    r.max_results = static_cast<int>(v);
  }
  if (const json* t = Find(j, "TimestampType")) {
    if (!t->is_string()) return InvalidArgument("TimestampType must be a string");
    const std::string& type = t->get_ref<const std::string&>();
    if (type == "PRODUCER_TIMESTAMP") {
      r.type = archive::TimestampType::kProducer;
    } else if (type == "SERVER_TIMESTAMP") {
      r.type = archive::TimestampType::kServer;
    } else {
      return InvalidArgument("TimestampType must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP");
    }
  }
  if (const json* g = Find(j, "MinGapSeconds")) {
    if (!g->is_number()) return InvalidArgument("MinGapSeconds must be a number of seconds");
    const double seconds = g->get<double>();
    // NaN fails both comparisons: refused too.
    if (!(seconds >= 0) || !(seconds <= static_cast<double>(kMaxSpanGapUs) / 1e6)) {
      return InvalidArgument("MinGapSeconds must be from 0 to " +
                             std::to_string(kMaxSpanGapUs / 1'000'000));
    }
    r.min_gap_us = static_cast<int64_t>(std::llround(seconds * 1e6));
  }
  if (Find(j, "NextToken")) {
    ASSIGN_OR_RETURN(r.next_token, String(j, "NextToken", 1, 4096));
    if (!Base64Chars(r.next_token)) {
      return InvalidArgument("NextToken must match [a-zA-Z0-9+/]+={0,2}");
    }
  }
  const json* range = Find(j, "TimestampRange");
  if (!range) {
    if (r.next_token.empty()) {
      return InvalidArgument("TimestampRange is required when there is no NextToken");
    }
    return r;
  }
  if (!range->is_object()) return InvalidArgument("TimestampRange must be an object");
  ASSIGN_OR_RETURN(r.start_us, Timestamp(*range, "StartTimestamp"));
  ASSIGN_OR_RETURN(r.end_us, Timestamp(*range, "EndTimestamp"));
  if (r.end_us < r.start_us) {
    return InvalidArgument("EndTimestamp must not be before StartTimestamp");
  }
  return r;
}

std::string ListSpansResponseJson(const archive::ListSpansResult& result) {
  json spans = json::array();
  for (const archive::RecordedSpan& s : result.spans) {
    spans.push_back({{"StartTimestamp", Seconds(FloorMs(s.start_us))},
                     {"EndTimestamp", Seconds(CeilMs(s.end_us))},
                     {"FragmentCount", s.fragments},
                     {"SizeInBytes", s.size_bytes}});
  }
  json out = {{"Spans", std::move(spans)}};
  if (!result.next_token.empty()) out["NextToken"] = result.next_token;
  return out.dump();
}

}  // namespace streamarc::playback
