// Runs the real streamarcd binary for a test: on a free loopback port, in a temporary data
// directory unless told otherwise, stopped with SIGTERM when the object goes away.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/subprocess.h"

namespace streamarc::testing {

// The streamarcd built alongside the tests.
std::string StreamarcdPath();

class ServerProcess {
 public:
  // `binary`: the program to run, streamarcd unless a test has a build of its own.
  explicit ServerProcess(std::string binary = StreamarcdPath()) : binary_(std::move(binary)) {}
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the binary with --host 127.0.0.1 --port 0 --data-dir `data_dir` plus `extra_args`
  // (a --host or --port among them overrides those: the last flag wins), and waits until it
  // logs the address it listens on. In a suite's "pg." run
  // (STREAMARC_TEST_PG) without an --index among them, also --index with the PostgreSQL
  // database of `data_dir` (tests/support/pg_database.h).
  Status Start(const std::string& data_dir, const std::vector<std::string>& extra_args = {});
  // SIGTERM, then waits; returns the exit code (128+signal when killed).
  int Stop();
  // SIGKILL, then waits.
  void Kill();

  int port() const { return port_; }
  // The address it listens on (127.0.0.1 unless --host named another; 127.0.0.1 too for a
  // wildcard --host such as 0.0.0.0), in URL form: an IPv6 address in brackets.
  const std::string& host() const { return host_; }
  std::string url() const { return "http://" + host_ + ":" + std::to_string(port_); }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // Everything the server wrote to stderr (and stdout) so far.
  std::string log() const;
  // Waits until `text` appears in the log; false on timeout or if the server exited.
  bool WaitForLog(const std::string& text, int timeout_ms);

 private:
  std::string binary_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  std::string host_ = "127.0.0.1";
};

}  // namespace streamarc::testing
