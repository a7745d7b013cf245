// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded), encoded and decoded by OpenSSL.
// Decoding is strict: only the canonical encoding of some bytes is accepted (no whitespace,
// no missing or extra padding, no stray low bits), so a token has exactly one spelling.
// Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc {

// "Zm9vYg==" for "foob".
std::string Base64Encode(std::string_view bytes);
// kInvalidArgument for anything Base64Encode would not have written.
Result<std::string> Base64Decode(std::string_view text);

// "-_8" for "\xfb\xff": the URL alphabet, no padding.
std::string Base64UrlEncode(std::string_view bytes);
// kInvalidArgument for anything Base64UrlEncode would not have written.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace streamarc
