#include "server/config.h"

#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace streamarc::server {
namespace {

using streamarc::testing::TempDir;
using streamarc::testing::WriteFileOrDie;

TEST(Config, DefaultsWorkWithNoArguments) {
  auto cl = ParseCommandLine({});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->config.host, "127.0.0.1");
  EXPECT_EQ(cl->config.port, 8080);
  EXPECT_EQ(cl->config.data_dir, "./data");
}

TEST(Config, FlagsInBothForms) {
  auto cl = ParseCommandLine({"--host", "0.0.0.0", "--port=9000", "--data-dir", "/srv/d",
                              "--log-level", "debug", "--max-fragment-duration-ms", "10000"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.host, "0.0.0.0");
  EXPECT_EQ(cl->config.port, 9000);
  EXPECT_EQ(cl->config.data_dir, "/srv/d");
  EXPECT_EQ(cl->config.log_level, LogLevel::kDebug);
  EXPECT_EQ(cl->config.max_fragment_duration_ms, 10000);
}

TEST(Config, FileIsReadFirstAndFlagsWin) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path,
                 R"({"port": 9100, "data-dir": "/var/lib/streamarc", "region": "eu-west-1"})");
  auto cl = ParseCommandLine({"--port", "9200", "--config", path});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.port, 9200);
  EXPECT_EQ(cl->config.data_dir, "/var/lib/streamarc");
  EXPECT_EQ(cl->config.region, "eu-west-1");
}

TEST(Config, ClearErrors) {
  EXPECT_NE(ParseCommandLine({"--port", "70000"}).status().message().find("--port"),
            std::string::npos);
  EXPECT_NE(ParseCommandLine({"--port", "12x"}).status().message().find("12x"), std::string::npos);
  EXPECT_NE(ParseCommandLine({"--colour", "red"}).status().message().find("colour"),
            std::string::npos);
  EXPECT_NE(ParseCommandLine({"--port"}).status().message().find("needs a value"),
            std::string::npos);
  EXPECT_NE(ParseCommandLine({"stray"}).status().message().find("stray"), std::string::npos);
  EXPECT_EQ(ParseCommandLine({"--config", "/nonexistent.json"}).status().code(), Code::kNotFound);
  TempDir dir;
  WriteFileOrDie(dir.File("bad.json"), "{not json");
  EXPECT_EQ(ParseCommandLine({"--config", dir.File("bad.json")}).status().code(),
            Code::kInvalidArgument);
  WriteFileOrDie(dir.File("unknown.json"), R"({"prot": 1})");
  EXPECT_NE(
      ParseCommandLine({"--config", dir.File("unknown.json")}).status().message().find("prot"),
      std::string::npos);
}

TEST(Config, IndexIsAPostgresUrlFromTheFileOrAFlag) {
  TempDir dir;
  const std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"index": "postgresql://streamarc@db.lan:5432/archive"})");
  auto cl = ParseCommandLine({"--config", path});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.index, "postgresql://streamarc@db.lan:5432/archive");
  EXPECT_EQ(ParseCommandLine({}).value().config.index, "");  // SQLite in the data dir
  Result<CommandLine> sqlite_path = ParseCommandLine({"--index", "/srv/index.sqlite"});
  EXPECT_EQ(sqlite_path.status().code(), Code::kInvalidArgument);
  EXPECT_NE(sqlite_path.status().message().find("postgresql://"), std::string::npos);
}

TEST(Config, RedactedUrlHidesOnlyThePassword) {
  EXPECT_EQ(RedactedUrl("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactedUrl("postgresql://u@h:5432/db"), "postgresql://u@h:5432/db");
  EXPECT_EQ(RedactedUrl("postgresql://h:5432/db?user=u"), "postgresql://h:5432/db?user=u");
  EXPECT_EQ(RedactedUrl("postgresql://h/db?x=a:b@c"), "postgresql://h/db?x=a:b@c");
}

TEST(Config, AllowedHostsAndCorsOriginsRepeatFromFileAndFlags) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"allowed-host": ["nas.lan", "cam.lan:8080"],
                           "cors-origin": "http://console.lan:3000"})");
  auto cl =
      ParseCommandLine({"--config", path, "--allowed-host", "video.example", "--cors-origin=*"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.allowed_hosts,
            (std::vector<std::string>{"nas.lan", "cam.lan:8080", "video.example"}));
  EXPECT_EQ(cl->config.cors_origins, (std::vector<std::string>{"http://console.lan:3000", "*"}));
  EXPECT_NE(
      ParseCommandLine({"--cors-origin", "console.lan"}).status().message().find("--cors-origin"),
      std::string::npos);
  EXPECT_NE(UsageText().find("--allowed-host"), std::string::npos);
  EXPECT_NE(UsageText().find("--cors-origin"), std::string::npos);
}

TEST(Config, FrameTapStreamsAndPatterns) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"frame-tap": ["cam*", "door"]})");
  auto cl = ParseCommandLine({"--config", path, "--frame-tap", "garage-[12]"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.frame_tap, (std::vector<std::string>{"cam*", "door", "garage-[12]"}));
  EXPECT_TRUE(ParseCommandLine({}).value().config.frame_tap.empty());
  for (const char* bad : {"", "bad name!", "a/b"}) {
    auto r = ParseCommandLine({"--frame-tap", bad});
    EXPECT_NE(r.status().message().find("--frame-tap"), std::string::npos) << bad;
  }
  EXPECT_NE(UsageText().find("--frame-tap"), std::string::npos);
}

TEST(Config, WebRootFromFlagOrFile) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"web-root": "/srv/console"})");
  EXPECT_EQ(ParseCommandLine({"--config", path}).value().config.web_root, "/srv/console");
  EXPECT_EQ(ParseCommandLine({"--config", path, "--web-root", "/opt/web"}).value().config.web_root,
            "/opt/web");
  EXPECT_EQ(ParseCommandLine({}).value().config.web_root, "");  // the compiled-in default
  EXPECT_NE(UsageText().find("--web-root"), std::string::npos);
}

TEST(Config, HlsLowLatencyOnByDefaultOffByFlagOrFile) {
  auto none = ParseCommandLine({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->config.hls_low_latency);
  EXPECT_EQ(none->config.hls_part_target_ms, 333);
  auto off = ParseCommandLine({"--hls-low-latency=off", "--hls-part-target-ms", "200"});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->config.hls_low_latency);
  EXPECT_EQ(off->config.hls_part_target_ms, 200);
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"hls-low-latency": false})");
  auto file = ParseCommandLine({"--config", path});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_FALSE(file->config.hls_low_latency);
  auto flag_wins = ParseCommandLine({"--config", path, "--hls-low-latency", "on"});
  ASSERT_TRUE(flag_wins.ok());
  EXPECT_TRUE(flag_wins->config.hls_low_latency);
  for (const char* bad : {"yes", "", "0"}) {
    auto r = ParseCommandLine({"--hls-low-latency", bad});
    EXPECT_NE(r.status().message().find("--hls-low-latency"), std::string::npos) << bad;
  }
  for (const char* bad : {"99", "1001", "x"}) {
    EXPECT_FALSE(ParseCommandLine({"--hls-part-target-ms", bad}).ok()) << bad;
  }
  EXPECT_NE(UsageText().find("--hls-low-latency"), std::string::npos);
}

TEST(Config, HelpAndVersion) {
  EXPECT_TRUE(ParseCommandLine({"--help"})->show_help);
  EXPECT_TRUE(ParseCommandLine({"--version"})->show_version);
  EXPECT_NE(UsageText().find("--data-dir"), std::string::npos);
}

TEST(Config, DiskSpaceBudgetAndFloor) {
  auto defaults = ParseCommandLine({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.max_total_bytes, 0u);
  EXPECT_EQ(defaults->config.min_free_bytes, archive::kAutoMinFreeBytes);
  auto cl = ParseCommandLine({"--max-total-bytes", "500G", "--min-free-bytes=268435456"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.max_total_bytes, 500ull << 30);
  EXPECT_EQ(cl->config.min_free_bytes, 268435456u);
  auto k = ParseCommandLine({"--max-total-bytes", "64m", "--min-free-bytes", "auto"});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->config.max_total_bytes, 64u << 20);
  EXPECT_EQ(k->config.min_free_bytes, archive::kAutoMinFreeBytes);
  for (const char* bad : {"", "G", "12x", "-5", "5.5G", "99999999999999T", "auto"}) {
    EXPECT_FALSE(ParseCommandLine({"--max-total-bytes", bad}).ok()) << bad;
  }
  EXPECT_NE(UsageText().find("--min-free-bytes"), std::string::npos);
}

TEST(Config, AccessKeysComeFromTheConfigFile) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"access-keys": [
      {"access-key-id": "AKIDADMIN", "secret-access-key": "s1"},
      {"access-key-id": "AKIDCAM", "secret-access-key": "s2", "streams": ["cam-*", "door"],
       "actions": ["write", "read"]}]})");
  auto cl = ParseCommandLine({"--config", path});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  ASSERT_EQ(cl->config.access_keys.size(), 2u);
  EXPECT_EQ(cl->config.access_keys[0].id, "AKIDADMIN");
  EXPECT_EQ(cl->config.access_keys[0].secret, "s1");
  EXPECT_TRUE(cl->config.access_keys[0].streams.empty());
  EXPECT_EQ(cl->config.access_keys[0].rights, kRightRead | kRightWrite | kRightAdmin);
  EXPECT_EQ(cl->config.access_keys[1].streams, (std::vector<std::string>{"cam-*", "door"}));
  EXPECT_EQ(cl->config.access_keys[1].rights, kRightRead | kRightWrite);
}

// What SIGHUP reads: the same files again, checked whole; an error names the file.
TEST(Config, AccessKeysAreReadAgainFromTheSameFiles) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"port": 9000, "access-keys": [
      {"access-key-id": "AKIDA", "secret-access-key": "sa"},
      {"access-key-id": "AKIDB", "secret-access-key": "sb"}]})");
  auto cl = ParseCommandLine({"--config", path, "--port", "9001"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.config_files, std::vector<std::string>{path});
  EXPECT_TRUE(ParseCommandLine({})->config.config_files.empty());

  WriteFileOrDie(path, R"({"port": 9000, "access-keys": [
      {"access-key-id": "AKIDB", "secret-access-key": "sb", "actions": ["read"]}]})");
  auto keys = ReadAccessKeys(cl->config.config_files);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, "AKIDB");
  EXPECT_EQ((*keys)[0].rights, kRightRead);

  WriteFileOrDie(path, R"({"access-keys": [{"access-key-id": "AKIDB"}]})");
  auto bad = ReadAccessKeys(cl->config.config_files);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path), std::string::npos) << bad.status().ToString();
  WriteFileOrDie(path, R"({"access-keys": [)");
  EXPECT_FALSE(ReadAccessKeys(cl->config.config_files).ok());
  EXPECT_FALSE(ReadAccessKeys({dir.File("gone.json")}).ok());
  WriteFileOrDie(path, R"({"port": 9000})");
  auto none = ReadAccessKeys(cl->config.config_files);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(Config, BadAccessKeysAreRefusedByName) {
  TempDir dir;
  std::string path = dir.File("streamarc.json");
  for (const auto& [json, words] : std::vector<std::pair<std::string, std::string>>{
           {R"({"access-keys": [{"access-key-id": "A"}]})", "secret-access-key"},
           {R"({"access-keys": [{"access-key-id": "", "secret-access-key": "s"}]})", "non-empty"},
           {R"({"access-keys": [{"access-key-id": "A/B", "secret-access-key": "s"}]})", "'/'"},
           {R"({"access-keys": [{"access-key-id": "A", "secret-access-key": "s",
                "actions": ["delete"]}]})",
            "read, write and admin"},
           {R"({"access-keys": [{"access-key-id": "A", "secret-access-key": "s",
                "streams": []}]})",
            "non-empty list"},
           {R"({"access-keys": [{"access-key-id": "A", "secret-access-key": "s",
                "secret": "x"}]})",
            "unknown field"},
           {R"({"access-keys": [{"access-key-id": "A", "secret-access-key": "s"},
                                {"access-key-id": "A", "secret-access-key": "t"}]})",
            "twice"},
           {R"({"access-keys": ["A:s"]})", "object"}}) {
    WriteFileOrDie(path, json);
    auto cl = ParseCommandLine({"--config", path});
    ASSERT_FALSE(cl.ok()) << json;
    EXPECT_NE(cl.status().message().find(words), std::string::npos) << cl.status().ToString();
  }
}

TEST(Config, AccessKeysAreNotTakenFromTheCommandLine) {
  auto cl =
      ParseCommandLine({"--access-keys", R"({"access-key-id": "A", "secret-access-key": "s"})"});
  ASSERT_FALSE(cl.ok());
  EXPECT_NE(cl.status().message().find("config file"), std::string::npos);
}

TEST(Config, AllowUnauthenticatedIsASwitch) {
  auto cl = ParseCommandLine({"--allow-unauthenticated", "--port", "9000"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_TRUE(cl->config.allow_unauthenticated);
  EXPECT_EQ(cl->config.port, 9000);
  EXPECT_FALSE(ParseCommandLine({})->config.allow_unauthenticated);
}

TEST(Config, MetricsOpenIsASwitchAndAConfigKey) {
  EXPECT_FALSE(ParseCommandLine({})->config.metrics_open);
  auto cl = ParseCommandLine({"--metrics-open", "--port", "9000"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_TRUE(cl->config.metrics_open);
  TempDir dir;
  const std::string path = dir.File("c.json");
  WriteFileOrDie(path, R"({"metrics-open": true})");
  Config c;
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_TRUE(c.metrics_open);
  WriteFileOrDie(path, R"({"metrics-open": "yes"})");
  EXPECT_FALSE(LoadConfigFile(path, &c).ok());
  EXPECT_NE(UsageText().find("--metrics-open"), std::string::npos);
}

TEST(Config, ReadOnlyIsASwitchAndAConfigKey) {
  EXPECT_FALSE(ParseCommandLine({})->config.read_only);
  auto cl = ParseCommandLine({"--read-only", "--data-dir", "/mnt/snapshot"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_TRUE(cl->config.read_only);
  EXPECT_EQ(cl->config.data_dir, "/mnt/snapshot");
  TempDir dir;
  const std::string path = dir.File("c.json");
  WriteFileOrDie(path, R"({"read-only": true, "data-dir": "/mnt/copy"})");
  Config c;
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_TRUE(c.read_only);
  WriteFileOrDie(path, R"({"read-only": false})");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_FALSE(c.read_only);
  WriteFileOrDie(path, R"({"read-only": "yes"})");
  Status bad = LoadConfigFile(path, &c);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("read-only: expected true or false"), std::string::npos)
      << bad.ToString();
  // The flag wins over the file, as every flag does.
  WriteFileOrDie(path, R"({"read-only": false})");
  auto both = ParseCommandLine({"--config", path, "--read-only"});
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_TRUE(both->config.read_only);
  EXPECT_NE(UsageText().find("--read-only"), std::string::npos);
}

TEST(Config, LoopbackAddresses) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "", "192.168.1.10", "128.0.0.1", "localhost.evil",
                           "127.0.0.1.example", "10.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackAddress(host)) << host;
  }
}

TEST(Config, HttpLimits) {
  auto defaults = ParseCommandLine({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.request_head_timeout_seconds, 30);
  EXPECT_EQ(defaults->config.min_body_bytes_per_second, 1024);
  EXPECT_EQ(defaults->config.send_timeout_seconds, 60);
  EXPECT_EQ(defaults->config.max_request_head_bytes, 32 << 10);
  EXPECT_EQ(defaults->config.max_connections, 10'000);
  EXPECT_EQ(defaults->config.max_connections_per_address, 1'000);
  auto cl =
      ParseCommandLine({"--request-head-timeout-seconds", "5", "--min-body-bytes-per-second", "100",
                        "--send-timeout-seconds=2", "--max-request-head-bytes", "65536",
                        "--max-connections", "50", "--max-connections-per-address", "7"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.request_head_timeout_seconds, 5);
  EXPECT_EQ(cl->config.min_body_bytes_per_second, 100);
  EXPECT_EQ(cl->config.send_timeout_seconds, 2);
  EXPECT_EQ(cl->config.max_request_head_bytes, 65536);
  EXPECT_EQ(cl->config.max_connections, 50);
  EXPECT_EQ(cl->config.max_connections_per_address, 7);
  // A head cap below 16 KiB would refuse SigV4 requests with a session token.
  EXPECT_FALSE(ParseCommandLine({"--max-request-head-bytes", "4096"}).ok());
  EXPECT_FALSE(ParseCommandLine({"--max-connections", "0"}).ok());
  EXPECT_FALSE(ParseCommandLine({"--send-timeout-seconds", "0"}).ok());
  EXPECT_NE(UsageText().find("--max-connections-per-address"), std::string::npos);
  EXPECT_NE(UsageText().find("--send-timeout-seconds"), std::string::npos);
}

TEST(Config, TlsFilesFromFlagsOrFileBothOrNeither) {
  auto cl = ParseCommandLine({"--tls-cert", "/etc/arc/cert.pem", "--tls-key=/etc/arc/key.pem"});
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.tls_cert, "/etc/arc/cert.pem");
  EXPECT_EQ(cl->config.tls_key, "/etc/arc/key.pem");

  TempDir dir;
  const std::string path = dir.File("streamarc.json");
  WriteFileOrDie(path, R"({"tls-cert": "/a/cert.pem", "tls-key": "/a/key.pem"})");
  cl = ParseCommandLine({"--config", path, "--tls-key", "/b/key.pem"});  // the flag wins
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ(cl->config.tls_cert, "/a/cert.pem");
  EXPECT_EQ(cl->config.tls_key, "/b/key.pem");

  for (const auto& args : std::vector<std::vector<std::string>>{{"--tls-cert", "/a/cert.pem"},
                                                                {"--tls-key", "/a/key.pem"}}) {
    auto one = ParseCommandLine(args);
    ASSERT_FALSE(one.ok()) << args[0];
    EXPECT_NE(one.status().message().find("--tls-cert and --tls-key go together"),
              std::string::npos)
        << one.status().ToString();
  }
  WriteFileOrDie(path, R"({"tls-cert": "/a/cert.pem"})");
  EXPECT_FALSE(ParseCommandLine({"--config", path}).ok());
  EXPECT_FALSE(ParseCommandLine({"--tls-cert", "", "--tls-key", "/a/key.pem"}).ok());
  EXPECT_NE(UsageText().find("--tls-cert FILE"), std::string::npos);
  EXPECT_NE(UsageText().find("--tls-key FILE"), std::string::npos);
}

TEST(Config, UrlsAreHttpsWithTls) {
  Config c;
  c.tls_cert = "/a/cert.pem";
  c.tls_key = "/a/key.pem";
  EXPECT_EQ(*AdvertisedUrl(c, 8443), "https://127.0.0.1:8443");
  c.host = "::1";
  EXPECT_EQ(*AdvertisedUrl(c, 8443), "https://[::1]:8443");
  c.host = "0.0.0.0";
  auto wildcard = AdvertisedUrl(c, 8443);
  ASSERT_FALSE(wildcard.ok());
  EXPECT_NE(wildcard.status().message().find("https://192.0.2.10:8443"), std::string::npos);
  c.public_url = "https://cams.example:8443";
  EXPECT_EQ(*AdvertisedUrl(c, 8443), "https://cams.example:8443");
  // An http:// public URL would send every client to a port that does not speak it.
  c.public_url = "http://cams.example:8443";
  auto plain = AdvertisedUrl(c, 8443);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("use https://"), std::string::npos);
}

}  // namespace
}  // namespace streamarc::server
