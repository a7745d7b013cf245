// The JSON field rules every playback request body shares (GetMedia, ListFragments,
// GetMediaForFragmentList, GetImages): a body that must be an object, typed fields with
// length bounds, epoch-second timestamps, the StreamName/StreamARN pair and base64 tokens.
// Each refusal is kInvalidArgument with a message naming the field. Private to playback/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "archive/archive.h"
#include "common/status.h"

namespace streamarc::playback::request_json {

using nlohmann::json;

Result<json> ParseObject(std::string_view body);
// The member `key`, or nullptr when absent or null.
const json* Find(const json& j, const char* key);
// A required string of min..max characters.
Result<std::string> String(const json& j, const char* key, size_t min, size_t max);
// A required epoch-seconds number (fractions allowed), to microseconds.
Result<int64_t> Timestamp(const json& j, const char* key);
// StreamName | StreamARN (exactly one), as kvs::ParseStreamRef rules.
Result<archive::StreamRef> Stream(const json& j);
// KVS's NextToken pattern: [a-zA-Z0-9+/]+={0,2}.
bool Base64Chars(std::string_view s);
bool AllDigits(std::string_view s);

}  // namespace streamarc::playback::request_json
