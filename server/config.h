// streamarcd's settings: defaults that work with no config, a JSON config file, and flags
// (flags win over the file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/archive.h"
#include "common/log.h"
#include "common/status.h"
#include "objectstore/s3.h"

namespace streamarc::server {

// The rights a key may hold, as bits.
enum Right : uint8_t {
  kRightRead = 1,   // describe, list, GetMedia, archived media, HLS/DASH, clips, images, events
  kRightWrite = 2,  // PutMedia, putEvents
  kRightAdmin = 4,  // create, delete, update, tags
};

struct AccessKey {
  std::string id;
  std::string secret;
  std::vector<std::string> streams;  // fnmatch(3) patterns such as "cam-*"; empty: every stream
  uint8_t rights = 0;                // Right bits
};

// One entry of the config file's "access-keys" list, as JSON text:
// {"access-key-id": K, "secret-access-key": S, "streams": ["cam-*"], "actions": ["read"]}.
// "streams" absent means every stream, "actions" absent means all three. kInvalidArgument
// naming the problem otherwise.
Result<AccessKey> ParseAccessKey(std::string_view json);

// The config file's "object-store" object, as JSON text: {"endpoint": URL, "bucket": NAME,
// "region": R, "access-key-id": K, "secret-access-key": S, "path-style": true, "prefix":
// "streamarc/"}. endpoint, bucket and the keys are required; region defaults to us-east-1,
// path-style to true, prefix to "". kInvalidArgument naming the problem otherwise.
Result<objectstore::S3Config> ParseObjectStore(std::string_view json, std::string* prefix);

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir = "./data";
  // Serve the data directory without writing to it (a mounted snapshot, a forensic copy):
  // reads work, writes are refused (server/read_only.h). streamarcd also starts this way,
  // saying so, when it finds the data directory on a read-only file system. Left only by a
  // restart without it on a writable directory.
  bool read_only = false;
  // The registry and fragment index: empty for SQLite in data_dir, or a PostgreSQL database,
  // "postgresql://USER@HOST:PORT/DB" (archive::Options::index).
  std::string index;
  // The bucket WARM streams' sealed segments move to (archive::Options::object_store), and
  // when: once warm_after_seconds old (0: as soon as they are sealed).
  std::optional<objectstore::S3Config> object_store;
  std::string object_key_prefix;
  int64_t warm_after_seconds = 0;
  // How long a segment file gathers a stream's fragments before it is sealed (and, WARM,
  // can move to the bucket).
  int64_t segment_window_seconds = 3600;
  // Several nodes sharing a PostgreSQL `index` (archive::Options::node_id, lease_us): this
  // node's name (empty: the only node on the index) and how long a stream's lease lasts.
  std::string node_id;
  int64_t lease_seconds = 10;
  std::string region = "us-east-1";
  std::string account = "000000000000";  // the account id in ARNs
  // The URL GetDataEndpoint returns; empty means http://<host>:<port>. Required when `host`
  // is a wildcard (0.0.0.0, ::): no client can use that address.
  std::string public_url;
  // Extra names accepted in the Host header (besides localhost, 127.0.0.1, [::1], `host` and
  // public_url's host); "*" accepts any. Guards against DNS rebinding.
  std::vector<std::string> allowed_hosts;
  // Web origins whose pages may call the API ("*": any). Others are refused.
  std::vector<std::string> cors_origins;
  LogLevel log_level = LogLevel::kInfo;
  // Threads for disk, SQLite and remux jobs; 0: one per core, at least 2.
  int worker_threads = 0;
  // Threads that fdatasync a group commit's files in parallel (they wait on the disk, not
  // the CPU); 0: four per core, 4 to 16.
  int sync_threads = 0;
  // Limits (KVS's by default).
  uint64_t max_fragment_bytes = 50ull << 20;
  int64_t max_fragment_duration_ms = 20'000;
  int idle_timeout_seconds = 30;
  // Disk space (archive::Options): a budget for the segment files (0: none) and the free
  // space kept on the data dir's file system (kAutoMinFreeBytes: 5% of it, at most 256 MiB).
  uint64_t max_total_bytes = 0;
  uint64_t min_free_bytes = archive::kAutoMinFreeBytes;
  // How often retention and the byte budget are swept (archive::Options). Not a flag: the
  // soak test's build shortens it to keep up with its fast clock (tests/soak).
  int64_t sweep_interval_us = 60'000'000;
  // Streams the in-server frame tap decodes as they are persisted (names or fnmatch(3)
  // patterns such as "cam*"): their latest key frames are served at GET /thumbnail.
  std::vector<std::string> frame_tap;
  // The browser console's files (web/ in the source tree, served at /); empty: the source
  // tree's web/, compiled in.
  std::string web_root;
  // Low-Latency HLS for LIVE fMP4 sessions, and its part target.
  bool hls_low_latency = true;
  int hls_part_target_ms = 333;
  // Remuxed HLS/DASH segments kept in memory (playback::HlsServiceOptions). Not a flag: the
  // soak test's build lowers it so the cache is full early and the rest of its memory shows.
  size_t hls_cache_entries = 512;
  // SigV4 access keys (server/auth.h). None: requests are not authenticated, and the server
  // listens on a loopback address only unless allow_unauthenticated.
  std::vector<AccessKey> access_keys;
  bool allow_unauthenticated = false;
  // The --config files, in the order read: a reload (SIGHUP) reads their access keys again.
  std::vector<std::string> config_files;
  // GET /metrics without a signature even with access keys (AuthOptions::metrics_open).
  bool metrics_open = false;
  // The HTTP front's limits (server/http_server.h, HttpServerOptions, says what each does).
  int request_head_timeout_seconds = 30;
  int64_t min_body_bytes_per_second = 1024;
  int send_timeout_seconds = 60;
  int max_request_head_bytes = 32 << 10;
  int max_connections = 10'000;
  int max_connections_per_address = 1'000;
  // TLS: a PEM certificate chain (server certificate first) and its unencrypted private key,
  // both or neither. With them the port speaks HTTPS only, and the URLs the server hands out
  // (GetDataEndpoint, HLS/DASH sessions) are https://.
  std::string tls_cert;
  std::string tls_key;
};

// What the command line asked for.
struct CommandLine {
  Config config;
  bool show_help = false;
  bool show_version = false;
};

// Parses `streamarcd [--config FILE] [--host H] [--port P] [--data-dir D] ...`. A --config
// file is read first, then the other flags override it.
Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

// `url` with the password of its user-info part, if any, replaced by "***": for logs.
std::string RedactedUrl(const std::string& url);

// Applies a JSON config file's keys (the long flag names, e.g. "data-dir") onto `config`.
Status LoadConfigFile(const std::string& path, Config* config);

// The access keys `files` list now, read and checked whole as at start: what a reload puts
// in force. Any error (a file gone, malformed, a bad key) comes back instead, naming it.
Result<std::vector<AccessKey>> ReadAccessKeys(const std::vector<std::string>& files);

std::string UsageText();

// True for 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches.
bool IsLoopbackAddress(std::string_view host);

// True for an address that listens everywhere (0.0.0.0, ::, [::], empty).
bool IsWildcardAddress(std::string_view host);

// The base URL clients reach the server at (what GetDataEndpoint returns): public_url, or
// http://host:port (https:// with TLS) with IPv6 addresses bracketed. kInvalidArgument for a
// wildcard host without public_url, and for an http:// public_url while TLS is on.
Result<std::string> AdvertisedUrl(const Config& config, int port);

// worker_threads and sync_threads with 0 resolved from this machine's core count.
int WorkerThreads(const Config& config);
int SyncThreads(const Config& config);

}  // namespace streamarc::server
