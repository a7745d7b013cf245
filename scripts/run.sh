#!/usr/bin/env bash
# Installs what is needed, builds, and starts streamarcd with a demo camera streaming into it.
#
#   bash scripts/run.sh                 # server on 127.0.0.1:8080, data in ./data
#   PORT=9000 DATA_DIR=/srv/arc bash scripts/run.sh
#   DEMO_SECONDS=30 bash scripts/run.sh # stop by itself after 30 s
#
# The demo camera is streamarc-put's test pattern (720p30 H.264 + AAC) pushed live with
# PutMedia into the stream "demo". Ctrl-C stops the camera (after its last fragment is
# persisted) and then the server.
# Exit status: 0 after a clean stop (Ctrl-C, or the end of DEMO_SECONDS); 1 if the server or
# the camera fails to start or stops by itself, with a message saying which.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --no-browser-tests
bash scripts/build.sh

port=${PORT:-8080}
data=${DATA_DIR:-./data}
seconds=${DEMO_SECONDS:-0}
url=http://127.0.0.1:$port

alive() { kill -0 "$1" 2>/dev/null; }
# Ctrl-C reaches a sleep too; its failure is no error here.
pause() { sleep "$1" || true; }

# Sends signal $2 to pid $1, polls until it has exited (SIGKILL after $3 seconds), and sets
# `status` to its exit status.
stop_pid() {
  local pid=$1 sig=$2 deadline=$(($(date +%s) + $3))
  kill "-$sig" "$pid" 2>/dev/null || true
  while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do pause 0.1; done
  if alive "$pid"; then
    echo "run: pid $pid still running $3 s after SIG$sig, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  status=0
  wait "$pid" 2>/dev/null || status=$?
}

# The server runs in its own session so that Ctrl-C in the terminal reaches the camera alone:
# the camera flushes to a server that is still up, and this script stops the server after it.
setsid ./build/server/streamarcd --host 127.0.0.1 --port "$port" --data-dir "$data" &
server=$!
camera=
interrupted=0
cleanup() {
  if [ -n "$camera" ]; then stop_pid "$camera" TERM 60; fi
  if [ -n "$server" ]; then stop_pid "$server" TERM 30; fi
}
trap cleanup EXIT
trap 'interrupted=1' INT TERM HUP

# Reports that $1 (server or camera) has exited, with its status, and exits 1.
died() {
  local rc=0
  if [ "$1" = server ]; then
    wait "$server" || rc=$?
    server=
    echo "run: streamarcd exited with status $rc; its log is above" >&2
    # The camera cannot flush to a server that is gone: do not wait for its 30 s of retries.
    if [ -n "$camera" ]; then stop_pid "$camera" TERM 5; camera=; fi
  else
    wait "$camera" || rc=$?
    camera=
    echo "run: the demo camera (streamarc-put) exited with status $rc; its messages are above" >&2
    echo "     (a GStreamer element reported missing means a package is missing; the packages" \
         "are in scripts/install-deps.sh)" >&2
  fi
  exit 1
}

for _ in $(seq 100); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  alive "$server" || died server
  [ "$interrupted" = 0 ] || exit 130
  pause 0.1
done
curl -fsS "$url/health" >/dev/null || { echo "run: streamarcd does not answer on $url/health" >&2; exit 1; }

# Any key works until SigV4 checking lands; the producer SDK signs with whatever it gets.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-demo} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-demo}

# streamarc-put creates the stream "demo" (24 h retention) if it does not exist yet.
limit=()
[ "$seconds" != 0 ] && limit=(--duration "$seconds")
./build/producer-sdk/streamarc-put --endpoint "$url" --stream demo --retention 24 \
  --test-pattern --audio --width 1280 --height 720 --fps 30 --bitrate 2000 \
  --status-interval 10 "${limit[@]}" &
camera=$!

# Asks for a live session URL of kind $1 (HLS or DASH); prints nothing until the stream has
# a first fragment.
session_url() {
  curl -sS -X POST "$url/get$1StreamingSessionURL" \
    -d "{\"StreamName\":\"demo\",\"PlaybackMode\":\"LIVE\",\"Expires\":43200}" 2>/dev/null |
    sed -n "s/.*\"$1StreamingSessionURL\" *: *\"\\([^\"]*\\)\".*/\\1/p" || true
}

# A live session needs a first fragment: ask for one until the camera has sent it.
hls=
for _ in $(seq 300); do
  hls=$(session_url HLS)
  [ -n "$hls" ] && break
  alive "$server" || died server
  alive "$camera" || died camera
  [ "$interrupted" = 0 ] || exit 130
  pause 0.1
done
[ -n "$hls" ] || { echo "run: the demo camera sent no playable fragment within 30 s" >&2; exit 1; }
dash=$(session_url DASH)

cat <<MSG

streamarcd is listening on $url (data in $data), with a demo camera streaming into "demo"
(streamarc-put's test pattern, 720p30 H.264 + AAC).

Watch it in a browser (the console: streams, live view, timeline, clips):
  $url/
  $url/web/stream.html?name=demo

Live playback in a player (the URLs stay valid for 12 hours):
  HLS   $hls
  DASH  ${dash:-<see get-dash-streaming-session-url>}
ffplay, VLC and mpv play the HLS URL (ffplay '<URL>'); so does Safari.

Try, in another terminal:
  aws --endpoint-url $url kinesisvideo list-streams          (any access key works)
  aws --endpoint-url $url kinesis-video-archived-media list-fragments --stream-name demo
  aws --endpoint-url $url kinesis-video-archived-media get-clip --stream-name demo \\
      --clip-fragment-selector 'FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=$(date -u +%s),EndTimestamp=$(( $(date -u +%s) + 60 ))}' \\
      clip.mp4
Ctrl-C stops the camera (after its last fragment is persisted) and the server.

MSG

# Watch both until one stops or Ctrl-C. Polling (not `wait -n`): bash forgets a background
# job that ended before `wait -n` is called.
while alive "$server" && alive "$camera" && [ "$interrupted" = 0 ]; do pause 0.5; done

if [ "$interrupted" = 1 ]; then
  # The terminal's Ctrl-C has reached the camera already; a TERM does no harm (a second
  # SIGINT would make it quit without flushing).
  echo "run: stopping the demo camera, then streamarcd"
elif ! alive "$server"; then
  died server
elif [ "$seconds" = 0 ]; then
  died camera
fi
stop_pid "$camera" TERM 60
camera_rc=$status
camera=
stop_pid "$server" TERM 30
server_rc=$status
server=
if [ "$camera_rc" != 0 ]; then
  echo "run: the demo camera exited with status $camera_rc (4: some fragments were never" \
       "PERSISTED); its messages are above" >&2
  exit 1
fi
if [ "$server_rc" != 0 ]; then
  echo "run: streamarcd exited with status $server_rc while stopping; its log is above" >&2
  exit 1
fi
echo "run: stopped cleanly; the recording stays in $data"
