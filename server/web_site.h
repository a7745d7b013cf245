// The browser console's files (web/ in the source tree), read into memory once, at start, so
// that serving them touches no disk (the handlers run on the worker pool, and even that
// should not wait on a file system). Free of the HTTP server: server/web_api.h routes it.
//
// URL layout:
//   /                      index.html (the streams page)
//   /web/<path>            <root>/<path>: .html, .js, .css, .svg, .png, .ico files only;
//                          nothing under node_modules/ or a dot-directory
//   /web/vendor/hls.min.js <root>/node_modules/hls.js/dist/hls.min.js (npm ci --prefix web)
//   /web/vendor/noble-hashes/<f>.js
//                          <root>/node_modules/@noble/hashes/<f>.js for the five modules
//                          SHA-256 and HMAC need (sha2, hmac, _md, _u64, utils)
// Anything else under /web/ is a plain 404; a path is looked up in the loaded set and never
// joined onto the file system, so no request can reach a file outside it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "server/http.h"

namespace streamarc::server {

// Where the console's files are when neither --web-root nor the config names a directory:
// the source tree's web/ (compiled in).
std::string DefaultWebRoot();

struct WebFile {
  std::string content_type;
  std::string etag;  // a strong validator: a hash of the bytes, quoted
  std::string bytes;
};

// Whether an If-None-Match value ("a", W/"b", * or a list) names `etag` (weak comparison,
// RFC 9110 §13.1.2). Never fails: what it cannot read matches nothing.
bool IfNoneMatchHit(std::string_view if_none_match, std::string_view etag);

// The console's files, immutable once loaded: thread-safe to serve from any thread.
class WebSite {
 public:
  // Reads `root` (empty: DefaultWebRoot()). Never fails: a missing directory or a missing
  // npm package is logged with how to fix it, and the site serves what it has ("/" then says
  // the console is not installed).
  static std::shared_ptr<const WebSite> Load(const std::string& root, Logger& log);

  // The file a URL path names ("/" is index.html), or nullptr.
  const WebFile* Find(std::string_view url_path) const;
  // A GET of `request.path`: 200 with the file, 304 when If-None-Match names its ETag, or
  // a plain-text 404.
  HttpResponse Serve(const HttpRequest& request) const;
  size_t file_count() const { return files_.size(); }

 private:
  std::map<std::string, WebFile, std::less<>> files_;  // by URL path
};

}  // namespace streamarc::server
