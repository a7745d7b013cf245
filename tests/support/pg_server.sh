#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests that run the archive's index on PostgreSQL
# (tests/archive: the "pg." tests): a new cluster in a temporary directory, listening on a free
# loopback port with fsync off, stopped and deleted afterwards. ctest runs it as a fixture.
#   tests/support/pg_server.sh start STATE   # writes STATE/url: postgresql://streamarc@127.0.0.1:PORT/
#   tests/support/pg_server.sh stop STATE
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user that
# Debian's postgresql package creates (scripts/install-deps.sh installs it).
set -euo pipefail

cmd=${1:-} state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: pg_server.sh start|stop STATE_DIR" >&2
  exit 2
fi
state=$(realpath -m "$state")
# The server's programs run as postgres, which may not be able to enter the caller's
# directory (a checkout under /root): start them from /.
cd /
bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg_server: no PostgreSQL server under /usr/lib/postgresql (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$bin/initdb"; then
  echo "pg_server: the postgres user cannot run $bin/initdb: is every directory on the way," \
    "/ included, readable by all (mode 755)?" >&2
  exit 1
fi

stop() {
  [ -f "$state/datadir" ] || return 0
  local data
  data=$(cat "$state/datadir")
  if [ -f "$data/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf --one-file-system "$data"
  rm -f "$state/datadir" "$state/url"
}

case $cmd in
  start)
    mkdir -p "$state"
    stop  # a server an interrupted run left behind
    # Outside the build tree: the postgres user may not be able to enter it (/root is 0700).
    data=$(mktemp -d /tmp/streamarc-pg.XXXXXX)
    echo "$data" >"$state/datadir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
    as_owner "$bin/initdb" -D "$data/data" -U streamarc --auth=trust --no-sync -E UTF8 \
      --locale=C >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; exit 1; }
    # A random port, again if it is taken.
    for _ in $(seq 1 20); do
      port=$((20000 + RANDOM % 30000))
      if as_owner "$bin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null; then
        echo "postgresql://streamarc@127.0.0.1:$port/" >"$state/url"
        echo "pg_server: PostgreSQL on 127.0.0.1:$port (data in $data)"
        exit 0
      fi
    done
    cat "$data/server.log" >&2
    echo "pg_server: the server did not start" >&2
    exit 1
    ;;
  stop) stop ;;
  *) echo "usage: pg_server.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
