#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 on 127.0.0.1 in a temporary folder, for the tests.
#   source scripts/postgres.sh start   -> exports REGPILOT_TEST_POSTGRES_URL, PG_TMP
#   scripts/postgres.sh stop DIR
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  echo "PostgreSQL binaries (initdb, pg_ctl) not found" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local bin dir port
  bin=$(pg_bin)
  dir=$(mktemp -d /tmp/regpilot-pg.XXXXXX)
  port=$(free_port)
  # initdb refuses to run as root: run the server as the unprivileged 'nobody' when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown nobody "$dir"
    as=(runuser -u nobody --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  export PG_TMP="$dir" PG_BIN="$bin"
  export REGPILOT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_stop() {
  local dir=$1 bin
  bin=$(pg_bin)
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u nobody --)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) pg_start ;;
  stop) pg_stop "${2:?usage: postgres.sh stop DIR}" ;;
  *) echo "usage: source scripts/postgres.sh start | scripts/postgres.sh stop DIR" >&2; return 2 2>/dev/null || exit 2 ;;
esac
