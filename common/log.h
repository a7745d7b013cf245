// Structured logging: one line per event, "time LEVEL component: message key=value ...".
// A Logger is built in main and handed to whoever logs; there is no global logger.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/mutex.h"

namespace streamarc {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

// Parses "debug", "info", "warn", "error"; false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);

// One key=value pair. Values are quoted when they hold spaces, quotes or '='.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, unsigned v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v) : key(k), value(std::to_string(v)) {}
  std::string_view key;
  std::string value;
};

// Thread-safe: lines from many threads never interleave. `clock` outlives the logger.
class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;
  // Writes to stderr.
  Logger(const Clock& clock, LogLevel min_level);
  // Writes each finished line (with its trailing newline) to `sink`.
  Logger(const Clock& clock, LogLevel min_level, Sink sink);

  void Log(LogLevel level, std::string_view component, std::string_view message,
           std::initializer_list<LogField> fields = {});
  void Debug(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kDebug, c, m, f);
  }
  void Info(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kInfo, c, m, f);
  }
  void Warn(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kWarn, c, m, f);
  }
  void Error(std::string_view c, std::string_view m, std::initializer_list<LogField> f = {}) {
    Log(LogLevel::kError, c, m, f);
  }
  bool Enabled(LogLevel level) const { return level >= min_level_; }

 private:
  const Clock& clock_;
  LogLevel min_level_;
  Mutex mu_;
  Sink sink_ GUARDED_BY(mu_);  // called under mu_ so that lines never interleave
};

}  // namespace streamarc
