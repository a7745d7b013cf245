#!/usr/bin/env bash
# Runs clang-tidy-14 (.clang-tidy) over the libraries and programs, not the tests or the
# benchmarks (they would triple its time), with every finding an error. clang's own warnings
# come with it (-Wall -Wextra from the compile commands, plus -Wthread-safety for the
# GUARDED_BY annotations of common/mutex.h), so no separate clang build is needed. Needs build/'s
# compile_commands.json: run scripts/build.sh first. Usage: scripts/check-tidy.sh [file...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/compile_commands.json ] || { echo "check-tidy: run scripts/build.sh first" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(python3 -c '
import json, os
top = os.getcwd() + "/"
for f in sorted({e["file"] for e in json.load(open("build/compile_commands.json"))}):
    rel = f[len(top):] if f.startswith(top) else f
    if not rel.startswith(("tests/", "bench/", "fuzz/", "build")) and not rel.startswith("/"):
        print(rel)')
fi
# GCC's warning flags in the compile commands mean nothing to clang: ignore those.
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy-14 -p build --quiet \
  --warnings-as-errors='*' --extra-arg=-Wno-unknown-warning-option \
  --extra-arg=-Wthread-safety 2>/dev/null
echo "check-tidy: ${#files[@]} files clean"
