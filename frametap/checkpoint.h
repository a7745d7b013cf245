// The consumer's small text formats: KVS's epoch-seconds tag values and the checkpoint file.
// Private to frametap/. Both parsers take untrusted bytes (a server's tags, a file on disk)
// and refuse anything malformed with kInvalidArgument; fuzz/frametap_checkpoint_fuzzer.cc
// runs them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc::frametap {

// "1511852109.126" (epoch seconds, up to 6 decimals, as KVS's AWS_KINESISVIDEO_*_TIMESTAMP
// tags write them) to microseconds, exactly (no floating point on the way).
Result<int64_t> ParseEpochSecondsTag(std::string_view text);

// The last fragment a consumer fully handled.
struct Checkpoint {
  std::string fragment_number;     // decimal digits
  std::string continuation_token;  // [a-zA-Z0-9_.-]{1,128}: what GetMedia resumes from
};

// Two "key value" lines after a version line; ParseCheckpoint accepts exactly what
// FormatCheckpoint writes.
std::string FormatCheckpoint(const Checkpoint& checkpoint);
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// std::nullopt when the file does not exist; an error when it cannot be read or parsed.
Result<std::optional<Checkpoint>> ReadCheckpoint(const std::string& path);
// Atomically: written to "<path>.tmp", then renamed over `path` (a killed consumer leaves
// the old checkpoint or the new one, never half of one).
Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint);

}  // namespace streamarc::frametap
