// Client: the control-plane half of the SDK (DescribeStream, CreateStream when missing,
// GetDataEndpoint), then a StreamImpl per stream for the media half.
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "producer-sdk/producer.h"
#include "producer-sdk/stream_impl.h"

namespace streamarc::producer {

namespace {

using nlohmann::json;

class ClientImpl final : public Client {
 public:
  ClientImpl(std::shared_ptr<CurlGlobal> curl, ClientOptions options, SignContext sign)
      : curl_(std::move(curl)), opt_(std::move(options)), sign_(std::move(sign)) {}

  Result<std::unique_ptr<Stream>> OpenStream(const StreamOptions& options,
                                             StreamCallbacks* callbacks) override;

 private:
  // A control-plane call; kUnavailable when the server cannot be reached, otherwise the
  // response whatever its status.
  Result<HttpResponse> Call(const std::string& op, const json& body) {
    return PostJson(opt_.endpoint, "/" + op, body.dump(), sign_, opt_.connect_timeout_ms,
                    kControlTimeoutMs, clock_.NowMicros());
  }
  Status ErrorOf(const std::string& op, const HttpResponse& r) {
    std::string msg = op + ": HTTP " + std::to_string(r.status) + " " + r.error_type + " " +
                      r.body.substr(0, 300);
    if (r.status == 404) return NotFound(msg);
    if (r.status == 401 || r.status == 403) return PermissionDenied(msg);
    if (r.status == 400) return InvalidArgument(msg);
    return Unavailable(msg);
  }
  Status EnsureStream(const StreamOptions& s);

  std::shared_ptr<CurlGlobal> curl_;
  ClientOptions opt_;
  SignContext sign_;
  SystemClock clock_;
};

Status ClientImpl::EnsureStream(const StreamOptions& s) {
  // DescribeStream until ACTIVE; an exact 404 means missing (the KVS SDK's rule).
  std::optional<HttpResponse> refused_in_use;
  for (int tries = 0; tries < 50; ++tries) {
    ASSIGN_OR_RETURN(HttpResponse r, Call("describeStream", {{"StreamName", s.name}}));
    if (r.status == 200) {
      json j = json::parse(r.body, nullptr, false);
      std::string status;
      if (!j.is_discarded() && j.is_object() && j.contains("StreamInfo") &&
          j["StreamInfo"].is_object() && j["StreamInfo"].contains("Status") &&
          j["StreamInfo"]["Status"].is_string()) {
        status = j["StreamInfo"]["Status"].get<std::string>();
      }
      if (status == "ACTIVE") return Status::Ok();
      if (status == "DELETING") return FailedPrecondition("stream " + s.name + " is being deleted");
      // CREATING, UPDATING: the server changes that state, not this process, and nothing
      // notifies us of it, so polling with a pause is the only way (as KVS's own SDK does);
      // bounded by the 50 tries (about 10 s plus the calls).
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (r.status != 404) return ErrorOf("DescribeStream", r);
    // Created meanwhile, said CreateStream, yet still missing: the refusal meant something
    // else (a read-only streamarcd says ResourceInUse to every change).
    if (refused_in_use) return ErrorOf("CreateStream", *refused_in_use);
    if (!s.create_if_missing) {
      return NotFound("stream " + s.name + " does not exist and create_if_missing is off");
    }
    ASSIGN_OR_RETURN(HttpResponse c,
                     Call("createStream", {{"StreamName", s.name},
                                           {"MediaType", s.media_type},
                                           {"DataRetentionInHours", s.retention_hours}}));
    // ResourceInUse: someone created it meanwhile; describe again.
    if (c.status != 200 && c.error_type != "ResourceInUseException") {
      return ErrorOf("CreateStream", c);
    }
    if (c.status != 200) refused_in_use = std::move(c);
  }
  return Unavailable("stream " + s.name + " did not become ACTIVE");
}

Result<std::unique_ptr<Stream>> ClientImpl::OpenStream(const StreamOptions& options,
                                                       StreamCallbacks* callbacks) {
  if (options.name.empty()) return InvalidArgument("a stream needs a name");
  if (options.storage_bytes < (1u << 20)) return InvalidArgument("storage_bytes below 1 MiB");
  if (options.fragment_duration_ms <= 0 || options.fragment_duration_ms > 30'000) {
    return InvalidArgument("fragment_duration_ms must be within 1..30000");
  }
  if (options.retry_min_ms <= 0 || options.retry_max_ms < options.retry_min_ms) {
    return InvalidArgument("retry_min_ms must be > 0 and <= retry_max_ms");
  }
  ASSIGN_OR_RETURN(Packager packager, Packager::Create(options.tracks));
  RETURN_IF_ERROR(EnsureStream(options));
  ASSIGN_OR_RETURN(HttpResponse r,
                   CallGetDataEndpoint(opt_.endpoint, options.name, sign_, opt_.connect_timeout_ms,
                                       clock_.NowMicros()));
  if (r.status != 200) return ErrorOf("GetDataEndpoint", r);
  UploadConfig up;
  ASSIGN_OR_RETURN(up.data_endpoint, DataEndpointOf(r));
  up.control_endpoint = opt_.endpoint;
  up.sign = sign_;
  up.connect_timeout_ms = opt_.connect_timeout_ms;
  auto stream = std::make_unique<StreamImpl>(curl_, options, std::move(packager), std::move(up),
                                             callbacks, clock_);
  RETURN_IF_ERROR(stream->Start());
  return std::unique_ptr<Stream>(std::move(stream));
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<HttpResponse> CallGetDataEndpoint(const std::string& control_endpoint,
                                         const std::string& stream, const SignContext& sign,
                                         int64_t connect_timeout_ms, int64_t now_micros) {
  const json body = {{"StreamName", stream}, {"APIName", "PUT_MEDIA"}};
  return PostJson(control_endpoint, "/getDataEndpoint", body.dump(), sign, connect_timeout_ms,
                  kControlTimeoutMs, now_micros);
}

Result<std::string> DataEndpointOf(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("DataEndpoint") ||
      !j["DataEndpoint"].is_string()) {
    return Unavailable("GetDataEndpoint: no DataEndpoint in " + r.body.substr(0, 200));
  }
  return j["DataEndpoint"].get<std::string>();
}

Result<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  auto curl = std::make_shared<CurlGlobal>();
  if (!curl->ok()) return Internal("curl_global_init failed");
  RETURN_IF_ERROR(ParseUrl(options.endpoint).status());
  SignContext sign;
  sign.region = options.region.empty() ? "us-west-2" : options.region;
  sign.user_agent = options.user_agent;
  ASSIGN_OR_RETURN(sign.ca_cert, ResolveCaCert(options.ca_cert));
  sign.credentials = {options.credentials.access_key, options.credentials.secret_key,
                      options.credentials.session_token};
  if (sign.credentials.access_key.empty()) {
    sign.credentials = {Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"),
                        Env("AWS_SESSION_TOKEN")};
  }
  if (sign.credentials.access_key.empty() || sign.credentials.secret_key.empty()) {
    return PermissionDenied(
        "no credentials: set ClientOptions::credentials or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY");
  }
  return std::unique_ptr<Client>(new ClientImpl(std::move(curl), options, std::move(sign)));
}

}  // namespace streamarc::producer
