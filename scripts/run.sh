#!/usr/bin/env bash
# Installs what is needed, builds, and starts streamarcd with a demo camera streaming into it.
#
#   bash scripts/run.sh                 # server on 127.0.0.1:8080, data in ./data
#   PORT=9000 DATA_DIR=/srv/arc bash scripts/run.sh
#   DEMO_SECONDS=30 bash scripts/run.sh # stop by itself after 30 s
#
# The demo camera is ffmpeg's test pattern (720p30 H.264 + AAC) pushed live with PutMedia
# into the stream "demo". Ctrl-C stops the camera and then the server, cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh

port=${PORT:-8080}
data=${DATA_DIR:-./data}
seconds=${DEMO_SECONDS:-0}
url=http://127.0.0.1:$port

./build/server/streamarcd --host 127.0.0.1 --port "$port" --data-dir "$data" &
server=$!
camera=
stop() {
  [ -n "$camera" ] && kill "$camera" 2>/dev/null && wait "$camera" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
}
trap stop EXIT INT TERM

for _ in $(seq 100); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "run: streamarcd did not start" >&2; exit 1; }
  sleep 0.1
done

# The stream may exist from an earlier run: ResourceInUseException is fine.
curl -sS -X POST "$url/createStream" \
  -d '{"StreamName":"demo","DataRetentionInHours":24,"MediaType":"video/h264,audio/aac"}' \
  >/dev/null

cat <<MSG

streamarcd is listening on $url (data in $data), with a demo camera streaming into "demo".
Try, in another terminal:
  aws --endpoint-url $url kinesisvideo list-streams      (any access key works)
  sqlite3 $data/index.sqlite 'select count(*) from fragments'
Ctrl-C stops the camera and the server.

MSG

limit=()
[ "$seconds" != 0 ] && limit=(-t "$seconds")
ffmpeg -nostdin -hide_banner -loglevel error -re \
  -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  "${limit[@]}" -c:v libx264 -preset veryfast -tune zerolatency -g 60 -b:v 2M -c:a aac \
  -f matroska -method POST \
  -headers $'x-amzn-stream-name: demo\r\nx-amzn-fragment-acknowledgment-required: 0\r\n' \
  "$url/putMedia" &
camera=$!
wait "$camera" || true
camera=
