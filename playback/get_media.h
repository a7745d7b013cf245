// GetMedia / GetMediaForFragmentList output: each fragment as KVS sends it, a self-contained
// Matroska chunk (the stream header, KVS's per-fragment tags, the cluster, the trailing tags).
// Pure logic: no disk, no HTTP.
//
// The chunk layout (kvs-api.md §2.3):
//   FragmentInfo::track_info   EBML header, Segment (unknown size), Info, Tracks (as stored)
//   Tags{AWS_KINESISVIDEO_FRAGMENT_NUMBER, _SERVER_TIMESTAMP, _PRODUCER_TIMESTAMP}
//   the stored Cluster
//   Tags{AWS_KINESISVIDEO_MILLIS_BEHIND_NOW, AWS_KINESISVIDEO_CONTINUATION_TOKEN}
// Every chunk starts with its own EBML header, as KVS's do, so a reader that joins anywhere
// (or a track change between fragments) needs nothing from an earlier chunk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "archive/archive.h"

namespace streamarc::playback {

inline constexpr char kTagFragmentNumber[] = "AWS_KINESISVIDEO_FRAGMENT_NUMBER";
inline constexpr char kTagServerTimestamp[] = "AWS_KINESISVIDEO_SERVER_TIMESTAMP";
inline constexpr char kTagProducerTimestamp[] = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP";
inline constexpr char kTagMillisBehindNow[] = "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW";
inline constexpr char kTagContinuationToken[] = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
inline constexpr char kTagErrorCode[] = "AWS_KINESISVIDEO_ERROR_CODE";
inline constexpr char kTagErrorId[] = "AWS_KINESISVIDEO_ERROR_ID";

// GetMedia's error ids (kinesis-video-media's model documentation).
inline constexpr int kErrorWrite = 3002;
inline constexpr int kErrorFragmentNotFound = 4000;
inline constexpr int kErrorInternal = 5000;

// Epoch seconds with three decimals, as KVS writes timestamps in tags: "1511852109.126".
std::string FormatEpochSeconds(int64_t micros);

// The Tags that go before the cluster (fragment number, server and producer timestamps).
std::string LeadingTags(const archive::FragmentInfo& info);
// The Tags that go after the cluster. `now_us` is the wall clock when the chunk is sent.
std::string TrailingTags(const archive::FragmentInfo& info, int64_t now_us);

// The whole chunk for one fragment: `cluster` is the fragment's stored bytes.
std::string BuildMediaChunk(const archive::FragmentInfo& info, std::string_view cluster,
                            int64_t now_us);

// A chunk that carries only an error (EBML header, Segment, Tags{FRAGMENT_NUMBER when
// known, ERROR_CODE, ERROR_ID}): how KVS reports a failure after the 200 went out.
std::string BuildErrorChunk(std::string_view fragment_number, std::string_view error_code,
                            int error_id);

// Fragment numbers are decimal strings of the same width that sort in time order; this also
// orders numbers of different widths numerically (shorter is smaller). "" is below all.
bool FragmentNumberLess(std::string_view a, std::string_view b);

}  // namespace streamarc::playback
