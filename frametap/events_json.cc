#include "frametap/events_json.h"

#include <nlohmann/json.hpp>

namespace streamarc::frametap {

namespace {

using nlohmann::json;

// Epoch microseconds as KVS's JSON seconds. A double holds 1e9 s with sub-microsecond
// spacing, so the server's rounding to the nearest microsecond gives `us` back exactly.
double Seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

}  // namespace

std::string PutEventsRequestJson(const std::string& stream_name, const std::vector<Event>& events) {
  json list = json::array();
  for (const Event& e : events) {
    json j = {{"Label", e.label},
              {"StartTimestamp", Seconds(e.start_us)},
              {"EndTimestamp", Seconds(e.end_us)},
              {"Score", e.score}};
    if (e.box) {
      j["Box"] = {
          {"X", e.box->x}, {"Y", e.box->y}, {"Width", e.box->width}, {"Height", e.box->height}};
    }
    if (!e.source.empty()) j["Source"] = e.source;
    list.push_back(std::move(j));
  }
  // Invalid UTF-8 in a label is replaced rather than thrown: the server judges the label.
  return json{{"StreamName", stream_name}, {"Events", std::move(list)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<std::string>> ParsePutEventsReply(long status, std::string_view body,
                                                     std::string_view error_type, size_t expected) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status != 200) {
    std::string message;
    if (j.is_object() && j.contains("Message") && j["Message"].is_string()) {
      message = j["Message"].get<std::string>();
    } else {
      message = std::string(body.substr(0, 300));
    }
    std::string text =
        (error_type.empty() ? "HTTP " + std::to_string(status) : std::string(error_type)) + ": " +
        message;
    if (status == 404) return NotFound(std::move(text));
    if (status == 401 || status == 403) return PermissionDenied(std::move(text));
    if (status >= 400 && status < 500) return InvalidArgument(std::move(text));
    return Unavailable(std::move(text));
  }
  if (!j.is_object() || !j.contains("EventIds") || !j["EventIds"].is_array()) {
    return DataLoss("PutEvents answered 200 without an EventIds array: " +
                    std::string(body.substr(0, 300)));
  }
  std::vector<std::string> ids;
  for (const json& id : j["EventIds"]) {
    if (!id.is_string()) return DataLoss("PutEvents answered an EventId that is not a string");
    ids.push_back(id.get<std::string>());
  }
  if (ids.size() != expected) {
    return DataLoss("PutEvents answered " + std::to_string(ids.size()) + " EventIds for " +
                    std::to_string(expected) + " events");
  }
  return ids;
}

}  // namespace streamarc::frametap
