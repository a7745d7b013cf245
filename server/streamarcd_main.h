// streamarcd's program: parses the command line, builds the daemon, and runs it until
// SIGTERM/SIGINT; SIGHUP reloads the config file's access keys. Apart from main() so that a
// test build can run the same program on another clock (tests/soak).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "server/config.h"

namespace streamarc::server {

// Runs streamarcd with `args` (argv without the program name) on `clock`; `adjust`, if
// given, changes the parsed config before the daemon is built. Returns the exit code. Blocks
// SIGTERM, SIGINT and SIGHUP in the calling thread (and so in the threads it starts).
int StreamarcdMain(const std::vector<std::string>& args, const Clock& clock,
                   const std::function<void(Config&)>& adjust = {});

}  // namespace streamarc::server
