#include "common/mkv_lacing.h"

#include "common/ebml.h"

namespace streamarc::mkv {

Status SplitLaces(uint8_t flags, std::span<const uint8_t> rest,
                  std::vector<std::span<const uint8_t>>* frames) {
  frames->clear();
  const int lacing = (flags >> 1) & 3;
  if (lacing == 0) {
    frames->push_back(rest);
    return Status::Ok();
  }
  if (rest.empty()) return InvalidArgument("laced block without a frame count");
  const size_t count = static_cast<size_t>(rest[0]) + 1;
  rest = rest.subspan(1);
  // Sizes of all frames but the last, which takes what is left.
  size_t sizes[256];
  size_t p = 0, total = 0;
  if (lacing == 1) {  // Xiph: each size as a run of 255s plus a final byte
    for (size_t i = 0; i + 1 < count; ++i) {
      size_t s = 0;
      for (;;) {
        if (p >= rest.size()) return InvalidArgument("truncated Xiph lace sizes");
        uint8_t byte = rest[p++];
        s += byte;
        if (byte != 255) break;
      }
      sizes[i] = s;
      total += s;
    }
  } else if (lacing == 3) {  // EBML: the first size as a vint, then signed differences
    int64_t prev = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
      uint64_t raw = 0;
      size_t n = 0;
      if (ebml::ReadSize(rest.subspan(p), &raw, &n) != ebml::VintResult::kOk ||
          raw == ebml::kUnknownSize) {
        return InvalidArgument("bad EBML lace size");
      }
      p += n;
      int64_t s = static_cast<int64_t>(raw);
      if (i > 0) s = prev + (s - ((int64_t{1} << (7 * n - 1)) - 1));
      if (s < 0 || static_cast<uint64_t>(s) > rest.size()) {
        return InvalidArgument("bad EBML lace size");
      }
      sizes[i] = static_cast<size_t>(s);
      prev = s;
      total += sizes[i];
    }
  } else {  // fixed: equal parts
    if (rest.size() % count != 0) {
      return InvalidArgument("fixed-size lacing does not divide the data");
    }
    for (size_t i = 0; i + 1 < count; ++i) sizes[i] = rest.size() / count;
    total = (rest.size() / count) * (count - 1);
  }
  if (p > rest.size() || total > rest.size() - p) {
    return InvalidArgument("lace sizes exceed the block");
  }
  sizes[count - 1] = rest.size() - p - total;
  for (size_t i = 0; i < count; ++i) {
    frames->push_back(rest.subspan(p, sizes[i]));
    p += sizes[i];
  }
  return Status::Ok();
}

}  // namespace streamarc::mkv
