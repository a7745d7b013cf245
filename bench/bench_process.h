// What the benchmarks that drive a real streamarcd share: starting it on a free port, reading
// files and command output, CPU time of a process, percentiles. Header-only, like
// bench_media.h (the benches link no common support library).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace streamarc::bench {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A shell command's stdout.
inline std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// User + system CPU seconds of a running process (/proc/PID/stat).
inline double CpuSeconds(pid_t pid) {
  std::string s = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = s.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream f(s.substr(paren + 2));
  std::string field;
  long ut = 0, st = 0;
  for (int i = 3; i <= 15 && f >> field; ++i) {
    if (i == 14) ut = std::stol(field);
    if (i == 15) st = std::stol(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A /proc/PID/<file> field such as "VmRSS:" (status) or "wchar:" (io): its first number after
// the name; 0 when the process or the field is gone.
inline long long ProcField(pid_t pid, const std::string& file, const std::string& name) {
  std::istringstream in(Slurp("/proc/" + std::to_string(pid) + "/" + file));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) return std::atoll(line.c_str() + name.size());
  }
  return 0;
}

// Resident memory of a process, bytes.
inline double RssBytes(pid_t pid) {
  return static_cast<double>(ProcField(pid, "status", "VmRSS:")) * 1024;
}

// Bytes the process has passed to write-like calls (files and sockets), /proc/PID/io's wchar.
inline double WrittenBytes(pid_t pid) {
  return static_cast<double>(ProcField(pid, "io", "wchar:"));
}

// `pid` and every process below it (nginx's master and its workers).
inline std::vector<pid_t> ProcessTree(pid_t pid) {
  std::vector<pid_t> tree = {pid};
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (pid, ppid)
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string s = Slurp("/proc/" + name + "/stat");
    const size_t paren = s.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream f(s.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    f >> state >> ppid;
    parent_of.emplace_back(std::atoi(name.c_str()), ppid);
  }
  for (size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [child, ppid] : parent_of) {
      if (ppid == tree[i]) tree.push_back(child);
    }
  }
  return tree;
}

// The nearest-rank percentile (p in 0..1) of `v`; 0 when empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

// A streamarcd on 127.0.0.1 and a free port, its stderr in `data_dir`.log.
struct BenchServer {
  pid_t pid = -1;
  int port = 0;

  // Starts `bin` with --data-dir `data_dir` and `extra` arguments; false when it did not say
  // where it listens within 20 s (the log is polled: a bench, not a test).
  bool Start(const std::string& bin, const std::string& data_dir,
             const std::vector<std::string>& extra = {}) {
    const std::string log = data_dir + ".log";
    std::vector<std::string> args = {bin, "--host",     "127.0.0.1", "--port",
                                     "0", "--data-dir", data_dir};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log.c_str(), O_CREAT | O_TRUNC | O_WRONLY,
                                     0644);
    int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid = -1;
      return false;
    }
    const std::string marker = "address=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text = Slurp(log);
      if (size_t at = text.find(marker); at != std::string::npos) {
        port = std::atoi(text.c_str() + at + marker.size());
        return true;
      }
    }
    Stop();
    return false;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }

  void Stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

}  // namespace streamarc::bench
