// The whole server wired together from a Config: HTTP front, worker pool, and the API
// handlers. Built in main; tests run the real binary.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "server/config.h"

namespace streamarc::server {

inline constexpr const char* kVersion = "0.1.0";
// The source commit streamarcd was built from (git, when CMake configured the build), or "".
extern const char* const kCommit;

class Daemon {
 public:
  // Opens the data directory and listens. `clock` and `log` outlive the daemon.
  static Result<std::unique_ptr<Daemon>> Create(const Config& config, const Clock& clock,
                                                Logger& log);
  virtual ~Daemon() = default;
  // Serves until Stop; then finishes in-flight work.
  virtual void Run() = 0;
  // Thread-safe.
  virtual void Stop() = 0;
  // Reads the config files' access keys again and puts them in force (SIGHUP), logged.
  // Thread-safe. On any error (a file gone or malformed, or no keys left on an address other
  // machines reach) the keys in force stay, and the error says why.
  virtual Status ReloadAccessKeys() = 0;
  virtual int port() const = 0;
};

}  // namespace streamarc::server
