#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format-14 makes of it (.clang-format).
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z '*.cc' '*.h' | xargs -0 clang-format-14 --dry-run --Werror
echo "check-format: every file is formatted"
