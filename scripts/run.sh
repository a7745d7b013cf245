#!/usr/bin/env bash
# Installs what is needed, builds, and starts streamarc with a demo camera.
#
# Today the server (streamarcd, issue [server]) has not landed yet, so this starts the part
# of the ingest path that exists: a live demo camera (ffmpeg's test pattern, H.264 + AAC in
# Matroska, in real time) piped into streamarc-mkvdump, which parses the stream with the
# server's push reader and prints each cluster as it arrives. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/build.sh

seconds=${DEMO_SECONDS:-0}   # 0: until Ctrl-C
limit=()
[ "$seconds" != 0 ] && limit=(-t "$seconds")
echo "run: demo camera -> streamarc-mkvdump (Ctrl-C to stop)"
ffmpeg -nostdin -hide_banner -loglevel error -re \
  -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  "${limit[@]}" -c:v libx264 -preset veryfast -tune zerolatency -g 60 -b:v 2M -c:a aac \
  -f matroska - | ./build/samples/streamarc-mkvdump
