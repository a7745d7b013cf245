#include <limits>

#include "common/ebml.h"
#include "common/mkv.h"

namespace streamarc::mkv {

using namespace ebml;

namespace {

// Writes a master element whose body is built by `fill` into a scratch buffer, so its size
// is known before the header goes out.
template <typename Fill>
void PutMaster(Bytes& out, uint32_t id, Fill&& fill) {
  Bytes body;
  fill(body);
  PutId(out, id);
  PutSize(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
}

constexpr int kClusterSizeWidth = 8;

}  // namespace

void Writer::WriteEbmlHeader(const EbmlHeader& header) {
  PutMaster(out_, kEbml, [&](Bytes& b) {
    PutUint(b, kEbmlVersion, 1);
    PutUint(b, kEbmlReadVersion, 1);
    PutUint(b, kEbmlMaxIdLength, 4);
    PutUint(b, kEbmlMaxSizeLength, 8);
    PutString(b, kDocType, header.doc_type);
    PutUint(b, kDocTypeVersion, header.doc_type_version);
    PutUint(b, kDocTypeReadVersion, header.doc_type_read_version);
  });
}

void Writer::BeginSegment() {
  PutId(out_, kSegment);
  // An 8-byte all-ones size: "unknown", and the width players expect for a live segment.
  for (int i = 0; i < 8; ++i) out_.push_back(i == 0 ? 0x01 : 0xFF);
}

void Writer::WriteInfo(const SegmentInfo& info) {
  PutMaster(out_, kInfo, [&](Bytes& b) {
    if (!info.segment_uid.empty()) PutBinary(b, kSegmentUid, info.segment_uid);
    PutUint(b, kTimecodeScale, info.timecode_scale_ns);
    if (info.duration) PutFloat(b, kDuration, *info.duration);
    if (!info.title.empty()) PutString(b, kTitle, info.title);
    PutString(b, kMuxingApp, info.muxing_app.empty() ? "streamarc" : info.muxing_app);
    PutString(b, kWritingApp, info.writing_app.empty() ? "streamarc" : info.writing_app);
  });
}

void Writer::WriteTracks(std::span<const TrackInfo> tracks) {
  PutMaster(out_, kTracks, [&](Bytes& b) {
    for (const TrackInfo& t : tracks) {
      PutMaster(b, kTrackEntry, [&](Bytes& e) {
        PutUint(e, kTrackNumber, t.number);
        PutUint(e, kTrackUid, t.uid ? t.uid : t.number);
        PutUint(e, kTrackType, static_cast<uint64_t>(t.type));
        PutString(e, kCodecId, t.codec_id);
        if (!t.codec_private.empty()) PutBinary(e, kCodecPrivate, t.codec_private);
        if (!t.name.empty()) PutString(e, kName, t.name);
        if (t.default_duration_ns) PutUint(e, kDefaultDuration, t.default_duration_ns);
        if (t.codec_delay_ns) PutUint(e, kCodecDelay, t.codec_delay_ns);
        if (t.type == TrackType::kVideo && (t.pixel_width || t.pixel_height)) {
          PutMaster(e, kVideo, [&](Bytes& v) {
            PutUint(v, kPixelWidth, t.pixel_width);
            PutUint(v, kPixelHeight, t.pixel_height);
          });
        }
        if (t.type == TrackType::kAudio) {
          PutMaster(e, kAudio, [&](Bytes& a) {
            if (t.sampling_frequency > 0) PutFloat(a, kSamplingFrequency, t.sampling_frequency);
            if (t.channels) PutUint(a, kChannels, t.channels);
            if (t.bit_depth) PutUint(a, kBitDepth, t.bit_depth);
          });
        }
      });
    }
  });
}

Status Writer::CheckClusterStart(int64_t timecode) const {
  if (cluster_open()) return FailedPrecondition("mkv writer: a Cluster is already open");
  if (timecode < 0) return InvalidArgument("mkv writer: negative Cluster timecode");
  return Status::Ok();
}

Status Writer::BeginCluster(int64_t timecode, ClusterSize size) {
  RETURN_IF_ERROR(CheckClusterStart(timecode));
  PutId(out_, kCluster);
  if (size == ClusterSize::kKnown) {
    cluster_size_pos_ = out_.size();
    out_.insert(out_.end(), kClusterSizeWidth, 0);  // patched by EndCluster
    cluster_ = OpenCluster::kKnownSize;
  } else {
    PutUnknownSize(out_);
    cluster_ = OpenCluster::kUnknownSize;
  }
  PutUint(out_, kTimecode, static_cast<uint64_t>(timecode));
  cluster_timecode_ = timecode;
  return Status::Ok();
}

Status Writer::ResumeCluster(int64_t timecode) {
  RETURN_IF_ERROR(CheckClusterStart(timecode));
  cluster_ = OpenCluster::kUnknownSize;
  cluster_timecode_ = timecode;
  return Status::Ok();
}

Status Writer::WriteFrame(uint64_t track, int64_t timecode, bool key, std::span<const uint8_t> data,
                          int64_t duration) {
  if (!cluster_open()) return FailedPrecondition("mkv writer: no open Cluster");
  if (track == 0 || track > 126) return InvalidArgument("mkv writer: track number out of range");
  int64_t rel = timecode - cluster_timecode_;
  if (rel < std::numeric_limits<int16_t>::min() || rel > std::numeric_limits<int16_t>::max()) {
    return OutOfRange("mkv writer: frame timecode " + std::to_string(timecode) +
                      " is too far from its Cluster's " + std::to_string(cluster_timecode_));
  }
  const size_t block_size = 4 + data.size();
  auto put_block_header = [&](uint8_t flags) {
    out_.push_back(static_cast<uint8_t>(0x80 | track));
    out_.push_back(static_cast<uint8_t>((rel >> 8) & 0xFF));
    out_.push_back(static_cast<uint8_t>(rel & 0xFF));
    out_.push_back(flags);
  };
  if (duration > 0) {
    Bytes dur;
    PutUint(dur, kBlockDuration, static_cast<uint64_t>(duration));
    Bytes ref;
    if (!key) PutUint(ref, kReferenceBlock, 0);  // any reference marks a non-key frame
    Bytes block_hdr;
    PutId(block_hdr, kBlock);
    PutSize(block_hdr, block_size);
    PutId(out_, kBlockGroup);
    PutSize(out_, block_hdr.size() + block_size + dur.size() + ref.size());
    out_.insert(out_.end(), block_hdr.begin(), block_hdr.end());
    put_block_header(0);
    out_.insert(out_.end(), data.begin(), data.end());
    out_.insert(out_.end(), dur.begin(), dur.end());
    out_.insert(out_.end(), ref.begin(), ref.end());
  } else {
    PutId(out_, kSimpleBlock);
    PutSize(out_, block_size);
    put_block_header(key ? 0x80 : 0x00);
    out_.insert(out_.end(), data.begin(), data.end());
  }
  return Status::Ok();
}

Status Writer::EndCluster() {
  if (!cluster_open()) return FailedPrecondition("mkv writer: no open Cluster");
  if (cluster_ == OpenCluster::kKnownSize) {
    uint64_t size = out_.size() - cluster_size_pos_ - kClusterSizeWidth;
    Bytes enc;
    PutSize(enc, size, kClusterSizeWidth);
    std::copy(enc.begin(), enc.end(), out_.begin() + static_cast<ptrdiff_t>(cluster_size_pos_));
  }
  cluster_ = OpenCluster::kNone;
  return Status::Ok();
}

void Writer::WriteTags(std::span<const SimpleTag> tags) {
  PutMaster(out_, kTags, [&](Bytes& b) {
    PutMaster(b, kTag, [&](Bytes& t) {
      PutMaster(t, kTargets, [](Bytes&) {});
      for (const SimpleTag& st : tags) {
        PutMaster(t, kSimpleTag, [&](Bytes& s) {
          PutString(s, kTagName, st.name);
          if (st.binary) {
            PutBinary(s, kTagBinary,
                      {reinterpret_cast<const uint8_t*>(st.value.data()), st.value.size()});
          } else {
            PutString(s, kTagString, st.value);
          }
        });
      }
    });
  });
}

}  // namespace streamarc::mkv
