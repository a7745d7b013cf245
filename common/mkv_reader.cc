// The push reader. Segment and Cluster are walked (a stack of open levels); every other
// element we use is held whole in memory once complete (bounded by max_element_size) and
// parsed by a small recursive pull parser; everything else is skipped byte by byte.
#include <algorithm>
#include <cstring>
#include <limits>

#include "common/ebml.h"
#include "common/mkv.h"
#include "common/mkv_elements.h"
#include "common/mkv_lacing.h"

namespace streamarc::mkv {

using namespace ebml;

namespace {

std::string At(uint64_t offset, uint32_t id) {
  return ElementName(id) + " at offset " + std::to_string(offset);
}

bool IsClusterChild(uint32_t id) {
  switch (id) {
    case kTimecode:
    case kPosition:
    case kPrevSize:
    case kSilentTracks:
    case kSimpleBlock:
    case kBlockGroup:
    case kEncryptedBlock:
    case kVoid:
    case kCrc32:
      return true;
    default:
      return false;
  }
}

bool IsSegmentChild(uint32_t id) {
  switch (id) {
    case kSeekHead:
    case kInfo:
    case kTracks:
    case kCluster:
    case kCues:
    case kChapters:
    case kAttachments:
    case kTags:
    case kVoid:
    case kCrc32:
      return true;
    default:
      return false;
  }
}

}  // namespace

class Reader::Impl {
 public:
  Impl(ReaderHandler& handler, const ReaderOptions& options) : h_(handler), opt_(options) {}

  Status Feed(std::span<const uint8_t> in) {
    if (!error_.ok()) return error_;
    if (finished_) return FailedPrecondition("mkv reader: Feed after Finish");
    Status s = FeedInner(in);
    if (!s.ok()) error_ = s;
    return s;
  }

  Status Finish() {
    if (!error_.ok()) return error_;
    if (finished_) return Status::Ok();
    finished_ = true;
    Status s = FinishInner();
    if (!s.ok()) error_ = s;
    return s;
  }

  uint64_t offset() const { return pos_ + hdr_len_; }
  const std::vector<TrackInfo>& tracks() const { return tracks_; }
  const SegmentInfo& info() const { return info_; }
  size_t buffered_bytes() const { return body_.capacity(); }

 private:
  enum class State { kHeader, kBody, kSkip };
  struct Level {
    uint32_t id;
    uint64_t offset;
    uint64_t end;  // kUnknownSize when the element has unknown size
  };

  // ---- The byte-level state machine ----

  Status FeedInner(std::span<const uint8_t> in) {
    for (;;) {
      if (state_ == State::kHeader && hdr_len_ == 0) RETURN_IF_ERROR(CloseEndedLevels());
      if (in.empty()) return Status::Ok();
      switch (state_) {
        case State::kHeader: {
          size_t used = 0;
          RETURN_IF_ERROR(ReadHeader(in, &used));
          in = in.subspan(used);
          break;
        }
        case State::kSkip: {
          uint64_t n = std::min<uint64_t>(remaining_, in.size());
          remaining_ -= n;
          pos_ += n;
          in = in.subspan(n);
          if (remaining_ == 0) state_ = State::kHeader;
          break;
        }
        case State::kBody: {
          if (body_.empty() && in.size() >= elem_size_) {
            // The whole element is in this piece: hand out a view, no copy.
            auto view = in.first(elem_size_);
            in = in.subspan(elem_size_);
            pos_ += elem_size_;
            state_ = State::kHeader;
            RETURN_IF_ERROR(HandleElement(elem_id_, elem_offset_, view));
          } else {
            uint64_t n = std::min<uint64_t>(elem_size_ - body_.size(), in.size());
            body_.insert(body_.end(), in.begin(), in.begin() + n);
            in = in.subspan(n);
            pos_ += n;
            if (body_.size() == elem_size_) {
              state_ = State::kHeader;
              Status s = HandleElement(elem_id_, elem_offset_, body_);
              body_.clear();
              RETURN_IF_ERROR(s);
            }
          }
          break;
        }
      }
    }
  }

  // Reads an element header from the stashed bytes plus `in`; `used` gets how much of `in`
  // it took. An incomplete header is stashed (at most 12 bytes).
  Status ReadHeader(std::span<const uint8_t> in, size_t* used) {
    uint8_t tmp[sizeof hdr_];
    size_t old = hdr_len_;
    size_t take = std::min(sizeof hdr_ - old, in.size());
    std::memcpy(tmp, hdr_, old);
    std::memcpy(tmp + old, in.data(), take);
    std::span<const uint8_t> src(tmp, old + take);

    uint32_t id = 0;
    uint64_t size = 0;
    size_t id_len = 0, size_len = 0;
    VintResult r = ReadId(src, &id, &id_len);
    if (r == VintResult::kOk) r = ReadSize(src.subspan(id_len), &size, &size_len);
    if (r == VintResult::kInvalid) {
      return InvalidArgument("mkv: invalid element " + std::string(id_len ? "size" : "ID") +
                             " at offset " + std::to_string(pos_) +
                             (id_len ? " (element " + ElementName(id) + ")" : ""));
    }
    if (r == VintResult::kNeedMore) {
      std::memcpy(hdr_, src.data(), src.size());
      hdr_len_ = src.size();
      *used = take;
      return Status::Ok();
    }
    size_t header_len = id_len + size_len;
    *used = header_len - old;
    hdr_len_ = 0;
    uint64_t offset = pos_;
    pos_ += header_len;
    return Dispatch(id, size, offset, header_len);
  }

  // Decides what to do with an element whose header was just read.
  Status Dispatch(uint32_t id, uint64_t size, uint64_t offset, size_t header_len) {
    // An element that cannot be a child of an unknown-size level ends that level.
    while (!stack_.empty() && stack_.back().end == kUnknownSize) {
      const Level& top = stack_.back();
      bool child = top.id == kCluster ? IsClusterChild(id) : !(id == kEbml || id == kSegment);
      if (child) break;
      if (top.id == kCluster && !IsSegmentChild(id) && id != kEbml && id != kSegment) {
        break;  // an unknown element inside the cluster: skip it
      }
      RETURN_IF_ERROR(PopLevel());
    }

    bool unknown = size == kUnknownSize;
    if (unknown && id != kSegment && id != kCluster) {
      return InvalidArgument("mkv: " + At(offset, id) +
                             " has unknown size, which Matroska allows only for Segment and "
                             "Cluster");
    }
    // Every element must fit in the innermost level of known size.
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      if (it->end == kUnknownSize) continue;
      if (pos_ > it->end) {
        return InvalidArgument("mkv: the header of " + At(offset, id) +
                               " runs past the end of its parent " + At(it->offset, it->id));
      }
      uint64_t room = it->end - pos_;
      if (!unknown && size > room) {
        return InvalidArgument("mkv: " + At(offset, id) + " has size " + std::to_string(size) +
                               ", beyond the end of its parent " + At(it->offset, it->id));
      }
      break;
    }

    const uint32_t ctx = stack_.empty() ? 0 : stack_.back().id;
    if (!seen_ebml_ && id != kEbml) {
      return InvalidArgument("mkv: expected an EBML header at offset " + std::to_string(offset) +
                             ", found " + ElementName(id));
    }
    if (ctx == 0 && id == kSegment) return Descend(id, size, offset, header_len);
    if (ctx == kSegment && id == kCluster) return Descend(id, size, offset, header_len);

    bool hold = false;
    if (ctx == 0) {
      hold = id == kEbml;
    } else if (ctx == kSegment) {
      hold = id == kInfo || id == kTracks || id == kTags;
    } else if (ctx == kCluster) {
      hold = id == kTimecode || id == kSimpleBlock || id == kBlockGroup;
    }

    if (size > opt_.max_element_size) {
      return ResourceExhausted("mkv: " + At(offset, id) + " has size " + std::to_string(size) +
                               ", above the limit of " + std::to_string(opt_.max_element_size));
    }
    elem_id_ = id;
    elem_offset_ = offset;
    elem_size_ = size;
    if (hold) {
      if (size == 0) return HandleElement(id, offset, {});
      state_ = State::kBody;
    } else if (size > 0) {
      remaining_ = size;
      state_ = State::kSkip;
    }
    return Status::Ok();
  }

  Status Descend(uint32_t id, uint64_t size, uint64_t offset, size_t header_len) {
    uint64_t end = size == kUnknownSize ? kUnknownSize : offset + header_len + size;
    stack_.push_back(Level{id, offset, end});
    if (id == kSegment) {
      // A new section: its Info and Tracks replace the old ones.
      tracks_.clear();
      have_tracks_ = false;
      info_ = SegmentInfo{};
      std::optional<uint64_t> known;
      if (size != kUnknownSize) known = size;
      return h_.OnSegmentStart(offset, known);
    }
    cluster_ = ClusterStart{offset, 0, size != kUnknownSize};
    cluster_has_timecode_ = false;
    return Status::Ok();
  }

  Status PopLevel() {
    Level top = stack_.back();
    stack_.pop_back();
    if (top.id == kCluster) {
      if (cluster_has_timecode_) {
        cluster_has_timecode_ = false;
        return h_.OnClusterEnd();
      }
      return Status::Ok();
    }
    return h_.OnSegmentEnd();
  }

  // Pops every level whose known end the stream has reached (and the unknown-size levels
  // inside it).
  Status CloseEndedLevels() {
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].end != kUnknownSize && pos_ >= stack_[i].end) {
        while (stack_.size() > i) RETURN_IF_ERROR(PopLevel());
        break;
      }
    }
    return Status::Ok();
  }

  Status FinishInner() {
    if (state_ != State::kHeader || hdr_len_ > 0) {
      uint64_t have = state_ == State::kBody ? body_.size() : elem_size_ - remaining_;
      if (state_ == State::kHeader) {
        return DataLoss("mkv: stream ended inside an element header at offset " +
                        std::to_string(pos_));
      }
      return DataLoss("mkv: stream ended inside " + At(elem_offset_, elem_id_) + " (" +
                      std::to_string(have) + " of " + std::to_string(elem_size_) + " bytes)");
    }
    RETURN_IF_ERROR(CloseEndedLevels());
    for (const Level& l : stack_) {
      if (l.end != kUnknownSize) {
        return DataLoss("mkv: stream ended at offset " + std::to_string(pos_) + " inside " +
                        At(l.offset, l.id) + ", which ends at " + std::to_string(l.end));
      }
    }
    while (!stack_.empty()) RETURN_IF_ERROR(PopLevel());
    return Status::Ok();
  }

  // ---- Held elements ----

  Status HandleElement(uint32_t id, uint64_t offset, std::span<const uint8_t> body) {
    switch (id) {
      case kEbml:
        return HandleEbmlHeader(offset, body);
      case kInfo:
        return HandleInfo(offset, body);
      case kTracks:
        return HandleTracks(offset, body);
      case kTags:
        return HandleTags(offset, body);
      case kTimecode: {
        if (cluster_has_timecode_) {
          return InvalidArgument("mkv: second Timecode in the Cluster, " + At(offset, id));
        }
        uint64_t tc = ReadUint(body);
        if (tc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 4)) {
          return InvalidArgument("mkv: " + At(offset, id) + " is out of range");
        }
        cluster_.timecode = static_cast<int64_t>(tc);
        cluster_has_timecode_ = true;
        return h_.OnClusterStart(cluster_);
      }
      case kSimpleBlock:
        return HandleBlock(offset, body, /*simple=*/true, false, 0);
      case kBlockGroup:
        return HandleBlockGroup(offset, body);
      default:
        return Status::Ok();
    }
  }

  Status HandleEbmlHeader(uint64_t offset, std::span<const uint8_t> body) {
    EbmlHeader hdr;
    RETURN_IF_ERROR(ParseEbmlHeader(offset, body, opt_, &hdr));
    seen_ebml_ = true;
    return h_.OnEbmlHeader(hdr);
  }

  Status HandleInfo(uint64_t offset, std::span<const uint8_t> body) {
    RETURN_IF_ERROR(ParseInfo(offset, body, opt_, &info_));
    return h_.OnInfo(info_);
  }

  Status HandleTracks(uint64_t offset, std::span<const uint8_t> body) {
    std::vector<TrackInfo> tracks;
    RETURN_IF_ERROR(ParseTracks(offset, body, opt_, &tracks));
    tracks_ = std::move(tracks);
    have_tracks_ = true;
    return h_.OnTracks(tracks_);
  }

  Status HandleTags(uint64_t offset, std::span<const uint8_t> body) {
    std::vector<SimpleTag> tags;
    RETURN_IF_ERROR(ParseTags(offset, body, opt_, &tags));
    return h_.OnTags(tags);
  }

  Status HandleBlockGroup(uint64_t offset, std::span<const uint8_t> body) {
    BlockGroupParts g;
    RETURN_IF_ERROR(ParseBlockGroup(offset, body, opt_, &g));
    return HandleBlock(offset, g.block, /*simple=*/false, !g.has_reference, g.duration);
  }

  Status HandleBlock(uint64_t offset, std::span<const uint8_t> b, bool simple, bool group_key,
                     int64_t duration) {
    const char* what = simple ? "SimpleBlock" : "Block";
    auto bad = [&](const std::string& why) {
      return InvalidArgument(std::string("mkv: ") + what + " at offset " + std::to_string(offset) +
                             ": " + why);
    };
    if (!have_tracks_) return bad("a frame before Tracks");
    if (!cluster_has_timecode_) return bad("a frame before its Cluster's Timecode");
    uint64_t track = 0;
    size_t tl = 0;
    if (ReadSize(b, &track, &tl) != VintResult::kOk || track == kUnknownSize) {
      return bad("bad track number");
    }
    if (b.size() < tl + 3) return bad("shorter than a block header");
    const TrackInfo* info = nullptr;
    for (const TrackInfo& t : tracks_) {
      if (t.number == track) info = &t;
    }
    if (!info) {
      // kNotFound, not kInvalidArgument: ingest answers it with KVS's 4010.
      return NotFound("mkv: " + std::string(what) + " at offset " + std::to_string(offset) +
                      ": track " + std::to_string(track) + " is not in Tracks");
    }
    int16_t rel = static_cast<int16_t>((b[tl] << 8) | b[tl + 1]);
    uint8_t flags = b[tl + 2];
    auto rest = b.subspan(tl + 3);

    Frame f;
    f.track = track;
    f.duration = duration;
    f.key = simple ? (flags & 0x80) != 0 : group_key;
    f.invisible = (flags & 0x08) != 0;
    f.discardable = simple && (flags & 0x01) != 0;
    f.from_block_group = !simple;
    f.block_offset = offset;
    const int64_t base = cluster_.timecode + rel;
    const int64_t scale = static_cast<int64_t>(info_.timecode_scale_ns);
    // Laced frames after the first are spaced by the track's default duration.
    const int64_t lace_step =
        static_cast<int64_t>(std::min<uint64_t>(info->default_duration_ns, 1ull << 40)) / scale;

    auto emit = [&](uint32_t index, std::span<const uint8_t> data) -> Status {
      f.lace_index = index;
      f.timecode = base + lace_step * index;
      if (__builtin_mul_overflow(f.timecode, scale, &f.timestamp_ns)) {
        return bad("timestamp out of range");
      }
      f.data = data;
      return h_.OnFrame(f);
    };

    Status st = SplitLaces(flags, rest, &laces_);
    if (!st.ok()) return bad(st.message());
    for (size_t i = 0; i < laces_.size(); ++i) {
      RETURN_IF_ERROR(emit(static_cast<uint32_t>(i), laces_[i]));
    }
    return Status::Ok();
  }

  ReaderHandler& h_;
  const ReaderOptions opt_;
  Status error_;
  bool finished_ = false;

  uint64_t pos_ = 0;  // stream offset of the next byte to parse (stashed header bytes excluded)
  State state_ = State::kHeader;
  uint8_t hdr_[12];
  size_t hdr_len_ = 0;
  uint32_t elem_id_ = 0;
  uint64_t elem_offset_ = 0;
  uint64_t elem_size_ = 0;
  uint64_t remaining_ = 0;
  Bytes body_;
  std::vector<Level> stack_;

  bool seen_ebml_ = false;
  bool have_tracks_ = false;
  SegmentInfo info_;
  std::vector<TrackInfo> tracks_;
  std::vector<std::span<const uint8_t>> laces_;  // reused for every block
  ClusterStart cluster_;
  bool cluster_has_timecode_ = false;
};

Reader::Reader(ReaderHandler& handler, const ReaderOptions& options)
    : impl_(std::make_unique<Impl>(handler, options)) {}
Reader::~Reader() = default;
Status Reader::Feed(std::span<const uint8_t> bytes) { return impl_->Feed(bytes); }
Status Reader::Finish() { return impl_->Finish(); }
uint64_t Reader::offset() const { return impl_->offset(); }
const std::vector<TrackInfo>& Reader::tracks() const { return impl_->tracks(); }
const SegmentInfo& Reader::info() const { return impl_->info(); }
size_t Reader::buffered_bytes() const { return impl_->buffered_bytes(); }

}  // namespace streamarc::mkv
