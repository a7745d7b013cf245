#!/usr/bin/env bash
# Runs a command from the README on a fresh, minimal Debian 12 root, the way a newcomer's
# machine meets it: nothing installed but what scripts/install-deps.sh installs. A machine
# that has been used for a while has packages the project never asked for, so a green run
# there can hide a missing install step; CI (.ci/run) runs the suite here for that reason.
#
#   bash scripts/fresh-root.sh                                 # bash scripts/test.sh
#   bash scripts/fresh-root.sh 'DEMO_SECONDS=20 bash scripts/run.sh'
#   KEEP=1 bash scripts/fresh-root.sh ...                      # keep the root to look inside
#
# Run it as root. It copies the COMMITTED tree (a clone of HEAD, as CI sees it) into a new
# Debian 12 root made with debootstrap (minbase), mounts /proc, /sys and /dev there, and runs
# the command inside with a clean environment. Cached under $FRESH_ROOT_CACHE (default
# /var/cache/streamarc-fresh-root): the pristine root as a tarball (debootstrap runs once) and
# the .deb files apt downloads. Exit status: the command's, or 125 if the root cannot be made
# here (not root, no debootstrap, mounts refused...), which .ci/run tells apart.
set -eEuo pipefail
cd "$(dirname "$0")/.."

in_setup=1
trap 'if [ "$in_setup" = 1 ]; then echo "fresh-root: cannot make the root (line $LINENO)" >&2; exit 125; fi' ERR

cmd=${1:-bash scripts/test.sh}
top=$(git rev-parse --show-toplevel)
[ "$(id -u)" = 0 ] || { echo "fresh-root: run it as root (it uses debootstrap, mount, chroot)" >&2; exit 125; }

cache=${FRESH_ROOT_CACHE:-/var/cache/streamarc-fresh-root}
tarball=$cache/bookworm-minbase.tar
mkdir -p "$cache/debs/partial"

if [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "fresh-root: installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  # The mirror and suites this machine's apt uses (deb822 first, then the one-line format).
  sources=/etc/apt/sources.list.d/debian.sources
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || { echo "fresh-root: no Debian mirror in this machine's apt sources" >&2; exit 125; }
  stage=$(mktemp -d /var/tmp/streamarc-root-stage.XXXXXX)
  echo "fresh-root: making a minimal Debian 12 root from $mirror (once; log in $cache/debootstrap.log)"
  if ! debootstrap --variant=minbase bookworm "$stage" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    echo "fresh-root: debootstrap failed, see $cache/debootstrap.log" >&2
    rm -rf --one-file-system "$stage"
    exit 125
  fi
  # Same package sources as this machine, security updates included.
  if [ -f "$sources" ]; then
    cp "$sources" "$stage/etc/apt/sources.list.d/" && rm -f "$stage/etc/apt/sources.list"
  fi
  tar -C "$stage" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf --one-file-system "$stage"
fi

root=$(mktemp -d /var/tmp/streamarc-root.XXXXXX)
mounted=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local i proc
  # Processes still running in the root (the command was interrupted) hold its mounts and
  # would see its files deleted under them: they go first.
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] || continue
    kill -KILL "${proc#/proc/}" 2>/dev/null || true
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" || true; done
  if [ "${KEEP:-0}" = 1 ]; then
    echo "fresh-root: root kept at $root (nothing mounted in it any more)"
    return
  fi
  # Never delete through a mount that is still there (/dev, the host's ccache).
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-root: something is still mounted under $root; not deleting it" >&2
    return
  fi
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
bind() {  # bind SOURCE TARGET-INSIDE-ROOT [mount options...]
  local src=$1 dst=$root$2
  shift 2
  mkdir -p "$dst"
  mount "$@" "$src" "$dst"
  mounted+=("$dst")
}

# Numeric ids: the root's system users (_apt...) need not have this machine's uids.
tar -C "$root" --numeric-owner -xf "$tarball"
# mktemp made the root (and debootstrap's stage, whose mode the tarball keeps) 0700; a Debian
# machine's / is 0755, and users other than root (the tests' PostgreSQL runs as postgres)
# must be able to reach their programs.
chmod 755 "$root"
# The project sits at the same path as here, so that compile commands (and with them the
# ccache keys) are the same inside and outside.
git clone -q "$top" "$root$top"
head=$(git -C "$root$top" rev-parse --short HEAD)
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Like resolv.conf, this machine's trust for its network goes in: where the package registries
# are reached through a TLS-inspecting proxy, npm inside the root needs the proxy's CA, which
# no Debian package brings. Node reads it from NODE_EXTRA_CA_CERTS (set below if present).
extra_ca=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/streamarc"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/streamarc/host-ca.crt"
  extra_ca=(NODE_EXTRA_CA_CERTS=/etc/streamarc/host-ca.crt)
fi
bind proc /proc -t proc
bind /sys /sys --bind
bind /dev /dev --bind
bind /dev/pts /dev/pts --bind
bind tmpfs /dev/shm -t tmpfs
bind "$cache/debs" /var/cache/apt/archives --bind
# apt downloads as _apt
chroot "$root" chown _apt:root /var/cache/apt/archives/partial /var/lib/apt/lists/partial

# The compiler cache is this machine's, shared through a bind mount so that a run costs a
# warm build, not a cold one. It cannot hide a missing package: ccache only stands in for a
# compile whose every input it can still hash, so a missing header makes it run the compiler,
# which fails; configuring (find_package, pkg-config), linking and the tests' programs,
# GStreamer elements and Python modules never go through it.
ccache_dir=${CCACHE_DIR:-$(ccache -k cache_dir 2>/dev/null || echo "$HOME/.cache/ccache")}
mkdir -p "$ccache_dir"
bind "$ccache_dir" /var/cache/ccache --bind

echo "fresh-root: running '$cmd' on a fresh Debian 12 ($head)"
start=$(date +%s)
in_setup=0
rc=0
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 CI=true CCACHE_DIR=/var/cache/ccache "${extra_ca[@]}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "cd '$top' && $cmd" </dev/null || rc=$?
echo "fresh-root: exit status $rc after $(($(date +%s) - start)) s"
exit $rc
