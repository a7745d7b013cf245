#include "server/web_site.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <utility>

#include "common/digest.h"

#ifndef STREAMARC_WEB_ROOT
#define STREAMARC_WEB_ROOT "web"
#endif

namespace streamarc::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "/web/";

// The files of npm packages the page loads (npm ci --prefix web installs them), each at a
// fixed URL: a request path is never joined onto node_modules. The hash modules keep their
// own names in one folder, so their relative imports ("./utils.js") resolve among them.
struct Vendored {
  std::string_view url;
  std::string_view file;     // under the web root
  std::string_view package;  // for the log, when a file is missing
  std::string_view missing;  // what then does not work
};
constexpr std::string_view kNoHls = "the live view will not play";
constexpr std::string_view kNoHashes =
    "the console cannot sign its calls to a server with access keys";
constexpr std::array<Vendored, 6> kVendored = {{
    {"/web/vendor/hls.min.js", "node_modules/hls.js/dist/hls.min.js", "hls.js", kNoHls},
    {"/web/vendor/noble-hashes/sha2.js", "node_modules/@noble/hashes/sha2.js", "@noble/hashes",
     kNoHashes},
    {"/web/vendor/noble-hashes/hmac.js", "node_modules/@noble/hashes/hmac.js", "@noble/hashes",
     kNoHashes},
    {"/web/vendor/noble-hashes/_md.js", "node_modules/@noble/hashes/_md.js", "@noble/hashes",
     kNoHashes},
    {"/web/vendor/noble-hashes/_u64.js", "node_modules/@noble/hashes/_u64.js", "@noble/hashes",
     kNoHashes},
    {"/web/vendor/noble-hashes/utils.js", "node_modules/@noble/hashes/utils.js", "@noble/hashes",
     kNoHashes},
}};
// The console is a few small files plus hls.js (about 600 KB); anything much larger in the
// directory is not ours to serve from memory.
constexpr uintmax_t kMaxFileBytes = 4u << 20;
constexpr size_t kMaxFiles = 256;

struct Type {
  std::string_view extension;
  std::string_view content_type;
};
constexpr std::array<Type, 6> kTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
}};

// Only the page's own kinds of files; empty for anything else (package.json, the lock).
std::string_view ContentType(const fs::path& file) {
  const std::string ext = file.extension().string();
  for (const Type& t : kTypes) {
    if (t.extension == ext) return t.content_type;
  }
  return {};
}

// The console fetches from its own origin only; hls.js runs its demuxer in a worker it
// makes from a blob: URL and plays through MediaSource (blob: media).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "worker-src 'self' blob:; connect-src 'self' http: https:; frame-ancestors 'none'";

std::optional<std::string> ReadSmallFile(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxFileBytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return std::nullopt;
  return bytes;
}

WebFile MakeFile(std::string_view content_type, std::string bytes) {
  WebFile f;
  f.content_type = std::string(content_type);
  f.etag = "\"" + Hex(Sha256(bytes)).substr(0, 32) + "\"";
  f.bytes = std::move(bytes);
  return f;
}

}  // namespace

bool IfNoneMatchHit(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.find('*') != std::string_view::npos) return true;
  size_t at = 0;
  while (at < if_none_match.size()) {
    size_t comma = if_none_match.find(',', at);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = if_none_match.substr(at, comma - at);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    at = comma + 1;
  }
  return false;
}

namespace {

HttpResponse PlainNotFound(std::string message) {
  return HttpResponse{
      404, "text/plain; charset=utf-8", {{"cache-control", "no-cache"}}, std::move(message)};
}

const char* kNotInstalledPage = R"(<!doctype html>
<meta charset="utf-8"><title>streamarc</title>
<h1>streamarc</h1>
<p>The browser console's files were not found at the web root this server was given
(--web-root, or the config key web-root). The API works as usual.</p>
)";

}  // namespace

std::string DefaultWebRoot() { return STREAMARC_WEB_ROOT; }

std::shared_ptr<const WebSite> WebSite::Load(const std::string& root_arg, Logger& log) {
  auto site = std::make_shared<WebSite>();
  const fs::path root = root_arg.empty() ? fs::path(DefaultWebRoot()) : fs::path(root_arg);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    log.Warn(
        "web", "console not found: / says so",
        {{"web_root", root.string()}, {"fix", "pass --web-root DIR (the source tree's web/)"}});
    site->files_.emplace("/", MakeFile("text/html; charset=utf-8", kNotInstalledPage));
    return site;
  }
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    // Symlinks are not followed (a link could lead out of the root), node_modules is
    // served only for the one file the page uses, dot-files are editors' and git's.
    // The error_code overloads: a file that vanishes mid-walk is skipped, never thrown.
    std::error_code entry_ec;
    if (it->is_directory(entry_ec) && (name == "node_modules" || name.starts_with("."))) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(entry_ec) || it->is_symlink(entry_ec) || name.starts_with(".")) {
      continue;
    }
    const std::string_view type = ContentType(path);
    if (type.empty()) continue;
    if (site->files_.size() >= kMaxFiles) {
      log.Warn("web", "too many files in the web root; the rest are not served",
               {{"web_root", root.string()}});
      break;
    }
    std::optional<std::string> bytes = ReadSmallFile(path);
    if (!bytes) {
      log.Warn("web", "file not served (unreadable or too large)", {{"file", path.string()}});
      continue;
    }
    const std::string rel = path.lexically_relative(root).generic_string();
    site->files_.emplace(std::string(kPrefix) + rel, MakeFile(type, *std::move(bytes)));
  }
  if (ec) {
    log.Warn("web", "cannot read the web root",
             {{"web_root", root.string()}, {"error", ec.message()}});
  }
  std::string_view warned;  // one warning per missing package, not per file
  for (const Vendored& v : kVendored) {
    if (std::optional<std::string> bytes = ReadSmallFile(root / v.file)) {
      site->files_.emplace(std::string(v.url), MakeFile(kTypes[1].content_type, *std::move(bytes)));
    } else if (warned != v.package) {
      warned = v.package;
      log.Warn(
          "web",
          "the console's " + std::string(v.package) + " is missing: " + std::string(v.missing),
          {{"file", (root / v.file).string()},
           {"fix", "npm ci --prefix " + root.string() + " (scripts/install-deps.sh runs it)"}});
    }
  }
  if (auto index = site->files_.find(std::string(kPrefix) + "index.html");
      index != site->files_.end()) {
    site->files_.emplace("/", index->second);
  } else {
    site->files_.emplace("/", MakeFile("text/html; charset=utf-8", kNotInstalledPage));
  }
  log.Info("web", "console loaded",
           {{"web_root", root.string()}, {"files", std::to_string(site->files_.size())}});
  return site;
}

const WebFile* WebSite::Find(std::string_view url_path) const {
  auto it = files_.find(url_path);
  return it == files_.end() ? nullptr : &it->second;
}

HttpResponse WebSite::Serve(const HttpRequest& request) const {
  const WebFile* file = Find(request.path);
  // The path is not echoed: nothing a request sends comes back in the body.
  if (!file) return PlainNotFound("Not found\n");
  std::vector<Header> headers = {{"etag", file->etag},
                                 // Revalidated on every load (a 304 when unchanged), so a
                                 // new server version's page is never mixed with an old one.
                                 {"cache-control", "no-cache"},
                                 {"x-content-type-options", "nosniff"},
                                 {"content-security-policy", kContentSecurityPolicy}};
  // Looked up here rather than with HttpRequest::FindHeader, which lives with the HTTP
  // server (this file builds into a fuzz target without it).
  const auto inm = std::find_if(request.headers.begin(), request.headers.end(),
                                [](const Header& h) { return h.name == "if-none-match"; });
  if (inm != request.headers.end() && IfNoneMatchHit(inm->value, file->etag)) {
    return HttpResponse{304, file->content_type, std::move(headers), ""};
  }
  return HttpResponse{200, file->content_type, std::move(headers), file->bytes};
}

}  // namespace streamarc::server
