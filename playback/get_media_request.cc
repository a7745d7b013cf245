#include "playback/get_media_request.h"

#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_set>

#include "common/kvs_request.h"
#include "playback/json_fields.h"

namespace streamarc::playback {
namespace {

using nlohmann::json;
using namespace json_fields;  // the readers every playback request shares

bool TokenChars(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> FragmentNumber(const json& j, const char* key) {
  ASSIGN_OR_RETURN(std::string n, String(j, key, 1, 128));
  if (!AllDigits(n)) return InvalidArgument(std::string(key) + " \"" + n + "\" must be digits");
  return n;
}

}  // namespace

Result<GetMediaRequest> ParseGetMediaRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  GetMediaRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  const json* sel = Find(j, "StartSelector");
  if (!sel) return InvalidArgument("StartSelector is required");
  if (!sel->is_object()) return InvalidArgument("StartSelector must be an object");
  ASSIGN_OR_RETURN(std::string type, String(*sel, "StartSelectorType", 1, 64));
  if (type == "NOW") {
    r.type = StartSelectorType::kNow;
  } else if (type == "EARLIEST") {
    r.type = StartSelectorType::kEarliest;
  } else if (type == "FRAGMENT_NUMBER") {
    r.type = StartSelectorType::kFragmentNumber;
    if (!Find(*sel, "AfterFragmentNumber")) {
      return InvalidArgument("StartSelectorType FRAGMENT_NUMBER needs AfterFragmentNumber");
    }
    ASSIGN_OR_RETURN(r.after_fragment_number, FragmentNumber(*sel, "AfterFragmentNumber"));
  } else if (type == "SERVER_TIMESTAMP" || type == "PRODUCER_TIMESTAMP") {
    r.type = type == "SERVER_TIMESTAMP" ? StartSelectorType::kServerTimestamp
                                        : StartSelectorType::kProducerTimestamp;
    if (!Find(*sel, "StartTimestamp")) {
      return InvalidArgument("StartSelectorType " + type + " needs StartTimestamp");
    }
    ASSIGN_OR_RETURN(r.start_timestamp_us, Timestamp(*sel, "StartTimestamp"));
  } else if (type == "CONTINUATION_TOKEN") {
    r.type = StartSelectorType::kContinuationToken;
    if (!Find(*sel, "ContinuationToken")) {
      return InvalidArgument("StartSelectorType CONTINUATION_TOKEN needs ContinuationToken");
    }
    ASSIGN_OR_RETURN(r.continuation_token, String(*sel, "ContinuationToken", 1, 128));
    if (!TokenChars(r.continuation_token)) {
      return InvalidArgument("ContinuationToken must match [a-zA-Z0-9_.-]+");
    }
    // Our tokens are fragment numbers (as KVS's are); anything else was not issued here.
    if (!AllDigits(r.continuation_token)) {
      return InvalidArgument("ContinuationToken \"" + r.continuation_token +
                             "\" was not issued by this server");
    }
  } else {
    return InvalidArgument("StartSelectorType \"" + type +
                           "\" must be one of FRAGMENT_NUMBER, SERVER_TIMESTAMP, "
                           "PRODUCER_TIMESTAMP, NOW, EARLIEST, CONTINUATION_TOKEN");
  }
  return r;
}

Result<archive::ListRequest> ParseListFragmentsRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  archive::ListRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  r.max_results = kDefaultListMaxResults;
  ASSIGN_OR_RETURN(auto max_results, Integer(j, "MaxResults", 1, kMaxListMaxResults));
  if (max_results) r.max_results = static_cast<int>(*max_results);
  ASSIGN_OR_RETURN(r.next_token, NextToken(j));
  const json* sel = Find(j, "FragmentSelector");
  if (!sel) {
    if (r.next_token.empty()) {
      return InvalidArgument("FragmentSelector is required when there is no NextToken");
    }
    return r;
  }
  if (!sel->is_object()) return InvalidArgument("FragmentSelector must be an object");
  ASSIGN_OR_RETURN(std::string type, String(*sel, "FragmentSelectorType", 1, 64));
  if (type == "PRODUCER_TIMESTAMP") {
    r.type = archive::TimestampType::kProducer;
  } else if (type == "SERVER_TIMESTAMP") {
    r.type = archive::TimestampType::kServer;
  } else {
    return InvalidArgument("FragmentSelectorType \"" + type +
                           "\" must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP");
  }
  const json* range = Find(*sel, "TimestampRange");
  if (!range) return InvalidArgument("FragmentSelector.TimestampRange is required");
  if (!range->is_object()) return InvalidArgument("TimestampRange must be an object");
  ASSIGN_OR_RETURN(r.start_us, Timestamp(*range, "StartTimestamp"));
  ASSIGN_OR_RETURN(r.end_us, Timestamp(*range, "EndTimestamp"));
  if (r.end_us < r.start_us) {
    return InvalidArgument("EndTimestamp must not be before StartTimestamp");
  }
  return r;
}

Result<FragmentListRequest> ParseFragmentListRequest(std::string_view body) {
  ASSIGN_OR_RETURN(json j, ParseObject(body));
  FragmentListRequest r;
  ASSIGN_OR_RETURN(r.stream, Stream(j));
  const json* list = Find(j, "Fragments");
  if (!list) return InvalidArgument("Fragments is required");
  if (!list->is_array()) return InvalidArgument("Fragments must be a list of fragment numbers");
  if (list->empty() || list->size() > kMaxFragmentList) {
    return InvalidArgument("Fragments must hold 1 to " + std::to_string(kMaxFragmentList) +
                           " fragment numbers");
  }
  // A number asked for twice is refused: each repeat would send the whole fragment again, so
  // one small request could ask for a thousand copies of a 50 MB fragment.
  std::unordered_set<std::string_view> seen;
  seen.reserve(list->size());
  r.fragments.reserve(list->size());
  for (const json& n : *list) {
    if (!n.is_string()) return InvalidArgument("Fragments must hold strings");
    const std::string& s = n.get_ref<const std::string&>();
    if (s.empty() || s.size() > 128 || !AllDigits(s)) {
      return InvalidArgument("fragment number \"" + s.substr(0, 140) +
                             "\" must be 1 to 128 digits");
    }
    if (!seen.insert(s).second) {
      return InvalidArgument("Fragments lists fragment number " + s + " more than once");
    }
    r.fragments.push_back(s);
  }
  return r;
}

std::string ListFragmentsResponseJson(const archive::ListResult& result) {
  json fragments = json::array();
  for (const archive::FragmentInfo& f : result.fragments) {
    fragments.push_back({{"FragmentNumber", f.number},
                         {"FragmentSizeInBytes", f.size_bytes},
                         {"ProducerTimestamp", Seconds(f.producer_timestamp_us)},
                         {"ServerTimestamp", Seconds(f.server_timestamp_us)},
                         {"FragmentLengthInMilliseconds", f.duration_us / 1000}});
  }
  json out = {{"Fragments", std::move(fragments)}};
  if (!result.next_token.empty()) out["NextToken"] = result.next_token;
  return out.dump();
}

}  // namespace streamarc::playback
