// Feeds arbitrary bytes to the GetImages request parser. It must never crash, hang or leak,
// refuse with kInvalidArgument only, and whatever it accepts must hold KVS's limits; the
// pages it implies must stay within them too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "playback/images_request.h"

namespace {

using namespace streamarc;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = playback::ParseGetImagesRequest(body);
  if (!r.ok()) {
    Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
    return 0;
  }
  Check(r->stream.name.empty() != r->stream.arn.empty());
  if (!r->stream.name.empty()) Check(archive::ValidateStreamName(r->stream.name).ok());
  Check(r->start_us >= 0 && r->end_us >= r->start_us);
  Check(r->end_us - r->start_us <= playback::kMaxImagesRangeUs);
  Check(r->interval_us >= playback::kMinSamplingIntervalMs * 1000);
  Check(r->jpeg_quality >= 1 && r->jpeg_quality <= 100);
  Check(r->width >= 0 && r->width <= playback::kMaxImageWidth);
  Check(r->height >= 0 && r->height <= playback::kMaxImageHeight);
  Check(r->page_size >= 1 && r->page_size <= playback::kImagesPageSize);
  const int64_t count = playback::ImageInstantCount(*r);
  Check(count >= 1 &&
        count <= 1 + playback::kMaxImagesRangeUs / (playback::kMinSamplingIntervalMs * 1000));
  Check(r->first_index >= 0 && r->first_index < count);
  auto instants = playback::PageInstants(*r);
  Check(!instants.empty() && instants.size() <= static_cast<size_t>(r->page_size));
  for (int64_t t : instants) Check(t >= r->start_us && t <= r->end_us);
  std::string next = playback::ImagesNextToken(*r);
  Check(next.empty() == (r->first_index + r->page_size >= count));
  return 0;
}
