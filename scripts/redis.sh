#!/usr/bin/env bash
# Starts a throwaway Redis on 127.0.0.1 in a temporary folder, for the tests. Installs
# redis-server from apt when it is missing and we are root.
#   source scripts/redis.sh start   -> exports REGPILOT_TEST_REDIS_URL, REDIS_TMP
#   scripts/redis.sh stop DIR
set -euo pipefail

redis_bin() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "redis-server not found; install it (apt-get install redis-server) or run as root" >&2
      return 1
    fi
    echo "installing redis-server (apt)" >&2
    local log
    log=$(mktemp)
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; } \
      >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
    rm -f "$log"
    # Where an init system started the packaged service, stop it: the tests start their own.
    if command -v service >/dev/null; then service redis-server stop >/dev/null 2>&1 || true; fi
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

redis_start() {
  local dir port i
  redis_bin
  dir=$(mktemp -d /tmp/regpilot-redis.XXXXXX)
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/server.log" >/dev/null \
    || { cat "$dir/server.log" >&2 2>/dev/null; redis_stop "$dir"; return 1; }
  for i in $(seq 1 100); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
    if [ "$i" = 100 ]; then
      echo "Redis did not answer PING on port $port" >&2
      cat "$dir/server.log" >&2
      redis_stop "$dir"
      return 1
    fi
    sleep 0.1
  done
  export REDIS_TMP="$dir"
  export REGPILOT_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

redis_stop() {
  local dir=$1 pid
  if [ -f "$dir/redis.pid" ]; then
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    # Wait for it to exit so the folder can go.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) redis_start ;;
  stop) redis_stop "${2:?usage: redis.sh stop DIR}" ;;
  *) echo "usage: source scripts/redis.sh start | scripts/redis.sh stop DIR" >&2; return 2 2>/dev/null || exit 2 ;;
esac
