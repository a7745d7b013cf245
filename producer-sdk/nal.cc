#include "producer-sdk/nal.h"

#include <string>

namespace streamarc::producer::nal {

namespace {

// MSB-first bit reader over an unescaped NAL. Reading past the end sets `overrun` and
// returns zeros, so a parser checks once at the end instead of after every field.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> data) : data_(data) {}

  uint32_t Bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 1) | Bit();
    return v;
  }
  uint32_t Bit() {
    if (pos_ >= data_.size() * 8) {
      overrun_ = true;
      return 0;
    }
    uint32_t b = (data_[pos_ / 8] >> (7 - pos_ % 8)) & 1;
    ++pos_;
    return b;
  }
  void Skip(size_t n) {
    pos_ += n;
    if (pos_ > data_.size() * 8) overrun_ = true;
  }
  // Exp-Golomb; more than 31 leading zeros is malformed (and would overflow).
  uint32_t Ue() {
    int zeros = 0;
    while (Bit() == 0) {
      if (overrun_ || ++zeros > 31) {
        overrun_ = true;
        return 0;
      }
    }
    if (zeros == 0) return 0;
    return static_cast<uint32_t>((uint64_t{1} << zeros) - 1 + Bits(zeros));
  }
  int32_t Se() {
    uint32_t k = Ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }
  bool overrun() const { return overrun_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool overrun_ = false;
};

void Put16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Where the next start code begins at or after `from`, and its length (3 or 4).
size_t FindStartCode(std::span<const uint8_t> d, size_t from, size_t* len) {
  for (size_t i = from; i + 3 <= d.size(); ++i) {
    if (d[i] == 0 && d[i + 1] == 0) {
      if (d[i + 2] == 1) {
        *len = 3;
        // A 4-byte code is a zero followed by a 3-byte one.
        if (i > from && d[i - 1] == 0) {
          *len = 4;
          return i - 1;
        }
        return i;
      }
    }
  }
  *len = 0;
  return d.size();
}

}  // namespace

bool LooksAnnexB(std::span<const uint8_t> d) {
  if (d.size() >= 3 && d[0] == 0 && d[1] == 0 && d[2] == 1) return true;
  return d.size() >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1;
}

std::vector<std::span<const uint8_t>> SplitAnnexB(std::span<const uint8_t> d) {
  std::vector<std::span<const uint8_t>> out;
  size_t len = 0;
  size_t start = FindStartCode(d, 0, &len);
  while (start < d.size()) {
    size_t begin = start + len;
    size_t next_len = 0;
    size_t next = FindStartCode(d, begin, &next_len);
    size_t end = next;
    while (end > begin && d[end - 1] == 0) --end;  // trailing_zero_8bits
    if (end > begin) out.push_back(d.subspan(begin, end - begin));
    start = next;
    len = next_len;
  }
  return out;
}

void AppendLengthPrefixed(std::span<const std::span<const uint8_t>> nals, Bytes& out) {
  for (const auto& n : nals) {
    uint32_t size = static_cast<uint32_t>(n.size());
    out.push_back(static_cast<uint8_t>(size >> 24));
    out.push_back(static_cast<uint8_t>(size >> 16));
    out.push_back(static_cast<uint8_t>(size >> 8));
    out.push_back(static_cast<uint8_t>(size));
    out.insert(out.end(), n.begin(), n.end());
  }
}

uint8_t H264Type(std::span<const uint8_t> nal) { return nal.empty() ? 0xFF : nal[0] & 0x1F; }
uint8_t H265Type(std::span<const uint8_t> nal) { return nal.empty() ? 0xFF : (nal[0] >> 1) & 0x3F; }

Bytes Unescape(std::span<const uint8_t> nal) {
  Bytes out;
  out.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

Result<PictureSize> ParseH264SpsSize(std::span<const uint8_t> sps) {
  if (sps.size() < 4 || H264Type(sps) != kH264Sps) return InvalidArgument("not an H.264 SPS");
  Bytes raw = Unescape(sps.subspan(1));
  BitReader br(raw);
  uint32_t profile = br.Bits(8);
  br.Skip(16);  // constraint flags, level
  br.Ue();      // seq_parameter_set_id
  uint32_t chroma = 1;
  switch (profile) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135: {
      chroma = br.Ue();
      if (chroma > 3) return InvalidArgument("H.264 SPS: bad chroma_format_idc");
      if (chroma == 3) br.Bit();
      br.Ue();
      br.Ue();
      br.Bit();
      if (br.Bit()) {  // seq_scaling_matrix_present_flag: walk the lists to skip them
        int lists = chroma == 3 ? 12 : 8;
        for (int i = 0; i < lists && !br.overrun(); ++i) {
          if (!br.Bit()) continue;
          int size = i < 6 ? 16 : 64;
          int last = 8, next = 8;
          for (int j = 0; j < size && !br.overrun(); ++j) {
            if (next != 0) next = (last + br.Se() + 256) % 256;
            last = next == 0 ? last : next;
          }
        }
      }
      break;
    }
    default:
      break;
  }
  br.Ue();  // log2_max_frame_num_minus4
  uint32_t poc_type = br.Ue();
  if (poc_type == 0) {
    br.Ue();
  } else if (poc_type == 1) {
    br.Bit();
    br.Se();
    br.Se();
    uint32_t cycle = br.Ue();
    if (cycle > 255) return InvalidArgument("H.264 SPS: bad ref frame cycle");
    for (uint32_t i = 0; i < cycle; ++i) br.Se();
  } else if (poc_type > 2) {
    return InvalidArgument("H.264 SPS: bad pic_order_cnt_type");
  }
  br.Ue();  // max_num_ref_frames
  br.Bit();
  uint64_t w_mbs = uint64_t{br.Ue()} + 1;
  uint64_t h_units = uint64_t{br.Ue()} + 1;
  uint32_t frame_mbs_only = br.Bit();
  if (!frame_mbs_only) br.Bit();
  br.Bit();
  uint64_t crop[4] = {};
  if (br.Bit()) {
    for (auto& c : crop) c = br.Ue();
  }
  if (br.overrun()) return InvalidArgument("H.264 SPS: truncated");
  uint64_t crop_x = chroma == 0 || chroma == 3 ? 1 : 2;
  uint64_t crop_y = (chroma == 1 ? 2 : 1) * (2 - frame_mbs_only);
  uint64_t width = w_mbs * 16, height = h_units * 16 * (2 - frame_mbs_only);
  uint64_t cw = crop_x * (crop[0] + crop[1]), ch = crop_y * (crop[2] + crop[3]);
  if (width > 16384 || height > 16384 || cw >= width || ch >= height) {
    return InvalidArgument("H.264 SPS: picture size out of range");
  }
  return PictureSize{static_cast<int>(width - cw), static_cast<int>(height - ch)};
}

Result<Bytes> BuildAvcC(std::span<const std::span<const uint8_t>> sps,
                        std::span<const std::span<const uint8_t>> pps) {
  if (sps.empty() || pps.empty()) return InvalidArgument("avcC needs an SPS and a PPS");
  if (sps.size() > 31 || pps.size() > 255) return InvalidArgument("avcC: too many SPS/PPS");
  if (sps[0].size() < 4) return InvalidArgument("avcC: SPS too short");
  Bytes out = {1, sps[0][1], sps[0][2], sps[0][3], 0xFF, static_cast<uint8_t>(0xE0 | sps.size())};
  for (const auto& s : sps) {
    if (s.size() > 0xFFFF) return InvalidArgument("avcC: SPS too long");
    Put16(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  out.push_back(static_cast<uint8_t>(pps.size()));
  for (const auto& p : pps) {
    if (p.size() > 0xFFFF) return InvalidArgument("avcC: PPS too long");
    Put16(out, p.size());
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Result<H265SpsInfo> ParseH265Sps(std::span<const uint8_t> sps) {
  if (sps.size() < 4 || H265Type(sps) != kH265Sps) return InvalidArgument("not an H.265 SPS");
  Bytes raw = Unescape(sps.subspan(2));
  BitReader br(raw);
  H265SpsInfo info;
  br.Bits(4);  // sps_video_parameter_set_id
  uint32_t max_sub_layers_minus1 = br.Bits(3);
  info.max_sub_layers = static_cast<uint8_t>(max_sub_layers_minus1 + 1);
  info.temporal_id_nested = br.Bit();
  // profile_tier_level(1, max_sub_layers_minus1)
  info.profile_space = static_cast<uint8_t>(br.Bits(2));
  info.tier = static_cast<uint8_t>(br.Bit());
  info.profile_idc = static_cast<uint8_t>(br.Bits(5));
  info.compatibility_flags = br.Bits(32);
  for (auto& c : info.constraint_flags) c = static_cast<uint8_t>(br.Bits(8));
  info.level_idc = static_cast<uint8_t>(br.Bits(8));
  bool profile_present[8] = {}, level_present[8] = {};
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    profile_present[i] = br.Bit();
    level_present[i] = br.Bit();
  }
  if (max_sub_layers_minus1 > 0) {
    for (uint32_t i = max_sub_layers_minus1; i < 8; ++i) br.Bits(2);
  }
  for (uint32_t i = 0; i < max_sub_layers_minus1; ++i) {
    if (profile_present[i]) br.Skip(88);
    if (level_present[i]) br.Skip(8);
  }
  br.Ue();  // sps_seq_parameter_set_id
  info.chroma_format_idc = br.Ue();
  if (info.chroma_format_idc > 3) return InvalidArgument("H.265 SPS: bad chroma_format_idc");
  if (info.chroma_format_idc == 3) br.Bit();
  uint64_t width = br.Ue(), height = br.Ue();
  uint64_t win[4] = {};
  if (br.Bit()) {
    for (auto& w : win) w = br.Ue();
  }
  info.bit_depth_luma = br.Ue() + 8;
  info.bit_depth_chroma = br.Ue() + 8;
  if (br.overrun()) return InvalidArgument("H.265 SPS: truncated");
  if (info.bit_depth_luma > 16 || info.bit_depth_chroma > 16) {
    return InvalidArgument("H.265 SPS: bad bit depth");
  }
  uint64_t sub_w = info.chroma_format_idc == 1 || info.chroma_format_idc == 2 ? 2 : 1;
  uint64_t sub_h = info.chroma_format_idc == 1 ? 2 : 1;
  uint64_t cw = sub_w * (win[0] + win[1]), ch = sub_h * (win[2] + win[3]);
  if (width == 0 || height == 0 || width > 16384 || height > 16384 || cw >= width || ch >= height) {
    return InvalidArgument("H.265 SPS: picture size out of range");
  }
  info.size = {static_cast<int>(width - cw), static_cast<int>(height - ch)};
  return info;
}

Result<Bytes> BuildHvcC(std::span<const std::span<const uint8_t>> vps,
                        std::span<const std::span<const uint8_t>> sps,
                        std::span<const std::span<const uint8_t>> pps) {
  if (vps.empty() || sps.empty() || pps.empty()) {
    return InvalidArgument("hvcC needs a VPS, an SPS and a PPS");
  }
  ASSIGN_OR_RETURN(H265SpsInfo info, ParseH265Sps(sps[0]));
  Bytes out;
  out.push_back(1);
  out.push_back(static_cast<uint8_t>(info.profile_space << 6 | info.tier << 5 | info.profile_idc));
  for (int s = 24; s >= 0; s -= 8) {
    out.push_back(static_cast<uint8_t>(info.compatibility_flags >> s));
  }
  out.insert(out.end(), std::begin(info.constraint_flags), std::end(info.constraint_flags));
  out.push_back(info.level_idc);
  Put16(out, 0xF000);   // min_spatial_segmentation_idc 0 (unknown)
  out.push_back(0xFC);  // parallelismType 0 (unknown)
  out.push_back(static_cast<uint8_t>(0xFC | info.chroma_format_idc));
  out.push_back(static_cast<uint8_t>(0xF8 | (info.bit_depth_luma - 8)));
  out.push_back(static_cast<uint8_t>(0xF8 | (info.bit_depth_chroma - 8)));
  Put16(out, 0);  // avgFrameRate unknown
  out.push_back(
      static_cast<uint8_t>((info.max_sub_layers & 7) << 3 | (info.temporal_id_nested ? 4 : 0) | 3));
  out.push_back(3);
  auto array = [&](uint8_t type, std::span<const std::span<const uint8_t>> nals) -> Status {
    if (nals.size() > 0xFFFF) return InvalidArgument("hvcC: too many parameter sets");
    out.push_back(static_cast<uint8_t>(0x80 | type));
    Put16(out, nals.size());
    for (const auto& n : nals) {
      if (n.size() > 0xFFFF) return InvalidArgument("hvcC: parameter set too long");
      Put16(out, n.size());
      out.insert(out.end(), n.begin(), n.end());
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(array(kH265Vps, vps));
  RETURN_IF_ERROR(array(kH265Sps, sps));
  RETURN_IF_ERROR(array(kH265Pps, pps));
  return out;
}

}  // namespace streamarc::producer::nal
