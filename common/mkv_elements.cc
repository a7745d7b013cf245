#include "common/mkv_elements.h"

#include <zlib.h>

#include <limits>
#include <string>

#include "common/ebml.h"

namespace streamarc::mkv {

using namespace ebml;

namespace {

constexpr uint32_t kContentEncodings = 0x6D80;

std::string At(uint64_t offset, uint32_t id) {
  return ElementName(id) + " at offset " + std::to_string(offset);
}

// Calls fn(id, payload, payload_offset) for each child of a held master element. Refuses
// bad vints, unknown sizes and children that overrun; checks a leading CRC-32, which covers
// the rest of the parent's payload.
template <typename Fn>
Status ForEachChild(uint32_t parent, uint64_t base, std::span<const uint8_t> data,
                    const ReaderOptions& opt, Fn&& fn) {
  size_t p = 0;
  bool first = true;
  while (p < data.size()) {
    uint32_t id = 0;
    uint64_t size = 0;
    size_t il = 0, sl = 0;
    VintResult r = ReadId(data.subspan(p), &id, &il);
    if (r == VintResult::kOk) r = ReadSize(data.subspan(p + il), &size, &sl);
    const uint64_t off = base + p;
    if (r != VintResult::kOk) {
      return InvalidArgument("mkv: malformed child element at offset " + std::to_string(off) +
                             " inside " + ElementName(parent));
    }
    if (size == kUnknownSize || size > data.size() - p - il - sl) {
      return InvalidArgument("mkv: " + At(off, id) + " has size " +
                             (size == kUnknownSize ? "unknown" : std::to_string(size)) +
                             ", beyond the end of its parent " + ElementName(parent));
    }
    auto payload = data.subspan(p + il + sl, size);
    p += il + sl + size;
    if (id == kCrc32 && first && opt.verify_crc) {
      if (size != 4) return InvalidArgument("mkv: " + At(off, id) + " is not 4 bytes");
      auto rest = data.subspan(p);
      uLong crc = crc32(crc32(0L, Z_NULL, 0), rest.data(), static_cast<uInt>(rest.size()));
      uint32_t want = payload[0] | (payload[1] << 8) | (payload[2] << 16) |
                      (static_cast<uint32_t>(payload[3]) << 24);
      if (crc != want) {
        return DataLoss("mkv: CRC-32 mismatch in " + ElementName(parent) + " at offset " +
                        std::to_string(off));
      }
    }
    first = false;
    RETURN_IF_ERROR(fn(id, payload, off + il + sl));
  }
  return Status::Ok();
}

Status ParseTrackEntry(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                       TrackInfo* t) {
  return ForEachChild(
      kTrackEntry, offset, body, opt,
      [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) -> Status {
        switch (id) {
          case kTrackNumber:
            t->number = ReadUint(v);
            break;
          case kTrackUid:
            t->uid = ReadUint(v);
            break;
          case kTrackType:
            t->type = static_cast<TrackType>(ReadUint(v) & 0xFF);
            break;
          case kCodecId:
            t->codec_id = ReadString(v);
            break;
          case kCodecPrivate:
            t->codec_private.assign(v.begin(), v.end());
            break;
          case kName:
            t->name = ReadString(v);
            break;
          case kDefaultDuration:
            t->default_duration_ns = ReadUint(v);
            break;
          case kCodecDelay:
            t->codec_delay_ns = ReadUint(v);
            break;
          case kContentEncodings:
            // Header stripping would need bytes put back into every frame; refuse rather than
            // hand out frames that decode wrong.
            return InvalidArgument("mkv: " + At(off, id) +
                                   ": compressed or encrypted tracks are not supported");
          case kVideo:
            return ForEachChild(kVideo, off, v, opt,
                                [&](uint32_t cid, std::span<const uint8_t> cv, uint64_t) {
                                  if (cid == kPixelWidth) {
                                    t->pixel_width = static_cast<uint32_t>(ReadUint(cv));
                                  }
                                  if (cid == kPixelHeight) {
                                    t->pixel_height = static_cast<uint32_t>(ReadUint(cv));
                                  }
                                  return Status::Ok();
                                });
          case kAudio:
            return ForEachChild(
                kAudio, off, v, opt, [&](uint32_t cid, std::span<const uint8_t> cv, uint64_t coff) {
                  if (cid == kSamplingFrequency && !ReadFloat(cv, &t->sampling_frequency)) {
                    return InvalidArgument("mkv: bad float in " + At(coff, cid));
                  }
                  if (cid == kChannels) t->channels = static_cast<uint32_t>(ReadUint(cv));
                  if (cid == kBitDepth) t->bit_depth = static_cast<uint32_t>(ReadUint(cv));
                  return Status::Ok();
                });
          default:
            break;
        }
        return Status::Ok();
      });
}

Status ParseSimpleTag(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                      int depth, std::vector<SimpleTag>* out) {
  if (depth > opt.max_depth) {
    return InvalidArgument("mkv: SimpleTag at offset " + std::to_string(offset) +
                           " is nested deeper than " + std::to_string(opt.max_depth));
  }
  const size_t index = out->size();
  out->emplace_back();
  return ForEachChild(
      kSimpleTag, offset, body, opt, [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) {
        switch (id) {
          case kTagName:
            (*out)[index].name = ReadString(v);
            break;
          case kTagString:
            (*out)[index].value = ReadString(v);
            break;
          case kTagBinary:
            (*out)[index].value.assign(reinterpret_cast<const char*>(v.data()), v.size());
            (*out)[index].binary = true;
            break;
          case kSimpleTag:
            return ParseSimpleTag(off, v, opt, depth + 1, out);
          default:
            break;
        }
        return Status::Ok();
      });
}

}  // namespace

Status ParseEbmlHeader(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                       EbmlHeader* out) {
  EbmlHeader hdr;
  hdr.doc_type.clear();
  uint64_t read_version = 1, max_id = 4, max_size = 8;
  RETURN_IF_ERROR(ForEachChild(kEbml, offset, body, opt,
                               [&](uint32_t id, std::span<const uint8_t> v, uint64_t) {
                                 switch (id) {
                                   case kDocType:
                                     hdr.doc_type = ReadString(v);
                                     break;
                                   case kDocTypeVersion:
                                     hdr.doc_type_version = ReadUint(v);
                                     break;
                                   case kDocTypeReadVersion:
                                     hdr.doc_type_read_version = ReadUint(v);
                                     break;
                                   case kEbmlReadVersion:
                                     read_version = ReadUint(v);
                                     break;
                                   case kEbmlMaxIdLength:
                                     max_id = ReadUint(v);
                                     break;
                                   case kEbmlMaxSizeLength:
                                     max_size = ReadUint(v);
                                     break;
                                   default:
                                     break;
                                 }
                                 return Status::Ok();
                               }));
  if (hdr.doc_type != "matroska" && hdr.doc_type != "webm") {
    return InvalidArgument("mkv: EBML header at offset " + std::to_string(offset) +
                           " has DocType \"" + hdr.doc_type + "\", not matroska or webm");
  }
  if (read_version > 1 || max_id > 4 || max_size > 8) {
    return InvalidArgument("mkv: EBML header at offset " + std::to_string(offset) +
                           " needs EBML read version " + std::to_string(read_version) +
                           ", IDs up to " + std::to_string(max_id) + " and sizes up to " +
                           std::to_string(max_size) + " bytes; this reader knows 1, 4 and 8");
  }
  *out = std::move(hdr);
  return Status::Ok();
}

Status ParseInfo(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                 SegmentInfo* out) {
  SegmentInfo info;
  RETURN_IF_ERROR(ForEachChild(kInfo, offset, body, opt,
                               [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) {
                                 switch (id) {
                                   case kTimecodeScale:
                                     info.timecode_scale_ns = ReadUint(v);
                                     break;
                                   case kDuration: {
                                     double d = 0;
                                     if (!ReadFloat(v, &d))
                                       return InvalidArgument("mkv: bad float in " + At(off, id));
                                     info.duration = d;
                                     break;
                                   }
                                   case kTitle:
                                     info.title = ReadString(v);
                                     break;
                                   case kMuxingApp:
                                     info.muxing_app = ReadString(v);
                                     break;
                                   case kWritingApp:
                                     info.writing_app = ReadString(v);
                                     break;
                                   case kSegmentUid:
                                     info.segment_uid.assign(v.begin(), v.end());
                                     break;
                                   default:
                                     break;
                                 }
                                 return Status::Ok();
                               }));
  if (info.timecode_scale_ns == 0 || info.timecode_scale_ns > 1'000'000'000) {
    return InvalidArgument("mkv: Info at offset " + std::to_string(offset) + " has TimecodeScale " +
                           std::to_string(info.timecode_scale_ns));
  }
  *out = std::move(info);
  return Status::Ok();
}

Status ParseTracks(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                   std::vector<TrackInfo>* out) {
  std::vector<TrackInfo> tracks;
  RETURN_IF_ERROR(ForEachChild(
      kTracks, offset, body, opt, [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) {
        if (id != kTrackEntry) return Status::Ok();
        if (tracks.size() >= opt.max_tracks) {
          return ResourceExhausted("mkv: more than " + std::to_string(opt.max_tracks) +
                                   " tracks at offset " + std::to_string(off));
        }
        TrackInfo t;
        RETURN_IF_ERROR(ParseTrackEntry(off, v, opt, &t));
        if (t.number == 0) {
          return InvalidArgument("mkv: TrackEntry at offset " + std::to_string(off) +
                                 " has no TrackNumber");
        }
        for (const TrackInfo& o : tracks) {
          if (o.number == t.number) {
            return InvalidArgument("mkv: TrackNumber " + std::to_string(t.number) +
                                   " appears twice in Tracks at offset " + std::to_string(offset));
          }
        }
        tracks.push_back(std::move(t));
        return Status::Ok();
      }));
  *out = std::move(tracks);
  return Status::Ok();
}

Status ParseTags(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                 std::vector<SimpleTag>* out) {
  out->clear();
  return ForEachChild(
      kTags, offset, body, opt, [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) {
        if (id != kTag) return Status::Ok();
        return ForEachChild(
            kTag, off, v, opt, [&](uint32_t cid, std::span<const uint8_t> cv, uint64_t coff) {
              if (cid != kSimpleTag) return Status::Ok();
              return ParseSimpleTag(coff, cv, opt, 3, out);  // Tags > Tag > SimpleTag: depth 3
            });
      });
}

Status ParseBlockGroup(uint64_t offset, std::span<const uint8_t> body, const ReaderOptions& opt,
                       BlockGroupParts* out) {
  BlockGroupParts g;
  bool have_block = false;
  RETURN_IF_ERROR(ForEachChild(
      kBlockGroup, offset, body, opt, [&](uint32_t id, std::span<const uint8_t> v, uint64_t off) {
        if (id == kBlock) {
          g.block = v;
          have_block = true;
        } else if (id == kReferenceBlock) {
          g.has_reference = true;
        } else if (id == kBlockDuration) {
          uint64_t d = ReadUint(v);
          if (d > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
            return InvalidArgument("mkv: " + At(off, id) + " is out of range");
          }
          g.duration = static_cast<int64_t>(d);
        }
        return Status::Ok();
      }));
  if (!have_block) {
    return InvalidArgument("mkv: BlockGroup at offset " + std::to_string(offset) + " has no Block");
  }
  *out = g;
  return Status::Ok();
}

}  // namespace streamarc::mkv
