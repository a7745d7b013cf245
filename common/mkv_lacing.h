// Matroska block lacing (private to common/): several frames in one (Simple)Block.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace streamarc::mkv {

// Splits the data after a block's header (track, timecode, flags) into its frames, by the
// lacing bits of `flags`: none, Xiph, fixed-size or EBML. `frames` is cleared and filled
// with views into `data`. On a bad lace, returns kInvalidArgument with the reason.
Status SplitLaces(uint8_t flags, std::span<const uint8_t> data,
                  std::vector<std::span<const uint8_t>>* frames);

}  // namespace streamarc::mkv
