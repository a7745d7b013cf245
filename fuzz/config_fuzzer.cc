// Feeds arbitrary config files to streamarcd's loader (every key, "access-keys" entries, lists
// for repeatable keys) and then the settings it accepted to what the daemon derives from them.
// A file is either applied or refused with a message naming it; nothing may crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "server/config.h"

namespace {

std::string TempPath() {
  const char* tmp = getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/config_fuzzer.XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) abort();
  close(fd);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamarc::server;
  static const std::string path = TempPath();  // one file, rewritten per input
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (size > 0 && fwrite(data, 1, size, f) != size) abort();
  fclose(f);

  Config config;
  streamarc::Status s = LoadConfigFile(path, &config);
  if (!s.ok()) {
    if (s.message().find(path) == std::string::npos) abort();  // the message names the file
    return 0;
  }
  (void)AdvertisedUrl(config, 8080);
  (void)IsLoopbackAddress(config.host);
  (void)WorkerThreads(config);
  (void)SyncThreads(config);
  // The same file through the command line, with a flag after it.
  auto cl = ParseCommandLine({"--config", path, "--port", "0"});
  if (!cl.ok() && cl.status().message().empty()) abort();  // a refusal says why
  return 0;
}
