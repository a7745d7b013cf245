#include "tests/support/aws_cli.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

extern char** environ;

namespace streamarc::testing {
namespace {

// One tests/support/aws_cli_worker.py: Debian's AWS CLI, imported once, running one command
// at a time (see the script for why and how).
class AwsWorker {
 public:
  // Null when the worker could not be started.
  static std::unique_ptr<AwsWorker> Start() {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return nullptr;
    if (pipe2(out, O_CLOEXEC) != 0) {
      close(in[0]);
      close(in[1]);
      return nullptr;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    // The interpreter /usr/bin/aws names, and the same awscli package.
    const std::string script = std::string(STREAMARC_TESTS_DIR) + "/support/aws_cli_worker.py";
    char* argv[] = {const_cast<char*>("/usr/bin/python3"), const_cast<char*>(script.c_str()),
                    nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
      close(in[1]);
      close(out[0]);
      return nullptr;
    }
    auto w = std::unique_ptr<AwsWorker>(new AwsWorker);
    w->pid_ = pid;
    w->to_ = fdopen(in[1], "w");
    w->from_ = fdopen(out[0], "r");
    return w;
  }

  ~AwsWorker() {
    if (to_ != nullptr) fclose(to_);  // EOF: the worker ends
    if (from_ != nullptr) fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

  // The command's exit code and output; exit_code -1 when the worker itself failed.
  CommandOutput Run(const nlohmann::json& request) {
    const std::string line = request.dump() + "\n";
    if (fwrite(line.data(), 1, line.size(), to_) != line.size() || fflush(to_) != 0) {
      return CommandOutput{};
    }
    std::string answer;
    char buf[64 * 1024];
    while (fgets(buf, sizeof buf, from_) != nullptr) {
      answer += buf;
      if (!answer.empty() && answer.back() == '\n') break;
    }
    nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return CommandOutput{};
    return CommandOutput{j.value("rc", -1), j.value("out", std::string())};
  }

 private:
  AwsWorker() = default;
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// Idle workers: a call takes one (or starts one, so calls on several threads, such as a
// GetMedia that runs until another call deletes its stream, run side by side) and gives it
// back. They end with the test process.
std::mutex pool_mu;
std::vector<std::unique_ptr<AwsWorker>>* idle = new std::vector<std::unique_ptr<AwsWorker>>;

}  // namespace

CommandOutput RunAws(const std::string& url, const std::vector<std::string>& args,
                     const std::string& region) {
  return RunAwsAs({"AKIDEXAMPLE", "secret"}, url, args, region);
}

CommandOutput RunAwsAs(const AwsKey& key, const std::string& url,
                       const std::vector<std::string>& args, const std::string& region) {
  nlohmann::json request = {{"env",
                             {{"AWS_ACCESS_KEY_ID", key.id},
                              {"AWS_SECRET_ACCESS_KEY", key.secret},
                              {"AWS_DEFAULT_REGION", region},
                              {"AWS_PAGER", ""},
                              {"AWS_CONFIG_FILE", "/dev/null"},
                              {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}}},
                            {"argv", {"--endpoint-url", url, "--output", "json"}}};
  for (const std::string& a : args) request["argv"].push_back(a);

  std::unique_ptr<AwsWorker> worker;
  {
    std::lock_guard<std::mutex> lock(pool_mu);
    signal(SIGPIPE, SIG_IGN);  // a worker that died is reported below, not by a signal
    if (!idle->empty()) {
      worker = std::move(idle->back());
      idle->pop_back();
    }
  }
  if (!worker) worker = AwsWorker::Start();
  EXPECT_TRUE(worker != nullptr) << "cannot start tests/support/aws_cli_worker.py";
  if (!worker) return CommandOutput{};
  CommandOutput out = worker->Run(request);
  EXPECT_NE(out.exit_code, -1) << "the AWS CLI worker failed";
  if (out.exit_code == -1) return out;  // the worker is dropped
  std::lock_guard<std::mutex> lock(pool_mu);
  idle->push_back(std::move(worker));
  return out;
}

}  // namespace streamarc::testing
