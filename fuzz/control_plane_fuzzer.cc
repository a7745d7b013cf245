// Feeds arbitrary JSON bodies to every control-plane operation (CreateStream ... the *Resource
// tag calls) against a real archive in a temporary directory, so a body that parses can also
// create, tag and delete streams. Every answer must be a success or a KVS-shaped refusal
// (4xx/5xx with x-amzn-ErrorType and a JSON {"Message"}); nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "archive/env.h"
#include "common/clock.h"
#include "common/log.h"
#include "server/control_plane.h"

namespace {

using namespace streamarc;

struct Fixture {
  SystemClock clock;
  Logger log{clock, LogLevel::kError};
  std::unique_ptr<archive::Env> env = archive::NewPosixEnv();
  std::unique_ptr<archive::Archive> archive;
  std::vector<std::pair<std::string, server::BufferedHandler>> ops;
};

Fixture* Setup() {
  auto* f = new Fixture;
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/control_plane_fuzzer.XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) abort();
  archive::Options options;
  options.root = dir;
  options.sync = false;  // nothing here needs to survive a crash
  options.sweep_interval_us = 0;
  auto opened = archive::OpenLocalArchive(options, *f->env, f->clock, f->log);
  if (!opened.ok()) abort();
  f->archive = std::move(*opened);
  // Streams for the describe/update/tag/delete calls to find.
  for (const char* name : {"cam-1", "cam-2", "a.b_c-d"}) {
    archive::CreateStreamRequest req;
    req.name = name;
    req.retention_hours = 24;
    if (!f->archive->CreateStream(req).ok()) abort();
  }
  server::ControlPlaneOptions cp;
  cp.data_endpoint = "http://127.0.0.1:8080";
  for (auto& [path, handler] : server::ControlPlaneHandlers(*f->archive, cp)) {
    f->ops.emplace_back(path, std::move(handler));
  }
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = Setup();  // never freed: libFuzzer exits without unwinding
  if (size < 1) return 0;
  server::HttpRequest r;
  r.method = "POST";
  r.path = f->ops[data[0] % f->ops.size()].first;
  r.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  server::HttpResponse resp = f->ops[data[0] % f->ops.size()].second(r);
  if (resp.status == 200) return 0;
  if (resp.status < 400 || resp.status > 599) abort();
  bool typed = false;
  for (const server::Header& h : resp.headers) typed |= h.name == "x-amzn-errortype";
  if (!typed || resp.body.find("\"Message\"") == std::string::npos) abort();
  return 0;
}
