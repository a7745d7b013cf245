#!/usr/bin/env bash
# A throwaway S3 server for the objectstore tests: s3rver (npm, pinned by tests/s3/package-lock.json;
# scripts/install-deps.sh installs it) on a free loopback port with its data in a temporary
# directory, stopped and deleted afterwards. ctest runs it as a fixture. Its credentials are
# s3rver's built-in S3RVER / S3RVER.
#   tests/support/s3_server.sh start STATE   # writes STATE/endpoint: http://127.0.0.1:PORT
#   tests/support/s3_server.sh stop STATE
# S3_PORT=N starts it on that port instead (a test bringing "the same" bucket back after an
# outage).
set -euo pipefail

cmd=${1:-} state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: s3_server.sh start|stop STATE_DIR" >&2
  exit 2
fi
state=$(realpath -m "$state")
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/s3/node_modules/s3rver/bin/s3rver.js"

stop() {
  if [ -f "$state/pid" ]; then
    local pid
    pid=$(cat "$state/pid")
    # Only our s3rver: the pid may have been reused since an interrupted run.
    if grep -qs s3rver "/proc/$pid/cmdline"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/datadir" ]; then
    rm -rf --one-file-system "$(cat "$state/datadir")"
  fi
  rm -f "$state/pid" "$state/datadir" "$state/endpoint"
}

case $cmd in
  start)
    if [ ! -f "$bin" ]; then
      echo "s3_server: no s3rver at $bin (scripts/install-deps.sh installs it)" >&2
      exit 1
    fi
    command -v node >/dev/null || { echo "s3_server: no node (scripts/install-deps.sh)" >&2; exit 1; }
    mkdir -p "$state"
    stop  # a server an interrupted run left behind
    data=$(mktemp -d /tmp/streamarc-s3.XXXXXX)
    echo "$data" >"$state/datadir"
    log="$state/s3rver.log"
    # s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 keeps in its
    # legacy provider: without it every truncated listing is a 500.
    node_flags=()
    if node --openssl-legacy-provider -e '' 2>/dev/null; then node_flags=(--openssl-legacy-provider); fi
    # Port 0: the kernel picks a free port, which s3rver prints ("S3rver listening on
    # 127.0.0.1:PORT"; --silent quiets only its request log). setsid and the redirections let
    # ctest's start test end while the server runs on.
    setsid node "${node_flags[@]}" "$bin" --directory "$data" --address 127.0.0.1 --port "${S3_PORT:-0}" \
      --silent </dev/null >"$log" 2>&1 &
    echo $! >"$state/pid"
    port=""
    for _ in $(seq 1 300); do
      port=$(sed -n 's/^S3rver listening on 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$log")
      [ -n "$port" ] && break
      kill -0 "$(cat "$state/pid")" 2>/dev/null || break
      sleep 0.1
    done
    # Listening is not yet answering: wait for a reply (403/200 both mean it is up).
    if [ -n "$port" ]; then
      for _ in $(seq 1 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
          echo "http://127.0.0.1:$port" >"$state/endpoint"
          echo "s3_server: s3rver on 127.0.0.1:$port (data in $data)"
          exit 0
        fi
        sleep 0.1
      done
    fi
    cat "$log" >&2
    echo "s3_server: s3rver did not start" >&2
    stop
    exit 1
    ;;
  stop) stop ;;
  *) echo "usage: s3_server.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
