// SHA-256 and HMAC-SHA256, computed by OpenSSL, and lowercase hex. Used by SigV4 and by the
// HLS/DASH session tokens. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace streamarc {

// The 32-byte digests, as raw bytes. OpenSSL fails here only when it cannot allocate;
// then the process aborts rather than hand out an empty digest (a MAC compared against an
// empty string would verify anything).
std::string Sha256(std::span<const uint8_t> data);
std::string Sha256(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

// Lowercase hex of `raw`, two digits per byte.
std::string Hex(std::string_view raw);

// Hex(Sha256(data)): SigV4's payload and canonical-request hashes.
std::string Sha256Hex(std::span<const uint8_t> data);
std::string Sha256Hex(std::string_view data);

}  // namespace streamarc
