// What the data-plane API handlers (GetMedia, archived media, HLS/DASH, GetClip) share.
// Built by the daemon; every reference outlives the HTTP server.
#pragma once

#include <memory>
#include <string>

#include "archive/archive.h"
#include "common/clock.h"
#include "common/log.h"
#include "playback/live_hub.h"
#include "server/auth.h"
#include "server/kvs_error.h"
#include "server/metrics_api.h"
#include "server/worker_pool.h"

namespace streamarc::server {

struct ApiContext {
  archive::Archive& archive;
  playback::LiveHub& hub;
  WorkerPool& pool;
  const Clock& clock;
  Logger& log;
  RequestIds& ids;
  std::string data_endpoint;  // base URL clients reach us at, e.g. "http://127.0.0.1:8080"
  std::string token_secret;   // HMAC key for HLS/DASH session tokens (random per data dir)
  // The access keys in force: a session token names the key that made it, and is refused once
  // that key is gone. Null: no authentication (benchmarks of one API).
  std::shared_ptr<const AuthState> auth;
  ServerMetrics* metrics = nullptr;  // bytes and fragments served; null: not counted
};

}  // namespace streamarc::server
