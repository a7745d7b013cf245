#include "server/control_plane.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/base64.h"
#include "common/kvs_request.h"

namespace streamarc::server {
namespace {

using archive::StreamRef;
using nlohmann::json;

constexpr int kMaxTagsPerCall = 50;

// A refusal in KVS's shape; `exhausted` is which of KVS's limits a kResourceExhausted is.
HttpResponse Refuse(Status s, KvsErrorType exhausted = KvsErrorType::kClientLimitExceeded) {
  return KvsErrorResponse(KvsErrorFromStatus(std::move(s), exhausted));
}

// A request body's fields, checked as KVS's model constrains them.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

  // Reads a string field; absent is fine unless `required`.
  Status String(const char* key, bool required, size_t min, size_t max, std::string* out,
                bool* present = nullptr) const {
    if (present) *present = false;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      return required ? InvalidArgument(std::string(key) + " is required") : Status::Ok();
    }
    if (!it->is_string()) return InvalidArgument(std::string(key) + " must be a string");
    *out = it->get<std::string>();
    if (out->size() < min || out->size() > max) {
      return InvalidArgument(std::string(key) + " must be " + std::to_string(min) + " to " +
                             std::to_string(max) + " characters");
    }
    if (present) *present = true;
    return Status::Ok();
  }

  Status Int(const char* key, bool required, int64_t min, int64_t max, int64_t* out,
             bool* present = nullptr) const {
    if (present) *present = false;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      return required ? InvalidArgument(std::string(key) + " is required") : Status::Ok();
    }
    if (!it->is_number_integer()) return InvalidArgument(std::string(key) + " must be an integer");
    *out = it->get<int64_t>();
    if (*out < min || *out > max) {
      return InvalidArgument(std::string(key) + " must be from " + std::to_string(min) + " to " +
                             std::to_string(max));
    }
    if (present) *present = true;
    return Status::Ok();
  }

  // StreamName or StreamARN, exactly one.
  Result<StreamRef> Stream() const {
    std::string name, arn;
    bool has_name = false, has_arn = false;
    RETURN_IF_ERROR(String("StreamName", false, 1, 256, &name, &has_name));
    RETURN_IF_ERROR(String("StreamARN", false, 1, 1024, &arn, &has_arn));
    return kvs::ParseStreamRef(has_name ? &name : nullptr, has_arn ? &arn : nullptr);
  }

  // A Tags map of string to string (1-50 entries).
  Status TagMap(const char* key, bool required, std::map<std::string, std::string>* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      return required ? InvalidArgument(std::string(key) + " is required") : Status::Ok();
    }
    if (!it->is_object()) return InvalidArgument(std::string(key) + " must be a map");
    if (it->empty() || it->size() > kMaxTagsPerCall) {
      return InvalidArgument(std::string(key) + " must have 1 to 50 entries");
    }
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (!t->is_string()) return InvalidArgument("tag values must be strings");
      (*out)[t.key()] = t->get<std::string>();
    }
    return Status::Ok();
  }

  // StreamStorageConfiguration{DefaultStorageTier: HOT|WARM}; absent is fine unless
  // `required`.
  Status StorageTier(bool required, std::optional<archive::StorageTier>* out) const {
    auto it = j_.find("StreamStorageConfiguration");
    if (it == j_.end() || it->is_null()) {
      return required ? InvalidArgument("StreamStorageConfiguration is required") : Status::Ok();
    }
    if (!it->is_object()) return InvalidArgument("StreamStorageConfiguration must be an object");
    std::string tier;
    RETURN_IF_ERROR(Fields(*it).String("DefaultStorageTier", true, 1, 16, &tier));
    *out = archive::ParseStorageTier(tier);
    if (!*out) return InvalidArgument("DefaultStorageTier must be HOT or WARM");
    return Status::Ok();
  }

  Status KeyList(const char* key, std::vector<std::string>* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || !it->is_array() || it->empty() || it->size() > kMaxTagsPerCall) {
      return InvalidArgument(std::string(key) + " must be a list of 1 to 50 keys");
    }
    for (const json& k : *it) {
      if (!k.is_string()) return InvalidArgument(std::string(key) + " must hold strings");
      out->push_back(k.get<std::string>());
    }
    return Status::Ok();
  }

 private:
  const json& j_;
};

// KVS's [\w\-\.\+] character class.
bool IsTypeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '+';
}

// MediaType: `type/subtype` pairs separated by commas, e.g. "video/h264,audio/aac".
Status CheckMediaType(const std::string& value) {
  size_t p = 0;
  while (!value.empty()) {
    size_t end = value.find(',', p);
    std::string_view pair(value.data() + p, (end == std::string::npos ? value.size() : end) - p);
    size_t slash = pair.find('/');
    bool ok =
        slash != std::string_view::npos && slash > 0 && slash + 1 < pair.size() &&
        std::all_of(pair.begin(), pair.end(), [](char c) { return c == '/' || IsTypeChar(c); }) &&
        pair.find('/', slash + 1) == std::string_view::npos;
    if (!ok) return InvalidArgument("MediaType \"" + value + "\" is not type/subtype[,...]");
    if (end == std::string::npos) break;
    p = end + 1;
  }
  return Status::Ok();
}

Status CheckVersion(const std::string& value) {
  for (char c : value) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      return InvalidArgument("CurrentVersion \"" + value + "\" must be letters and digits");
    }
  }
  return Status::Ok();
}

json StreamInfoJson(const archive::StreamInfo& s) {
  json j = {{"StreamName", s.name},
            {"StreamARN", s.arn},
            {"Version", s.version},
            {"Status", std::string(archive::StreamStatusName(s.status))},
            {"CreationTime", static_cast<double>(s.creation_time_us) / 1e6},
            {"DataRetentionInHours", s.retention_hours}};
  if (!s.device_name.empty()) j["DeviceName"] = s.device_name;
  if (!s.media_type.empty()) j["MediaType"] = s.media_type;
  if (!s.kms_key_id.empty()) j["KmsKeyId"] = s.kms_key_id;
  return j;
}

json TagsJson(const std::map<std::string, std::string>& tags) {
  json j = json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

class ControlPlane {
 public:
  ControlPlane(archive::Archive& a, const ControlPlaneOptions& o) : a_(a), opt_(o) {}

  HttpResponse CreateStream(const Fields& f) {
    archive::CreateStreamRequest req;
    int64_t retention = 0;
    Status s = f.String("StreamName", true, 1, 256, &req.name);
    if (s.ok()) s = f.String("DeviceName", false, 1, 128, &req.device_name);
    if (s.ok()) s = f.String("MediaType", false, 1, 128, &req.media_type);
    if (s.ok()) s = CheckMediaType(req.media_type);
    if (s.ok()) s = f.String("KmsKeyId", false, 1, 2048, &req.kms_key_id);
    if (s.ok()) {
      s = f.Int("DataRetentionInHours", false, 0, archive::kMaxRetentionHours, &retention);
    }
    if (s.ok()) s = f.TagMap("Tags", false, &req.tags);
    if (s.ok()) s = f.StorageTier(false, &req.storage_tier);
    if (!s.ok()) return Refuse(s);
    req.retention_hours = static_cast<int>(retention);
    auto info = a_.CreateStream(req);
    if (!info.ok()) return Refuse(info.status(), KvsErrorType::kTagsPerResourceExceededLimit);
    return JsonOk(json{{"StreamARN", info->arn}}.dump());
  }

  HttpResponse DescribeStream(const Fields& f) {
    auto ref = f.Stream();
    if (!ref.ok()) return Refuse(ref.status());
    auto info = a_.DescribeStream(*ref);
    if (!info.ok()) return Refuse(info.status());
    return JsonOk(json{{"StreamInfo", StreamInfoJson(*info)}}.dump());
  }

  HttpResponse ListStreams(const HttpRequest& req, const json& body, const Fields& f) {
    int64_t max = 10000;
    std::string token, prefix;
    Status s = f.Int("MaxResults", false, 1, 10000, &max);
    if (s.ok()) s = f.String("NextToken", false, 0, 1024, &token);
    if (s.ok() && body.contains("StreamNameCondition")) {
      const json& c = body["StreamNameCondition"];
      if (!c.is_object()) {
        s = InvalidArgument("StreamNameCondition must be an object");
      } else {
        Fields cf(c);
        std::string op;
        s = cf.String("ComparisonOperator", false, 1, 32, &op);
        if (s.ok() && !op.empty() && op != "BEGINS_WITH") {
          s = InvalidArgument("ComparisonOperator must be BEGINS_WITH");
        }
        if (s.ok()) s = cf.String("ComparisonValue", false, 1, 256, &prefix);
      }
    }
    if (!s.ok()) return Refuse(s);
    std::string after;
    if (!token.empty()) {
      auto decoded = Base64Decode(token);
      if (!decoded.ok()) return Refuse(InvalidArgument("NextToken is not valid"));
      after = *decoded;
    }
    // One more than asked tells whether another page exists (at the 10000 cap, a full
    // page gets a token that may lead to an empty page).
    const int64_t ask = std::min<int64_t>(max + 1, 10000);
    auto list = a_.ListStreams(prefix, after, static_cast<int>(ask));
    if (!list.ok()) return Refuse(list.status());
    json out = {{"StreamInfoList", json::array()}};
    size_t n = std::min(list->size(), static_cast<size_t>(max));
    for (size_t i = 0; i < n; ++i) {
      // A page may come out shorter than MaxResults; the token still moves past what it read.
      if (opt_.visible && !opt_.visible(req, (*list)[i].name)) continue;
      out["StreamInfoList"].push_back(StreamInfoJson((*list)[i]));
    }
    if (n > 0 && (list->size() > n || static_cast<int64_t>(n) == ask)) {
      out["NextToken"] = Base64Encode((*list)[n - 1].name);
    }
    return JsonOk(out.dump());
  }

  HttpResponse DeleteStream(const Fields& f) {
    std::string version;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.String("CurrentVersion", false, 1, 64, &version);
    if (s.ok()) s = CheckVersion(version);
    if (!s.ok()) return Refuse(s);
    s = a_.DeleteStream(*ref, version);
    if (!s.ok()) return Refuse(s);
    return JsonOk("{}");
  }

  HttpResponse UpdateStream(const Fields& f) {
    std::string version, device, media;
    bool has_device = false, has_media = false;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.String("CurrentVersion", true, 1, 64, &version);
    if (s.ok()) s = CheckVersion(version);
    if (s.ok()) s = f.String("DeviceName", false, 1, 128, &device, &has_device);
    if (s.ok()) s = f.String("MediaType", false, 1, 128, &media, &has_media);
    if (s.ok()) s = CheckMediaType(media);
    if (!s.ok()) return Refuse(s);
    std::optional<std::string> d, m;
    if (has_device) d = device;
    if (has_media) m = media;
    s = a_.UpdateStream(*ref, version, d, m);
    if (!s.ok()) return Refuse(s);
    return JsonOk("{}");
  }

  HttpResponse UpdateDataRetention(const Fields& f) {
    std::string version, op;
    int64_t change = 0;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.String("CurrentVersion", true, 1, 64, &version);
    if (s.ok()) s = f.String("Operation", true, 1, 64, &op);
    if (s.ok() && op != "INCREASE_DATA_RETENTION" && op != "DECREASE_DATA_RETENTION") {
      s = InvalidArgument("Operation must be INCREASE_DATA_RETENTION or DECREASE_DATA_RETENTION");
    }
    if (s.ok()) {
      s = f.Int("DataRetentionChangeInHours", true, 1, archive::kMaxRetentionHours, &change);
    }
    if (!s.ok()) return Refuse(s);
    auto info = a_.DescribeStream(*ref);
    if (!info.ok()) return Refuse(info.status());
    if (info->version != version) {
      return Refuse(FailedPrecondition("CurrentVersion does not match the stream's version"));
    }
    int64_t hours = info->retention_hours + (op[0] == 'I' ? change : -change);
    if (hours < 0 || hours > archive::kMaxRetentionHours) {
      return Refuse(InvalidArgument("the new retention of " + std::to_string(hours) +
                                    " hours is outside 0 to 87600"));
    }
    s = a_.UpdateRetention(*ref, version, static_cast<int>(hours));
    if (!s.ok()) return Refuse(s);
    return JsonOk("{}");
  }

  HttpResponse DescribeStorage(const Fields& f) {
    auto ref = f.Stream();
    if (!ref.ok()) return Refuse(ref.status());
    auto info = a_.DescribeStream(*ref);
    if (!info.ok()) return Refuse(info.status());
    return JsonOk(json{{"StreamName", info->name},
                       {"StreamARN", info->arn},
                       {"StreamStorageConfiguration",
                        {{"DefaultStorageTier", archive::StorageTierName(info->storage_tier)}}}}
                      .dump());
  }

  HttpResponse UpdateStorage(const Fields& f) {
    std::string version;
    std::optional<archive::StorageTier> tier;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.String("CurrentVersion", true, 1, 64, &version);
    if (s.ok()) s = CheckVersion(version);
    if (s.ok()) s = f.StorageTier(true, &tier);
    if (!s.ok()) return Refuse(s);
    s = a_.UpdateStorageTier(*ref, version, *tier);
    if (!s.ok()) return Refuse(s);
    return JsonOk("{}");
  }

  HttpResponse GetDataEndpoint(const Fields& f) {
    static const char* const kApis[] = {"PUT_MEDIA",
                                        "GET_MEDIA",
                                        "LIST_FRAGMENTS",
                                        "GET_MEDIA_FOR_FRAGMENT_LIST",
                                        "GET_HLS_STREAMING_SESSION_URL",
                                        "GET_DASH_STREAMING_SESSION_URL",
                                        "GET_CLIP",
                                        "GET_IMAGES"};
    std::string api;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.String("APIName", true, 1, 64, &api);
    if (s.ok() && std::find(std::begin(kApis), std::end(kApis), api) == std::end(kApis)) {
      s = InvalidArgument("APIName " + api + " is not one KVS knows");
    }
    if (!s.ok()) return Refuse(s);
    auto info = a_.DescribeStream(*ref);
    if (!info.ok()) return Refuse(info.status());
    // Several nodes: ingest goes to the stream's node, and so do the live readers, whose
    // newest fragments that node holds before any other (the rest reads anywhere).
    if (api == "PUT_MEDIA" || api == "GET_MEDIA" || api == "GET_HLS_STREAMING_SESSION_URL" ||
        api == "GET_DASH_STREAMING_SESSION_URL") {
      auto node = a_.IngestNode(*ref);
      if (!node.ok()) return Refuse(node.status());
      if (*node && !(*node)->url.empty()) {
        return JsonOk(json{{"DataEndpoint", (*node)->url}}.dump());
      }
    }
    return JsonOk(json{{"DataEndpoint", opt_.data_endpoint}}.dump());
  }

  HttpResponse TagStream(const Fields& f) {
    std::map<std::string, std::string> tags;
    auto ref = f.Stream();
    Status s = ref.status();
    if (s.ok()) s = f.TagMap("Tags", true, &tags);
    if (!s.ok()) return Refuse(s);
    return Tag(*ref, tags);
  }

  HttpResponse TagResource(const json& body, const Fields& f) {
    std::string arn;
    Status s = f.String("ResourceARN", true, 1, 1024, &arn);
    std::map<std::string, std::string> tags;
    if (s.ok()) {
      const json& list = body.value("Tags", json());
      if (!list.is_array() || list.empty() || list.size() > kMaxTagsPerCall) {
        s = InvalidArgument("Tags must be a list of 1 to 50 {Key, Value}");
      } else {
        for (const json& t : list) {
          if (!t.is_object() || !t.contains("Key") || !t["Key"].is_string() ||
              !t.contains("Value") || !t["Value"].is_string()) {
            s = InvalidArgument("each tag needs a string Key and Value");
            break;
          }
          tags[t["Key"].get<std::string>()] = t["Value"].get<std::string>();
        }
      }
    }
    if (!s.ok()) return Refuse(s);
    return Tag(StreamRef::Arn(arn), tags);
  }

  HttpResponse Untag(const StreamRef& ref, const Fields& f) {
    std::vector<std::string> keys;
    Status s = f.KeyList("TagKeyList", &keys);
    if (s.ok()) s = a_.UntagStream(ref, keys);
    if (!s.ok()) return Refuse(s);
    return JsonOk("{}");
  }

  HttpResponse ListTags(const StreamRef& ref) {
    auto info = a_.DescribeStream(ref);
    if (!info.ok()) return Refuse(info.status());
    return JsonOk(json{{"Tags", TagsJson(info->tags)}}.dump());
  }

 private:
  HttpResponse Tag(const StreamRef& ref, const std::map<std::string, std::string>& tags) {
    Status s = a_.TagStream(ref, tags);
    if (!s.ok()) return Refuse(s, KvsErrorType::kTagsPerResourceExceededLimit);
    return JsonOk("{}");
  }

  archive::Archive& a_;
  const ControlPlaneOptions opt_;
};

}  // namespace

std::map<std::string, BufferedHandler> ControlPlaneHandlers(archive::Archive& archive,
                                                            const ControlPlaneOptions& options) {
  auto cp = std::make_shared<ControlPlane>(archive, options);
  std::map<std::string, BufferedHandler> handlers;
  // Every operation: parse the JSON body, run (the request id comes from the middleware).
  auto route = [&](const char* path,
                   const std::function<HttpResponse(const json&, const Fields&)>& op) {
    handlers[path] = [cp, op](const HttpRequest& req) {
      json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
      HttpResponse resp = body.is_discarded() || !body.is_object()
                              ? Refuse(InvalidArgument("the request body is not a JSON object"))
                              : op(body, Fields(body));
      return resp;
    };
  };
  route("/createStream", [cp](const json&, const Fields& f) { return cp->CreateStream(f); });
  route("/describeStream", [cp](const json&, const Fields& f) { return cp->DescribeStream(f); });
  handlers["/listStreams"] = [cp](const HttpRequest& req) {
    json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Refuse(InvalidArgument("the request body is not a JSON object"));
    }
    return cp->ListStreams(req, body, Fields(body));
  };
  route("/deleteStream", [cp](const json&, const Fields& f) { return cp->DeleteStream(f); });
  route("/updateStream", [cp](const json&, const Fields& f) { return cp->UpdateStream(f); });
  route("/updateDataRetention",
        [cp](const json&, const Fields& f) { return cp->UpdateDataRetention(f); });
  route("/describeStreamStorageConfiguration",
        [cp](const json&, const Fields& f) { return cp->DescribeStorage(f); });
  route("/updateStreamStorageConfiguration",
        [cp](const json&, const Fields& f) { return cp->UpdateStorage(f); });
  route("/getDataEndpoint", [cp](const json&, const Fields& f) { return cp->GetDataEndpoint(f); });
  route("/tagStream", [cp](const json&, const Fields& f) { return cp->TagStream(f); });
  route("/untagStream", [cp](const json&, const Fields& f) {
    auto ref = f.Stream();
    return ref.ok() ? cp->Untag(*ref, f) : Refuse(ref.status());
  });
  route("/listTagsForStream", [cp](const json&, const Fields& f) {
    auto ref = f.Stream();
    return ref.ok() ? cp->ListTags(*ref) : Refuse(ref.status());
  });
  route("/TagResource", [cp](const json& b, const Fields& f) { return cp->TagResource(b, f); });
  route("/UntagResource", [cp](const json&, const Fields& f) {
    std::string arn;
    Status s = f.String("ResourceARN", true, 1, 1024, &arn);
    return s.ok() ? cp->Untag(StreamRef::Arn(arn), f) : Refuse(s);
  });
  route("/ListTagsForResource", [cp](const json&, const Fields& f) {
    std::string arn;
    Status s = f.String("ResourceARN", true, 1, 1024, &arn);
    return s.ok() ? cp->ListTags(StreamRef::Arn(arn)) : Refuse(s);
  });
  return handlers;
}

}  // namespace streamarc::server
