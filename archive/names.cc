#include "archive/names.h"

#include <libdeflate.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "archive/archive.h"
#include "common/base64.h"

namespace streamarc::archive {
namespace {

constexpr size_t kSeqDigits = 20;
constexpr size_t kSuffixDigits = 26;
constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

}  // namespace

std::string VersionMaker::Next() {
  std::string v(20, 'A');
  for (char& c : v) c = kAlnum[rng_() % (sizeof(kAlnum) - 1)];
  return v;
}

std::string FragmentNumberSuffix(uint64_t archive_id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%026llu", static_cast<unsigned long long>(archive_id));
  return buf;
}

std::string FormatFragmentNumber(uint64_t seq, std::string_view suffix) {
  // Hand-rolled: ListFragments formats up to a thousand of these per call.
  std::string out(1 + kSeqDigits + suffix.size(), '0');
  out[0] = '9';
  for (size_t i = kSeqDigits; i > 0 && seq > 0; --i, seq /= 10) {
    out[i] = static_cast<char>('0' + seq % 10);
  }
  std::copy(suffix.begin(), suffix.end(), out.begin() + 1 + kSeqDigits);
  return out;
}

Result<uint64_t> ParseFragmentNumber(std::string_view number, std::string_view suffix) {
  if (number.size() != kFragmentNumberDigits || number[0] != '9' || !AllDigits(number) ||
      number.substr(1 + kSeqDigits) != suffix || suffix.size() != kSuffixDigits) {
    return InvalidArgument("unknown fragment number: " + std::string(number.substr(0, 128)));
  }
  uint64_t seq = 0;
  for (char c : number.substr(1, kSeqDigits)) seq = seq * 10 + static_cast<uint64_t>(c - '0');
  return seq;
}

std::string EncodeCursor(const ListCursor& c) {
  std::string body = "1:" + std::to_string(c.stream_id) + ":" + std::to_string(c.type) + ":" +
                     std::to_string(c.end_us) + ":" + std::to_string(c.last_ts) + ":" +
                     std::to_string(c.last_seq);
  body += ":" + std::to_string(Crc32(body));
  return Base64Encode(body);
}

Result<ListCursor> DecodeCursor(std::string_view token) {
  auto bad = [] { return InvalidArgument("invalid NextToken"); };
  if (token.size() > 4096) return bad();
  auto raw = Base64Decode(token);
  if (!raw.ok()) return bad();
  std::string body = *raw;
  size_t crc_pos = body.rfind(':');
  if (crc_pos == std::string::npos) return bad();
  if (body.substr(crc_pos + 1) != std::to_string(Crc32(body.substr(0, crc_pos)))) return bad();
  long long v[6];
  char tail = 0;
  int n = std::sscanf(body.substr(0, crc_pos).c_str(), "%lld:%lld:%lld:%lld:%lld:%lld%c", &v[0],
                      &v[1], &v[2], &v[3], &v[4], &v[5], &tail);
  if (n != 6 || v[0] != 1 || (v[2] != 0 && v[2] != 1)) return bad();
  return ListCursor{v[1], static_cast<int>(v[2]), v[3], v[4], v[5]};
}

std::string EncodeEventCursor(const EventCursor& c) {
  // The label goes last: it may hold ':' (the fields before it cannot).
  std::string body = "e1:" + std::to_string(c.stream_id) + ":" + std::to_string(c.start_us) + ":" +
                     std::to_string(c.end_us) + ":" + std::to_string(c.last_start_us) + ":" +
                     std::to_string(c.last_id) + ":" + c.label;
  body += ":" + std::to_string(Crc32(body));
  return Base64Encode(body);
}

Result<EventCursor> DecodeEventCursor(std::string_view token) {
  auto bad = [] { return InvalidArgument("invalid NextToken"); };
  if (token.size() > 4096) return bad();
  auto raw = Base64Decode(token);
  if (!raw.ok()) return bad();
  std::string_view body = *raw;
  const size_t crc_pos = body.rfind(':');
  if (crc_pos == std::string_view::npos ||
      body.substr(crc_pos + 1) != std::to_string(Crc32(body.substr(0, crc_pos)))) {
    return bad();
  }
  body = body.substr(0, crc_pos);
  if (body.substr(0, 3) != "e1:") return bad();
  body.remove_prefix(3);
  int64_t v[5];
  for (int64_t& field : v) {
    const size_t colon = body.find(':');
    if (colon == std::string_view::npos) return bad();
    auto [end, ec] = std::from_chars(body.data(), body.data() + colon, field);
    if (ec != std::errc() || end != body.data() + colon) return bad();
    body.remove_prefix(colon + 1);
  }
  if (v[2] < v[1]) return bad();
  return EventCursor{v[0], v[1], v[2], std::string(body), v[3], v[4]};
}

std::string EncodeSpanCursor(const SpanCursor& c) {
  std::string body = "s1:" + std::to_string(c.stream_id) + ":" + std::to_string(c.type) + ":" +
                     std::to_string(c.start_us) + ":" + std::to_string(c.end_us) + ":" +
                     std::to_string(c.min_gap_us) + ":" + std::to_string(c.after_end_us);
  body += ":" + std::to_string(Crc32(body));
  return Base64Encode(body);
}

Result<SpanCursor> DecodeSpanCursor(std::string_view token) {
  auto bad = [] { return InvalidArgument("invalid NextToken"); };
  if (token.size() > 4096) return bad();
  auto raw = Base64Decode(token);
  if (!raw.ok()) return bad();
  std::string_view body = *raw;
  const size_t crc_pos = body.rfind(':');
  if (crc_pos == std::string_view::npos ||
      body.substr(crc_pos + 1) != std::to_string(Crc32(body.substr(0, crc_pos)))) {
    return bad();
  }
  body = body.substr(0, crc_pos);
  if (body.substr(0, 3) != "s1:") return bad();
  body.remove_prefix(3);
  int64_t v[6];
  for (size_t i = 0; i < 6; ++i) {
    const size_t colon = i + 1 < 6 ? body.find(':') : body.size();
    if (colon == std::string_view::npos) return bad();
    auto [end, ec] = std::from_chars(body.data(), body.data() + colon, v[i]);
    if (ec != std::errc() || end != body.data() + colon) return bad();
    body.remove_prefix(std::min(colon + 1, body.size()));
  }
  if ((v[1] != 0 && v[1] != 1) || v[3] < v[2] || v[4] < 0) return bad();
  return SpanCursor{v[0], static_cast<int>(v[1]), v[2], v[3], v[4], v[5]};
}

std::string EncodeOffsets(const std::vector<uint32_t>& offsets) {
  std::string out;
  uint32_t prev = 0;
  for (uint32_t o : offsets) {
    // Zig-zag the delta so an unsorted list still round-trips.
    int64_t d = static_cast<int64_t>(o) - prev;
    uint64_t z = (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
    do {
      uint8_t b = z & 0x7f;
      z >>= 7;
      out += static_cast<char>(b | (z ? 0x80 : 0));
    } while (z);
    prev = o;
  }
  return out;
}

Result<std::vector<uint32_t>> DecodeOffsets(std::string_view blob) {
  std::vector<uint32_t> out;
  int64_t prev = 0;
  size_t i = 0;
  while (i < blob.size()) {
    uint64_t z = 0;
    int shift = 0;
    for (;;) {
      if (i >= blob.size() || shift > 63) return DataLoss("bad key-frame offsets in index");
      uint8_t b = static_cast<uint8_t>(blob[i++]);
      z |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    int64_t d = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    prev += d;
    out.push_back(static_cast<uint32_t>(prev));
  }
  return out;
}

// libdeflate's CRC-32 (the same polynomial and start as zlib's crc32) runs at twice zlib's
// speed here (11.8 against 5.9 GB/s); every fragment written or read goes through it.
uint32_t Crc32(std::string_view data, uint32_t crc) {
  return libdeflate_crc32(crc, data.data(), data.size());
}

}  // namespace streamarc::archive
