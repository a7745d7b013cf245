#include "tests/support/server_process.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include "tests/support/pg_database.h"

namespace streamarc::testing {

std::string StreamarcdPath() { return STREAMARC_STREAMARCD_PATH; }

ServerProcess::~ServerProcess() {
  if (pid() > 0) Stop();
}

Status ServerProcess::Start(const std::string& data_dir,
                            const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {binary_, "--host",     "127.0.0.1", "--port",
                                   "0",     "--data-dir", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // The "pg." run of a suite: the index in PostgreSQL, one database per data directory.
  if (std::find(args.begin(), args.end(), "--index") == args.end()) {
    if (std::unique_ptr<PgTestDatabase> pg = PgTestDatabase::ForKey(data_dir)) {
      args.insert(args.end(), {"--index", pg->url()});
    }
  }
  child_ = std::make_unique<ChildProcess>(args);
  if (!child_->started()) return Internal("cannot start " + args[0]);

  // The daemon logs "listening address=HOST:PORT" once it accepts connections (HOST is
  // --host: 0.0.0.0 when a test listens everywhere, which is still reached at 127.0.0.1).
  const std::string marker = "listening address=";
  if (child_->WaitForOutput(marker, 20'000)) {
    const std::string text = log();
    const size_t at = text.find(marker) + marker.size();
    const std::string address = text.substr(at, text.find_first_of(" \n", at) - at);
    const size_t colon = address.rfind(':');
    port_ = std::atoi(address.c_str() + colon + 1);
    host_ = address.substr(0, colon);
    if (host_.empty() || host_ == "0.0.0.0" || host_ == "::" || host_ == "[::]") {
      host_ = "127.0.0.1";
    } else if (host_.find(':') != std::string::npos && host_.front() != '[') {
      host_ = "[" + host_ + "]";
    }
    return Status::Ok();
  }
  if (pid() <= 0) return Internal("streamarcd exited at start: " + log());
  Kill();
  return Internal("streamarcd did not start listening: " + log());
}

int ServerProcess::Stop() {
  if (pid() <= 0) return -1;
  child_->Signal(SIGTERM);
  return child_->Wait(-1);
}

void ServerProcess::Kill() {
  if (pid() <= 0) return;
  child_->Signal(SIGKILL);
  child_->Wait(-1);
}

std::string ServerProcess::log() const { return child_ ? child_->Output() : ""; }

bool ServerProcess::WaitForLog(const std::string& text, int timeout_ms) {
  return child_ && child_->WaitForOutput(text, timeout_ms);
}

}  // namespace streamarc::testing
