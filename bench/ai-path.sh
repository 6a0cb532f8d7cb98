#!/usr/bin/env bash
# What the gateway adds on the AI path, against the mock upstream (crates/mock-upstream), in
# one run:
#   1. added latency of POST /v1/chat/completions through the gateway over calling the mock
#      directly: p50 and p99 at concurrency 1 (wrk --latency, the same body and a fixed small
#      completion);
#   2. proxied requests/s at concurrency 64, with the mock's own figure beside it;
#   3. added time to first chunk on streams (regpilot-sse-probe: a new connection per stream,
#      the clock stops at the first `data:` byte), p50/p99 over STREAMS streams.
# Two placements on this 2-core machine: all three processes on one core (what the gateway's
# own work adds), then the gateway on its own core (adds the machine's cross-core wake-ups).
#
#   bench/ai-path.sh                      # DURATION=10s STREAMS=500
# Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
STREAMS="${STREAMS:-500}"

if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
cargo build --release --quiet --bins -p regpilot -p regpilot-mock-upstream
bin="$PWD/target/release"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
# Starts a server in the background on core $1; its pid (not a subshell's) goes to $pids.
spawn() {
  local core="$1" out="$2"
  shift 2
  if command -v taskset >/dev/null; then taskset -c "$core" "$@" >"$out" 2>&1 & else "$@" >"$out" 2>&1 & fi
  pids+=($!)
}

export BENCH_UPSTREAM_KEY="bench-upstream-key"
export REGPILOT_DATABASE_URL="sqlite://$work/r.db" REGPILOT_CONFIG="$work/regpilot.toml"

# Starts the mock on core $1 and the gateway on core $2; sets $mock, $gw, $key.
start() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  rm -f "$work/mock.out"
  spawn "$1" "$work/mock.out" "$bin/regpilot-mock-upstream" --listen 127.0.0.1:0 --api-key-env BENCH_UPSTREAM_KEY --chunks 8
  for _ in $(seq 100); do grep -q "listening on" "$work/mock.out" 2>/dev/null && break; sleep 0.05; done
  mock="$(sed -n 's/^listening on //p' "$work/mock.out")"
  cat >"$work/regpilot.toml" <<TOML
[ai.quality]
balanced = "mock-model"
[[ai.providers]]
name = "mock"
base_url = "$mock/v1"
api_key_env = "BENCH_UPSTREAM_KEY"
models = [{ id = "mock-model", prompt_cents_per_1k = 0.5, completion_cents_per_1k = 1.5 }]
TOML
  if [ -z "${key:-}" ]; then
    local project
    project=$("$bin/regpilot" project create --name Bench --plan enterprise --burst 1000000000 --json | sed 's/.*"id":"\([^"]*\)".*/\1/')
    key=$("$bin/regpilot" key create --project "$project" --type gateway --env prod --name bench --json | sed 's/.*"secret":"\([^"]*\)".*/\1/')
  fi
  rm -f "$work/serve.log"
  RUST_LOG=info spawn "$2" "$work/serve.log" "$bin/regpilot" serve --listen 127.0.0.1:0
  for _ in $(seq 100); do grep -q "listening on http://" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
  gw="$(grep -o 'listening on http://[0-9.:]*' "$work/serve.log" | head -1 | sed 's/listening on //')"
}

body='{"model":"mock-model","messages":[{"role":"user","content":"Say hello in five words."}]}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
stream_body='{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Say hello in five words."}]}'

# wrk's latency line for a percentile, in microseconds.
pct() { awk -v p="$1" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
load() { # core conns url header
  pin "$1" wrk -t1 -c"$2" -d2s -s "$work/post.lua" -H "$4" "$3" >/dev/null
  pin "$1" wrk -t1 -c"$2" -d"$DURATION" --latency -s "$work/post.lua" -H "$4" "$3"
}
probe() { # core url header
  pin "$1" "$bin/regpilot-sse-probe" --url "$2" --header "$3" --body "$stream_body" --requests "$STREAMS" --concurrency 1 --warmup 50
}
jf() { python3 -c "import json,sys; v=json.loads(sys.argv[1]); print(v['ttfc_us'][sys.argv[2]])" "$1" "$2"; }
row() { printf '%-46s %10s %10s %10s\n' "$@"; }
added() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", a-b}'; }

# Latency at concurrency 1 and time to first chunk, with the mock, the gateway and the load
# generator on core $1 and the gateway on core $2.
latency() {
  start "$1" "$2"
  local direct proxied sd sp
  direct=$(load "$1" 1 "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY")
  proxied=$(load "$1" 1 "$gw/v1/chat/completions" "X-API-Key: $key")
  sd=$(probe "$1" "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY")
  sp=$(probe "$1" "$gw/v1/chat/completions" "X-API-Key: $key")
  for q in 50% 99%; do
    local d p
    d=$(echo "$direct" | pct "$q"); p=$(echo "$proxied" | pct "$q")
    row "POST /v1/chat/completions p${q%\%}, c=1 (us)" "$d" "$p" "$(added "$p" "$d")"
  done
  for q in p50 p99; do
    local a b
    a=$(jf "$sd" "$q"); b=$(jf "$sp" "$q")
    row "stream time to first chunk $q (us)" "$a" "$b" "$(added "$b" "$a")"
  done
}

echo
echo "== everything on core 1 (the gateway's own cost; no cross-core wake-ups)"
row "figure" "direct" "gateway" "added"
latency 1 1
echo
echo "== gateway on core 0, mock and load generator on core 1"
row "figure" "direct" "gateway" "added"
latency 1 0
direct64=$(load 1 64 "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY" | awk '/Requests\/sec/ {print $2}')
proxied64=$(load 1 64 "$gw/v1/chat/completions" "X-API-Key: $key" | awk '/Requests\/sec/ {print $2}')
row "requests/s at c=64" "$direct64" "$proxied64" "x$(awk -v a="$proxied64" -v b="$direct64" 'BEGIN{printf "%.2f", a/b}')"
