// Building Matroska by hand, element by element, for tests of odd and broken layouts.
#pragma once

#include <zlib.h>

#include <initializer_list>
#include <string>

#include "common/ebml.h"
#include "common/mkv.h"

namespace streamarc::mkv::testing {

inline Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes El(uint32_t id, const Bytes& body) {
  Bytes out;
  ebml::PutId(out, id);
  ebml::PutSize(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline Bytes UnknownSizeEl(uint32_t id, const Bytes& body) {
  Bytes out;
  ebml::PutId(out, id);
  ebml::PutUnknownSize(out);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline Bytes Uint(uint32_t id, uint64_t v) {
  Bytes out;
  ebml::PutUint(out, id, v);
  return out;
}

inline Bytes Str(uint32_t id, const std::string& v) {
  Bytes out;
  ebml::PutString(out, id, v);
  return out;
}

inline Bytes Crc32Of(const Bytes& rest) {
  uLong c = crc32(crc32(0L, Z_NULL, 0), rest.data(), static_cast<uInt>(rest.size()));
  return El(ebml::kCrc32, {static_cast<uint8_t>(c), static_cast<uint8_t>(c >> 8),
                           static_cast<uint8_t>(c >> 16), static_cast<uint8_t>(c >> 24)});
}

inline Bytes Header(const std::string& doc_type = "matroska") {
  return El(ebml::kEbml, Cat({Uint(ebml::kEbmlVersion, 1), Uint(ebml::kEbmlReadVersion, 1),
                              Str(ebml::kDocType, doc_type), Uint(ebml::kDocTypeVersion, 4),
                              Uint(ebml::kDocTypeReadVersion, 2)}));
}

inline Bytes Track(uint64_t number, uint64_t type, const std::string& codec,
                   uint64_t default_duration_ns = 0) {
  Bytes body = Cat({Uint(ebml::kTrackNumber, number), Uint(ebml::kTrackUid, number * 1000),
                    Uint(ebml::kTrackType, type), Str(ebml::kCodecId, codec)});
  if (default_duration_ns) body = Cat({body, Uint(ebml::kDefaultDuration, default_duration_ns)});
  return El(ebml::kTrackEntry, body);
}

inline Bytes Tracks(std::initializer_list<Bytes> entries) {
  return El(ebml::kTracks, Cat(entries));
}

inline Bytes Info(uint64_t scale = 1'000'000) {
  return El(ebml::kInfo, Uint(ebml::kTimecodeScale, scale));
}

// SimpleBlock payload: track vint, 16-bit relative timecode, flags, then `rest`.
inline Bytes BlockBody(uint64_t track, int16_t rel, uint8_t flags, const Bytes& rest) {
  Bytes b;
  ebml::PutSize(b, track);
  b.push_back(static_cast<uint8_t>(static_cast<uint16_t>(rel) >> 8));
  b.push_back(static_cast<uint8_t>(rel & 0xFF));
  b.push_back(flags);
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

inline Bytes SimpleBlock(uint64_t track, int16_t rel, bool key, const Bytes& data) {
  return El(ebml::kSimpleBlock, BlockBody(track, rel, key ? 0x80 : 0x00, data));
}

inline Bytes Payload(size_t n, uint8_t fill) { return Bytes(n, fill); }

}  // namespace streamarc::mkv::testing
