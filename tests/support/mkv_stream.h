// Tiny Matroska streams written with mkv::Writer, for tests that need exact bytes rather
// than real media (tests/support/media.h makes that).
#pragma once

#include <cstdint>
#include <vector>

#include "common/mkv.h"

namespace streamarc::testing {

// An avcC record without SPS or PPS (version 1, High profile, level 3.1, 4-byte lengths):
// enough for code that only needs a CodecPrivate to be present.
inline const std::vector<uint8_t> kStubAvcC = {1, 0x64, 0, 0x1f, 0xff, 0xe0, 0, 0};

// Track 1, V_MPEG4/ISO/AVC, with `codec_private`; every other field left at its default.
mkv::TrackInfo H264Track(std::vector<uint8_t> codec_private = kStubAvcC);

// The EBML header, an unknown-size Segment, an empty Info and `tracks`: what precedes the
// first Cluster. WriteMkvHeader writes it through `w`, so clusters can follow.
void WriteMkvHeader(mkv::Writer& w, const std::vector<mkv::TrackInfo>& tracks);
mkv::Bytes MkvHeader(const std::vector<mkv::TrackInfo>& tracks);

}  // namespace streamarc::testing
