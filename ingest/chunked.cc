#include "ingest/chunked.h"

#include <algorithm>

namespace streamarc::ingest {
namespace {

// RFC 9110 tchar.
bool IsTchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsWs(char c) { return c == ' ' || c == '\t'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A field value or quoted-string character: VCHAR, obs-text, SP or HTAB (no CTLs, no DEL).
bool IsFieldChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

// Parses `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` from s[p..].
bool ValidExtensions(const std::string& s, size_t p) {
  auto skip_ws = [&] {
    while (p < s.size() && IsWs(s[p])) ++p;
  };
  auto token = [&] {
    size_t start = p;
    while (p < s.size() && IsTchar(s[p])) ++p;
    return p > start;
  };
  for (;;) {
    skip_ws();
    if (p == s.size()) return true;
    if (s[p] != ';') return false;
    ++p;
    skip_ws();
    if (!token()) return false;
    skip_ws();
    if (p < s.size() && s[p] == '=') {
      ++p;
      skip_ws();
      if (p < s.size() && s[p] == '"') {
        ++p;
        bool closed = false;
        while (p < s.size()) {
          char c = s[p++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (p == s.size() || !IsFieldChar(s[p])) return false;
            ++p;
          } else if (!IsFieldChar(c)) {
            return false;
          }
        }
        if (!closed) return false;
      } else if (!token()) {
        return false;
      }
    }
  }
}

}  // namespace

ChunkedDecoder::ChunkedDecoder(ChunkedHandler& handler, const ChunkedOptions& options)
    : handler_(handler), opt_(options) {}

Status ChunkedDecoder::Fail(const std::string& message) {
  state_ = State::kError;
  error_ = InvalidArgument("chunked body: " + message + " (at framing offset " +
                           std::to_string(offset_) + ")");
  return error_;
}

Status ChunkedDecoder::Feed(std::span<const uint8_t> in, size_t* consumed) {
  const size_t total = in.size();
  if (consumed) *consumed = 0;
  if (state_ == State::kError) return error_;
  while (!in.empty() && state_ != State::kDone) {
    Status s = Step(in);
    if (!s.ok()) {
      if (state_ != State::kError) {  // the handler's error: keep it too
        state_ = State::kError;
        error_ = s;
      }
      return s;
    }
  }
  if (consumed) {
    *consumed = total - in.size();
  } else if (!in.empty()) {
    return Fail(std::to_string(in.size()) + " bytes after the end of the body");
  }
  return Status::Ok();
}

Status ChunkedDecoder::ReadLine(std::span<const uint8_t>& in, size_t limit, const char* what,
                                bool* complete) {
  *complete = false;
  while (!in.empty()) {
    char c = static_cast<char>(in[0]);
    in = in.subspan(1);
    ++offset_;
    if (line_cr_) {
      if (c != '\n') return Fail(std::string("CR not followed by LF in ") + what);
      line_cr_ = false;
      *complete = true;
      return Status::Ok();
    }
    if (c == '\r') {
      line_cr_ = true;
      continue;
    }
    if (c == '\n') return Fail(std::string("bare LF ending ") + what + " (CRLF required)");
    if (line_.size() >= limit) {
      return Fail(std::string(what) + " longer than " + std::to_string(limit) + " bytes");
    }
    line_.push_back(c);
  }
  return Status::Ok();
}

Status ChunkedDecoder::Step(std::span<const uint8_t>& in) {
  switch (state_) {
    case State::kSizeLine: {
      bool complete = false;
      RETURN_IF_ERROR(ReadLine(in, opt_.max_line_bytes, "a chunk-size line", &complete));
      if (!complete) return Status::Ok();
      Status s = ParseSizeLine();
      line_.clear();
      return s;
    }
    case State::kData: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      auto data = in.first(n);
      in = in.subspan(n);
      offset_ += n;
      remaining_ -= n;
      body_bytes_ += n;
      if (remaining_ == 0) state_ = State::kDataCr;
      return handler_.OnData(data);
    }
    case State::kDataCr:
    case State::kDataLf: {
      const uint8_t want = state_ == State::kDataCr ? uint8_t{'\r'} : uint8_t{'\n'};
      if (in[0] != want) return Fail("chunk data not followed by CRLF");
      in = in.subspan(1);
      ++offset_;
      state_ = state_ == State::kDataCr ? State::kDataLf : State::kSizeLine;
      return Status::Ok();
    }
    case State::kTrailerLine: {
      bool complete = false;
      // trailer_bytes_ counts the completed lines; this one may use what is left.
      size_t room = opt_.max_trailer_bytes - std::min(trailer_bytes_, opt_.max_trailer_bytes);
      RETURN_IF_ERROR(ReadLine(in, room, "the trailer section", &complete));
      if (!complete) return Status::Ok();
      trailer_bytes_ += line_.size() + 2;
      Status s = ParseTrailerLine();
      line_.clear();
      return s;
    }
    case State::kDone:
    case State::kError:
      return Status::Ok();
  }
  return Status::Ok();
}

Status ChunkedDecoder::ParseSizeLine() {
  uint64_t size = 0;
  size_t p = 0;
  while (p < line_.size()) {
    int v = HexValue(line_[p]);
    if (v < 0) break;
    size = size * 16 + static_cast<uint64_t>(v);
    if (size > opt_.max_chunk_size) {
      return Fail("chunk size above the limit of " + std::to_string(opt_.max_chunk_size));
    }
    ++p;
  }
  if (p == 0) return Fail("chunk size is not hexadecimal: \"" + line_.substr(0, 32) + "\"");
  if (!ValidExtensions(line_, p)) {
    return Fail("malformed chunk size or extension: \"" + line_.substr(0, 64) + "\"");
  }
  if (size == 0) {
    state_ = State::kTrailerLine;
  } else {
    remaining_ = size;
    state_ = State::kData;
  }
  return Status::Ok();
}

Status ChunkedDecoder::ParseTrailerLine() {
  if (line_.empty()) {  // the CRLF that ends the body
    state_ = State::kDone;
    return handler_.OnEnd(trailers_);
  }
  if (IsWs(line_[0])) return Fail("obsolete line folding in the trailer section");
  size_t colon = 0;
  while (colon < line_.size() && IsTchar(line_[colon])) ++colon;
  if (colon == 0 || colon == line_.size() || line_[colon] != ':') {
    return Fail("malformed trailer field: \"" + line_.substr(0, 64) + "\"");
  }
  std::string value = line_.substr(colon + 1);
  for (char c : value) {
    if (!IsFieldChar(c)) return Fail("control character in a trailer field value");
  }
  size_t b = value.find_first_not_of(" \t");
  size_t e = value.find_last_not_of(" \t");
  value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  trailers_.push_back({line_.substr(0, colon), std::move(value)});
  return Status::Ok();
}

}  // namespace streamarc::ingest
