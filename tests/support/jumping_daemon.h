// streamarcd's Daemon run in process on a JumpingClock, for tests that need hours to pass
// (retention, clock jumps); clients still speak HTTP to it over loopback. Header-only: it
// needs streamarc_server, which streamarc_test_support does not link; a test using it does.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/status.h"
#include "server/daemon.h"
#include "tests/support/jumping_clock.h"

namespace streamarc::testing {

// Start and Stop from one thread; clock() is thread-safe.
class JumpingDaemon {
 public:
  JumpingDaemon() = default;
  ~JumpingDaemon() { Stop(); }
  JumpingDaemon(const JumpingDaemon&) = delete;
  JumpingDaemon& operator=(const JumpingDaemon&) = delete;

  // Listens on a free loopback port with its archive in `data_dir` and serves on a thread of
  // its own. Logs only warnings and errors, and drops them.
  Status Start(const std::string& data_dir) {
    server::Config config;
    config.port = 0;
    config.data_dir = data_dir;
    log_ = std::make_unique<Logger>(clock_.clock(), LogLevel::kWarn, [](std::string_view) {});
    auto d = server::Daemon::Create(config, clock_.clock(), *log_);
    if (!d.ok()) return d.status();
    daemon_ = std::move(*d);
    runner_ = std::thread([this] { daemon_->Run(); });
    url_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
    return Status::Ok();
  }
  // Stops serving and finishes in-flight work (as on SIGTERM).
  void Stop() {
    if (daemon_) daemon_->Stop();
    if (runner_.joinable()) runner_.join();
  }

  JumpingClock& clock() { return clock_; }
  const std::string& url() const { return url_; }

 private:
  JumpingClock clock_;  // declared first: the daemon and its log use it to the end
  std::unique_ptr<Logger> log_;
  std::unique_ptr<server::Daemon> daemon_;
  std::thread runner_;
  std::string url_;
};

}  // namespace streamarc::testing
