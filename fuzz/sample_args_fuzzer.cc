// Feeds arbitrary bytes to the samples' ISO 8601 parser and command line (split at NUL
// bytes into arguments). They must never crash, hang or leak; a time they accept lies in
// 1970-9999, and an accepted command line has an endpoint, a stream and --end after a
// timestamp --start.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "samples/sample_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto t = streamarc::samples::ParseIso8601(text);
  if (t.ok() && (*t < 0 || *t > 253'402'300'800'000'000)) std::abort();

  std::vector<std::string> argv = {"fuzz"};
  size_t p = 0;
  while (p <= text.size() && argv.size() < 64) {
    size_t end = text.find('\0', p);
    if (end == std::string::npos) end = text.size();
    argv.push_back(text.substr(p, end - p));
    p = end + 1;
  }
  auto a = streamarc::samples::ParseArgs(argv, {"--post-events"}, {"--fps"});
  if (a.ok()) {
    if (a->endpoint.empty() || a->stream.empty()) std::abort();
    if (a->end_us && a->start.type == streamarc::frametap::StartType::kProducerTimestamp &&
        *a->end_us <= a->start.timestamp_us) {
      std::abort();
    }
    auto fps = streamarc::samples::NumberOption(*a, "--fps", 1, 0.1, 10);
    if (fps.ok() && !(*fps >= 0.1 && *fps <= 10)) std::abort();
  }
  return 0;
}
