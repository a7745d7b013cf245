// Test input for the producer SDK: real H.264/H.265 made by ffmpeg at test time, split into
// access units the way an encoder hands them to PutFrame, with ffprobe's view of the same
// packets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/archive_reader.h"

namespace streamarc::producer_test {

struct InputFrame {
  int64_t pts_ms = 0;
  int64_t dts_ms = 0;
  int64_t duration_ms = 0;
  bool key = false;
  std::vector<uint8_t> annexb;  // one access unit, start codes included
  int64_t mkv_size = 0;         // ffprobe's packet size in the length-prefixed MKV
};

struct MediaSpec {
  std::string codec = "libx264";  // or libx265
  int seconds = 6;
  int fps = 30;
  int gop = 30;
  std::string size = "320x240";
  std::string bitrate;  // e.g. "2M"; empty: the encoder's default
};

// Makes the media in `dir` (an MKV for ffprobe, and its Annex-B elementary stream with an
// access unit delimiter before every frame) and returns its frames in decode order.
Result<std::vector<InputFrame>> MakeAnnexBFrames(const std::string& dir, const MediaSpec& spec);

// AAC access units (ADTS stripped) and the AudioSpecificConfig, from ffmpeg.
struct AacInput {
  std::string asc;
  int sample_rate = 0, channels = 0;
  std::vector<std::vector<uint8_t>> frames;  // 1024 samples each
};
Result<AacInput> MakeAacFrames(const std::string& dir, int seconds);

// The archive read back after the server stopped: tests/support/archive_reader.h.
using streamarc::testing::ReadArchiveFrames;
using streamarc::testing::StoredArchive;
using streamarc::testing::StoredFrame;

}  // namespace streamarc::producer_test
