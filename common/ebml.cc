#include "common/ebml.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace streamarc::mkv::ebml {

namespace {
// Byte count of a vint from its first byte: 1 + the number of leading zero bits.
inline int VintLength(uint8_t first) { return std::countl_zero(first) + 1; }
}  // namespace

VintResult ReadId(std::span<const uint8_t> in, uint32_t* id, size_t* len) {
  if (in.empty()) return VintResult::kNeedMore;
  int n = VintLength(in[0]);
  if (n > 4) return VintResult::kInvalid;
  if (in.size() < static_cast<size_t>(n)) return VintResult::kNeedMore;
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | in[i];
  // Value bits all zero or all one are reserved (RFC 8794 5).
  uint32_t value_bits = v & ((uint32_t{1} << (7 * n)) - 1);
  if (value_bits == 0 || value_bits == (uint32_t{1} << (7 * n)) - 1) return VintResult::kInvalid;
  *id = v;
  *len = static_cast<size_t>(n);
  return VintResult::kOk;
}

VintResult ReadSize(std::span<const uint8_t> in, uint64_t* size, size_t* len) {
  if (in.empty()) return VintResult::kNeedMore;
  if (in[0] == 0) return VintResult::kInvalid;  // would need more than 8 bytes
  int n = VintLength(in[0]);
  if (in.size() < static_cast<size_t>(n)) return VintResult::kNeedMore;
  uint64_t mask = (uint64_t{1} << (7 * n)) - 1;
  uint64_t v = in[0] & (0xFF >> n);
  for (int i = 1; i < n; ++i) v = (v << 8) | in[i];
  *size = (v == mask) ? kUnknownSize : v;
  *len = static_cast<size_t>(n);
  return VintResult::kOk;
}

uint64_t ReadUint(std::span<const uint8_t> data) {
  uint64_t v = 0;
  for (uint8_t b : data.first(std::min<size_t>(data.size(), 8))) v = (v << 8) | b;
  return v;
}

int64_t ReadInt(std::span<const uint8_t> data) {
  if (data.empty()) return 0;
  size_t n = std::min<size_t>(data.size(), 8);
  uint64_t v = ReadUint(data.first(n));
  if (n < 8 && (data[0] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
  return static_cast<int64_t>(v);
}

bool ReadFloat(std::span<const uint8_t> data, double* out) {
  if (data.empty()) {
    *out = 0;
  } else if (data.size() == 4) {
    *out = std::bit_cast<float>(static_cast<uint32_t>(ReadUint(data)));
  } else if (data.size() == 8) {
    *out = std::bit_cast<double>(ReadUint(data));
  } else {
    return false;
  }
  return true;
}

std::string ReadString(std::span<const uint8_t> data) {
  size_t n = data.size();
  while (n > 0 && data[n - 1] == 0) --n;
  return std::string(reinterpret_cast<const char*>(data.data()), n);
}

std::string ElementName(uint32_t id) {
  switch (id) {
    case kEbml:
      return "EBML";
    case kDocType:
      return "DocType";
    case kVoid:
      return "Void";
    case kCrc32:
      return "CRC-32";
    case kSegment:
      return "Segment";
    case kSeekHead:
      return "SeekHead";
    case kInfo:
      return "Info";
    case kTracks:
      return "Tracks";
    case kCluster:
      return "Cluster";
    case kCues:
      return "Cues";
    case kChapters:
      return "Chapters";
    case kAttachments:
      return "Attachments";
    case kTags:
      return "Tags";
    case kTimecodeScale:
      return "TimecodeScale";
    case kTrackEntry:
      return "TrackEntry";
    case kTrackNumber:
      return "TrackNumber";
    case kTrackUid:
      return "TrackUID";
    case kTrackType:
      return "TrackType";
    case kCodecId:
      return "CodecID";
    case kCodecPrivate:
      return "CodecPrivate";
    case kVideo:
      return "Video";
    case kAudio:
      return "Audio";
    case kTimecode:
      return "Timecode";
    case kSimpleBlock:
      return "SimpleBlock";
    case kBlockGroup:
      return "BlockGroup";
    case kBlock:
      return "Block";
    case kBlockDuration:
      return "BlockDuration";
    case kReferenceBlock:
      return "ReferenceBlock";
    case kTag:
      return "Tag";
    case kTargets:
      return "Targets";
    case kSimpleTag:
      return "SimpleTag";
    case kTagName:
      return "TagName";
    case kTagString:
      return "TagString";
    case kTagBinary:
      return "TagBinary";
    default: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%X", id);
      return buf;
    }
  }
}

void PutId(Bytes& out, uint32_t id) {
  int n = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(id >> (8 * i)));
}

void PutSize(Bytes& out, uint64_t size, int width) {
  int n = width;
  if (n <= 0) {
    n = 1;
    // A size whose value bits are all ones would read as "unknown": use one more byte.
    while (n < 8 && size >= (uint64_t{1} << (7 * n)) - 1) ++n;
  }
  uint64_t v = size | (uint64_t{1} << (7 * n));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void PutUnknownSize(Bytes& out) { out.push_back(0xFF); }

void PutUint(Bytes& out, uint32_t id, uint64_t value) {
  int n = 1;
  while (n < 8 && (value >> (8 * n)) != 0) ++n;
  PutId(out, id);
  PutSize(out, static_cast<uint64_t>(n));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void PutFloat(Bytes& out, uint32_t id, double value) {
  PutId(out, id);
  PutSize(out, 8);
  uint64_t bits = std::bit_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

void PutString(Bytes& out, uint32_t id, std::string_view value) {
  PutId(out, id);
  PutSize(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

void PutBinary(Bytes& out, uint32_t id, std::span<const uint8_t> value) {
  PutId(out, id);
  PutSize(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace streamarc::mkv::ebml
