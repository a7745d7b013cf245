// The console's static route over real HTTP: the files of a web root served from memory with
// their content types and validators, 304 for a matching If-None-Match, a plain 404 for
// anything else, and no way out of the root (.., encoded .., symlinks, node_modules,
// package files). The npm modules the page loads (hls.js, @noble/hashes's hash modules) at
// their fixed /web/vendor/ URLs only. A missing root or a missing package still serves, and
// the log says how to install what is missing.
#include "server/web_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "common/log.h"
#include "server/request_guard.h"
#include "tests/server/http_server_fixture.h"
#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::RunCommand;
using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

constexpr const char* kIndex = "<!doctype html><title>console</title>";
constexpr const char* kSecret = "SECRET-OUTSIDE-THE-ROOT";

struct Reply {
  int status = 0;
  std::string head;  // status line and headers, lowercase
  std::string body;
};

class WebApiTest : public ::testing::Test {
 protected:
  // A web root: index.html, a module, a style sheet, an SVG in a subfolder, package files,
  // hls.js and @noble/hashes where npm puts them, a dot-file, a symlink to a file outside the
  // root, and that outside file next to the root.
  void MakeRoot(bool with_hls = true, bool with_hashes = true) {
    namespace fs = std::filesystem;
    const std::string root = dir_.File("web");
    fs::create_directories(root + "/img");
    fs::create_directories(root + "/node_modules/hls.js/dist");
    fs::create_directories(root + "/node_modules/@noble/hashes");
    WriteFileOrDie(root + "/index.html", kIndex);
    WriteFileOrDie(root + "/app.js", "export const x = 1;\n");
    WriteFileOrDie(root + "/style.css", "body{}\n");
    WriteFileOrDie(root + "/img/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
    WriteFileOrDie(root + "/package.json", "{}");
    WriteFileOrDie(root + "/.hidden.js", "hidden");
    WriteFileOrDie(root + "/node_modules/other.js", "not served");
    if (with_hls) WriteFileOrDie(root + "/node_modules/hls.js/dist/hls.min.js", "var Hls;");
    if (with_hashes) {
      for (const char* f : {"sha2", "hmac", "_md", "_u64", "utils"}) {
        WriteFileOrDie(root + "/node_modules/@noble/hashes/" + f + ".js",
                       std::string("export const ") + f + " = 1;\n");
      }
    }
    // A module of the package the page does not load, and the package's own files.
    WriteFileOrDie(root + "/node_modules/@noble/hashes/sha3.js", "not served");
    WriteFileOrDie(root + "/node_modules/@noble/hashes/package.json", "{}");
    WriteFileOrDie(dir_.File("secret.js"), kSecret);
    fs::create_symlink(dir_.File("secret.js"), root + "/link.js");
  }

  void Start(const std::string& root) {
    site_ = WebSite::Load(root, log_);
    Router routes(server_.http(), RequestGuard(GuardOptions{}));
    RegisterWebApi(routes, site_);
    ASSERT_TRUE(server_.Start().ok());
  }
  void TearDown() override { server_.Stop(); }

  // curl --path-as-is: the path reaches the server as written (no .. folding by curl).
  Reply Get(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> cmd = {"curl", "-sS", "-i", "--path-as-is"};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    cmd.push_back(server_.Url(path));
    auto r = RunCommand(cmd);
    EXPECT_TRUE(r.ok());
    Reply out;
    if (!r.ok()) return out;
    const size_t split = r->out.find("\r\n\r\n");
    out.head = r->out.substr(0, split);
    for (char& c : out.head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.body = split == std::string::npos ? "" : r->out.substr(split + 4);
    if (out.head.size() > 12) out.status = std::atoi(out.head.c_str() + 9);
    return out;
  }

  static std::string HeaderValue(const Reply& r, const std::string& name) {
    const size_t at = r.head.find("\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t from = at + name.size() + 3;
    return r.head.substr(from, r.head.find('\r', from) - from);
  }

  std::string Logged() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return logged_;
  }

  TempDir dir_;
  SystemClock clock_;
  std::mutex log_mu_;
  std::string logged_;
  Logger log_{clock_, LogLevel::kInfo, [this](std::string_view line) {
                std::lock_guard<std::mutex> lock(log_mu_);
                logged_ += line;
              }};
  RunningHttpServer server_{log_, 2, 16};
  std::shared_ptr<const WebSite> site_;
};

TEST_F(WebApiTest, ServesEachFileWithItsContentTypeAndValidators) {
  MakeRoot();
  Start(dir_.File("web"));
  struct Case {
    const char* path;
    const char* type;
    std::string body;
  };
  for (const Case& c :
       {Case{"/", "text/html; charset=utf-8", kIndex},
        Case{"/web/index.html", "text/html; charset=utf-8", kIndex},
        Case{"/web/app.js", "text/javascript; charset=utf-8", "export const x = 1;\n"},
        Case{"/web/style.css", "text/css; charset=utf-8", "body{}\n"},
        Case{"/web/img/logo.svg", "image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg'/>"},
        Case{"/web/vendor/hls.min.js", "text/javascript; charset=utf-8", "var Hls;"},
        Case{"/web/vendor/noble-hashes/sha2.js", "text/javascript; charset=utf-8",
             "export const sha2 = 1;\n"},
        Case{"/web/vendor/noble-hashes/hmac.js", "text/javascript; charset=utf-8",
             "export const hmac = 1;\n"},
        Case{"/web/vendor/noble-hashes/_md.js", "text/javascript; charset=utf-8",
             "export const _md = 1;\n"},
        Case{"/web/vendor/noble-hashes/_u64.js", "text/javascript; charset=utf-8",
             "export const _u64 = 1;\n"},
        Case{"/web/vendor/noble-hashes/utils.js", "text/javascript; charset=utf-8",
             "export const utils = 1;\n"}}) {
    Reply r = Get(c.path);
    EXPECT_EQ(r.status, 200) << c.path << "\n" << r.head;
    EXPECT_EQ(HeaderValue(r, "content-type"), c.type) << c.path;
    EXPECT_EQ(r.body, c.body) << c.path;
    EXPECT_EQ(HeaderValue(r, "cache-control"), "no-cache") << c.path;
    EXPECT_EQ(HeaderValue(r, "x-content-type-options"), "nosniff") << c.path;
    EXPECT_NE(HeaderValue(r, "content-security-policy").find("default-src 'self'"),
              std::string::npos);
    EXPECT_EQ(HeaderValue(r, "etag").front(), '"') << c.path;
  }
  // Distinct contents, distinct validators; the same file, the same one.
  EXPECT_NE(HeaderValue(Get("/web/app.js"), "etag"), HeaderValue(Get("/web/style.css"), "etag"));
  EXPECT_EQ(HeaderValue(Get("/"), "etag"), HeaderValue(Get("/web/index.html"), "etag"));
  EXPECT_NE(Logged().find("console loaded"), std::string::npos) << Logged();
}

TEST_F(WebApiTest, AnswersIfNoneMatchWith304) {
  MakeRoot();
  Start(dir_.File("web"));
  const std::string etag = HeaderValue(Get("/web/app.js"), "etag");
  ASSERT_FALSE(etag.empty());
  for (const std::string& inm : {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
    Reply r = Get("/web/app.js", {"-H", "If-None-Match: " + inm});
    EXPECT_EQ(r.status, 304) << inm << "\n" << r.head;
    EXPECT_EQ(r.body, "") << inm;
    EXPECT_EQ(HeaderValue(r, "etag"), etag) << inm;
  }
  Reply stale = Get("/web/app.js", {"-H", "If-None-Match: \"0123\""});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, "export const x = 1;\n");
}

TEST_F(WebApiTest, AnythingElseIsAPlain404) {
  MakeRoot();
  Start(dir_.File("web"));
  for (const char* path :
       {"/web/", "/web/missing.js", "/web/package.json", "/web/.hidden.js",
        "/web/node_modules/other.js", "/web/node_modules/hls.js/dist/hls.min.js", "/web/APP.JS",
        "/web/app.js/", "/web/img", "/web/node_modules/@noble/hashes/sha2.js",
        "/web/vendor/noble-hashes/", "/web/vendor/noble-hashes/sha3.js",
        "/web/vendor/noble-hashes/package.json", "/web/vendor/sha2.js",
        "/web/vendor/@noble/hashes/sha2.js"}) {
    Reply r = Get(path);
    EXPECT_EQ(r.status, 404) << path << "\n" << r.head;
    EXPECT_EQ(HeaderValue(r, "content-type"), "text/plain; charset=utf-8") << path;
    EXPECT_EQ(r.body.rfind("Not found", 0), 0u) << path << ": " << r.body;
  }
}

TEST_F(WebApiTest, NoPathLeadsOutOfTheRoot) {
  MakeRoot();
  Start(dir_.File("web"));
  for (const char* path :
       {"/web/../secret.js", "/web/img/../../secret.js", "/web/%2e%2e/secret.js",
        "/web/..%2fsecret.js", "/web/%2e%2e%2fsecret.js", "/web//secret.js", "/web/link.js",
        "/web/./../secret.js", "/web/..\\secret.js", "/web/vendor/../../secret.js",
        "/web/%00/../secret.js", "/web/vendor/noble-hashes/../../../secret.js",
        "/web/vendor/noble-hashes/%2e%2e/%2e%2e/%2e%2e/secret.js"}) {
    Reply r = Get(path);
    EXPECT_NE(r.status, 200) << path << "\n" << r.head;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << path;
  }
  // The pure lookup agrees, for paths no HTTP parser would pass on.
  EXPECT_EQ(site_->Find("/web/../secret.js"), nullptr);
  EXPECT_EQ(site_->Find("/web/link.js"), nullptr);
  EXPECT_EQ(site_->Find(std::string_view("/web/app.js\0x", 13)), nullptr);
  EXPECT_NE(site_->Find("/web/app.js"), nullptr);
}

TEST_F(WebApiTest, OtherMethodsAndOtherOriginsAreNotServed) {
  MakeRoot();
  Start(dir_.File("web"));
  std::vector<std::string> post = {"-X", "POST", "--data", "x"};
  EXPECT_NE(Get("/web/app.js", post).status, 200);
  // The request guard sits in front: a foreign Host (DNS rebinding) is refused here too.
  EXPECT_EQ(Get("/", {"-H", "Host: evil.example"}).status, 403);
}

TEST_F(WebApiTest, WithoutHlsJsTheRestIsServedAndTheLogSaysHowToInstallIt) {
  MakeRoot(/*with_hls=*/false);
  Start(dir_.File("web"));
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_EQ(Get("/web/vendor/hls.min.js").status, 404);
  EXPECT_NE(Logged().find("npm ci --prefix " + dir_.File("web")), std::string::npos) << Logged();
}

TEST_F(WebApiTest, WithoutTheHashPackageTheRestIsServedAndTheLogSaysWhatBreaks) {
  MakeRoot(/*with_hls=*/true, /*with_hashes=*/false);
  Start(dir_.File("web"));
  EXPECT_EQ(Get("/web/vendor/hls.min.js").status, 200);
  EXPECT_EQ(Get("/web/vendor/noble-hashes/sha2.js").status, 404);
  const std::string logged = Logged();
  EXPECT_NE(logged.find("@noble/hashes is missing"), std::string::npos) << logged;
  EXPECT_NE(logged.find("npm ci --prefix " + dir_.File("web")), std::string::npos) << logged;
  // Once for the package, not once for each of its five files.
  EXPECT_EQ(logged.find("@noble/hashes is missing"), logged.rfind("@noble/hashes is missing"))
      << logged;
}

TEST_F(WebApiTest, WithoutARootSlashSaysTheConsoleIsNotInstalled) {
  Start(dir_.File("nowhere"));
  Reply r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("--web-root"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/web/index.html").status, 404);
  EXPECT_NE(Logged().find(dir_.File("nowhere")), std::string::npos) << Logged();
}

TEST(WebSiteTest, TheDefaultRootIsTheSourceTreesWebFolder) {
  EXPECT_TRUE(std::filesystem::exists(DefaultWebRoot() + "/index.html")) << DefaultWebRoot();
  EXPECT_TRUE(std::filesystem::exists(DefaultWebRoot() + "/api.js")) << DefaultWebRoot();
  EXPECT_TRUE(std::filesystem::exists(DefaultWebRoot() + "/sigv4.js")) << DefaultWebRoot();
}

// The real console's module graph, followed from its two pages' scripts through every
// static import (ours and @noble/hashes's own): each module it reaches is served. Catches a
// package update that splits a module into a file the vendor list does not name.
// The specifiers of `text`'s `import|export ... from '...'` statements that start a line: the
// packages' doc comments (" * import ...") name the package as npm users import it, which is
// no module of ours to serve. (Scanned by hand: GCC 12 with ASan warns inside std::regex.)
std::vector<std::string> ImportsOf(std::string_view text) {
  std::vector<std::string> out;
  for (size_t p = 0; p < text.size();) {
    const size_t eol = std::min(text.find('\n', p), text.size());
    const bool statement = text.substr(p, 6) == "import" || text.substr(p, 6) == "export";
    if (statement) {
      const std::string_view stmt = text.substr(p, text.find(';', p) - p);
      const size_t from = stmt.rfind("from");
      size_t q = from == std::string_view::npos ? stmt.size() : from + 4;
      while (q < stmt.size() && (stmt[q] == ' ' || stmt[q] == '\n')) ++q;
      if (q < stmt.size() && (stmt[q] == '\'' || stmt[q] == '"')) {
        const size_t close = stmt.find(stmt[q], q + 1);
        if (close != std::string_view::npos) out.emplace_back(stmt.substr(q + 1, close - q - 1));
      }
    }
    p = eol + 1;
  }
  return out;
}

TEST(WebSiteTest, EveryModuleTheConsoleImportsIsServed) {
  if (!std::filesystem::exists(DefaultWebRoot() + "/node_modules/@noble/hashes")) {
    GTEST_SKIP() << "npm ci --prefix " << DefaultWebRoot() << " has not been run";
  }
  SystemClock clock;
  Logger log{clock, LogLevel::kError, [](std::string_view) {}};
  std::shared_ptr<const WebSite> site = WebSite::Load("", log);
  std::vector<std::string> pending = {"/web/streams.js", "/web/stream.js"};
  std::set<std::string> seen(pending.begin(), pending.end());
  while (!pending.empty()) {
    const std::string url = pending.back();
    pending.pop_back();
    const WebFile* file = site->Find(url);
    ASSERT_NE(file, nullptr) << url << " is imported but not served";
    for (std::string target : ImportsOf(file->bytes)) {
      if (target.starts_with("./")) {
        target = url.substr(0, url.rfind('/') + 1) + target.substr(2);
      }
      ASSERT_TRUE(target.starts_with("/web/")) << url << " imports " << target;
      if (seen.insert(target).second) pending.push_back(target);
    }
  }
  EXPECT_TRUE(seen.contains("/web/vendor/noble-hashes/utils.js"));
}

}  // namespace
}  // namespace streamarc::server
