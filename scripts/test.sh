#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test. Usage: scripts/test.sh [--sanitize]
# Without a flag: the format check, the normal build's suite, clang-tidy over the
# libraries and programs (clang's own warnings, -Wthread-safety among them, as errors too) and
# a short libFuzzer smoke run of each fuzz target. With --sanitize: the same suite built with
# AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's time, printed at the end: CI has a budget, and this says where it goes.
timings=()
step() {
  local start=$SECONDS
  "$@"
  timings+=("$((SECONDS - start)) s  ${*}")
}
report() {
  echo "test.sh: step times"
  printf '  %s\n' "${timings[@]}"
}

step bash scripts/install-deps.sh

if [ "${1:-}" = "--sanitize" ]; then
  step bash scripts/build.sh --sanitize
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
  # The e2e tests again with the index in PostgreSQL are left out here (CI's time): the same
  # server code as on SQLite, and pg.cc runs under the sanitizers in the archive's "pg." tests.
  # So is the minute without a bucket (TiersTest.BucketAway...): the store's retries run under
  # the sanitizers in TieredStoreTest.UnreachableBucket...
  step ctest --test-dir build-asan -j "$(nproc)" --output-on-failure --timeout 900 \
    -LE postgresql-e2e -E '^TiersTest[.]BucketAway'
  report
  exit 0
fi

step bash scripts/check-format.sh
step bash scripts/build.sh --fuzz
step bash scripts/fuzz.sh --smoke
step bash scripts/build.sh
step bash scripts/check-tidy.sh
step ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
report
