#include "server/request_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace streamarc::server {
namespace {

HttpRequest Post(std::string path, std::vector<Header> headers) {
  HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.body = R"({"StreamName":"x"})";
  return r;
}

std::string Find(const std::vector<Header>& headers, const std::string& name) {
  for (const Header& h : headers) {
    if (h.name == name) return h.value;
  }
  return "";
}

void ExpectRefused(const std::optional<HttpResponse>& r, const std::string& says) {
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(Find(r->headers, "x-amzn-errortype"), "AccessDeniedException");
  EXPECT_NE(r->body.find(says), std::string::npos) << r->body;
}

// The finding: what any web page sends with fetch(..., {mode: "no-cors"}) or a form.
TEST(RequestGuard, CrossOriginSimplePostIsRefused) {
  GuardOptions o;
  HttpRequest r = Post("/deleteStream", {{"host", "127.0.0.1:8080"},
                                         {"origin", "http://evil.example"},
                                         {"content-type", "text/plain"}});
  ExpectRefused(CheckRequest(r, o), "--cors-origin");
  r.path = "/getMedia";
  ExpectRefused(CheckRequest(r, o), "http://evil.example");
  EXPECT_TRUE(GuardResponseHeaders(r, o).empty());
}

TEST(RequestGuard, RequestsWithoutOriginPass) {
  GuardOptions o;
  for (const char* host :
       {"127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080", "[::1]", "localhost."}) {
    HttpRequest r = Post("/deleteStream", {{"host", host}});
    EXPECT_FALSE(CheckRequest(r, o).has_value()) << host;
    EXPECT_TRUE(GuardResponseHeaders(r, o).empty());
  }
  // No Host at all (HTTP/1.0): browsers always send one, so this is no page.
  EXPECT_FALSE(CheckRequest(Post("/listStreams", {}), o).has_value());
}

// DNS rebinding: the page's own origin, on a name that now resolves to 127.0.0.1.
TEST(RequestGuard, ForeignHostIsRefused) {
  GuardOptions o;
  ExpectRefused(CheckRequest(Post("/listStreams", {{"host", "evil.example:8080"},
                                                   {"origin", "http://evil.example:8080"}}),
                             o),
                "--allowed-host");
  ExpectRefused(CheckRequest(Post("/listStreams", {{"host", "evil.example"}}), o), "Host");
  // Even for session-token GETs.
  HttpRequest get;
  get.method = "GET";
  get.path = "/hls/v1/getHLSMasterPlaylist.m3u8";
  get.headers = {{"host", "evil.example:8080"}};
  ExpectRefused(CheckRequest(get, o), "evil.example");
  // Malformed ports and characters are no name of ours.
  for (const char* host :
       {"127.0.0.1:80a", "127.0.0.1:", "[::1", "[::1]x", "local host", "0.0.0.0:8080"}) {
    ExpectRefused(CheckRequest(Post("/listStreams", {{"host", host}}), o), "Host");
  }
}

TEST(RequestGuard, HostNames) {
  EXPECT_EQ(HostName("Example.COM:8080"), "example.com");
  EXPECT_EQ(HostName("[::1]:9"), "::1");
  EXPECT_EQ(HostName("::1"), "::1");
  EXPECT_EQ(HostName("cam.lan."), "cam.lan");
  EXPECT_EQ(HostName("a:123456"), "");
  EXPECT_EQ(HostName("a/b"), "");
}

TEST(RequestGuard, OptionsFromConfig) {
  Config c;
  c.host = "192.0.2.10";
  c.public_url = "https://user@Video.Example:8443/base";
  c.allowed_hosts = {"nas.lan:8080", "[fd00::1]"};
  c.cors_origins = {"HTTP://Console.lan:3000/"};
  GuardOptions o = GuardOptionsFromConfig(c);
  for (const char* host :
       {"192.0.2.10:8080", "video.example", "nas.lan", "[fd00::1]:1", "localhost:8080"}) {
    EXPECT_FALSE(CheckRequest(Post("/listStreams", {{"host", host}}), o).has_value()) << host;
  }
  EXPECT_FALSE(
      CheckRequest(
          Post("/listStreams", {{"host", "127.0.0.1"}, {"origin", "http://console.lan:3000"}}), o)
          .has_value());
  // A wildcard listen address is no name a client uses.
  c.host = "0.0.0.0";
  o = GuardOptionsFromConfig(c);
  ExpectRefused(CheckRequest(Post("/listStreams", {{"host", "0.0.0.0:8080"}}), o), "Host");
  c.allowed_hosts = {"*"};
  o = GuardOptionsFromConfig(c);
  EXPECT_FALSE(CheckRequest(Post("/listStreams", {{"host", "anything"}}), o).has_value());
}

TEST(RequestGuard, SameOriginPasses) {
  GuardOptions o;
  HttpRequest r = Post("/listStreams", {{"host", "localhost:8080"},
                                        {"origin", "http://localhost:8080"},
                                        {"sec-fetch-site", "same-origin"}});
  EXPECT_FALSE(CheckRequest(r, o).has_value());
  EXPECT_TRUE(GuardResponseHeaders(r, o).empty());
  // Another port of the same host is another origin.
  r.headers[1].value = "http://localhost:3000";
  ExpectRefused(CheckRequest(r, o), "localhost:3000");
}

TEST(RequestGuard, AllowedOriginGetsCorsHeadersAndPreflight) {
  GuardOptions o;
  o.cors_origins = {"http://console.lan:3000"};
  HttpRequest r = Post("/listStreams", {{"host", "127.0.0.1:8080"},
                                        {"origin", "http://console.lan:3000"},
                                        {"sec-fetch-site", "cross-site"}});
  EXPECT_FALSE(CheckRequest(r, o).has_value());
  std::vector<Header> h = GuardResponseHeaders(r, o);
  EXPECT_EQ(Find(h, "access-control-allow-origin"), "http://console.lan:3000");
  EXPECT_EQ(Find(h, "vary"), "Origin");
  EXPECT_NE(Find(h, "access-control-expose-headers").find("x-amzn-ErrorType"), std::string::npos);

  r.method = "OPTIONS";
  r.body.clear();
  r.headers.push_back({"access-control-request-method", "POST"});
  auto preflight = CheckRequest(r, o);
  ASSERT_TRUE(preflight.has_value());
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(Find(preflight->headers, "access-control-allow-origin"), "http://console.lan:3000");
  EXPECT_NE(Find(preflight->headers, "access-control-allow-methods").find("POST"),
            std::string::npos);
  EXPECT_NE(Find(preflight->headers, "access-control-allow-headers").find("Authorization"),
            std::string::npos);

  // Another origin's preflight is refused.
  r.headers[1].value = "http://evil.example";
  ExpectRefused(CheckRequest(r, o), "evil.example");

  o.cors_origins = {"*"};
  r.method = "POST";
  EXPECT_FALSE(CheckRequest(r, o).has_value());
  EXPECT_EQ(Find(GuardResponseHeaders(r, o), "access-control-allow-origin"), "*");
}

TEST(RequestGuard, CrossSiteFetchWithoutOriginIsRefused) {
  GuardOptions o;
  HttpRequest r =
      Post("/deleteStream", {{"host", "127.0.0.1:8080"}, {"sec-fetch-site", "cross-site"}});
  ExpectRefused(CheckRequest(r, o), "Sec-Fetch-Site");
  r.headers[1].value = "same-site";
  ExpectRefused(CheckRequest(r, o), "Sec-Fetch-Site");
  r.headers[1].value = "none";  // typed in the address bar
  EXPECT_FALSE(CheckRequest(r, o).has_value());
}

TEST(RequestGuard, SessionTokenGetsStayOpenToAnyOrigin) {
  GuardOptions o;
  HttpRequest r;
  r.path = "/hls/v1/getMP4MediaFragment.mp4";
  r.query = "SessionToken=abc&FragmentNumber=1";
  r.headers = {{"host", "127.0.0.1:8080"},
               {"origin", "http://player.example"},
               {"sec-fetch-site", "cross-site"}};
  auto has_any_origin = [](const std::vector<Header>& headers) {
    for (const Header& h : headers) {
      if (h.name == "access-control-allow-origin") return h.value == "*";
    }
    return false;
  };
  for (const char* method : {"GET", "HEAD"}) {
    r.method = method;
    EXPECT_FALSE(CheckRequest(r, o).has_value()) << method;
    EXPECT_TRUE(has_any_origin(GuardResponseHeaders(r, o))) << method;
  }
  // The guard answers the players' preflight itself: CORS lives in one place.
  r.method = "OPTIONS";
  std::optional<HttpResponse> preflight = CheckRequest(r, o);
  ASSERT_TRUE(preflight.has_value());
  EXPECT_EQ(preflight->status, 204);
  EXPECT_TRUE(has_any_origin(preflight->headers));
  // A request the API's CORS does not cover gets no open CORS headers.
  EXPECT_TRUE(GuardResponseHeaders(Post("/deleteStream", r.headers), o).empty());
  r.path = "/dash/v1/getDASHManifest.mpd";
  r.method = "GET";
  EXPECT_FALSE(CheckRequest(r, o).has_value());
  // Creating the session is API: refused.
  ExpectRefused(CheckRequest(Post("/getHLSStreamingSessionURL", r.headers), o), "Cross-origin");
}

TEST(RequestGuard, AdvertisedUrl) {
  Config c;
  EXPECT_EQ(*AdvertisedUrl(c, 8080), "http://127.0.0.1:8080");
  c.host = "::1";
  EXPECT_EQ(*AdvertisedUrl(c, 9), "http://[::1]:9");
  for (const char* wildcard : {"0.0.0.0", "::", "[::]"}) {
    c.host = wildcard;
    auto url = AdvertisedUrl(c, 8080);
    ASSERT_FALSE(url.ok()) << wildcard;
    EXPECT_NE(url.status().message().find("--public-url"), std::string::npos);
  }
  c.public_url = "http://192.0.2.10:8080";
  EXPECT_EQ(*AdvertisedUrl(c, 8080), "http://192.0.2.10:8080");
}

}  // namespace
}  // namespace streamarc::server
