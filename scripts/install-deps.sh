#!/usr/bin/env bash
# Installs every Debian package streamarc needs to build, test and run. Idempotent; run as
# root (or with sudo). Nothing is fetched from anywhere but Debian's archive.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev          # libFuzzer targets
  # libraries
  zlib1g-dev
  libsqlite3-dev sqlite3
  libwebsockets-dev nlohmann-json3-dev libssl-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev   # playback remux, frame tap
  libcurl4-openssl-dev                                          # producer SDK upload
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev          # producer capture, sink element
  libgstrtspserver-1.0-dev                                      # the RTSP camera in tests
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg mkvtoolnix curl awscli
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp
  gstreamer1.0-x                    # clockoverlay, in streamarc-put's test pattern (run.sh's camera)
  python3 python3-botocore          # tests: ACK JSON check; SigV4 compared with botocore's signer
  wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
