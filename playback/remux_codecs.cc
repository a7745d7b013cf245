// DescribeTracks: the tracks of a stored header and their RFC 6381 codecs strings, from the
// Matroska CodecPrivate alone (no FFmpeg): avcC for H.264 and hvcC for H.265 (ISO/IEC
// 14496-15), AudioSpecificConfig for AAC (ISO/IEC 14496-3).
#include <cstdio>

#include "common/mkv.h"
#include "playback/remux.h"

namespace streamarc::playback {
namespace {

class TracksCollector : public mkv::ReaderHandler {
 public:
  Status OnTracks(const std::vector<mkv::TrackInfo>& tracks) override {
    if (!tracks_.empty()) return InvalidArgument("the header holds more than one Tracks section");
    tracks_ = tracks;
    return Status::Ok();
  }
  Status OnFrame(const mkv::Frame&) override {
    return InvalidArgument("a header section holds no frames");
  }
  std::vector<mkv::TrackInfo> tracks_;
};

std::string Hex2(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02x", v & 0xff);
  return buf;
}

// "avc1.PPCCLL": profile_idc, constraint flags, level_idc from the avcC record.
Result<std::string> AvcCodecs(const mkv::Bytes& p) {
  if (p.size() < 7 || p[0] != 1) {
    return InvalidArgument("H.264 CodecPrivate is not an avcC record (ISO/IEC 14496-15)");
  }
  return "avc1." + Hex2(p[1]) + Hex2(p[2]) + Hex2(p[3]);
}

// "hvc1.<space><profile>.<compat reversed>.<tier><level>[.<constraint bytes>]" per ISO/IEC
// 14496-15 Annex E.
Result<std::string> HevcCodecs(const mkv::Bytes& p) {
  if (p.size() < 23 || p[0] != 1) {
    return InvalidArgument("H.265 CodecPrivate is not an hvcC record (ISO/IEC 14496-15)");
  }
  unsigned space = p[1] >> 6;
  bool high_tier = (p[1] & 0x20) != 0;
  unsigned profile = p[1] & 0x1f;
  uint32_t compat = (uint32_t{p[2]} << 24) | (uint32_t{p[3]} << 16) | (uint32_t{p[4]} << 8) | p[5];
  uint32_t reversed = 0;
  for (int i = 0; i < 32; ++i) {
    if ((compat >> i) & 1) reversed |= 1u << (31 - i);
  }
  std::string out = "hvc1.";
  if (space > 0) out += static_cast<char>('A' + space - 1);
  out += std::to_string(profile);
  char buf[16];
  std::snprintf(buf, sizeof(buf), ".%X", reversed);
  out += buf;
  out += high_tier ? ".H" : ".L";
  out += std::to_string(p[12]);
  // Six constraint bytes; trailing zero bytes are left out.
  int last = -1;
  for (int i = 0; i < 6; ++i) {
    if (p[6 + i] != 0) last = i;
  }
  for (int i = 0; i <= last; ++i) {
    std::snprintf(buf, sizeof(buf), ".%X", p[6 + i]);
    out += buf;
  }
  return out;
}

// "mp4a.40.<audioObjectType>" from the AudioSpecificConfig's first bits.
Result<std::string> AacCodecs(const mkv::Bytes& p) {
  if (p.size() < 2) return InvalidArgument("AAC CodecPrivate is not an AudioSpecificConfig");
  unsigned aot = p[0] >> 3;
  if (aot == 31) aot = 32 + (((p[0] & 0x07u) << 3) | (p[1] >> 5));
  if (aot == 0) return InvalidArgument("AAC AudioSpecificConfig has object type 0");
  return "mp4a.40." + std::to_string(aot);
}

}  // namespace

bool IsMissingCodecPrivate(const Status& status) {
  return status.code() == Code::kFailedPrecondition &&
         status.message().rfind(kMissingCodecPrivatePrefix, 0) == 0;
}

bool IsUnsupportedCodec(const Status& status) {
  return status.code() == Code::kInvalidArgument &&
         status.message().rfind(kUnsupportedCodecPrefix, 0) == 0;
}

Result<std::vector<TrackDescription>> DescribeTracks(std::string_view header) {
  TracksCollector collector;
  mkv::Reader reader(collector);
  RETURN_IF_ERROR(reader.Feed(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.data()), header.size())));
  RETURN_IF_ERROR(reader.Finish());
  if (collector.tracks_.empty()) return InvalidArgument("the header holds no tracks");

  std::vector<TrackDescription> out;
  for (const mkv::TrackInfo& t : collector.tracks_) {
    TrackDescription d;
    d.number = t.number;
    d.kind = t.type == mkv::TrackType::kVideo   ? TrackKind::kVideo
             : t.type == mkv::TrackType::kAudio ? TrackKind::kAudio
                                                : TrackKind::kOther;
    d.matroska_type = static_cast<int>(t.type);
    d.codec_id = t.codec_id;
    d.has_codec_private = !t.codec_private.empty();
    d.width = static_cast<int>(t.pixel_width);
    d.height = static_cast<int>(t.pixel_height);
    d.sample_rate = static_cast<int>(t.sampling_frequency);
    d.channels = static_cast<int>(t.channels);
    Result<std::string> codecs = Status(Code::kInvalidArgument, "");
    if (t.codec_id == "V_MPEG4/ISO/AVC") {
      codecs = AvcCodecs(t.codec_private);
    } else if (t.codec_id == "V_MPEGH/ISO/HEVC") {
      codecs = HevcCodecs(t.codec_private);
    } else if (t.codec_id.rfind("A_AAC", 0) == 0) {
      codecs = AacCodecs(t.codec_private);
    } else {
      out.push_back(std::move(d));  // not packaged; no codecs string
      continue;
    }
    // A record too short to read leaves `codecs` empty: packaging refuses the track later
    // with a clear message, describing still works.
    if (codecs.ok()) d.codecs = std::move(codecs).value();
    out.push_back(std::move(d));
  }
  return out;
}

Status CheckPackageable(const TrackDescription& track) {
  bool known = track.codec_id == "V_MPEG4/ISO/AVC" || track.codec_id == "V_MPEGH/ISO/HEVC" ||
               track.codec_id.rfind("A_AAC", 0) == 0;
  if (!known) {
    return InvalidArgument(std::string(kUnsupportedCodecPrefix) + " " + track.codec_id +
                           " on track " + std::to_string(track.number) +
                           " (H.264, H.265 and AAC can be packaged)");
  }
  if (!track.has_codec_private) {
    return FailedPrecondition(std::string(kMissingCodecPrivatePrefix) + " on track " +
                              std::to_string(track.number) + " (" + track.codec_id + ")");
  }
  if (track.codecs.empty()) {
    return FailedPrecondition(std::string(kMissingCodecPrivatePrefix) + ": track " +
                              std::to_string(track.number) + "'s CodecPrivate cannot be read (" +
                              track.codec_id + ")");
  }
  return Status::Ok();
}

}  // namespace streamarc::playback
