#include "common/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace streamarc {
namespace {

// OpenSSL's one-shot calls take a pointer even for empty input; an empty view may hold null.
const unsigned char* Bytes(const void* p) {
  static const unsigned char kNone = 0;
  return p ? static_cast<const unsigned char*>(p) : &kNone;
}

}  // namespace

std::string Sha256(std::span<const uint8_t> data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(Bytes(data.data()), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    std::abort();  // see the header: only on allocation failure
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Sha256(std::string_view data) {
  return Sha256({reinterpret_cast<const uint8_t*>(data.data()), data.size()});
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), Bytes(key.data()), static_cast<int>(key.size()), Bytes(data.data()),
            data.size(), md, &len)) {
    std::abort();  // see the header: only on allocation failure
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::span<const uint8_t> data) { return Hex(Sha256(data)); }

std::string Sha256Hex(std::string_view data) { return Hex(Sha256(data)); }

}  // namespace streamarc
