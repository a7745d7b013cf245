// Feeds arbitrary bytes to the GetMedia, ListFragments and GetMediaForFragmentList request
// parsers (the first byte picks one). They must never crash, hang or leak, refuse with
// kInvalidArgument only, and whatever they accept must hold the model's constraints.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "playback/get_media_request.h"

namespace {

using namespace streamarc;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Digits(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void CheckStream(const archive::StreamRef& ref) {
  Check(ref.name.empty() != ref.arn.empty());
  if (!ref.name.empty()) Check(archive::ValidateStreamName(ref.name).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto r = playback::ParseGetMediaRequest(body);
      if (!r.ok()) {
        Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
        break;
      }
      CheckStream(r->stream);
      if (r->type == playback::StartSelectorType::kFragmentNumber) {
        Check(Digits(r->after_fragment_number));
      }
      if (r->type == playback::StartSelectorType::kContinuationToken) {
        Check(Digits(r->continuation_token));
      }
      Check(r->start_timestamp_us >= 0);
      break;
    }
    case 1: {
      auto r = playback::ParseListFragmentsRequest(body);
      if (!r.ok()) {
        Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
        break;
      }
      CheckStream(r->stream);
      Check(r->max_results >= 1 && r->max_results <= playback::kMaxListMaxResults);
      Check(r->start_us <= r->end_us);
      Check(!r->next_token.empty() || r->end_us >= 0);
      break;
    }
    case 2: {
      auto r = playback::ParseFragmentListRequest(body);
      if (!r.ok()) {
        Check(r.status().code() == Code::kInvalidArgument && !r.status().message().empty());
        break;
      }
      CheckStream(r->stream);
      Check(!r->fragments.empty() && r->fragments.size() <= playback::kMaxFragmentList);
      for (const auto& n : r->fragments) Check(Digits(n));
      std::set<std::string> distinct(r->fragments.begin(), r->fragments.end());
      Check(distinct.size() == r->fragments.size());
      break;
    }
  }
  return 0;
}
