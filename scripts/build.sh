#!/usr/bin/env bash
# Configures and builds streamarc. Usage: scripts/build.sh [--sanitize|--fuzz|--clang]
#   (default)   build/       RelWithDebInfo
#   --sanitize  build-asan/  the same with AddressSanitizer + UBSan
#   --fuzz      build-fuzz/  clang, libFuzzer targets only
#   --clang     build-clang/ clang, every library and program (no tests, no benchmarks):
#               what clang alone checks, -Wthread-safety on the GUARDED_BY state first
# Every mode treats warnings as errors (STREAMARC_WERROR); a plain `cmake` build does not.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  "") dir=build; flags=() ;;
  --sanitize) dir=build-asan; flags=(-DSTREAMARC_SANITIZE=ON -DSTREAMARC_BENCH=OFF) ;;
  --fuzz) dir=build-fuzz
          flags=(-DSTREAMARC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  --clang) dir=build-clang
           flags=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSTREAMARC_TESTS=OFF
                  -DSTREAMARC_BENCH=OFF) ;;
  *) echo "usage: $0 [--sanitize|--fuzz|--clang]" >&2; exit 2 ;;
esac

# Paths below the checkout are hashed relative to it, so a clone elsewhere (CI's, the fresh
# root's) reuses this machine's compiler cache instead of compiling everything again.
export CCACHE_BASEDIR="$PWD"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$dir" "${generator[@]}" -DSTREAMARC_WERROR=ON "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
echo "build: $dir ready"
