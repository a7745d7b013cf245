#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace streamarc {
namespace {

// EVP_EncodeBlock takes an int length: longer input is encoded in pieces of this many bytes
// (a multiple of 3, so no padding falls inside).
constexpr size_t kEncodePiece = 3 << 20;
// Longer text is refused rather than decoded in pieces: no token or body of ours comes near.
constexpr size_t kMaxText = 1u << 30;

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // + the NUL it writes
  size_t written = 0;
  for (size_t at = 0; at < bytes.size(); at += kEncodePiece) {
    std::string_view piece = bytes.substr(at, kEncodePiece);
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                            reinterpret_cast<const unsigned char*>(piece.data()),
                            static_cast<int>(piece.size()));
    written += static_cast<size_t>(std::max(n, 0));
  }
  out.resize(written);
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidArgument("base64: length is not a multiple of 4");
  if (text.size() > kMaxText) return InvalidArgument("base64: too long");
  // EVP_DecodeBlock trims whitespace and ignores the low bits of a final group, so it
  // accepts many spellings of one value; re-encoding and comparing keeps only one.
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return InvalidArgument("base64: invalid character");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = (text.back() == '=') + (text[text.size() - 2] == '=');
  out.resize(static_cast<size_t>(n) - std::min(pad, static_cast<size_t>(n)));
  if (Base64Encode(out) != text) return InvalidArgument("base64: not canonical");
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out = Base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return InvalidArgument("base64url: bad length");
  std::string std_text(text);
  for (char& c : std_text) {
    // The standard alphabet's own '+', '/' and '=' are not base64url.
    if (c == '+' || c == '/' || c == '=') return InvalidArgument("base64url: invalid character");
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  std_text.append((4 - std_text.size() % 4) % 4, '=');
  auto out = Base64Decode(std_text);
  if (!out.ok()) return InvalidArgument("base64url: not canonical");
  return out;
}

}  // namespace streamarc
