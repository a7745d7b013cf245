#include "producer-sdk/cli/status_line.h"

#include <algorithm>

namespace streamarc::put {

std::string FormatStatus(const StatusSample& previous, const StatusSample& now) {
  double span = std::max(now.elapsed_s - previous.elapsed_s, 1e-3);
  double fps = static_cast<double>(now.frames - previous.frames) / span;
  double kbps = static_cast<double>(now.bytes - previous.bytes) * 8 / 1000 / span;
  const producer::StreamStats& s = now.stats;
  double fill = s.store_capacity > 0 ? 100.0 * static_cast<double>(s.store_bytes) /
                                           static_cast<double>(s.store_capacity)
                                     : 0;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%4.0fs %6.1f fps %7.0f kbit/s  persisted %llu/%llu fragments  buffer "
                "%.1f/%.1f MB (%.1f%%)",
                now.elapsed_s, fps, kbps, static_cast<unsigned long long>(s.fragments_persisted),
                static_cast<unsigned long long>(s.fragments_started),
                static_cast<double>(s.store_bytes) / (1 << 20),
                static_cast<double>(s.store_capacity) / (1 << 20), fill);
  std::string out = buf;
  if (s.frames_dropped > 0 || s.fragments_dropped > 0) {
    out += "  dropped " + std::to_string(s.frames_dropped) + " frames/" +
           std::to_string(s.fragments_dropped) + " fragments";
  }
  if (s.reconnects > 0) out += "  reconnects " + std::to_string(s.reconnects);
  if (s.error_acks > 0) out += "  error acks " + std::to_string(s.error_acks);
  return out;
}

StatusLine::StatusLine(FILE* out, bool tty, double interval_s, bool quiet)
    : out_(out),
      tty_(tty),
      interval_s_(interval_s > 0 ? interval_s
                  : tty          ? 1.0
                                 : 10.0),
      quiet_(quiet) {}

void StatusLine::Update(const StatusSample& now) {
  if (quiet_ || now.elapsed_s - last_.elapsed_s < interval_s_) return;
  std::string line = FormatStatus(last_, now);
  if (tty_) {
    // Rewrite in place; \033[K clears what a longer previous line left.
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  last_ = now;
}

void StatusLine::Message(const std::string& text) {
  if (line_open_) std::fprintf(out_, "\r\033[K");
  line_open_ = false;
  std::fprintf(out_, "streamarc-put: %s\n", text.c_str());
  std::fflush(out_);
}

void StatusLine::Finish() {
  if (line_open_) std::fprintf(out_, "\n");
  line_open_ = false;
  std::fflush(out_);
}

}  // namespace streamarc::put
