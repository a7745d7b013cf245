// H.264/H.265 elementary-stream helpers for the MKV packager: Annex-B splitting, conversion
// to the 4-byte length-prefixed form Matroska stores, and the CodecPrivate records (avcC,
// hvcC) built from the parameter sets of the first key frame, with the picture size read
// from the SPS. Pure functions over bytes; fuzzed (fuzz/nal_fuzzer.cc).
//
// Why not FFmpeg: libavformat builds avcC/hvcC only inside its muxers (ff_isom_write_avcc
// and ff_isom_write_hvcc are internal), and driving a muxer per frame to get a few bytes of
// header would cost more than the stream itself. The SPS fields read here are the few the
// records need (profile, level, chroma format, bit depth, size).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace streamarc::producer::nal {

using Bytes = std::vector<uint8_t>;

// The NAL units of an Annex-B buffer (3- or 4-byte start codes), without their start codes
// or trailing zero bytes. Bytes before the first start code are ignored; a buffer with no
// start code gives nothing.
std::vector<std::span<const uint8_t>> SplitAnnexB(std::span<const uint8_t> data);

// True when `data` begins with an Annex-B start code (00 00 01 or 00 00 00 01).
bool LooksAnnexB(std::span<const uint8_t> data);

// Appends each NAL unit as a 4-byte big-endian length then its bytes.
void AppendLengthPrefixed(std::span<const std::span<const uint8_t>> nals, Bytes& out);

// The NAL unit type (H.264: 5 bits; H.265: 6 bits). 0xFF for an empty unit.
uint8_t H264Type(std::span<const uint8_t> nal);
uint8_t H265Type(std::span<const uint8_t> nal);

inline constexpr uint8_t kH264Idr = 5, kH264Sps = 7, kH264Pps = 8;
inline constexpr uint8_t kH265Vps = 32, kH265Sps = 33, kH265Pps = 34;

struct PictureSize {
  int width = 0;
  int height = 0;
};

// The emulation-prevention bytes (00 00 03) removed: the raw bit string of a NAL payload.
Bytes Unescape(std::span<const uint8_t> nal);

// Picture size from an H.264 SPS NAL (with its header byte); cropping applied.
Result<PictureSize> ParseH264SpsSize(std::span<const uint8_t> sps);

// AVCDecoderConfigurationRecord from SPS and PPS NAL units (headers included).
Result<Bytes> BuildAvcC(std::span<const std::span<const uint8_t>> sps,
                        std::span<const std::span<const uint8_t>> pps);

struct H265SpsInfo {
  uint8_t profile_space = 0, tier = 0, profile_idc = 0;
  uint32_t compatibility_flags = 0;
  uint8_t constraint_flags[6] = {};
  uint8_t level_idc = 0;
  uint32_t chroma_format_idc = 1;
  uint32_t bit_depth_luma = 8, bit_depth_chroma = 8;
  uint8_t max_sub_layers = 1;
  bool temporal_id_nested = false;
  PictureSize size;
};

Result<H265SpsInfo> ParseH265Sps(std::span<const uint8_t> sps);

// HEVCDecoderConfigurationRecord from VPS, SPS and PPS NAL units (headers included).
Result<Bytes> BuildHvcC(std::span<const std::span<const uint8_t>> vps,
                        std::span<const std::span<const uint8_t>> sps,
                        std::span<const std::span<const uint8_t>> pps);

}  // namespace streamarc::producer::nal
