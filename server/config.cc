#include "server/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace streamarc::server {
namespace {

// Sets one setting by its flag name from text. Shared by flags and the config file so the
// two can never disagree.
Status Apply(Config* c, const std::string& key, const std::string& value) {
  auto to_int = [&](int64_t lo, int64_t hi, int64_t* out) -> Status {
    try {
      size_t used = 0;
      long long v = std::stoll(value, &used);
      if (used != value.size() || v < lo || v > hi) throw std::out_of_range(key);
      *out = v;
      return Status::Ok();
    } catch (const std::exception&) {
      return InvalidArgument("--" + key + ": expected a number from " + std::to_string(lo) +
                             " to " + std::to_string(hi) + ", got \"" + value + "\"");
    }
  };
  int64_t n = 0;
  if (key == "host") {
    c->host = value;
  } else if (key == "port") {
    RETURN_IF_ERROR(to_int(0, 65535, &n));
    c->port = static_cast<int>(n);
  } else if (key == "data-dir") {
    c->data_dir = value;
  } else if (key == "index") {
    if (value.rfind("postgresql://", 0) != 0 && value.rfind("postgres://", 0) != 0) {
      return InvalidArgument("--index: expected postgresql://USER@HOST:PORT/DB, got \"" + value +
                             "\" (leave it out for SQLite in the data directory)");
    }
    c->index = value;
  } else if (key == "object-store") {
    ASSIGN_OR_RETURN(c->object_store, ParseObjectStore(value, &c->object_key_prefix));
  } else if (key == "warm-after-seconds") {
    RETURN_IF_ERROR(to_int(0, int64_t{10} * 366 * 86400, &n));
    c->warm_after_seconds = n;
  } else if (key == "segment-window-seconds") {
    RETURN_IF_ERROR(to_int(1, 86400, &n));
    c->segment_window_seconds = n;
  } else if (key == "node-id") {
    if (value.empty() || value.size() > 128) {
      return InvalidArgument("--node-id: expected a name of 1 to 128 characters");
    }
    c->node_id = value;
  } else if (key == "lease-seconds") {
    RETURN_IF_ERROR(to_int(1, 3600, &n));
    c->lease_seconds = n;
  } else if (key == "region") {
    c->region = value;
  } else if (key == "account") {
    c->account = value;
  } else if (key == "public-url") {
    c->public_url = value;
  } else if (key == "allowed-host") {
    if (value.empty()) return InvalidArgument("--allowed-host: expected a host name");
    c->allowed_hosts.push_back(value);
  } else if (key == "cors-origin") {
    if (value != "*" && value.find("://") == std::string::npos) {
      return InvalidArgument("--cors-origin: expected an origin such as http://host:port, or *");
    }
    c->cors_origins.push_back(value);
  } else if (key == "frame-tap") {
    const bool pattern = value.find_first_of("*?[") != std::string::npos;
    if (value.empty() || value.size() > 256 ||
        (!pattern && !archive::ValidateStreamName(value).ok())) {
      return InvalidArgument("--frame-tap: expected a stream name or a pattern such as cam*");
    }
    c->frame_tap.push_back(value);
  } else if (key == "tls-cert" || key == "tls-key") {
    if (value.empty()) return InvalidArgument("--" + key + ": expected a PEM file");
    (key == "tls-cert" ? c->tls_cert : c->tls_key) = value;
  } else if (key == "web-root") {
    c->web_root = value;
  } else if (key == "hls-low-latency") {
    // "on"/"off" on the command line; true/false in the config file (JSON booleans).
    if (value == "on" || value == "true") {
      c->hls_low_latency = true;
    } else if (value == "off" || value == "false") {
      c->hls_low_latency = false;
    } else {
      return InvalidArgument("--hls-low-latency: expected on or off, got \"" + value + "\"");
    }
  } else if (key == "hls-part-target-ms") {
    RETURN_IF_ERROR(to_int(100, 1000, &n));
    c->hls_part_target_ms = static_cast<int>(n);
  } else if (key == "access-keys") {
    // Each list entry of the config file arrives here as its JSON text.
    ASSIGN_OR_RETURN(AccessKey k, ParseAccessKey(value));
    for (const AccessKey& other : c->access_keys) {
      if (other.id == k.id) return InvalidArgument("access key " + k.id + " is listed twice");
    }
    c->access_keys.push_back(std::move(k));
  } else if (key == "allow-unauthenticated") {
    if (value != "true" && value != "false") {
      return InvalidArgument("allow-unauthenticated: expected true or false");
    }
    c->allow_unauthenticated = value == "true";
  } else if (key == "read-only") {
    if (value != "true" && value != "false") {
      return InvalidArgument("read-only: expected true or false");
    }
    c->read_only = value == "true";
  } else if (key == "metrics-open") {
    if (value != "true" && value != "false") {
      return InvalidArgument("metrics-open: expected true or false");
    }
    c->metrics_open = value == "true";
  } else if (key == "log-level") {
    if (!ParseLogLevel(value, &c->log_level)) {
      return InvalidArgument("--log-level: expected debug, info, warn or error");
    }
  } else if (key == "worker-threads") {
    RETURN_IF_ERROR(to_int(1, 256, &n));
    c->worker_threads = static_cast<int>(n);
  } else if (key == "sync-threads") {
    RETURN_IF_ERROR(to_int(1, 256, &n));
    c->sync_threads = static_cast<int>(n);
  } else if (key == "max-fragment-bytes") {
    RETURN_IF_ERROR(to_int(1024, int64_t{1} << 34, &n));
    c->max_fragment_bytes = static_cast<uint64_t>(n);
  } else if (key == "max-fragment-duration-ms") {
    RETURN_IF_ERROR(to_int(100, 3'600'000, &n));
    c->max_fragment_duration_ms = n;
  } else if (key == "idle-timeout-seconds") {
    RETURN_IF_ERROR(to_int(1, 3600, &n));
    c->idle_timeout_seconds = static_cast<int>(n);
  } else if (key == "request-head-timeout-seconds") {
    RETURN_IF_ERROR(to_int(1, 3600, &n));
    c->request_head_timeout_seconds = static_cast<int>(n);
  } else if (key == "min-body-bytes-per-second") {
    RETURN_IF_ERROR(to_int(1, int64_t{1} << 30, &n));
    c->min_body_bytes_per_second = n;
  } else if (key == "send-timeout-seconds") {
    RETURN_IF_ERROR(to_int(1, 3600, &n));
    c->send_timeout_seconds = static_cast<int>(n);
  } else if (key == "max-request-head-bytes") {
    // SigV4 with an STS session token fits in 16 KiB with room to spare.
    RETURN_IF_ERROR(to_int(16 << 10, 1 << 20, &n));
    c->max_request_head_bytes = static_cast<int>(n);
  } else if (key == "max-connections") {
    RETURN_IF_ERROR(to_int(1, 1'000'000, &n));
    c->max_connections = static_cast<int>(n);
  } else if (key == "max-connections-per-address") {
    RETURN_IF_ERROR(to_int(1, 1'000'000, &n));
    c->max_connections_per_address = static_cast<int>(n);
  } else if (key == "max-total-bytes" || key == "min-free-bytes") {
    // Bytes, with an optional K, M, G or T suffix (powers of 1024); the floor takes "auto".
    uint64_t* out = key == "max-total-bytes" ? &c->max_total_bytes : &c->min_free_bytes;
    if (key == "min-free-bytes" && value == "auto") {
      *out = archive::kAutoMinFreeBytes;
      return Status::Ok();
    }
    const int last = value.empty() ? 0 : std::toupper(static_cast<unsigned char>(value.back()));
    const size_t unit = std::string_view("KMGT").find(static_cast<char>(last));
    std::string digits = value;
    int shift = 0;
    if (unit != std::string::npos) {
      digits.pop_back();
      shift = 10 * static_cast<int>(unit + 1);
    }
    // At most 15 digits (below 2^50) so that stoull cannot throw; below 2^62 once shifted.
    const bool ok = !digits.empty() && digits.size() <= 15 &&
                    digits.find_first_not_of("0123456789") == std::string::npos;
    const uint64_t v = ok ? std::stoull(digits) : 0;
    if (!ok || v > (archive::kAutoMinFreeBytes >> (shift + 2))) {
      return InvalidArgument("--" + key + ": expected a byte count such as 500G or 268435456" +
                             (key == "min-free-bytes" ? ", or auto" : "") + ", got \"" + value +
                             "\"");
    }
    *out = v << shift;
  } else {
    return InvalidArgument("unknown setting \"" + key + "\" (see --help)");
  }
  return Status::Ok();
}

}  // namespace

Result<AccessKey> ParseAccessKey(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("an access key must be an object such as {\"access-key-id\": ...}");
  }
  AccessKey key;
  key.rights = kRightRead | kRightWrite | kRightAdmin;
  bool has_id = false, has_secret = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "access-key-id" || name == "secret-access-key") {
      if (!it->is_string() || it->get<std::string>().empty()) {
        return InvalidArgument("access key: \"" + name + "\" must be a non-empty string");
      }
      (name == "access-key-id" ? key.id : key.secret) = it->get<std::string>();
      (name == "access-key-id" ? has_id : has_secret) = true;
    } else if (name == "streams" || name == "actions") {
      if (!it->is_array() || it->empty()) {
        return InvalidArgument("access key: \"" + name + "\" must be a non-empty list");
      }
      if (name == "actions") key.rights = 0;
      for (const nlohmann::json& v : *it) {
        const std::string s = v.is_string() ? v.get<std::string>() : "";
        if (name == "streams") {
          if (s.empty() || s.size() > 256) {
            return InvalidArgument("access key: \"streams\" holds names or patterns such as cam-*");
          }
          key.streams.push_back(s);
        } else if (s == "read" || s == "write" || s == "admin") {
          key.rights |= s == "read" ? kRightRead : s == "write" ? kRightWrite : kRightAdmin;
        } else {
          return InvalidArgument("access key: \"actions\" holds read, write and admin, not " +
                                 v.dump());
        }
      }
    } else {
      return InvalidArgument("access key: unknown field \"" + name +
                             "\" (access-key-id, secret-access-key, streams, actions)");
    }
  }
  if (!has_id || !has_secret) {
    return InvalidArgument("access key: needs \"access-key-id\" and \"secret-access-key\"");
  }
  // Access key ids are what AWS's clients accept: no '/', which would break the scope.
  if (key.id.find_first_of("/ ,=") != std::string::npos) {
    return InvalidArgument("access key: \"access-key-id\" may not hold '/', ' ', ',' or '='");
  }
  return key;
}

Result<objectstore::S3Config> ParseObjectStore(std::string_view json, std::string* prefix) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(
        "object-store must be an object such as {\"endpoint\": \"http://127.0.0.1:9000\", "
        "\"bucket\": ...}");
  }
  objectstore::S3Config c;
  prefix->clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "path-style") {
      if (!it->is_boolean()) {
        return InvalidArgument("object-store: \"path-style\" is true or false");
      }
      c.path_style = it->get<bool>();
      continue;
    }
    if (!it->is_string()) return InvalidArgument("object-store: \"" + name + "\" must be a string");
    const std::string v = it->get<std::string>();
    if (name == "endpoint") {
      c.endpoint = v;
    } else if (name == "bucket") {
      c.bucket = v;
    } else if (name == "region") {
      c.region = v;
    } else if (name == "access-key-id") {
      c.access_key_id = v;
    } else if (name == "secret-access-key") {
      c.secret_access_key = v;
    } else if (name == "prefix") {
      *prefix = v;
    } else {
      return InvalidArgument("object-store: unknown field \"" + name +
                             "\" (endpoint, bucket, region, access-key-id, secret-access-key,"
                             " path-style, prefix)");
    }
  }
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string&>{"endpoint", c.endpoint},
        {"bucket", c.bucket},
        {"access-key-id", c.access_key_id},
        {"secret-access-key", c.secret_access_key}}) {
    if (value.empty()) return InvalidArgument(std::string("object-store: needs \"") + field + "\"");
  }
  if (c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0) {
    return InvalidArgument("object-store: \"endpoint\" is an http:// or https:// URL, not \"" +
                           c.endpoint + "\"");
  }
  return c;
}

std::string RedactedUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t end = url.find_first_of("/?#", start);
  if (at == std::string::npos || (end != std::string::npos && at > end)) return url;
  const size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string UsageText() {
  return R"(usage: streamarcd [options]

A self-hosted video ingest and archive server that speaks the Kinesis Video Streams API.

  --host ADDR                  listen address (default 127.0.0.1)
  --port N                     listen port (default 8080; 0 picks a free one)
  --data-dir DIR               where segment files and the index live (default ./data)
  --read-only                  serve the data directory without writing a byte to it
                               (a mounted snapshot, a forensic copy): every read API
                               works, writes (PutMedia, putEvents, create, delete,
                               update, tags) are refused, retention sweeps nothing, and
                               /ready answers 503. streamarcd also starts this way,
                               saying why, when the data directory's file system is
                               mounted read-only. Only a restart leaves it
  --index URL                  keep the stream registry and the fragment index in
                               PostgreSQL, postgresql://USER@HOST:PORT/DB (a password
                               goes in ~/.pgpass or the URL), instead of SQLite in the
                               data directory; the video stays in the data directory
  --object-store JSON          an S3-compatible bucket for WARM streams' video:
                               {"endpoint": "http://minio:9000", "bucket": "video",
                               "region": "us-east-1", "access-key-id": K,
                               "secret-access-key": S, "path-style": true, "prefix": ""}.
                               New streams are then WARM unless created HOT
                               (StreamStorageConfiguration); their sealed segments move
                               to the bucket and are read from there
  --warm-after-seconds N       move a WARM stream's sealed segments once N seconds old
                               (default 0: as soon as they are sealed)
  --segment-window-seconds N   seal a stream's segment file after N seconds (default
                               3600); shorter moves video to the bucket sooner
  --node-id NAME               this node's name among several sharing one --index
                               (stream leases; keep it across restarts). Without it
                               the node must be the index's only one
  --lease-seconds N            how long a node owns a stream's ingest without renewing
                               (default 10): a dead node's streams move after this long
  --config FILE                JSON file whose keys are these flag names, e.g.
                               {"port": 9000, "data-dir": "/var/lib/streamarc"}
  --region NAME                region in ARNs (default us-east-1)
  --account ID                 account id in ARNs (default 000000000000)
  --public-url URL             URL GetDataEndpoint returns (default http://HOST:PORT,
                               https:// with --tls-cert);
                               required with a wildcard --host (0.0.0.0 or ::), which
                               is no address a client can use: streamarcd refuses to
                               start without it
  --allowed-host NAME          also accept requests whose Host header is NAME (with or
                               without port); repeatable. Accepted anyway: localhost,
                               127.0.0.1, [::1], --host and the host of --public-url.
                               Other Hosts get 403 (DNS rebinding); * accepts any
  --cors-origin ORIGIN         let web pages of ORIGIN (e.g. http://console.lan:3000)
                               call the API, with CORS headers; repeatable; * allows
                               every origin. Other cross-origin requests get 403, except
                               HLS/DASH URLs with a session token, open to any page
  --frame-tap NAME|PATTERN     decode this stream's key frames as they are persisted
                               (the in-server frame tap; shell patterns such as cam*
                               allowed; repeatable, or a list in the config file) and
                               serve the latest as JPEG at GET /thumbnail?StreamName=NAME
  --web-root DIR               the browser console's files, served at / (default: the
                               source tree's web/; its player needs npm ci --prefix DIR)
  --hls-low-latency on|off     Low-Latency HLS for LIVE fMP4 sessions (default on):
                               parts of the fragment still arriving, preload hints,
                               blocking playlist reloads; players without LL-HLS play
                               the same playlists as plain HLS. A session opts out with
                               LowLatency=0 on its URL
  --hls-part-target-ms N       LL-HLS part target, 100 to 1000 (default 333)
  --tls-cert FILE              speak HTTPS (only) with this PEM certificate chain: the
                               server's certificate first, then any intermediates.
                               Needs --tls-key; the URLs streamarcd hands out
                               (GetDataEndpoint, HLS/DASH sessions) become https://
  --tls-key FILE               the certificate's private key (PEM, no passphrase)
  --allow-unauthenticated      accept unsigned requests from anyone who can reach the
                               server: without access keys streamarcd listens on a
                               loopback address only, and refuses any other --host
                               unless this is given (it then warns, and so does /health)
  --metrics-open               serve GET /metrics (Prometheus text) without a signature
                               even when access keys are configured (by default it then
                               needs a key with the admin action; without keys it is
                               open, like /health and /ready)
  --log-level LEVEL            debug, info, warn or error (default info)
  --worker-threads N           disk/SQLite/remux worker threads (default: one per core, >= 2)
  --sync-threads N             threads syncing a group commit's files (default: 4 per core,
                               4 to 16)
  --max-fragment-bytes N       largest fragment accepted (default 52428800)
  --max-fragment-duration-ms N longest fragment accepted (default 20000)
  --idle-timeout-seconds N     drop a request body that stalls this long (default 30)
  --max-total-bytes N          budget for the archive's segment files, e.g. 500G (suffixes
                               K, M, G, T; default 0: none, the disk is the limit)
  --min-free-bytes N|auto      free space kept on the data dir's file system (default auto:
                               5% of it, at most 256M). To stay within both, the oldest
                               video across streams is deleted first, never a stream's
                               newest 10 s; when only that is left, new fragments get an
                               ERROR ack 5001 (the producer resends) until space frees up
  --request-head-timeout-seconds N
                               a request head (and the wait for the next one on a kept-
                               alive connection) must arrive whole within N s (default 30)
  --min-body-bytes-per-second N
                               a buffered request body (not PutMedia's) gets 408 once it
                               is slower than --idle-timeout-seconds plus one second per
                               N bytes received (default 1024)
  --send-timeout-seconds N     drop a response whose client reads nothing for N s
                               (default 60): a stalled GetMedia reader frees its slot
  --max-request-head-bytes N   request line plus headers, 16384 to 1048576 (default
                               32768); larger get 431
  --max-connections N          open connections in all (default 10000, and at most half
                               the open-file limit); at the cap, the connection idle or
                               reading a request longest is closed (never PutMedia or a
                               response); if there is none, the new one gets 503
  --max-connections-per-address N
                               the same, per client address (default 1000)
  --help, --version

Access keys (config file only, so that secrets stay out of process listings): with any,
every API request must be signed with AWS Signature Version 4 (service kinesisvideo) by
one of them, as the AWS CLI, the KVS SDKs and streamarc's clients do:
  "access-keys": [{"access-key-id": "AKIDCAMERA1", "secret-access-key": "...",
                   "streams": ["cam-*"], "actions": ["write"]}, ...]
"streams" (names or shell patterns; absent: every stream) and "actions" (read: describe,
list, GetMedia, archived media, HLS/DASH, clips, images, events; write: PutMedia,
putEvents; admin: create, delete, update, tags; absent: all three) limit a key.
)";
}

Status LoadConfigFile(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("config file " + path + " is not a JSON object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    // A repeatable setting may be a list: {"cors-origin": ["http://a", "http://b"]}.
    const bool list = it->is_array();
    for (size_t i = 0; i < (list ? it->size() : 1); ++i) {
      const nlohmann::json& v = list ? (*it)[i] : *it;
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      Status s = Apply(config, it.key(), value);
      if (!s.ok()) return InvalidArgument(path + ": " + s.message());
    }
  }
  return Status::Ok();
}

Result<std::vector<AccessKey>> ReadAccessKeys(const std::vector<std::string>& files) {
  Config c;
  for (const std::string& f : files) RETURN_IF_ERROR(LoadConfigFile(f, &c));
  return std::move(c.access_keys);
}

bool IsLoopbackAddress(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr v4{};
  const std::string h(host);
  return inet_pton(AF_INET, h.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

bool IsWildcardAddress(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

Result<std::string> AdvertisedUrl(const Config& config, int port) {
  const bool tls = !config.tls_cert.empty();
  if (!config.public_url.empty()) {
    if (tls && config.public_url.rfind("http://", 0) == 0) {
      return InvalidArgument("--public-url " + config.public_url +
                             " is http://, but this server speaks HTTPS (--tls-cert): clients "
                             "given that URL could not connect; use https://");
    }
    return config.public_url;
  }
  if (IsWildcardAddress(config.host)) {
    return InvalidArgument("--host " + config.host +
                           " listens on every address, so there is no single address to tell "
                           "clients (GetDataEndpoint, HLS URLs): set --public-url to the URL "
                           "clients reach this server at, e.g. " +
                           (tls ? "https" : "http") + "://192.0.2.10:" +
                           (port > 0 ? std::to_string(port) : std::string("PORT")));
  }
  const bool ipv6 = config.host.find(':') != std::string::npos && config.host.front() != '[';
  const std::string host = ipv6 ? "[" + config.host + "]" : config.host;
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine cl;
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.show_help = true;
      continue;
    }
    if (a == "--version") {
      cl.show_version = true;
      continue;
    }
    if (a == "--allow-unauthenticated") {  // a switch: takes no value
      flags.emplace_back("allow-unauthenticated", "true");
      continue;
    }
    if (a == "--metrics-open") {  // a switch too
      flags.emplace_back("metrics-open", "true");
      continue;
    }
    if (a == "--read-only") {  // and this
      flags.emplace_back("read-only", "true");
      continue;
    }
    if (a.rfind("--", 0) != 0) return InvalidArgument("unexpected argument \"" + a + "\"");
    std::string key = a.substr(2), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else {
      if (i + 1 >= args.size()) return InvalidArgument(a + " needs a value");
      value = args[++i];
    }
    flags.emplace_back(key, value);
  }
  for (const auto& [k, v] : flags) {
    if (k != "config") continue;
    RETURN_IF_ERROR(LoadConfigFile(v, &cl.config));
    cl.config.config_files.push_back(v);
  }
  for (const auto& [k, v] : flags) {
    if (k == "access-keys") {
      return InvalidArgument(
          "--access-keys: access keys go in the config file (--config), which keeps secrets "
          "out of process listings");
    }
  }
  for (const auto& [k, v] : flags) {
    if (k != "config") RETURN_IF_ERROR(Apply(&cl.config, k, v));
  }
  if (cl.config.tls_cert.empty() != cl.config.tls_key.empty()) {
    return InvalidArgument(
        "--tls-cert and --tls-key go together: give the certificate chain and its private key");
  }
  return cl;
}

int WorkerThreads(const Config& config) {
  if (config.worker_threads > 0) return config.worker_threads;
  return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

int SyncThreads(const Config& config) {
  if (config.sync_threads > 0) return config.sync_threads;
  return std::clamp(4 * static_cast<int>(std::thread::hardware_concurrency()), 4, 16);
}

}  // namespace streamarc::server
