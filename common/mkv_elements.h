// Parsers for the Matroska master elements the reader holds whole in memory (private to
// common/). Each takes the element's payload and its stream offset (for error messages).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/mkv.h"
#include "common/status.h"

namespace streamarc::mkv {

Status ParseEbmlHeader(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                       EbmlHeader* out);
Status ParseInfo(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                 SegmentInfo* out);
Status ParseTracks(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                   std::vector<TrackInfo>* out);
// SimpleTags of every Tag, flattened in document order (nested ones after their parent).
Status ParseTags(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                 std::vector<SimpleTag>* out);

struct BlockGroupParts {
  std::span<const uint8_t> block;  // the Block's payload
  bool has_reference = false;      // a ReferenceBlock: not a key frame
  int64_t duration = 0;            // BlockDuration in ticks, 0 when absent
};
Status ParseBlockGroup(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                       BlockGroupParts* out);

}  // namespace streamarc::mkv
