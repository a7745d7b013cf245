// What every KVS request is checked for the same way, whichever API and whichever front end
// (JSON body or PutMedia headers) carries it: the stream it names and its epoch-second
// timestamps. The one copy of these rules; the archive, ingest and playback all use it.
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace streamarc::kvs {

// KVS's stream name pattern: [a-zA-Z0-9_.-]+, 1-256 characters. kInvalidArgument with a
// message that says "stream name" otherwise.
Status ValidateStreamName(std::string_view name);

// arn:aws:kinesisvideo:<region>:<account>:stream/<name>/<creation-ms>
std::string MakeStreamArn(std::string_view region, std::string_view account, std::string_view name,
                          int64_t creation_time_us);
// The stream name inside a stream ARN; kInvalidArgument when it is not one (or its name part
// fails ValidateStreamName).
Result<std::string> StreamNameFromArn(std::string_view arn);

// A stream named by its name or by its ARN: exactly one of the two is set.
struct StreamRef {
  std::string name;
  std::string arn;
  static StreamRef Name(std::string n) { return {std::move(n), {}}; }
  static StreamRef Arn(std::string a) { return {{}, std::move(a)}; }
};

inline constexpr size_t kMaxArnLength = 1024;

// A request's StreamName / StreamARN pair, each nullptr when absent. Exactly one must be
// given; a name must pass ValidateStreamName; an ARN must be 1-1024 characters (whether it
// names one of our streams is the archive's to say, with kInvalidArgument or kNotFound).
// kInvalidArgument otherwise. The messages name the inputs as `name_field` / `arn_field`
// (PutMedia passes its header names).
Result<StreamRef> ParseStreamRef(const std::string* name, const std::string* arn,
                                 std::string_view name_field = "StreamName",
                                 std::string_view arn_field = "StreamARN");

// The latest timestamp a request may give: 9999-12-31T23:59:59Z, the end of the years that
// ISO 8601 and AWS's timestamp formats write with four digits. Milliseconds passed by
// mistake for any date after 1978 lie beyond it; microseconds up to it fit an int64.
inline constexpr int64_t kMaxEpochSeconds = 253'402'300'799;

// A timestamp in seconds since the Unix epoch, as the AWS JSON protocols send it (a number,
// fractions allowed, e.g. 1700000000.5), to microseconds (rounded to the nearest).
// kInvalidArgument "<field> is out of range (seconds since the epoch, 1970 to 9999)" for a
// negative, non-finite or later-than-kMaxEpochSeconds value.
Result<int64_t> EpochSecondsToMicros(double seconds, std::string_view field);

}  // namespace streamarc::kvs
