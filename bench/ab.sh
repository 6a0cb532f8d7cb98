#!/usr/bin/env bash
# A/B of two gateway binaries on the two figures a change to the request path or the AI proxy
# can move, measured in one run, alternating A/B/A/B with the same store, the same mock upstream
# and the same placement as bench/run (the gateway on core 0; wrk and the mock on core 1):
#   - authenticated GET /api/health req/s, c=32 (limits and usage recording on);
#   - proxied POST /v1/chat/completions req/s, c=64, to the mock upstream.
#
#   BASE_BIN=/path/to/old/regpilot bench/ab.sh            # HEAD_BIN defaults to this tree's build
#   ROUNDS=3 DURATION=10s BASE_BIN=… HEAD_BIN=… bench/ab.sh
#
# Prints one line per run, the medians and the ratios HEAD/BASE. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
[ -n "${BASE_BIN:-}" ] || { echo "BASE_BIN=/path/to/the/other/regpilot is required" >&2; exit 2; }
if [ -z "${HEAD_BIN:-}" ]; then
  cargo build --release --quiet --bins -p regpilot -p regpilot-mock-upstream
  HEAD_BIN="$CARGO_TARGET_DIR/release/regpilot"
fi
MOCK_BIN="${MOCK_BIN:-$(dirname "$HEAD_BIN")/regpilot-mock-upstream}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
gw_pid=""
cleanup() {
  [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then SRV=0 LOAD=1; else SRV=0 LOAD=0; fi
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
# Starts "$@" in the background on core $1, output to $2; sets $! to its pid (not a subshell's).
spawn() {
  local core="$1" out="$2"
  shift 2
  if command -v taskset >/dev/null; then taskset -c "$core" "$@" >"$out" 2>&1 & else "$@" >"$out" 2>&1 & fi
}
addr_of() {
  for _ in $(seq 300); do grep -q "listening on http://" "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o 'listening on http://[0-9.:]*' "$1" | head -1 | sed 's/listening on //'
}
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

export BENCH_UPSTREAM_KEY="bench-upstream-key"
export REGPILOT_DATABASE_URL="sqlite://$work/r.db" REGPILOT_CONFIG="$work/regpilot.toml"
spawn "$LOAD" "$work/mock.out" "$MOCK_BIN" --listen 127.0.0.1:0 --api-key-env BENCH_UPSTREAM_KEY --chunks 8
pids+=($!)
mock="$(addr_of "$work/mock.out")"
cat >"$work/regpilot.toml" <<TOML
[ai.quality]
balanced = "mock-model"
[[ai.providers]]
name = "mock"
base_url = "$mock/v1"
api_key_env = "BENCH_UPSTREAM_KEY"
models = [{ id = "mock-model", prompt_cents_per_1k = 0.5, completion_cents_per_1k = 1.5 }]
TOML
# The store is made once, by the older binary (the newer one migrates it forward if it must).
project=$("$BASE_BIN" project create --name Bench --plan enterprise --burst 1000000000 --json | sed 's/.*"id":"\([^"]*\)".*/\1/')
key=$("$BASE_BIN" key create --project "$project" --type gateway --env prod --name bench --json | sed 's/.*"secret":"\([^"]*\)".*/\1/')
AH="X-API-Key: $key"
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"Say hello in five words."}]}'
wrk.headers["Content-Type"] = "application/json"
LUA

# One round of one binary: both figures, after a short warm-up each.
round() {
  local name="$1" bin="$2"
  spawn "$SRV" "$work/$name.log" "$bin" serve --listen 127.0.0.1:0
  gw_pid=$!
  local gw
  gw="$(addr_of "$work/$name.log")"
  [ -n "$gw" ] || { cat "$work/$name.log" >&2; exit 1; }
  for _ in $(seq 100); do curl -fs "$gw/api/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  pin "$LOAD" wrk -t1 -c32 -d2s -H "$AH" "$gw/api/health" >/dev/null
  local h p
  h=$(pin "$LOAD" wrk -t1 -c32 -d"$DURATION" -H "$AH" "$gw/api/health" | rps)
  pin "$LOAD" wrk -t1 -c64 -d2s -s "$work/post.lua" -H "$AH" "$gw/v1/chat/completions" >/dev/null
  p=$(pin "$LOAD" wrk -t1 -c64 -d"$DURATION" -s "$work/post.lua" -H "$AH" "$gw/v1/chat/completions" | rps)
  kill -TERM "$gw_pid"
  wait "$gw_pid" 2>/dev/null || true
  gw_pid=""
  echo "$name health=$h proxied=$p" >&2
  last="$h $p"
}

base_h="" base_p="" head_h="" head_p=""
for r in $(seq "$ROUNDS"); do
  round "base-$r" "$BASE_BIN"
  read -r h p <<<"$last"
  base_h="$base_h $h" base_p="$base_p $p"
  round "head-$r" "$HEAD_BIN"
  read -r h p <<<"$last"
  head_h="$head_h $h" head_p="$head_p $p"
done
bh=$(echo "$base_h" | median) bp=$(echo "$base_p" | median)
hh=$(echo "$head_h" | median) hp=$(echo "$head_p" | median)
echo "authenticated GET /api/health req/s, c=32 (median of $ROUNDS): base $bh, head $hh, head/base $(awk -v a="$hh" -v b="$bh" 'BEGIN {printf "%.3f", a/b}')"
echo "proxied POST /v1/chat/completions req/s, c=64 (median of $ROUNDS): base $bp, head $hp, head/base $(awk -v a="$hp" -v b="$bp" 'BEGIN {printf "%.3f", a/b}')"
