// KVS's rules for stream tags (private to archive/): what CreateStream, TagStream and
// UntagStream check before the registry stores or removes anything, so that no front end
// (the control plane, a test, a later API) can store a tag KVS would refuse.
//
// KVS's model (kvs-api.md §1, Tags): a key is 1-128 characters, a value 0-256, both matching
// ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, and AWS reserves keys that start with "aws:". Here:
//   - a character is a Unicode code point (as AWS counts "Unicode characters"), and the text
//     must be valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF);
//   - \p{L}, \p{Z} and \p{N} are the letter, separator and number general categories as
//     GLib's tables classify them (g_unichar_type). So letters of every script, digits of
//     every script and U+0020/U+00A0/U+3000-style spaces pass; control characters (NUL, tab,
//     newline), punctuation such as < > " ' & and symbols such as emoji do not;
//   - the "aws:" prefix is refused in any letter case ("AWS:", "Aws:"), as AWS's tagging
//     guide asks; values may start with it (KVS's model reserves keys only).
// Every refusal is kInvalidArgument with a message that names the key, its control
// characters and stray bytes escaped as \xNN so that it is safe in a log line.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc::archive {

inline constexpr size_t kMaxTagKeyChars = 128;
inline constexpr size_t kMaxTagValueChars = 256;

Status ValidateTagKey(std::string_view key);
// `key` only names the tag in the message.
Status ValidateTagValue(std::string_view key, std::string_view value);
// Every key and value; the first refusal (in key order).
Status ValidateTags(const std::map<std::string, std::string>& tags);

}  // namespace streamarc::archive
