// Arbitrary request paths and If-None-Match values against a web root of a few files, with a
// secret next to it: every answer is 200, 304 or 404; a 200 carries exactly a loaded file's
// bytes, never the secret, and only for a path that names that file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "server/web_site.h"

namespace {

using streamarc::server::HttpRequest;
using streamarc::server::HttpResponse;
using streamarc::server::WebSite;

constexpr const char* kSecret = "SECRET";

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Built once: <tmp>/web/{index.html,app.js,img/a.svg,node_modules/hls.js/dist/hls.min.js}
// and <tmp>/secret.js.
const WebSite& Site() {
  static const std::shared_ptr<const WebSite> site = [] {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("web_site_fuzzer." + std::to_string(getpid()));
    Write(dir / "web/index.html", "<!doctype html>");
    Write(dir / "web/app.js", "export {};");
    Write(dir / "web/img/a.svg", "<svg/>");
    Write(dir / "web/node_modules/hls.js/dist/hls.min.js", "var Hls;");
    Write(dir / "secret.js", kSecret);
    static streamarc::SystemClock clock;
    static streamarc::Logger log(clock, streamarc::LogLevel::kError, [](std::string_view) {});
    auto s = WebSite::Load((dir / "web").string(), log);
    std::filesystem::remove_all(dir);  // everything is in memory now
    return s;
  }();
  return *site;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The path, a NUL, then the If-None-Match value (if any).
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  HttpRequest req;
  req.method = "GET";
  req.path = input.substr(0, nul);
  if (nul != std::string::npos) req.headers.push_back({"if-none-match", input.substr(nul + 1)});
  const WebSite& site = Site();
  const HttpResponse r = site.Serve(req);
  if (r.status != 200 && r.status != 304 && r.status != 404) abort();
  if (r.body.find(kSecret) != std::string::npos) abort();
  if (r.status == 200 || r.status == 304) {
    const streamarc::server::WebFile* f = site.Find(req.path);
    if (f == nullptr) abort();
    if (r.status == 200 && r.body != f->bytes) abort();
    if (req.path.find("..") != std::string::npos) abort();
  }
  return 0;
}
