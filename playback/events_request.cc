#include "playback/events_request.h"

#include <cmath>

#include "playback/json_fields.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;
using namespace json_fields;  // the readers every playback request shares

bool TextChars(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' || c == '=' ||
                    c == '+' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> Text(const json& j, const char* key) {
  ASSIGN_OR_RETURN(std::string s, String(j, key, 1, kMaxEventTextLength));
  if (!TextChars(s)) {
    return InvalidArgument(std::string(key) +
                           " may hold only letters, digits, spaces and _.:/=+@-");
  }
  return s;
}

Result<int64_t> Pixels(const json& box, const char* key, int64_t min) {
  const json* v = Find(box, key);
  if (!v) return InvalidArgument("Box." + std::string(key) + " is required");
  if (!v->is_number_integer()) {
    return InvalidArgument("Box." + std::string(key) + " must be an integer (pixels)");
  }
  // An unsigned integer past int64's range reads as negative: refused below either way.
  const int64_t n = v->get<int64_t>();
  if (n < min || n > kMaxEventBoxPixels) {
    return InvalidArgument("Box." + std::string(key) + " must be " + std::to_string(min) + " to " +
                           std::to_string(kMaxEventBoxPixels));
  }
  return n;
}

Result<archive::EventInput> Event(const json& e) {
  if (!e.is_object()) return InvalidArgument("must be an object");
  archive::EventInput out;
  ASSIGN_OR_RETURN(out.label, Text(e, "Label"));
  ASSIGN_OR_RETURN(out.start_us, Timestamp(e, "StartTimestamp"));
  ASSIGN_OR_RETURN(out.end_us, Timestamp(e, "EndTimestamp"));
  if (out.end_us < out.start_us) {
    return InvalidArgument("EndTimestamp must not be before StartTimestamp");
  }
  if (out.end_us - out.start_us > archive::kMaxEventDurationUs) {
    return InvalidArgument("an event may last at most 24 hours");
  }
  const json* score = Find(e, "Score");
  if (!score) return InvalidArgument("Score is required");
  if (!score->is_number()) return InvalidArgument("Score must be a number");
  out.score = score->get<double>();
  if (!std::isfinite(out.score) || out.score < 0 || out.score > 1) {
    return InvalidArgument("Score must be from 0 to 1");
  }
  if (const json* box = Find(e, "Box")) {
    if (!box->is_object()) return InvalidArgument("Box must be an object");
    archive::EventBox b;
    ASSIGN_OR_RETURN(b.x, Pixels(*box, "X", 0));
    ASSIGN_OR_RETURN(b.y, Pixels(*box, "Y", 0));
    ASSIGN_OR_RETURN(b.width, Pixels(*box, "Width", 1));
    ASSIGN_OR_RETURN(b.height, Pixels(*box, "Height", 1));
    out.box = b;
  }
  if (Find(e, "Source")) {
    ASSIGN_OR_RETURN(out.source, Text(e, "Source"));
  }
  return out;
}

}  // namespace

Result<PutEventsRequest> ParsePutEventsRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  PutEventsRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  const json* events = Find(j, "Events");
  if (!events) return InvalidArgument("Events is required");
  if (!events->is_array()) return InvalidArgument("Events must be a list");
  if (events->empty()) return InvalidArgument("Events must hold at least one event");
  if (events->size() > archive::kMaxEventsPerPut) {
    return ResourceExhausted("at most " + std::to_string(archive::kMaxEventsPerPut) +
                             " events per request");
  }
  r.events.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    Result<archive::EventInput> e = Event((*events)[i]);
    if (!e.ok()) {
      return InvalidArgument("Events[" + std::to_string(i) + "]: " + e.status().message());
    }
    r.events.push_back(std::move(*e));
  }
  return r;
}

Result<archive::ListEventsRequest> ParseListEventsRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  archive::ListEventsRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  r.max_results = kDefaultListEventsMaxResults;
  ASSIGN_OR_RETURN(auto max_results, Integer(j, "MaxResults", 1, archive::kMaxListEventsResults));
  if (max_results) r.max_results = static_cast<int>(*max_results);
  if (Find(j, "Label")) {
    ASSIGN_OR_RETURN(r.label, Text(j, "Label"));
  }
  ASSIGN_OR_RETURN(r.next_token, NextToken(j));
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

std::string PutEventsResponseJson(const std::vector<std::string>& ids) {
  return json{{"EventIds", ids}}.dump();
}

std::string ListEventsResponseJson(const archive::ListEventsResult& result) {
  json events = json::array();
  for (const archive::EventInfo& info : result.events) {
    const archive::EventInput& e = info.event;
    json j = {{"EventId", info.id},
              {"Label", e.label},
              {"StartTimestamp", Seconds(e.start_us)},
              {"EndTimestamp", Seconds(e.end_us)},
              {"Score", e.score}};
    if (e.box) {
      j["Box"] = {
          {"X", e.box->x}, {"Y", e.box->y}, {"Width", e.box->width}, {"Height", e.box->height}};
    }
    if (!e.source.empty()) j["Source"] = e.source;
    events.push_back(std::move(j));
  }
  json out = {{"Events", std::move(events)}};
  if (!result.next_token.empty()) out["NextToken"] = result.next_token;
  return out.dump();
}

}  // namespace streamarc::playback
