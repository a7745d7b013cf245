// One GetMedia call over libcurl, its body streamed to a callback as it arrives. Private to
// frametap/ (the consumer's reader thread drives it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "frametap/frametap.h"

namespace streamarc::frametap {

// GetMedia's JSON body for `options`' stream and `start`.
std::string GetMediaBody(const ConsumerOptions& options, const StartSelector& start);

// A KVS error answer (x-amzn-ErrorType and its JSON message) as a Status whose message
// starts with the exception's name ("ResourceNotFoundException: ..."): kNotFound,
// kPermissionDenied, kInvalidArgument, kResourceExhausted (limits), kUnavailable, or kInternal.
Status KvsErrorStatus(long http_status, const std::string& error_type, const std::string& body);

struct MediaCallbacks {
  // The body's bytes as they arrive; a non-OK Status ends the call with that Status.
  std::function<Status(std::span<const uint8_t>)> on_bytes;
  // No byte arrived for `idle_ms` (the consumer drains its decoder at the live edge).
  std::function<void()> on_idle;
  int64_t idle_ms = 100;
};

// Thread-safety: Run on one thread; Wake from any.
class MediaClient {
 public:
  static Result<std::unique_ptr<MediaClient>> Create();
  ~MediaClient();

  // POSTs /getMedia with `body` (signed when options has keys) and streams the answer.
  // OK when the server ended the response; kCancelled after Wake with `stopping` true;
  // KvsErrorStatus for an error answer; kUnavailable when the server cannot be reached or the
  // connection broke; on_bytes' Status when it refused.
  Status Run(const ConsumerOptions& options, const std::string& body,
             const MediaCallbacks& callbacks, const std::function<bool()>& stopping);
  // Makes a Run in progress (or the next) look at `stopping` at once.
  void Wake();

 private:
  MediaClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamarc::frametap
