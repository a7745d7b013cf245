// The machine-readable line every benchmark that bench/run collects prints next to its human
// text, one per figure:
//   FIGURE <TAB> benchmark <TAB> figure <TAB> ours <TAB> reference value <TAB> unit <TAB> reference
// The reference value is "-" when the run has none (then the last field says what the figure
// is held against, e.g. a goal). bench/run turns these lines into one markdown table.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace streamarc::bench {

inline void PrintFigure(const std::string& benchmark, const std::string& figure, double ours,
                        double reference, const std::string& unit,
                        const std::string& reference_name) {
  char ref[64] = "-";
  if (!std::isnan(reference)) std::snprintf(ref, sizeof ref, "%.6g", reference);
  std::printf("FIGURE\t%s\t%s\t%.6g\t%s\t%s\t%s\n", benchmark.c_str(), figure.c_str(), ours, ref,
              unit.c_str(), reference_name.c_str());
  std::fflush(stdout);
}

// A figure with no reference value in this run.
inline void PrintFigure(const std::string& benchmark, const std::string& figure, double ours,
                        const std::string& unit, const std::string& against) {
  PrintFigure(benchmark, figure, ours, std::nan(""), unit, against);
}

}  // namespace streamarc::bench
