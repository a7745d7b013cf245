// SHA-256 and HMAC-SHA256 against published vectors (FIPS 180-2, RFC 4231).
#include "common/digest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace streamarc {
namespace {

TEST(DigestTest, Sha256Vectors) {
  EXPECT_EQ(Sha256Hex(std::string_view()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  EXPECT_EQ(Sha256Hex(std::span<const uint8_t>(abc)), Sha256Hex("abc"));
  EXPECT_EQ(Sha256("abc").size(), 32u);
  EXPECT_EQ(Hex(Sha256("abc")), Sha256Hex("abc"));
}

TEST(DigestTest, HmacSha256Rfc4231) {
  // Test case 1: 20 bytes of 0x0b, "Hi There".
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the block.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block (hashed first).
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(DigestTest, EmptyKeyAndDataAreHashedNotRefused) {
  // An empty view may carry a null pointer; the result must still be the real MAC.
  EXPECT_EQ(Hex(HmacSha256(std::string_view(), std::string_view())),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_NE(HmacSha256("", "x"), HmacSha256("k", "x"));
}

TEST(DigestTest, HexIsLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(Hex(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(Hex(""), "");
}

}  // namespace
}  // namespace streamarc
