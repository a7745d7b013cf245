#include "archive/segment.h"

#include <cstring>

#include "archive/names.h"

namespace streamarc::archive {
namespace {

constexpr char kSegmentMagic[8] = {'S', 'A', 'R', 'C', 'S', 'E', 'G', '1'};
constexpr uint32_t kRecordMagic = 0x47415246;  // "FRAG" little-endian
constexpr uint32_t kFormatVersion = 1;

void Put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void Put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t Get32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}
uint64_t Get64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

}  // namespace

std::string StreamDir(const std::string& root, int64_t stream_id) {
  return root + "/segments/" + std::to_string(stream_id);
}

std::string SegmentPath(const std::string& root, int64_t stream_id, int64_t segment_id) {
  return StreamDir(root, stream_id) + "/" + std::to_string(segment_id) + ".seg";
}

int64_t ParseSegmentFileName(std::string_view name) {
  constexpr std::string_view kExt = ".seg";
  if (name.size() <= kExt.size() || name.size() > 24 ||
      name.substr(name.size() - kExt.size()) != kExt) {
    return -1;
  }
  int64_t id = 0;
  for (char c : name.substr(0, name.size() - kExt.size())) {
    if (c < '0' || c > '9') return -1;
    id = id * 10 + (c - '0');
  }
  return id;
}

std::string EncodeSegmentHeader(int64_t stream_id, int64_t segment_id) {
  std::string h(kSegmentMagic, sizeof kSegmentMagic);
  Put64(h, static_cast<uint64_t>(stream_id));
  Put64(h, static_cast<uint64_t>(segment_id));
  Put32(h, kFormatVersion);
  Put32(h, Crc32(h));
  return h;
}

Status CheckSegmentHeader(std::string_view bytes, int64_t stream_id, int64_t segment_id) {
  if (bytes.size() < kSegmentHeaderSize ||
      std::memcmp(bytes.data(), kSegmentMagic, sizeof kSegmentMagic) != 0 ||
      Get32(bytes, 28) != Crc32(bytes.substr(0, 28))) {
    return DataLoss("segment " + std::to_string(segment_id) + ": bad file header");
  }
  if (Get64(bytes, 8) != static_cast<uint64_t>(stream_id) ||
      Get64(bytes, 16) != static_cast<uint64_t>(segment_id) || Get32(bytes, 24) != kFormatVersion) {
    return DataLoss("segment " + std::to_string(segment_id) + ": header names another file");
  }
  return Status::Ok();
}

std::string EncodeRecordHeader(uint64_t seq, std::string_view payload) {
  std::string h;
  h.reserve(kRecordHeaderSize);
  Put32(h, kRecordMagic);
  Put32(h, static_cast<uint32_t>(payload.size()));
  Put64(h, seq);
  Put32(h, Crc32(payload));
  Put32(h, Crc32(h));
  return h;
}

Result<RecordHeader> DecodeRecordHeader(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderSize || Get32(bytes, 0) != kRecordMagic ||
      Get32(bytes, 20) != Crc32(bytes.substr(0, 20))) {
    return DataLoss("bad fragment record header");
  }
  RecordHeader r;
  r.length = Get32(bytes, 4);
  r.seq = Get64(bytes, 8);
  r.crc32 = Get32(bytes, 16);
  return r;
}

}  // namespace streamarc::archive
