#!/usr/bin/env bash
# Runs every libFuzzer target built by scripts/build.sh --fuzz.
#   scripts/fuzz.sh --smoke        each target for FUZZ_SMOKE_SECONDS (default 6) s, one per
#                                  core at a time
#   scripts/fuzz.sh --long [SECS]  each target for SECS (default 3600) s, one per core at a
#                                  time
# Corpora grow in build-fuzz/corpus/<target>/ and are kept between runs; crashes are
# written to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:---smoke}
case "$mode" in
  --smoke) seconds=${FUZZ_SMOKE_SECONDS:-6} ;;
  --long) seconds=${2:-3600} ;;
  *) echo "usage: $0 [--smoke|--long [SECONDS]]" >&2; exit 2 ;;
esac

[ -d build-fuzz/fuzz ] || bash scripts/build.sh --fuzz
mkdir -p build-fuzz/crashes
# Scratch files of the targets that need some (the config file, the control plane's archive):
# in memory when /dev/shm is there, and removed at the end.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$PWD/build-fuzz
TMPDIR=$(mktemp -d "$shm/streamarc-fuzz.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

# Seeds made at run time with real tools: small MKV/WebM files, cut short so the fuzzer
# mutates headers and blocks rather than megabytes of payload. The first byte of each
# seed is the fuzzer's piece-size selector.
seed_mkv() {
  local dir=$1 tmp
  tmp=$(mktemp -d)
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=10 -f lavfi \
    -i sine=sample_rate=8000 -t 1 -c:v libx264 -g 5 -c:a aac -f matroska "$tmp/a.mkv"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=10 -t 1 \
    -c:v libx264 -g 5 -f matroska pipe:1 > "$tmp/b.mkv"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=10 -f lavfi \
    -i sine=sample_rate=48000 -t 1 -c:v libvpx -deadline realtime -c:a libopus -f webm "$tmp/c.webm"
  gst-launch-1.0 -q videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! \
    x264enc ! matroskamux streamable=true ! filesink location="$tmp/d.mkv"
  local i=0
  for f in "$tmp"/*; do
    for sel in '\x00' '\x01' '\x07'; do
      { printf '%b' "$sel"; head -c 8192 "$f"; } > "$dir/seed-$i"
      i=$((i + 1))
    done
  done
  rm -rf "$tmp"
}

# One target: its corpus seeded on first use, then `seconds` of fuzzing. Prints its figures,
# or its log's tail and a non-zero status when it found a crash.
run_target() {
  local bin=$1 name corpus
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name
  if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    if [ -d "fuzz/seeds/$name" ]; then cp "fuzz/seeds/$name"/* "$corpus"/; fi
    case "$name" in mkv_reader_fuzzer|fragmenter_fuzzer|remux_fuzzer) seed_mkv "$corpus" ;; esac
  fi
  # Run inside build-fuzz, where crashes/ is.
  if ! (cd build-fuzz && "../$bin" "../$corpus" -max_total_time="$seconds" -max_len=16384 \
       -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
       -artifact_prefix=crashes/"$name"- > "$name.log" 2>&1); then
    echo "fuzz: $name FAILED, see build-fuzz/$name.log and build-fuzz/crashes/" >&2
    tail -40 "build-fuzz/$name.log" >&2
    return 1
  fi
  # Coverage when the corpus was loaded, then at the end: what this run added.
  echo "fuzz: $name: $(grep -E 'stat::number_of_executed_units' "build-fuzz/$name.log" | tail -1)," \
       "inited $(grep -E 'INITED' "build-fuzz/$name.log" | grep -oE 'cov: [0-9]+ ft: [0-9]+' | head -1)," \
       "end $(grep -oE 'cov: [0-9]+ ft: [0-9]+' "build-fuzz/$name.log" | tail -1)," \
       "corpus $(find "$corpus" -type f | wc -l) files"
}

# Every core busy with one target each (each is single-threaded). libFuzzer's own -jobs mode
# would scatter each worker's figures over fuzz-N.log files that the next target overwrites.
at_once=$(nproc)
echo "fuzz: every target for ${seconds}s, $at_once at a time"
status=0
running=0
for bin in build-fuzz/fuzz/*_fuzzer; do
  run_target "$bin" &
  running=$((running + 1))
  if [ "$running" -ge "$at_once" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
