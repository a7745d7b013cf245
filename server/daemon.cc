#include "server/daemon.h"

#include <libwebsockets.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "archive/archive.h"
#include "common/files.h"
#include "common/mutex.h"
#include "common/sigv4.h"
#include "metrics/metrics.h"
#include "playback/live_hub.h"
#include "playback/remux.h"
#include "server/api_context.h"
#include "server/auth.h"
#include "server/clip_api.h"
#include "server/control_plane.h"
#include "server/events_api.h"
#include "server/frame_tap.h"
#include "server/hls_api.h"
#include "server/http_server.h"
#include "server/images_api.h"
#include "server/kvs_error.h"
#include "server/media_api.h"
#include "server/metrics_api.h"
#include "server/put_media.h"
#include "server/read_only.h"
#include "server/request_guard.h"
#include "server/router.h"
#include "server/spans_api.h"
#include "server/web_api.h"
#include "server/worker_pool.h"

namespace streamarc::server {
namespace {

constexpr int64_t kDrainMicros = 5'000'000;

class DaemonImpl final : public Daemon {
 public:
  DaemonImpl(const Config& config, const Clock& clock, Logger& log)
      : config_(config),
        clock_(clock),
        log_(log),
        env_(archive::NewPosixEnv()),
        ids_(clock.NowMicros()),
        start_time_us_(clock.NowMicros()),
        server_metrics_(registry_),
        pool_(static_cast<size_t>(WorkerThreads(config)), 1024),
        http_(HttpOptions(config, ids_, server_metrics_), pool_, log) {}

  static PutMediaOptions PutOptions(const Config& c) {
    PutMediaOptions o;
    o.limits.max_bytes = c.max_fragment_bytes;
    o.limits.max_duration_us = c.max_fragment_duration_ms * 1000;
    o.idle_timeout_us = int64_t{c.idle_timeout_seconds} * 1'000'000;
    return o;
  }

  // Scrape-time readings, /metrics and /ready; a deleted stream's series go with it.
  void RegisterMetrics(Router& routes) {
    MetricsSources sources{*archive_, *env_,    config_.data_dir, http_,
                           nullptr,   kVersion, kCommit,          start_time_us_};
    if (tap_) sources.tap = [tap = tap_.get()] { return tap->stats(); };
    sources.read_only = !read_only_reason_.empty();
    RegisterServerCollectors(registry_, std::move(sources));
    archive_->AddStreamDeletedListener(
        [m = &server_metrics_](const std::string& name) { m->ForgetStream(name); });
    RegisterMetricsApi(routes, registry_);
    RegisterReadyApi(routes, *archive_);
  }

  Status Init() {
    // Refused before anything is opened: a wildcard address without public_url, and one
    // other machines reach without access keys.
    RETURN_IF_ERROR(AdvertisedUrl(config_, config_.port).status());
    RETURN_IF_ERROR(CheckExposure());
    read_only_reason_ = ReadOnlyReason();
    if (read_only_reason_.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(config_.data_dir, ec);
      if (ec) return IoError("cannot create data dir " + config_.data_dir + ": " + ec.message());
    }
    archive::Options ao;
    ao.read_only = !read_only_reason_.empty();
    ao.read_only_reason = read_only_reason_;
    ao.root = config_.data_dir;
    ao.index = config_.index;
    ao.object_store = config_.object_store;
    ao.object_key_prefix = config_.object_key_prefix;
    ao.warm_after_us = config_.warm_after_seconds * 1'000'000;
    ao.segment_window_us = config_.segment_window_seconds * 1'000'000;
    ao.region = config_.region;
    ao.account = config_.account;
    ao.node_id = config_.node_id;
    ao.lease_us = config_.lease_seconds * 1'000'000;
    ao.max_total_bytes = config_.max_total_bytes;
    ao.min_free_bytes = config_.min_free_bytes;
    ao.sync_threads = SyncThreads(config_);
    ao.sweep_interval_us = config_.sweep_interval_us;
    ASSIGN_OR_RETURN(archive_, archive::OpenLocalArchive(ao, *env_, clock_, log_));
    if (ao.read_only) LogReadOnlyMode();
    // Every route is registered through `routes`: the middleware chain runs before each
    // handler, in this order (read-only mode adds its refusals last).
    AuthOptions auth;
    auth.keys = config_.access_keys;
    auth.signing_keys = std::make_shared<sigv4::SigningKeyCache>();
    auth.metrics_open = config_.metrics_open;
    auth_ = std::make_shared<AuthState>(std::move(auth));
    std::vector<Middleware> chain = {RequestIdMiddleware(ids_),
                                     RequestGuard(GuardOptionsFromConfig(config_)),
                                     Authentication(auth_, clock_)};
    if (ao.read_only) chain.push_back(ReadOnlyGuard(read_only_reason_));
    Router routes(http_, std::move(chain));
    routes.Route("GET", "/health", [this](const HttpRequest&) {
      nlohmann::json j = {{"status", "ok"},
                          {"version", kVersion},
                          {"time", FormatIso8601(clock_.NowMicros())},
                          {"authentication", AuthenticationMode()}};
      j["warnings"] = nlohmann::json::array();
      if (auth_->Current()->keys.empty() && !IsLoopbackAddress(config_.host)) {
        j["warnings"].push_back(kUnauthenticatedWarning);
      }
      // Alive and serving, but not recording: said here, while /ready answers 503.
      j["mode"] = read_only_reason_.empty() ? "read-write" : "read-only";
      if (!read_only_reason_.empty()) {
        j["read_only_reason"] = read_only_reason_;
        j["warnings"].push_back("read-only (" + read_only_reason_ +
                                "): video is served, nothing is recorded; restart on a writable "
                                "data directory to record again");
      }
      return HttpResponse{200, "application/json", {}, j.dump()};
    });
    RETURN_IF_ERROR(http_.Start());
    ControlPlaneOptions cp;
    ASSIGN_OR_RETURN(cp.data_endpoint, AdvertisedUrl(config_, http_.port()));
    // Several nodes: the others send this node's streams' clients here, from now on.
    RETURN_IF_ERROR(archive_->SetNodeUrl(cp.data_endpoint));
    // Keys may come or go with a reload: always asked, true while there are none.
    cp.visible = [auth = auth_](const HttpRequest& req, const std::string& stream) {
      return StreamVisible(req, *auth->Current(), stream);
    };
    RegisterControlPlane(routes, *archive_, cp);
    PutMediaOptions put_options = PutOptions(config_);
    put_options.metrics = &registry_;
    put_media_ =
        std::make_unique<PutMediaService>(put_options, *archive_, pool_, hub_, clock_, log_);
    RegisterPutMedia(routes, *put_media_);
    ASSIGN_OR_RETURN(std::string secret, LoadTokenSecret());
    api_ =
        std::make_unique<ApiContext>(ApiContext{*archive_, hub_, pool_, clock_, log_, ids_,
                                                cp.data_endpoint, secret, auth_, &server_metrics_});
    RegisterMediaApi(routes, *api_);
    RegisterHlsApi(
        routes, *api_,
        {config_.hls_low_latency, config_.hls_part_target_ms * 1000, config_.hls_cache_entries});
    RegisterClipApi(routes, *api_);
    RegisterEventsApi(routes, *api_);
    RegisterSpansApi(routes, *api_);
    playback::ImagesOptions images;
    images.max_fragment_duration_us = config_.max_fragment_duration_ms * 1000;
    // Decoding may take at most half the workers: the other APIs keep theirs.
    images.max_concurrent = std::max(1, WorkerThreads(config_) / 2);
    RegisterImagesApi(routes, *api_, images);
    if (!config_.frame_tap.empty()) {
      tap_ = std::make_unique<ServerTap>(config_.frame_tap, hub_, log_);
    }
    RegisterMetrics(routes);
    RegisterWebApi(routes, WebSite::Load(config_.web_root, log_));
    RegisterThumbnailApi(
        routes, tap_ ? tap_->thumbnails() : std::make_shared<const frametap::ThumbnailSink>());
    log_.Info("streamarcd", "listening",
              {{"address", config_.host + ":" + std::to_string(http_.port())},
               {"tls", config_.tls_cert.empty() ? "off" : "on"},
               {"data_dir", config_.data_dir},
               {"index", config_.index.empty() ? "sqlite" : RedactedUrl(config_.index)},
               {"object_store", config_.object_store ? config_.object_store->endpoint + "/" +
                                                           config_.object_store->bucket
                                                     : std::string("none")},
               {"mode", read_only_reason_.empty() ? "read-write" : "read-only"},
               {"node", config_.node_id.empty() ? std::string("only") : config_.node_id},
               {"version", kVersion}});
    return Status::Ok();
  }

  void Run() override {
    http_.Run();
    // In-flight fragments finish and are reported before the archive closes.
    archive_->Flush();
  }
  // Lets live PutMedia sessions report what they handed to the archive (up to a few
  // seconds), then stops serving. Run then flushes the archive.
  void Stop() override {
    if (put_media_) {
      put_media_->Shutdown();
      put_media_->WaitUntilIdle(std::chrono::microseconds(kDrainMicros));
    }
    http_.Stop();
  }
  int port() const override { return http_.port(); }

  Status ReloadAccessKeys() override {
    Status s = SwapAccessKeys();
    if (!s.ok()) {
      log_.Error("streamarcd", "reload refused: the access keys in force stay",
                 {{"error", s.ToString()}});
    }
    return s;
  }

 private:
  static constexpr const char* kUnauthenticatedWarning =
      "--allow-unauthenticated: no access keys, so anyone who can reach this server can watch, "
      "write and delete every stream";

  // Serialised: two reloads at once would each log the other's change.
  Status SwapAccessKeys() EXCLUDES(reload_mu_) {
    MutexLock lock(reload_mu_);
    if (config_.config_files.empty()) {
      return FailedPrecondition("streamarcd was started without --config: no file to reload");
    }
    ASSIGN_OR_RETURN(std::vector<AccessKey> keys, ReadAccessKeys(config_.config_files));
    // The rule at start (CheckExposure): no keys only where no other machine reaches us.
    if (keys.empty() && !IsLoopbackAddress(config_.host) && !config_.allow_unauthenticated) {
      return FailedPrecondition("the config lists no access keys, and --host " + config_.host +
                                " is reachable from other machines");
    }
    // Ids only: secrets stay out of the log.
    std::string added, removed, changed;
    const std::shared_ptr<const AuthOptions> before = auth_->Current();
    const std::vector<AccessKey>& old = before->keys;
    auto find = [](const std::vector<AccessKey>& list, const std::string& id) {
      return std::find_if(list.begin(), list.end(), [&](const AccessKey& k) { return k.id == id; });
    };
    auto append = [](std::string& to, const std::string& id) {
      to += (to.empty() ? "" : ",") + id;
    };
    for (const AccessKey& k : keys) {
      auto o = find(old, k.id);
      if (o == old.end()) {
        append(added, k.id);
      } else if (o->secret != k.secret || o->streams != k.streams || o->rights != k.rights) {
        append(changed, k.id);
      }
    }
    for (const AccessKey& k : old) {
      if (find(keys, k.id) == keys.end()) append(removed, k.id);
    }
    const size_t count = keys.size();
    auth_->ReplaceKeys(std::move(keys));
    log_.Info("streamarcd", "access keys reloaded",
              {{"keys", std::to_string(count)},
               {"added", added},
               {"changed", changed},
               {"removed", removed}});
    return Status::Ok();
  }

  std::string AuthenticationMode() const {
    if (!auth_->Current()->keys.empty()) return "sigv4";
    return IsLoopbackAddress(config_.host) ? "none (loopback only)" : "none";
  }

  // Without access keys, a server other machines can reach lets anyone watch and delete
  // every camera: refused unless the operator said so.
  Status CheckExposure() {
    if (!config_.access_keys.empty() || IsLoopbackAddress(config_.host)) return Status::Ok();
    if (config_.allow_unauthenticated) {
      log_.Warn("streamarcd", kUnauthenticatedWarning, {{"host", config_.host}});
      return Status::Ok();
    }
    return FailedPrecondition(
        "--host " + config_.host +
        " is reachable from other machines, and no access keys are configured: anyone who "
        "reaches this server could watch, write and delete every stream. Add a key to a config "
        "file (--config FILE) and give it to your clients as AWS_ACCESS_KEY_ID / "
        "AWS_SECRET_ACCESS_KEY:\n  {\"access-keys\": [{\"access-key-id\": \"AKIDCAMERAS\", "
        "\"secret-access-key\": \"<at least 20 random characters, e.g. from openssl rand -hex "
        "20>\"}]}\nor listen on 127.0.0.1, or pass --allow-unauthenticated to accept unsigned "
        "requests from anyone (not recommended)");
  }

  // `ids` and `metrics` outlive the server.
  static HttpServerOptions HttpOptions(const Config& c, RequestIds& ids, ServerMetrics& metrics) {
    HttpServerOptions o;
    o.host = c.host;
    o.port = c.port;
    o.body_timeout_seconds = c.idle_timeout_seconds;
    o.head_timeout_ms = int64_t{c.request_head_timeout_seconds} * 1000;
    o.min_body_bytes_per_second = static_cast<uint64_t>(c.min_body_bytes_per_second);
    o.send_timeout_ms = int64_t{c.send_timeout_seconds} * 1000;
    o.max_head_bytes = static_cast<size_t>(c.max_request_head_bytes);
    o.max_connections = static_cast<size_t>(c.max_connections);
    o.max_connections_per_address = static_cast<size_t>(c.max_connections_per_address);
    o.tls_cert_file = c.tls_cert;
    o.tls_key_file = c.tls_key;
    o.request_id = [&ids] { return ids.Next(); };
    o.on_error = [&metrics](std::string_view type) { metrics.CountError(type); };
    return o;
  }

  // Why this server is read-only, or "" when it writes: asked for (--read-only), or the data
  // directory's file system is mounted read-only (ext4's errors=remount-ro, an operator,
  // fsck), where refusing to start would also stop anyone watching what is recorded.
  std::string ReadOnlyReason() const {
    if (config_.read_only) return "--read-only was given";
    Result<archive::DiskSpace> space = env_->GetDiskSpace(config_.data_dir);
    if (space.ok() && space->read_only) {
      return "the file system of " + config_.data_dir + " is mounted read-only";
    }
    return "";
  }

  void LogReadOnlyMode() {
    log_.Warn("streamarcd",
              "READ-ONLY MODE: serving the archive without writing to it; restart streamarcd on "
              "a writable data directory (and without --read-only) to record again",
              {{"reason", read_only_reason_},
               {"data_dir", config_.data_dir},
               {"serves",
                "describeStream, listStreams, listFragments, getMedia, getMediaForFragmentList, "
                "HLS, DASH, getClip, getImages, listEvents, listRecordingSpans, the console"},
               {"refuses",
                "putMedia and putEvents (503 ServiceUnavailableException: producers keep their "
                "fragments and resend them), createStream, deleteStream, updateStream, "
                "updateDataRetention, tags (400 ResourceInUseException)"},
               {"retention", "no sweep, no eviction: nothing is deleted"},
               {"ready", "/ready answers 503; /health 200 with mode read-only"}});
  }

  // The HMAC key of HLS/DASH session tokens: random, kept in the data directory so session
  // URLs survive a restart. Read-only, a missing key is made in memory only (logged): session
  // URLs then end with this process.
  Result<std::string> LoadTokenSecret() {
    const std::string path = config_.data_dir + "/session-token.key";
    std::ifstream in(path, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() == 32) return key;
    key.assign(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1) {
      return Internal("RAND_bytes failed");
    }
    if (!read_only_reason_.empty()) {
      log_.Warn("streamarcd",
                "read-only: no session-token key to read, so HLS/DASH session tokens are signed "
                "with a key kept in memory; their URLs stop working when this process ends",
                {{"path", path}});
      return key;
    }
    // Owner-only from its creation, and whole or absent after a crash.
    RETURN_IF_ERROR(ReplaceFile(path, key, 0600, /*sync=*/true));
    return key;
  }

  const Config config_;
  const Clock& clock_;
  Logger& log_;
  // First made, last gone: everything below may hold series of it.
  metrics::Registry registry_;
  Mutex reload_mu_;
  std::shared_ptr<AuthState> auth_;  // the access keys in force (set in Init)
  std::string read_only_reason_;     // "" when writable; set once in Init, read-only after
  // Destroyed bottom-up, so each goes while what it uses still exists: the HTTP server (its
  // routes hold the services), then the worker pool, whose destructor runs the jobs still
  // queued (they use the services, the hub and the archive), then the services, the hub,
  // and last the archive.
  std::unique_ptr<archive::Env> env_;
  std::unique_ptr<archive::Archive> archive_;
  RequestIds ids_;
  const int64_t start_time_us_;
  ServerMetrics server_metrics_;
  playback::LiveHub hub_;
  std::unique_ptr<ServerTap> tap_;  // unsubscribes from the hub before the hub goes
  std::unique_ptr<ApiContext> api_;
  std::unique_ptr<PutMediaService> put_media_;
  WorkerPool pool_;
  HttpServer http_;
};

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Create(const Config& config, const Clock& clock,
                                               Logger& log) {
  // libwebsockets' own notices are noise at info level; keep its errors and warnings.
  lws_set_log_level(config.log_level == LogLevel::kDebug ? (LLL_ERR | LLL_WARN | LLL_NOTICE)
                                                         : (LLL_ERR | LLL_WARN),
                    nullptr);
  playback::SetFfmpegLogVerbose(config.log_level == LogLevel::kDebug);
  auto d = std::make_unique<DaemonImpl>(config, clock, log);
  RETURN_IF_ERROR(d->Init());
  return std::unique_ptr<Daemon>(std::move(d));
}

}  // namespace streamarc::server
