// Feeds arbitrary bytes to the S3 client's XML parsers (ListObjectsV2 replies, <Error>
// bodies). Nothing may crash, hang or leak; a truncated page must carry its token.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "objectstore/s3.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto page = streamarc::objectstore::ParseListObjectsV2(xml);
  if (page.ok()) {
    if (page->truncated && page->next_token.empty()) abort();
    for (const auto& e : page->entries) {
      if (e.key.empty()) abort();
    }
  }
  auto error = streamarc::objectstore::ParseError(xml);
  if (error && error->code.empty()) abort();
  return 0;
}
