#!/usr/bin/env bash
# Authenticated GET /api/health throughput with rate limiting and usage recording on (this
# tree) versus the same server without them (BASE_REV: the last commit before they existed),
# measured in one run, alternating A/B/A/B, each server pinned to core 0 and wrk to core 1.
#
#   bench/request-path.sh                  # builds both release binaries if needed
#   BASE_BIN=/path/to/old/regpilot ROUNDS=3 DURATION=10s CONNS=32 bench/request-path.sh
#
# Prints one line per run and the ratio of the medians. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_REV="${BASE_REV:-8cd9b94}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-32}"

if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
cargo build --release --quiet
head_bin="$PWD/target/release/regpilot"
base_bin="${BASE_BIN:-}"
work="$(mktemp -d)"
cleanup() { pkill -f "regpilot serve --listen 127.0.0.1:1818" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "$base_bin" ]; then
  git worktree add -f "$work/base" "$BASE_REV" >/dev/null
  (cd "$work/base" && cargo build --release --quiet)
  base_bin="$work/base/target/release/regpilot"
fi

pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# One server: a fresh SQLite store, an enterprise project with a burst no run reaches (so every
# request is admitted and does the full limiter + recorder work), one production key.
run() {
  local bin="$1" port="$2" dir
  dir="$(mktemp -d -p "$work")"
  export REGPILOT_DATABASE_URL="sqlite://$dir/r.db"
  local pid key
  pid=$("$bin" project create --name Bench --plan enterprise --burst 1000000000 --json | sed 's/.*"id":"\([^"]*\)".*/\1/')
  key=$("$bin" key create --project "$pid" --type gateway --env prod --name bench --json | sed 's/.*"secret":"\([^"]*\)".*/\1/')
  if command -v taskset >/dev/null; then
    RUST_LOG=warn taskset -c 0 "$bin" serve --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  else
    RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  fi
  local server=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  pin 1 wrk -t1 -c"$CONNS" -d2s -H "X-API-Key: $key" "http://127.0.0.1:$port/api/health" >/dev/null
  pin 1 wrk -t1 -c"$CONNS" -d"$DURATION" -H "X-API-Key: $key" "http://127.0.0.1:$port/api/health" \
    | awk '/Requests\/sec/ {print $2}'
  kill -TERM "$server"
  wait "$server" 2>/dev/null || true
}

on=(); off=()
for r in $(seq "$ROUNDS"); do
  a=$(run "$head_bin" 18181); on+=("$a"); echo "round $r  limits+usage on : $a req/s"
  b=$(run "$base_bin" 18182); off+=("$b"); echo "round $r  without them     : $b req/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_on=$(median "${on[@]}"); m_off=$(median "${off[@]}")
echo "median on=$m_on off=$m_off ratio=$(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a/b}')"
