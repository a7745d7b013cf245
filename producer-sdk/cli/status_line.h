// streamarc-put's status output: on a terminal, one line rewritten in place every interval;
// otherwise (a log file, a pipe) a plain line per interval. Messages go on their own line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "producer-sdk/producer.h"

namespace streamarc::put {

struct StatusSample {
  double elapsed_s = 0;
  uint64_t frames = 0;  // video frames put so far
  uint64_t bytes = 0;   // frame bytes put so far (every track)
  producer::StreamStats stats;
};

// "12s  29.9 fps  1003 kbit/s  persisted 5/6 fragments  buffer 1.2/128.0 MB (0.9%)"; the
// rates are over the span between `previous` and `now`.
std::string FormatStatus(const StatusSample& previous, const StatusSample& now);

// Not thread-safe: main's loop only.
class StatusLine {
 public:
  StatusLine(FILE* out, bool tty, double interval_s, bool quiet);
  // Prints a status line if the interval has passed since the last one.
  void Update(const StatusSample& now);
  // A message on its own line (the terminal's status line is cleared first).
  void Message(const std::string& text);
  // Ends the in-place line on a terminal.
  void Finish();

 private:
  FILE* out_;
  bool tty_;
  double interval_s_;
  bool quiet_;
  bool line_open_ = false;
  StatusSample last_;
};

}  // namespace streamarc::put
