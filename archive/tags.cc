#include "archive/tags.h"

#include <glib.h>

#include <cstdio>
#include <optional>

namespace streamarc::archive {
namespace {

constexpr std::string_view kReservedPrefix = "aws:";
constexpr std::string_view kTagSymbols = "_.:/=+-@";
// How much of a refused key its message quotes (a refused key may be megabytes long).
constexpr size_t kQuotedChars = 64;

// The code point at s[*i], advancing *i past it; nullopt (and *i unchanged) for an invalid,
// overlong or truncated sequence, a surrogate, a code point past U+10FFFF or NUL (GLib
// refuses NUL as a "partial" character, which suits us: it is a control character anyway).
std::optional<gunichar> NextChar(std::string_view s, size_t* i) {
  const gunichar c = g_utf8_get_char_validated(s.data() + *i, static_cast<gssize>(s.size() - *i));
  if (c == static_cast<gunichar>(-1) || c == static_cast<gunichar>(-2)) return std::nullopt;
  *i += static_cast<size_t>(g_utf8_skip[static_cast<unsigned char>(s[*i])]);
  return c;
}

// \p{L}, \p{Z}, \p{N} or one of KVS's symbols.
bool IsTagChar(gunichar c) {
  if (c < 0x80 && kTagSymbols.find(static_cast<char>(c)) != std::string_view::npos) return true;
  switch (g_unichar_type(c)) {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_SPACE_SEPARATOR:
      return true;
    default:
      return false;
  }
}

std::string Hex(unsigned value, const char* format) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// `s` in quotes for a message: its first kQuotedChars characters, with control characters
// and bytes that are not UTF-8 as \xNN, other non-ASCII characters outside the tag class
// (format characters such as U+202E, marks, emoji) as \u{N}, quotes and backslashes
// escaped: a hostile key can neither break a log line nor hide what it holds.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  for (size_t chars = 0; i < s.size() && chars < kQuotedChars; ++chars) {
    const size_t start = i;
    std::optional<gunichar> c = NextChar(s, &i);
    if (!c || *c < 0x20 || *c == 0x7f) {
      out += Hex(static_cast<unsigned char>(s[start]), "\\x%02X");
      i = start + 1;
    } else if (*c >= 0x80 && !IsTagChar(*c)) {
      out += Hex(*c, "\\u{%X}");
    } else {
      if (*c == '"' || *c == '\\') out += '\\';
      out.append(s.substr(start, i - start));
    }
  }
  out += '"';
  if (i < s.size()) out += "...";
  return out;
}

// The checks keys and values share. `what` names the text in the message.
Status CheckText(std::string_view text, size_t min_chars, size_t max_chars,
                 const std::string& what) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++chars) {
    const size_t start = i;
    std::optional<gunichar> c = NextChar(text, &i);
    if (!c) {
      if (text[start] == '\0') {
        return InvalidArgument(what +
                               " holds U+0000, which is not a letter, number, space or "
                               "one of _ . : / = + - @");
      }
      return InvalidArgument(what + " is not valid UTF-8 (at byte " + std::to_string(start) + ")");
    }
    if (!IsTagChar(*c)) {
      return InvalidArgument(what + " holds " + Hex(*c, "U+%04X") +
                             ", which is not a letter, number, space or one of _ . : / = + - @");
    }
  }
  if (chars < min_chars || chars > max_chars) {
    return InvalidArgument(what + " must be " + std::to_string(min_chars) + " to " +
                           std::to_string(max_chars) + " characters, not " + std::to_string(chars));
  }
  return Status::Ok();
}

bool HasReservedPrefix(std::string_view key) {
  if (key.size() < kReservedPrefix.size()) return false;
  for (size_t i = 0; i < kReservedPrefix.size(); ++i) {
    char c = key[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kReservedPrefix[i]) return false;
  }
  return true;
}

}  // namespace

Status ValidateTagKey(std::string_view key) {
  const std::string what = "tag key " + Quoted(key);
  RETURN_IF_ERROR(CheckText(key, 1, kMaxTagKeyChars, what));
  if (HasReservedPrefix(key)) {
    return InvalidArgument(what + " starts with aws:, a prefix reserved for AWS");
  }
  return Status::Ok();
}

Status ValidateTagValue(std::string_view key, std::string_view value) {
  return CheckText(value, 0, kMaxTagValueChars, "the value of tag key " + Quoted(key));
}

Status ValidateTags(const std::map<std::string, std::string>& tags) {
  for (const auto& [key, value] : tags) {
    RETURN_IF_ERROR(ValidateTagKey(key));
    RETURN_IF_ERROR(ValidateTagValue(key, value));
  }
  return Status::Ok();
}

}  // namespace streamarc::archive
