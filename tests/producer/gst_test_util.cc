#include "tests/producer/gst_test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/support/subprocess.h"

extern char** environ;

namespace streamarc::gsttest {

std::vector<std::string> GstEnv() {
  std::vector<std::string> env = {"env", std::string("GST_PLUGIN_PATH=") + STREAMARC_GST_PLUGIN_DIR,
                                  std::string("GST_REGISTRY=") + STREAMARC_GST_REGISTRY,
                                  // The SDK always signs; a loopback streamarcd without
                                  // configured keys accepts any.
                                  "AWS_ACCESS_KEY_ID=AKIDGSTTEST",
                                  "AWS_SECRET_ACCESS_KEY=gst-test-secret"};
  std::string asan = STREAMARC_LIBASAN;
  if (!asan.empty()) {
    env.push_back("LD_PRELOAD=" + asan);
    // glib is built without frame pointers: the fast unwinder stops at g_malloc, which
    // would leave LeakSanitizer a choice between suppressing every g_malloc and failing on
    // glib's own start-up allocation. Full unwinding lets tests/lsan.supp name the latter.
    const char* asan_options = std::getenv("ASAN_OPTIONS");
    std::string opts = asan_options != nullptr ? asan_options : "";
    env.push_back("ASAN_OPTIONS=" + opts + (opts.empty() ? "" : ":") + "fast_unwind_on_malloc=0");
  }
  return env;
}

std::string PutPath() { return STREAMARC_PUT_PATH; }
std::string RtspCameraPath() { return STREAMARC_RTSP_CAMERA_PATH; }

Child::Child(const std::vector<std::string>& argv) {
  char tmpl[] = "/tmp/streamarc-gst-child-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return;
  out_path_ = tmpl;
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (posix_spawnp(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!out_path_.empty()) unlink(out_path_.c_str());
}

void Child::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int Child::Wait(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

bool Child::WaitForOutput(const std::string& text, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Output().find(text) != std::string::npos) return true;
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return Output().find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string Child::Output() const {
  if (out_path_.empty()) return "";
  return testing::ReadFileOrDie(out_path_);
}

long DoneFrames(const std::string& output) {
  size_t at = output.rfind("done: ");
  if (at == std::string::npos) return -1;
  return std::strtol(output.c_str() + at + 6, nullptr, 10);
}

}  // namespace streamarc::gsttest
