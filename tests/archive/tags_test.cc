// Stream tags checked as KVS checks them (archive/tags.h), alone and through the archive.
#include "archive/tags.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/archive/test_util.h"

namespace streamarc::archive::testing {
namespace {

// `n` copies of `s`.
std::string Times(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(TagRulesTest, AcceptsLettersNumbersSpacesAndKvsSymbols) {
  const std::string keys[] = {
      "site",
      "a",
      "Floor 2",                               // space (Zs)
      "Caf\xC3\xA9",                           // é, a precomposed letter
      "\xE3\x82\xAB\xE3\x83\xA1\xE3\x83\xA9",  // カメラ (Lo)
      "\xE6\x9D\xB1\xE4\xBA\xAC",              // 東京
      "\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87",      // ключ
      "\xD9\xA3",                              // Arabic-Indic digit three (Nd)
      "\xE2\x85\xA0",                          // Roman numeral one (Nl)
      "a\xC2\xA0z",                            // no-break space (Zs)
      "a\xE3\x80\x80z",                        // ideographic space (Zs)
      "_.:/=+-@",
      "aws",  // not the prefix
      "xaws:y",
      Times("k", kMaxTagKeyChars),
      Times("\xE6\x9D\xB1", kMaxTagKeyChars),  // 128 characters, 384 bytes
  };
  for (const std::string& key : keys) {
    EXPECT_TRUE(ValidateTagKey(key).ok()) << key << ": " << ValidateTagKey(key).ToString();
  }
  const std::string values[] = {
      "",
      "home",
      "aws:anything",  // the prefix is reserved in keys only
      "2026-12-02 10:00",
      Times("v", kMaxTagValueChars),
      Times("\xC3\xA9", kMaxTagValueChars),
  };
  for (const std::string& value : values) {
    EXPECT_TRUE(ValidateTagValue("k", value).ok())
        << value << ": " << ValidateTagValue("k", value).ToString();
  }
}

TEST(TagRulesTest, RefusesWhatKvsRefusesAndSaysWhy) {
  const std::pair<std::string, const char*> keys[] = {
      {"", "1 to 128 characters, not 0"},
      {Times("k", kMaxTagKeyChars + 1), "1 to 128 characters, not 129"},
      {Times("\xE6\x9D\xB1", kMaxTagKeyChars + 1), "not 129"},
      {std::string("a\0b", 3), "U+0000"},
      {"a\nb", "U+000A"},
      {"a\tb", "U+0009"},
      {"a\rb", "U+000D"},
      {"<script>", "U+003C"},
      {"a\"b", "U+0022"},
      {"a'b", "U+0027"},
      {"a&b", "U+0026"},
      {"a$b", "U+0024"},
      {"a#b", "U+0023"},
      {"\xF0\x9F\x98\x80", "U+1F600"},  // 😀: a symbol (So), not a letter
      {"cam\xE2\x9C\x93", "U+2713"},    // ✓
      {"e\xCC\x81", "U+0301"},          // a combining mark (Mn) is no letter either
      {"\xE2\x80\x8B", "U+200B"},       // zero-width space is a format character (Cf)
      {"\xEF\xBB\xBFk", "U+FEFF"},      // byte order mark
      {"\xE2\x80\xAEk", "U+202E"},      // right-to-left override
      {"a\xFFz", "not valid UTF-8 (at byte 1)"},
      {"\xC0\x80", "not valid UTF-8"},          // overlong NUL
      {"\xE0\x80\xAF", "not valid UTF-8"},      // overlong '/'
      {"\xED\xA0\x80", "not valid UTF-8"},      // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", "not valid UTF-8"},  // past U+10FFFF
      {"\xE6\x9D", "not valid UTF-8"},          // truncated
      {"aws:x", "reserved"},
      {"AWS:x", "reserved"},
      {"Aws:name", "reserved"},
      {"aws:", "reserved"},
  };
  for (const auto& [key, want] : keys) {
    Status s = ValidateTagKey(key);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(want), std::string::npos) << key << " -> " << s.message();
  }
  Status long_value = ValidateTagValue("site", Times("v", kMaxTagValueChars + 1));
  EXPECT_EQ(long_value.code(), Code::kInvalidArgument);
  EXPECT_NE(long_value.message().find("0 to 256 characters, not 257"), std::string::npos)
      << long_value.message();
  for (const std::string& value :
       {std::string("a\0b", 3), std::string("x\ny"), std::string("<b>"), std::string("\xFF")}) {
    EXPECT_EQ(ValidateTagValue("site", value).code(), Code::kInvalidArgument) << value;
  }
}

TEST(TagRulesTest, MessagesNameTheKeyWithItsControlBytesEscaped) {
  EXPECT_EQ(ValidateTagKey("a\nb").message(),
            "tag key \"a\\x0Ab\" holds U+000A, which is not a letter, number, space or one of "
            "_ . : / = + - @");
  EXPECT_EQ(ValidateTagKey("aws:x").message(),
            "tag key \"aws:x\" starts with aws:, a prefix reserved for AWS");
  EXPECT_NE(ValidateTagKey(std::string("\xFF\0\"\\", 4)).message().find("\"\\xFF\\x00\\\"\\\\\""),
            std::string::npos)
      << ValidateTagKey(std::string("\xFF\0\"\\", 4)).message();
  // Characters that could reorder or hide the text around them are quoted as code points.
  EXPECT_NE(ValidateTagKey("\xE2\x80\xAEk").message().find("\"\\u{202E}k\""), std::string::npos)
      << ValidateTagKey("\xE2\x80\xAEk").message();
  EXPECT_NE(ValidateTagKey("\xF0\x9F\x98\x80").message().find("\"\\u{1F600}\""), std::string::npos);
  // Letters of any script are quoted as they are.
  EXPECT_NE(ValidateTagKey("\xE6\x9D\xB1<").message().find("\"\xE6\x9D\xB1<\""), std::string::npos);
  // The value's refusal names its key.
  EXPECT_EQ(ValidateTagValue("site", "a\r").message(),
            "the value of tag key \"site\" holds U+000D, which is not a letter, number, space or "
            "one of _ . : / = + - @");
  // A huge key is quoted in part.
  const std::string huge = ValidateTagKey(Times("k", 100'000)).message();
  EXPECT_LT(huge.size(), 200u) << huge;
  EXPECT_NE(huge.find("\"... must be 1 to 128 characters, not 100000"), std::string::npos) << huge;
  // ValidateTags reports a bad key or value whichever it is.
  EXPECT_NE(ValidateTags({{"good", "ok"}, {"bad", "<x>"}}).message().find("\"bad\""),
            std::string::npos);
  EXPECT_TRUE(ValidateTags({{"good", "ok"}, {"also good", ""}}).ok());
}

TEST(TagRulesTest, TheArchiveStoresNoTagItRefuses) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  CreateStreamRequest req;
  req.name = "cam";
  req.retention_hours = 1;
  req.tags = {{"site", "lab"}, {"aws:owner", "me"}};
  EXPECT_EQ(h.a().CreateStream(req).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("cam")).status().code(), Code::kNotFound)
      << "a refused CreateStream creates nothing";
  req.tags = {{"site", "\xE6\x9D\xB1\xE4\xBA\xAC lab"}};
  ASSERT_TRUE(h.a().CreateStream(req).ok());

  // All or nothing: one bad tag refuses the call.
  EXPECT_EQ(h.a().TagStream(StreamRef::Name("cam"), {{"floor", "2"}, {"x", "<script>"}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(h.a().TagStream(StreamRef::Name("cam"), {{std::string("k\0", 2), "v"}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("cam"))->tags,
            (std::map<std::string, std::string>{{"site", "\xE6\x9D\xB1\xE4\xBA\xAC lab"}}));

  EXPECT_EQ(h.a().UntagStream(StreamRef::Name("cam"), {"site", "aws:x"}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(h.a().UntagStream(StreamRef::Name("cam"), {""}).code(), Code::kInvalidArgument);
  EXPECT_EQ(h.a().DescribeStream(StreamRef::Name("cam"))->tags.size(), 1u)
      << "a refused UntagStream removes nothing";
  EXPECT_TRUE(h.a().UntagStream(StreamRef::Name("cam"), {"site", "never-set"}).ok());
  EXPECT_TRUE(h.a().DescribeStream(StreamRef::Name("cam"))->tags.empty());
}

TEST(TagRulesTest, AKeyStoredBeforeTheRulesCanStillBeRemoved) {
  Harness h;
  ASSERT_TRUE(h.Open().ok());
  h.Create("cam");
  h.Close();
  // What an older server let in, written straight into the index.
  ASSERT_TRUE(h.IndexExec("INSERT INTO tags(stream_id, key, value) "
                          "SELECT id, 'aws:<old>', 'v' FROM streams WHERE name = 'cam'")
                  .ok());
  ASSERT_TRUE(h.Open().ok());
  ASSERT_EQ(h.a().DescribeStream(StreamRef::Name("cam"))->tags.count("aws:<old>"), 1u);
  EXPECT_TRUE(h.a().UntagStream(StreamRef::Name("cam"), {"aws:<old>"}).ok());
  EXPECT_TRUE(h.a().DescribeStream(StreamRef::Name("cam"))->tags.empty());
}

}  // namespace
}  // namespace streamarc::archive::testing
