#include "server/streamarcd_main.h"

#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "server/daemon.h"

namespace streamarc::server {

int StreamarcdMain(const std::vector<std::string>& args, const Clock& clock,
                   const std::function<void(Config&)>& adjust) {
  auto cl = ParseCommandLine(args);
  if (!cl.ok()) {
    std::fprintf(stderr, "streamarcd: %s\n\n%s", cl.status().message().c_str(),
                 UsageText().c_str());
    return 2;
  }
  if (cl->show_help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  if (cl->show_version) {
    std::printf("streamarcd %s\n", kVersion);
    return 0;
  }
  if (adjust) adjust(cl->config);

  // glibc gives each thread that contends for malloc an arena of its own, up to 8 per core.
  // Buffers made on the service thread and freed on workers (and the reverse) then leave
  // free space scattered over many arenas that none reuses: in the soak (tests/soak) RSS rose
  // 62 -> 67 MiB over a minute with the default and 58 -> 59 MiB with one arena per core.
  // MALLOC_ARENA_MAX in the environment still decides when set.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  }
  // Fragments are 0.5-2 MB. Above glibc's starting mmap threshold (128 KiB, raised only as
  // such blocks are freed), each is a fresh mapping whose pages fault in one by one: when 500
  // cameras connected at once, that held acks for over a second during the first 6 s. From
  // the heap they reuse pages already there (putmedia_load, 500 cameras: the slow start went
  // from 6 s with acks up to 2.0 s to 3 s with acks up to 0.7 s). MALLOC_MMAP_THRESHOLD_ in the
  // environment still decides when set.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 8 << 20);

  // Signals go to a thread that waits for them, so no handler runs in signal context.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Logger log(clock, cl->config.log_level);
  auto daemon = Daemon::Create(cl->config, clock, log);
  if (!daemon.ok()) {
    log.Error("streamarcd", "cannot start", {{"error", daemon.status().ToString()}});
    return 1;
  }
  std::thread signals([&] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
      log.Info("streamarcd", "reloading access keys", {{"signal", "SIGHUP"}});
      // Logged either way by the daemon; a refused reload keeps the keys in force.
      (void)(*daemon)->ReloadAccessKeys();
    }
    log.Info("streamarcd", "shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    (*daemon)->Stop();
  });
  (*daemon)->Run();
  // Run returned (Stop): wake the signal thread if it is still waiting.
  // It waits in sigwait(), so the signal is consumed there and terminates nothing.
  pthread_kill(signals.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
  signals.join();
  log.Info("streamarcd", "stopped");
  return 0;
}

}  // namespace streamarc::server
