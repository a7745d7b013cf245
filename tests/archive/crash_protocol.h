// What the crash-test child (crash_child.cc) and parent (crash_test.cc) share: the line
// the child writes for every fragment reported durable, and how its bytes are made.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace streamarc::archive::testing {

inline constexpr int kCrashStreams = 4;
inline constexpr int kCrashRetentionHours = 87600;

inline std::string CrashStreamName(int i) { return "crash-" + std::to_string(i); }

// The fragment bytes: reproducible from (seed, size).
inline std::string CrashBytes(uint64_t seed, size_t size) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

// The child first writes "ready\n" once it has opened (recovered) the archive, then
// "<stream> <number> <seed> <size> <producer_us>\n", one write(2) per durable fragment.
inline constexpr const char* kReadyLine = "ready";
struct DurableLine {
  std::string stream, number;
  unsigned long long seed = 0;
  size_t size = 0;
  long long producer_us = 0;
};

inline bool ParseDurableLine(const std::string& line, DurableLine* out) {
  char stream[300], number[64];
  int n = std::sscanf(line.c_str(), "%299s %63s %llu %zu %lld", stream, number, &out->seed,
                      &out->size, &out->producer_us);
  if (n != 5) return false;
  out->stream = stream;
  out->number = number;
  return true;
}

}  // namespace streamarc::archive::testing
