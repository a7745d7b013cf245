// Segment files (private to archive/): the byte layout of archive/FORMAT.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace streamarc::archive {

inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 24;

// "<root>/segments/<stream id>/<segment id>.seg": numbers only, never a stream name.
std::string StreamDir(const std::string& root, int64_t stream_id);
std::string SegmentPath(const std::string& root, int64_t stream_id, int64_t segment_id);
// The segment id in a file name "<id>.seg", or -1 when the name is not one.
int64_t ParseSegmentFileName(std::string_view name);

std::string EncodeSegmentHeader(int64_t stream_id, int64_t segment_id);
// kDataLoss when `bytes` is not the header of this stream's segment.
Status CheckSegmentHeader(std::string_view bytes, int64_t stream_id, int64_t segment_id);

struct RecordHeader {
  uint32_t length = 0;
  uint64_t seq = 0;
  uint32_t crc32 = 0;  // of the payload
};
// The 24 bytes written before each fragment's payload.
std::string EncodeRecordHeader(uint64_t seq, std::string_view payload);
Result<RecordHeader> DecodeRecordHeader(std::string_view bytes);

}  // namespace streamarc::archive
