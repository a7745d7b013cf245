// The frame tap's parsers of untrusted text: the checkpoint file and KVS's epoch-seconds tag
// values. A checkpoint that parses must format back to the same bytes; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "frametap/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = streamarc::frametap::ParseCheckpoint(text);
  if (c.ok() && streamarc::frametap::FormatCheckpoint(*c) != text) abort();
  auto t = streamarc::frametap::ParseEpochSecondsTag(text);
  if (t.ok() && *t < 0) abort();
  return 0;
}
