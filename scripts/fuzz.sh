#!/usr/bin/env bash
# Runs every libFuzzer target built by scripts/build.sh --fuzz.
#   scripts/fuzz.sh --smoke        each target for FUZZ_SMOKE_SECONDS (default 20) s
#   scripts/fuzz.sh --long [SECS]  each target for SECS (default 3600) s, 2 jobs
# Corpora grow in build-fuzz/corpus/<target>/ and are kept between runs; crashes are
# written to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:---smoke}
case "$mode" in
  --smoke) seconds=${FUZZ_SMOKE_SECONDS:-20}; jobs=1 ;;
  --long) seconds=${2:-3600}; jobs=2 ;;
  *) echo "usage: $0 [--smoke|--long [SECONDS]]" >&2; exit 2 ;;
esac

[ -d build-fuzz/fuzz ] || bash scripts/build.sh --fuzz
mkdir -p build-fuzz/crashes

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

status=0
for bin in build-fuzz/fuzz/*_fuzzer; do
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name
  if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    if [ -d "fuzz/seeds/$name" ]; then cp "fuzz/seeds/$name"/* "$corpus"/; fi
    case "$name" in mkv_reader_fuzzer|fragmenter_fuzzer|remux_fuzzer) seed_mkv "$corpus" ;; esac
  fi
  echo "fuzz: $name for ${seconds}s"
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  # Run inside build-fuzz: libFuzzer's parallel jobs write fuzz-N.log to the working dir.
  if ! (cd build-fuzz && "../$bin" "../$corpus" -max_total_time="$seconds" -max_len=16384 \
       -rss_limit_mb=1024 -timeout=10 "${parallel[@]}" -print_final_stats=1 \
       -artifact_prefix=crashes/"$name"- > "$name.log" 2>&1); then
    echo "fuzz: $name FAILED, see build-fuzz/$name.log and build-fuzz/crashes/" >&2
    tail -40 "build-fuzz/$name.log" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "build-fuzz/$name.log" | tail -2 || true
  fi
done
exit $status
