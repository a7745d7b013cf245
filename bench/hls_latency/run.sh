#!/usr/bin/env bash
# Glass-to-glass latency of LL-HLS vs plain HLS in headless Chromium (see hls_latency.js).
# Usage: bench/hls_latency/run.sh [--seconds S]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d tests/browser/node_modules ] || npm ci --prefix tests/browser
STREAMARCD=${STREAMARCD:-build/server/streamarcd} exec node bench/hls_latency/hls_latency.js "$@"
