// Internal to objectstore/ (s3.cc, s3_transport.cc), not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/sigv4.h"

namespace streamarc::objectstore {

// One request: what is signed and sent, where the body comes from and where a ranged GET's
// bytes go.
struct S3Request {
  std::string op;  // S3's name for it, in messages: "PutObject"
  std::string method = "GET";
  std::string key;    // "" for a bucket request
  std::string query;  // percent-encoded, without '?'
  // Lowercase names; signed and sent with host, x-amz-content-sha256, x-amz-date.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256 = std::string(sigv4::kEmptyPayloadSha256);
  // The body of a PUT: `body_bytes`, or `body_size` bytes of the file `body_fd`.
  bool upload = false;
  std::string_view body_bytes;
  int body_fd = -1;
  uint64_t body_size = 0;
  uint64_t body_pos = 0;
  // A GET into `sink` (bytes [sink_offset, sink_offset + sink_n) of the object) instead of
  // into S3Response::body.
  char* sink = nullptr;
  uint64_t sink_offset = 0;
  size_t sink_n = 0;
};

struct S3Response {
  long status = 0;
  std::string body;                     // an error reply, or the body of a GET without a sink
  std::string etag;                     // unquoted
  std::optional<uint64_t> range_start;  // a 206's Content-Range first byte
  int64_t content_length = -1;
  // The sink: bytes of the response body seen, bytes copied, and whether the body did not
  // start at or before the offset asked for.
  uint64_t body_seen = 0;
  size_t sink_filled = 0;
  bool sink_misplaced = false;
  bool sink_full_early = false;  // the transfer was stopped once the sink was full
};

}  // namespace streamarc::objectstore
