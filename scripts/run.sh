#!/usr/bin/env bash
# Installs what is needed, builds, and starts streamarcd with a demo camera streaming into it.
#
#   bash scripts/run.sh                 # server on 127.0.0.1:8080, data in ./data
#   PORT=9000 DATA_DIR=/srv/arc bash scripts/run.sh
#   DEMO_SECONDS=30 bash scripts/run.sh # stop by itself after 30 s
#
# The demo camera is streamarc-put's test pattern (720p30 H.264 + AAC) pushed live with
# PutMedia into the stream "demo". Ctrl-C stops the camera and then the server, cleanly.
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

# Any key works until SigV4 checking lands; the producer SDK signs with whatever it gets.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-demo} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-demo}

# streamarc-put creates the stream "demo" (24 h retention) if it does not exist yet.
limit=()
[ "$seconds" != 0 ] && limit=(--duration "$seconds")
./build/producer-sdk/streamarc-put --endpoint "$url" --stream demo --retention 24 \
  --test-pattern --audio --width 1280 --height 720 --fps 30 --bitrate 2000 \
  --status-interval 10 "${limit[@]}" &
camera=$!

# A live HLS session needs a first fragment: ask for one once the camera has sent it.
hls=
for _ in $(seq 50); do
  hls=$(curl -sS -X POST "$url/getHLSStreamingSessionURL" \
    -d '{"StreamName":"demo","PlaybackMode":"LIVE","Expires":43200}' 2>/dev/null |
    sed -n 's/.*"HLSStreamingSessionURL" *: *"\([^"]*\)".*/\1/p' || true)
  [ -n "$hls" ] && break
  kill -0 "$camera" 2>/dev/null || break
  sleep 0.2
done

cat <<MSG

streamarcd is listening on $url (data in $data), with a demo camera streaming into "demo"
(streamarc-put's test pattern, 720p30 H.264 + AAC). Try, in another terminal:
  ffplay '${hls:-<URL from get-hls-streaming-session-url>}'
  aws --endpoint-url $url kinesisvideo list-streams          (any access key works)
  aws --endpoint-url $url kinesis-video-archived-media list-fragments --stream-name demo
  aws --endpoint-url $url kinesis-video-archived-media get-clip --stream-name demo \\
      --clip-fragment-selector 'FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=$(date -u +%s),EndTimestamp=$(( $(date -u +%s) + 60 ))}' \\
      clip.mp4
Ctrl-C stops the camera (after its last fragment is persisted) and the server.

MSG

wait "$camera" || true
camera=
