// Feeds arbitrary bytes to the producer's Annex-B splitter, the H.264/H.265 SPS readers and
// the avcC/hvcC builders (the parameter sets taken from the split input). None may crash,
// read out of bounds or return a size out of range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "producer-sdk/nal.h"

namespace nal = streamarc::producer::nal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto nals = nal::SplitAnnexB(in);
  size_t total = 0;
  for (const auto& n : nals) {
    if (n.data() < data || n.data() + n.size() > data + size || n.empty()) abort();
    total += n.size();
  }
  if (total > size) abort();
  nal::Bytes lp;
  nal::AppendLengthPrefixed(nals, lp);
  if (lp.size() != total + 4 * nals.size()) abort();
  std::vector<std::span<const uint8_t>> vps, sps, pps;
  for (const auto& n : nals) {
    if (nal::H264Type(n) == nal::kH264Sps) {
      auto s = nal::ParseH264SpsSize(n);
      if (s.ok() && (s->width <= 0 || s->height <= 0 || s->width > 16384)) abort();
      sps.push_back(n);
    }
    if (nal::H264Type(n) == nal::kH264Pps) pps.push_back(n);
    uint8_t t = nal::H265Type(n);
    if (t == nal::kH265Vps) vps.push_back(n);
    if (t == nal::kH265Sps) {
      auto s = nal::ParseH265Sps(n);
      if (s.ok() && (s->size.width <= 0 || s->size.height <= 0)) abort();
      sps.push_back(n);
    }
    if (t == nal::kH265Pps) pps.push_back(n);
  }
  (void)nal::BuildAvcC(sps, pps);
  (void)nal::BuildHvcC(vps, sps, pps);
  // The whole input as one SPS of each kind, too.
  (void)nal::ParseH264SpsSize(in);
  (void)nal::ParseH265Sps(in);
  return 0;
}
