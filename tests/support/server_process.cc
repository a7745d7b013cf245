#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/support/subprocess.h"

extern char** environ;

namespace streamarc::testing {

std::string StreamarcdPath() { return STREAMARC_STREAMARCD_PATH; }

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

Status ServerProcess::Start(const std::string& data_dir,
                            const std::vector<std::string>& extra_args) {
  char tmpl[] = "/tmp/streamarcd-log-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return Internal("mkstemp failed");
  log_path_ = tmpl;

  std::vector<std::string> args = {StreamarcdPath(), "--host", "127.0.0.1", "--port", "0",
                                   "--data-dir",     data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  if (rc != 0) return Internal("cannot start " + args[0]);

  // The daemon logs "listening address=127.0.0.1:PORT" once it accepts connections.
  const std::string marker = "listening address=127.0.0.1:";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    if (size_t at = text.find(marker); at != std::string::npos) {
      port_ = std::atoi(text.c_str() + at + marker.size());
      return Status::Ok();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("streamarcd exited at start: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return Internal("streamarcd did not start listening: " + log());
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const {
  try {
    return ReadFileOrDie(log_path_);
  } catch (...) {
    return "";
  }
}

}  // namespace streamarc::testing
