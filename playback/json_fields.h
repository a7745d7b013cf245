// The JSON field readers of playback's request parsers (private to playback/): KVS's request
// bodies are JSON objects whose fields are checked the same way in every API, with messages
// that name the field. Every refusal is kInvalidArgument. Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/kvs_request.h"
#include "common/status.h"

namespace streamarc::playback::json_fields {

using nlohmann::json;

// The body as a JSON object.
Result<json> ParseObject(std::string_view body);
// The field, or nullptr when it is absent or null.
const json* Find(const json& j, const char* key);
// A required string field of min..max characters.
Result<std::string> String(const json& j, const char* key, size_t min, size_t max);
// An optional integer field in lo..hi; nullopt when absent.
Result<std::optional<int64_t>> Integer(const json& j, const char* key, int64_t lo, int64_t hi);
// The optional NextToken of the archived-media list APIs, checked against KVS's pattern
// (Base64Chars); "" when absent.
Result<std::string> NextToken(const json& j);
// A required timestamp: epoch seconds (a JSON number, fractions allowed) to microseconds.
Result<int64_t> Timestamp(const json& j, const char* key);
// StreamName / StreamARN: the JSON types here, the rules kvs::ParseStreamRef's.
Result<kvs::StreamRef> Stream(const json& j);
// Non-empty and only ASCII digits (fragment numbers, quoted integers).
bool AllDigits(std::string_view s);
// KVS's NextToken pattern for the archived-media APIs: [a-zA-Z0-9+/]+={0,2}.
bool Base64Chars(std::string_view s);
// Microseconds as epoch seconds (a JSON number), as KVS's responses carry timestamps.
json Seconds(int64_t micros);

}  // namespace streamarc::playback::json_fields
