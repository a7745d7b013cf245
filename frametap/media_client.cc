#include "frametap/media_client.h"

#include <strings.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "producer-sdk/http.h"

namespace streamarc::frametap {
namespace {

using nlohmann::json;
using producer::CurlEasy;
using producer::CurlSlist;

constexpr size_t kMaxErrorBody = 64 << 10;

const char* SelectorName(StartType t) {
  switch (t) {
    case StartType::kNow:
      return "NOW";
    case StartType::kEarliest:
      return "EARLIEST";
    case StartType::kProducerTimestamp:
      return "PRODUCER_TIMESTAMP";
    case StartType::kServerTimestamp:
      return "SERVER_TIMESTAMP";
    case StartType::kFragmentNumber:
      return "FRAGMENT_NUMBER";
    case StartType::kContinuationToken:
      return "CONTINUATION_TOKEN";
  }
  return "NOW";
}

// What one call saw; the curl callbacks fill it.
struct CallState {
  const MediaCallbacks* callbacks = nullptr;
  CURL* easy = nullptr;
  long http_status = 0;
  std::string error_type;
  std::string error_body;
  Status refused;  // on_bytes' refusal
  uint64_t bytes = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) noexcept {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "x-amzn-errortype:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string_view v = line.substr(kName.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    static_cast<CallState*>(user)->error_type = std::string(v.substr(0, v.find_first_of(":\r\n")));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) noexcept {
  auto* st = static_cast<CallState*>(user);
  const size_t len = size * n;
  if (st->http_status == 0) curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &st->http_status);
  if (st->http_status != 200) {
    st->error_body.append(
        data, std::min(len, kMaxErrorBody - std::min(kMaxErrorBody, st->error_body.size())));
    return len;
  }
  st->bytes += len;
  try {
    Status s = st->callbacks->on_bytes({reinterpret_cast<const uint8_t*>(data), len});
    if (!s.ok()) {
      st->refused = std::move(s);
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
  } catch (const std::exception& e) {
    st->refused = Internal(std::string("frame tap: ") + e.what());
    return 0;
  }
  return len;
}

}  // namespace

std::string GetMediaBody(const ConsumerOptions& options, const StartSelector& start) {
  json sel = {{"StartSelectorType", SelectorName(start.type)}};
  switch (start.type) {
    case StartType::kProducerTimestamp:
    case StartType::kServerTimestamp:
      sel["StartTimestamp"] = static_cast<double>(start.timestamp_us) / 1e6;
      break;
    case StartType::kFragmentNumber:
      sel["AfterFragmentNumber"] = start.value;
      break;
    case StartType::kContinuationToken:
      sel["ContinuationToken"] = start.value;
      break;
    default:
      break;
  }
  json body = {{"StartSelector", sel}};
  if (!options.stream_arn.empty()) {
    body["StreamARN"] = options.stream_arn;
  } else {
    body["StreamName"] = options.stream_name;
  }
  return body.dump();
}

Status KvsErrorStatus(long http_status, const std::string& error_type, const std::string& body) {
  std::string message;
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    for (const char* key : {"Message", "message"}) {
      if (j.contains(key) && j[key].is_string()) message = j[key].get<std::string>();
    }
  }
  std::string type = error_type.empty() ? "HTTP " + std::to_string(http_status) : error_type;
  std::string text = type + ": " + (message.empty() ? body.substr(0, 200) : message);
  if (type == "ResourceNotFoundException") return NotFound(text);
  if (type == "NotAuthorizedException" || type == "AccessDeniedException" || http_status == 401 ||
      http_status == 403) {
    return PermissionDenied(text);
  }
  if (type == "ClientLimitExceededException" || type == "ConnectionLimitExceededException") {
    return ResourceExhausted(text);
  }
  if (type == "ServiceUnavailableException" || http_status == 503) return Unavailable(text);
  if (type == "InvalidArgumentException" || http_status == 400) return InvalidArgument(text);
  return Internal(text);
}

struct MediaClient::Impl {
  struct MultiCleanup {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
  };
  std::unique_ptr<CURLM, MultiCleanup> multi;
};

Result<std::unique_ptr<MediaClient>> MediaClient::Create() {
  std::unique_ptr<MediaClient> c(new MediaClient);
  c->impl_ = std::make_unique<Impl>();
  c->impl_->multi.reset(curl_multi_init());
  if (!c->impl_->multi) return Internal("curl_multi_init failed");
  return c;
}

MediaClient::~MediaClient() = default;

void MediaClient::Wake() { curl_multi_wakeup(impl_->multi.get()); }

Status MediaClient::Run(const ConsumerOptions& options, const std::string& body,
                        const MediaCallbacks& callbacks, const std::function<bool()>& stopping) {
  ASSIGN_OR_RETURN(producer::ParsedUrl url, producer::ParseUrl(options.endpoint));
  CurlSlist headers;
  if (!options.access_key.empty()) {
    producer::SignContext ctx;
    ctx.region = options.region;
    ctx.credentials = {options.access_key, options.secret_key, options.session_token};
    ctx.user_agent = "streamarc-frametap/1";
    ASSIGN_OR_RETURN(headers, producer::SignedHeaderList(
                                  url, "/getMedia", {{"content-type", "application/json"}},
                                  Sha256Hex(body), ctx, SystemClock().NowMicros()));
  } else {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
  }
  // Expect: 100-continue would stall the small body on servers that do not answer it.
  if (!headers || !curl_slist_append(headers.get(), "Expect:")) {
    return Internal("curl_slist_append failed");
  }
  CurlEasy easy(curl_easy_init());
  if (!easy) return Internal("curl_easy_init failed");
  CallState st;
  st.callbacks = &callbacks;
  st.easy = easy.get();
  const std::string full = url.scheme + "://" + url.host_header + url.path + "/getMedia";
  CURL* c = easy.get();
  curl_easy_setopt(c, CURLOPT_URL, full.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // A silent network loss (no RST) is found by TCP keepalive instead of hanging forever.
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
  ASSIGN_OR_RETURN(const std::string ca_cert, producer::ResolveCaCert(options.ca_cert));
  producer::SetCaCert(c, ca_cert);

  CURLM* m = impl_->multi.get();
  if (curl_multi_add_handle(m, c) != CURLM_OK) return Internal("curl_multi_add_handle failed");
  using Steady = std::chrono::steady_clock;
  auto last_bytes = Steady::now();
  bool idle_fired = false;
  uint64_t seen = 0;
  Status result;
  bool cancelled = false;
  for (;;) {
    int running = 0;
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      result = Internal("curl_multi_perform failed");
      break;
    }
    if (!st.refused.ok() || running == 0) break;
    if (stopping()) {
      cancelled = true;
      break;
    }
    if (st.bytes != seen) {
      seen = st.bytes;
      last_bytes = Steady::now();
      idle_fired = false;
    } else if (!idle_fired && st.http_status == 200 &&
               Steady::now() - last_bytes >= std::chrono::milliseconds(callbacks.idle_ms)) {
      idle_fired = true;
      callbacks.on_idle();
    }
    int fds = 0;
    curl_multi_poll(m, nullptr, 0, static_cast<int>(callbacks.idle_ms), &fds);
    if (stopping()) {
      cancelled = true;
      break;
    }
  }
  CURLcode code = CURLE_OK;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == c) code = msg->data.result;
  }
  curl_multi_remove_handle(m, c);
  if (cancelled) return Cancelled("the consumer stopped");
  if (!st.refused.ok()) return st.refused;
  if (!result.ok()) return result;
  if (code != CURLE_OK) {
    return Unavailable("GetMedia at " + full + ": " + curl_easy_strerror(code));
  }
  if (st.http_status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st.http_status);
  if (st.http_status != 200) return KvsErrorStatus(st.http_status, st.error_type, st.error_body);
  return Status::Ok();
}

}  // namespace streamarc::frametap
