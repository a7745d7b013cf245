#!/usr/bin/env bash
# Installs every Debian package streamarc needs to build, test and run. Idempotent; run as
# root (or with sudo). `--no-browser-tests` leaves out the npm modules that only the browser
# tests use (run.sh passes it); the browser console's player (web/: hls.js, which streamarcd
# serves) is installed either way. Nothing is fetched from anywhere but Debian's archive, and
# npm's registry for those players and the tests' S3 server (web/, tests/browser and tests/s3,
# each pinned by its package-lock.json). `--bench` installs only what bench/run needs beyond
# that list: nginx with Debian's RTMP module, for the peers benchmark (see bench_extras below).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev          # libFuzzer targets, the -Wthread-safety build
  clang-format clang-tidy           # the style checks of scripts/test.sh
  # libraries
  zlib1g-dev
  libdeflate-dev                    # archive/: record checksums (a faster CRC-32 than zlib's)
  libsqlite3-dev sqlite3
  libpq-dev                         # archive/: the index in PostgreSQL (--index postgresql://...)
  libglib2.0-dev                    # archive/: Unicode classes of tag characters
  libwebsockets-dev nlohmann-json3-dev libssl-dev
  libuv1-dev libwebsockets-evlib-uv   # the HTTP front's event loop, and lws's plugin for it
  libnghttp2-dev                    # HTTP/2 on the TLS port (server/http2_conn.h)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev   # playback remux, frame tap
  libcurl4-openssl-dev                                          # producer SDK upload
  libxml2-dev                                                   # objectstore/: S3's XML replies
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev          # producer capture, sink element
  libgstrtspserver-1.0-dev                                      # the RTSP camera in tests
  libopencv-dev                                                 # frame tap (cv::Mat), samples
  pybind11-dev python3-dev python3-numpy python3-opencv         # the Python binding, its example
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg mkvtoolnix curl awscli
  openssl                           # tests: a CA and server certificates for the TLS tests
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp
  gstreamer1.0-x                    # clockoverlay, in streamarc-put's test pattern (run.sh's camera)
  python3 python3-botocore          # tests: ACK JSON check; SigV4 compared with botocore's signer
  wrk
  postgresql                        # tests: the index on a real PostgreSQL server they start
  chromium nodejs                   # browser tests: dash.js, hls.js in headless Chromium
                                    # (nodejs's npm also installs the console's hls.js)
)
# Debian's npm, unless the nodejs installed brings its own (NodeSource's does, and conflicts).
command -v npm >/dev/null || PACKAGES+=(npm)

# `npm ci` in a folder of the checkout, again only when its lock file changed since the last.
npm_modules() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$1"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.streamarc-lock"; then
    echo "install-deps: npm ci in $1"
    # (explicit returns: under `||` in the caller, set -e does not stop a failed step)
    npm ci --prefix "$dir" --no-audit --no-fund >/dev/null || return 1
    cp "$dir/package-lock.json" "$dir/node_modules/.streamarc-lock" || return 1
  fi
}

# The console's hls.js (web/) always; the browser tests' players and the objectstore tests'
# S3 server (s3rver) unless --no-browser-tests.
# Running the server (run.sh, --no-browser-tests) survives an npm registry it cannot reach
# (e.g. behind a TLS-inspecting proxy whose CA npm does not know): the server, the demo camera
# and every API work without hls.js, only the console's video does not; say so and go on.
browser_modules() {
  if [ "${1:-}" = "--no-browser-tests" ]; then
    npm_modules web || echo "install-deps: WARNING: 'npm ci --prefix web' failed (above): the" \
      "console at / shows no video until it succeeds; everything else works" >&2
    return 0
  fi
  npm_modules web
  npm_modules tests/browser
  npm_modules tests/s3  # s3rver, the S3 server of the objectstore tests
}

# promtool (checks /metrics' text format in the e2e test) from Debian's prometheus package,
# without installing the package: that would also start a Prometheus server (and its node
# exporter) as a service on the user's machine. promtool needs only libc.
promtool_from_debian() {
  command -v promtool >/dev/null && return 0
  local tmp
  tmp=$(mktemp -d) || return 1
  # apt-get download drops root for the _apt user, who must be able to write there.
  if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$tmp" || return 1; fi
  echo "install-deps: promtool from Debian's prometheus package"
  # (with every package already present, the package lists may never have been fetched)
  (cd "$tmp" && { $SUDO apt-get download -qq prometheus 2>/dev/null ||
    { $SUDO apt-get update -qq && $SUDO apt-get download -qq prometheus; }; }) || return 1
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool || return 1
  $SUDO install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool || return 1
  $SUDO rm -rf "$tmp"
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

# nginx and libnginx-mod-rtmp for bench/peers_bench, unpacked from Debian's packages into
# $BENCH_NGINX without installing them: installing nginx would start (and enable at boot) a web
# server on port 80 of the user's machine; the benchmark starts its own on a temporary config
# and port. Its libraries (libc6 libcrypt1 libpcre2-8-0 libssl3 zlib1g) are installed as usual.
BENCH_NGINX=/usr/local/lib/streamarc-bench/nginx
bench_extras() {
  local libs=(libcrypt1 libpcre2-8-0 libssl3 zlib1g) lib tmp
  for lib in "${libs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q 'install ok installed'; then
      $SUDO apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null
      break
    fi
  done
  if [ -x "$BENCH_NGINX/usr/sbin/nginx" ] &&
    [ -f "$BENCH_NGINX/usr/lib/nginx/modules/ngx_rtmp_module.so" ]; then
    echo "install-deps: nginx and its RTMP module present in $BENCH_NGINX"
    return 0
  fi
  tmp=$(mktemp -d)
  if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$tmp"; fi
  echo "install-deps: nginx and libnginx-mod-rtmp from Debian, unpacked into $BENCH_NGINX"
  (cd "$tmp" && { $SUDO apt-get download -qq nginx libnginx-mod-rtmp 2>/dev/null ||
    { $SUDO apt-get update -qq && $SUDO apt-get download -qq nginx libnginx-mod-rtmp; }; })
  $SUDO mkdir -p "$BENCH_NGINX"
  local deb
  for deb in "$tmp"/nginx_*.deb "$tmp"/libnginx-mod-rtmp_*.deb; do
    $SUDO dpkg-deb -x "$deb" "$BENCH_NGINX"
  done
  $SUDO rm -rf "$tmp"
}

if [ "${1:-}" = "--bench" ]; then
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    echo "install-deps: run as root: --bench unpacks Debian's nginx and libnginx-mod-rtmp" \
      "into $BENCH_NGINX" >&2
    exit 1
  fi
  bench_extras
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  promtool_from_debian
  browser_modules "$@"
  exit 0
fi

if [ -n "$SUDO" ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
promtool_from_debian
browser_modules "$@"
echo "install-deps: done"
