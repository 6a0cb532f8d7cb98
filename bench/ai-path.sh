#!/usr/bin/env bash
# What the gateway adds on the AI path, against the mock upstream (crates/mock-upstream), in
# one run:
#   1. added latency of POST /v1/chat/completions through the gateway over calling the mock
#      directly: p50 and p99 at concurrency 1 (wrk --latency, the same body and a fixed small
#      completion);
#   2. proxied requests/s at concurrency 64, with the mock's own figure beside it;
#   3. added time to first chunk on streams (regpilot-sse-probe: a new connection per stream,
#      the clock stops at the first `data:` byte), p50/p99 over STREAMS streams.
# The gateway runs on core 0, the mock on core 1 and the load generator on core 1 (2 cores).
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

export BENCH_UPSTREAM_KEY="bench-upstream-key"
pin 1 "$bin/regpilot-mock-upstream" --listen 127.0.0.1:0 --api-key-env BENCH_UPSTREAM_KEY --chunks 8 \
  >"$work/mock.out" 2>&1 &
pids+=($!)
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
export REGPILOT_DATABASE_URL="sqlite://$work/r.db" REGPILOT_CONFIG="$work/regpilot.toml"
project=$("$bin/regpilot" project create --name Bench --plan enterprise --burst 1000000000 --json | sed 's/.*"id":"\([^"]*\)".*/\1/')
key=$("$bin/regpilot" key create --project "$project" --type gateway --env prod --name bench --json | sed 's/.*"secret":"\([^"]*\)".*/\1/')
RUST_LOG=warn pin 0 "$bin/regpilot" serve --listen 127.0.0.1:18190 >"$work/serve.log" 2>&1 &
pids+=($!)
gw="http://127.0.0.1:18190"
for _ in $(seq 100); do curl -fs "$gw/api/ready" >/dev/null 2>&1 && break; sleep 0.1; done

body='{"model":"mock-model","messages":[{"role":"user","content":"Say hello in five words."}]}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

# wrk's latency line for a percentile, in microseconds.
pct() { awk -v p="$1" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
load() { # conns url header
  pin 1 wrk -t1 -c"$1" -d2s -s "$work/post.lua" -H "$3" "$2" >/dev/null
  pin 1 wrk -t1 -c"$1" -d"$DURATION" --latency -s "$work/post.lua" -H "$3" "$2"
}

direct1=$(load 1 "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY")
proxied1=$(load 1 "$gw/v1/chat/completions" "X-API-Key: $key")
d50=$(echo "$direct1" | pct 50%); d99=$(echo "$direct1" | pct 99%)
p50=$(echo "$proxied1" | pct 50%); p99=$(echo "$proxied1" | pct 99%)
direct64=$(load 64 "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY" | awk '/Requests\/sec/ {print $2}')
proxied64=$(load 64 "$gw/v1/chat/completions" "X-API-Key: $key" | awk '/Requests\/sec/ {print $2}')

stream_body='{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Say hello in five words."}]}'
probe() { pin 1 "$bin/regpilot-sse-probe" --url "$1" --header "$2" --body "$stream_body" --requests "$STREAMS" --concurrency 1 --warmup 50; }
sd=$(probe "$mock/v1/chat/completions" "Authorization: Bearer $BENCH_UPSTREAM_KEY")
sp=$(probe "$gw/v1/chat/completions" "X-API-Key: $key")
jf() { python3 -c "import json,sys; v=json.loads(sys.argv[1]); print(v['ttfc_us'][sys.argv[2]])" "$1" "$2"; }

printf '\n%-44s %12s %12s %12s\n' "figure" "direct" "gateway" "added"
printf '%-44s %12s %12s %12s\n' "POST /v1/chat/completions p50, c=1 (us)" "$d50" "$p50" "$(awk -v a="$p50" -v b="$d50" 'BEGIN{printf "%.0f", a-b}')"
printf '%-44s %12s %12s %12s\n' "POST /v1/chat/completions p99, c=1 (us)" "$d99" "$p99" "$(awk -v a="$p99" -v b="$d99" 'BEGIN{printf "%.0f", a-b}')"
printf '%-44s %12s %12s %12s\n' "requests/s at c=64" "$direct64" "$proxied64" "ratio $(awk -v a="$proxied64" -v b="$direct64" 'BEGIN{printf "%.2f", a/b}')"
for q in p50 p99; do
  a=$(jf "$sd" "$q"); b=$(jf "$sp" "$q")
  printf '%-44s %12s %12s %12s\n' "stream time to first chunk $q (us)" "$a" "$b" "$(awk -v x="$b" -v y="$a" 'BEGIN{printf "%.0f", x-y}')"
done
