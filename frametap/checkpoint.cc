#include "frametap/checkpoint.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/files.h"

namespace streamarc::frametap {
namespace {

constexpr std::string_view kVersionLine = "streamarc-frametap-checkpoint 1";
constexpr size_t kMaxFragmentNumber = 128;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool TokenChars(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// One "key value\n" line starting at `*pos`; advances past it.
Result<std::string_view> Field(std::string_view text, size_t* pos, std::string_view key) {
  size_t eol = text.find('\n', *pos);
  if (eol == std::string_view::npos) {
    return InvalidArgument("checkpoint: the line of " + std::string(key) + " is missing");
  }
  std::string_view line = text.substr(*pos, eol - *pos);
  *pos = eol + 1;
  if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key ||
      line[key.size()] != ' ') {
    return InvalidArgument("checkpoint: expected \"" + std::string(key) + " <value>\"");
  }
  return line.substr(key.size() + 1);
}

}  // namespace

Result<int64_t> ParseEpochSecondsTag(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  // 12 digits of seconds reach past year 9999; 6 decimals are microseconds.
  if (!AllDigits(whole) || whole.size() > 12 ||
      (dot != std::string_view::npos && (!AllDigits(frac) || frac.size() > 6))) {
    return InvalidArgument("not epoch seconds: \"" + std::string(text.substr(0, 64)) + "\"");
  }
  int64_t us = 0;
  for (char c : whole) us = us * 10 + (c - '0');
  int64_t f = 0;
  for (size_t i = 0; i < 6; ++i) f = f * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  return us * 1'000'000 + f;
}

std::string FormatCheckpoint(const Checkpoint& checkpoint) {
  std::string out(kVersionLine);
  out += "\nfragment_number " + checkpoint.fragment_number;
  out += "\ncontinuation_token " + checkpoint.continuation_token + "\n";
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  size_t pos = 0;
  if (text.substr(0, kVersionLine.size()) != kVersionLine || text.size() == kVersionLine.size() ||
      text[kVersionLine.size()] != '\n') {
    return InvalidArgument("checkpoint: not a streamarc frame-tap checkpoint (version 1)");
  }
  pos = kVersionLine.size() + 1;
  Checkpoint c;
  ASSIGN_OR_RETURN(std::string_view number, Field(text, &pos, "fragment_number"));
  ASSIGN_OR_RETURN(std::string_view token, Field(text, &pos, "continuation_token"));
  if (!AllDigits(number) || number.size() > kMaxFragmentNumber) {
    return InvalidArgument("checkpoint: fragment_number must be decimal digits");
  }
  if (!TokenChars(token)) {
    return InvalidArgument("checkpoint: continuation_token must match [a-zA-Z0-9_.-]{1,128}");
  }
  if (pos != text.size()) return InvalidArgument("checkpoint: bytes after the last line");
  c.fragment_number = number;
  c.continuation_token = token;
  return c;
}

Result<std::optional<Checkpoint>> ReadCheckpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<Checkpoint>();
    return ErrnoStatus(errno, "opening the checkpoint " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = ParseCheckpoint(text.str());
  if (!parsed.ok()) return InvalidArgument(path + ": " + parsed.status().message());
  return std::optional<Checkpoint>(std::move(*parsed));
}

Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  // A process crash keeps the page cache; fsync only guards against a machine crash, where
  // an older checkpoint (a few fragments again) is the price, not a wrong one.
  return ReplaceFile(path, FormatCheckpoint(checkpoint), 0644, /*sync=*/false);
}

}  // namespace streamarc::frametap
