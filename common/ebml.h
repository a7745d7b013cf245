// EBML primitives shared by the Matroska reader and writer (private to common/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/mkv.h"

namespace streamarc::mkv::ebml {

// Element IDs, with their length marker bits, as written on the wire.
enum : uint32_t {
  kEbml = 0x1A45DFA3,
  kEbmlVersion = 0x4286,
  kEbmlReadVersion = 0x42F7,
  kEbmlMaxIdLength = 0x42F2,
  kEbmlMaxSizeLength = 0x42F3,
  kDocType = 0x4282,
  kDocTypeVersion = 0x4287,
  kDocTypeReadVersion = 0x4285,
  kVoid = 0xEC,
  kCrc32 = 0xBF,

  kSegment = 0x18538067,
  kSeekHead = 0x114D9B74,
  kInfo = 0x1549A966,
  kTracks = 0x1654AE6B,
  kCluster = 0x1F43B675,
  kCues = 0x1C53BB6B,
  kChapters = 0x1043A770,
  kAttachments = 0x1941A469,
  kTags = 0x1254C367,

  kTimecodeScale = 0x2AD7B1,
  kDuration = 0x4489,
  kTitle = 0x7BA9,
  kMuxingApp = 0x4D80,
  kWritingApp = 0x5741,
  kSegmentUid = 0x73A4,

  kTrackEntry = 0xAE,
  kTrackNumber = 0xD7,
  kTrackUid = 0x73C5,
  kTrackType = 0x83,
  kCodecId = 0x86,
  kCodecPrivate = 0x63A2,
  kName = 0x536E,
  kDefaultDuration = 0x23E383,
  kCodecDelay = 0x56AA,
  kVideo = 0xE0,
  kPixelWidth = 0xB0,
  kPixelHeight = 0xBA,
  kAudio = 0xE1,
  kSamplingFrequency = 0xB5,
  kChannels = 0x9F,
  kBitDepth = 0x6264,

  kTimecode = 0xE7,
  kPosition = 0xA7,
  kPrevSize = 0xAB,
  kSilentTracks = 0x5854,
  kSimpleBlock = 0xA3,
  kBlockGroup = 0xA0,
  kEncryptedBlock = 0xAF,
  kBlock = 0xA1,
  kBlockDuration = 0x9B,
  kReferenceBlock = 0xFB,

  kTag = 0x7373,
  kTargets = 0x63C0,
  kSimpleTag = 0x67C8,
  kTagName = 0x45A3,
  kTagString = 0x4487,
  kTagBinary = 0x4485,
};

// The value of an all-ones size field: "unknown size".
inline constexpr uint64_t kUnknownSize = ~uint64_t{0};

// Outcome of decoding one variable-length number from the front of a buffer.
enum class VintResult { kOk, kNeedMore, kInvalid };

// Reads an element ID (1-4 bytes, marker bits kept). `len` gets the byte count.
VintResult ReadId(std::span<const uint8_t> in, uint32_t* id, size_t* len);
// Reads an element size (1-8 bytes, marker removed). All value bits set gives kUnknownSize.
VintResult ReadSize(std::span<const uint8_t> in, uint64_t* size, size_t* len);

// Big-endian readers for element payloads. `data.size()` is the element's size.
uint64_t ReadUint(std::span<const uint8_t> data);            // 0-8 bytes
int64_t ReadInt(std::span<const uint8_t> data);              // 0-8 bytes, two's complement
bool ReadFloat(std::span<const uint8_t> data, double* out);  // 0, 4 or 8 bytes
std::string ReadString(std::span<const uint8_t> data);       // trailing NULs dropped

// A readable name for error messages: "Cluster", or "0x1A2B3C" for IDs we do not know.
std::string ElementName(uint32_t id);

// Writers, appending to `out`.
void PutId(Bytes& out, uint32_t id);
// The shortest size encoding (or exactly `width` bytes when width > 0).
void PutSize(Bytes& out, uint64_t size, int width = 0);
void PutUnknownSize(Bytes& out);  // 1-byte 0xFF
void PutUint(Bytes& out, uint32_t id, uint64_t value);
void PutFloat(Bytes& out, uint32_t id, double value);
void PutString(Bytes& out, uint32_t id, std::string_view value);
void PutBinary(Bytes& out, uint32_t id, std::span<const uint8_t> value);

}  // namespace streamarc::mkv::ebml
