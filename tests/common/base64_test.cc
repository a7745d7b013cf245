// Base64 and base64url: round trips, the known spellings, and strictness (one spelling per
// value). RoundTripsAllLengths and Base64Url.RoundTripAndStrictness moved here unchanged from
// tests/archive/names_test.cc and tests/playback/hls_test.cc with the code they test.
#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace streamarc {
namespace {

TEST(Base64Test, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
    s += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(*back, plain);
  }
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff\x00", 3)), "+/8A");
}

TEST(Base64Test, RefusesMalformedText) {
  for (const char* bad : {
           "Zg",          // no padding
           "Zg=",         // short padding
           "Zg===",       // too much
           "Z===",        // padding where data must be
           "=Zg=",        // padding first
           "Zm=v",        // padding inside
           "Zh==",        // low bits set: not the canonical spelling of "f"
           "Zm9=",        // same for two bytes
           " Zg==",       // whitespace (EVP_DecodeBlock itself would skip it)
           "Zg== ",       //
           "Zm9v\nYmFy",  // line breaks
           "Zm9v-_8A",    // the URL alphabet
           "Zm9v!!!!",    //
       }) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Base64Decode(std::string("Zg=\0", 4)).ok());
}

TEST(Base64Test, LongInputRoundTrips) {
  // Longer than one EVP_EncodeBlock piece (3 MiB), not a multiple of 3.
  std::string big((7 << 20) + 1, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 9));
  std::string text = Base64Encode(big);
  EXPECT_EQ(text.size(), (big.size() + 2) / 3 * 4);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
      std::string::npos);
  auto back = Base64Decode(text);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == big);
}

TEST(Base64Url, RoundTripAndStrictness) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("\xff\xfe\x00\x01", 4)}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());  // padding is not ours
  EXPECT_FALSE(Base64UrlDecode("Z").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());  // non-canonical low bits (Zg is "f")
  EXPECT_FALSE(Base64UrlDecode("a+b/").ok());
}

TEST(Base64Url, RefusesMalformedText) {
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  for (const char* bad : {"Zg=", "Z", "Zm9vY", " Zg", "Zg ", "Zm9v\n", "Zm8%", "Zm9=", "Zm9"}) {
    // "Zm9" is "fo" with a low bit set ("Zm8" is the canonical spelling).
    auto r = Base64UrlDecode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(*Base64UrlDecode("Zm8"), "fo");
  EXPECT_EQ(*Base64UrlDecode(""), "");
}

}  // namespace
}  // namespace streamarc
