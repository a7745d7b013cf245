// Building and comparing the shared stream header of a track section (private to
// fragmenter/).
#pragma once

#include <memory>
#include <vector>

#include "common/mkv.h"
#include "fragmenter/fragmenter.h"

namespace streamarc::fragmenter {

// Serialises EBML header + Segment (unknown size) + Info (without Duration) + Tracks with
// mkv::Writer, and picks the cut track: the first video track in Tracks order, else 0 (any
// track).
std::shared_ptr<const TrackSection> BuildTrackSection(uint64_t id, const mkv::EbmlHeader& ebml,
                                                      const mkv::SegmentInfo& info,
                                                      const std::vector<mkv::TrackInfo>& tracks);

// True when `section` already describes these tracks: same DocType, TimecodeScale and, track
// by track, the same number, UID, type, codec id, CodecPrivate, name, durations and
// video/audio parameters. SegmentUID, title and app names do not count: a producer that
// reconnects with the same tracks keeps its section.
bool SameTracks(const TrackSection& section, const mkv::EbmlHeader& ebml,
                const mkv::SegmentInfo& info, const std::vector<mkv::TrackInfo>& tracks);

}  // namespace streamarc::fragmenter
