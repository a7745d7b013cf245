// streamarcd: the program (server/streamarcd_main.h) on the system clock.
#include "server/streamarcd_main.h"

// Only an allocation failure can throw here: ending the process (with a core) is right.
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  streamarc::SystemClock clock;
  return streamarc::server::StreamarcdMain(std::vector<std::string>(argv + 1, argv + argc), clock);
}
