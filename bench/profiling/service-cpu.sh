#!/usr/bin/env bash
# Server CPU µs per request of the reference service on cached GET /items/:id (one hot id), per
# diagnostics configuration: more stable than requests/s on a shared machine (wrk's own CPU is not
# counted). Each line: label, requests, server CPU µs/request.
#
#   bash bench/profiling/service-cpu.sh [seconds=5] [connections=50] [label=ENV... ...]
#
# NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p" profiles each server (written when it exits).
# Without labels it runs: off, metrics, server-timing, slow, n+1, blocking, defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_RUN=${1:-5}
CONNECTIONS=${2:-50}
shift 2 || true
DB=$(mktemp -d)/bench.db
OFF='METRICS=off SERVER_TIMING=off SLOW_QUERY_MS=0 N_PLUS_ONE_THRESHOLD=0 BLOCKING_THRESHOLD_MS=0'
if [ $# -eq 0 ]; then
  set -- "off=$OFF" \
    "metrics=$OFF METRICS=on" \
    "server-timing=$OFF SERVER_TIMING=on" \
    "slow=$OFF SLOW_QUERY_MS=100" \
    "n+1=$OFF N_PLUS_ONE_THRESHOLD=10" \
    "blocking=$OFF BLOCKING_THRESHOLD_MS=100" \
    "defaults="
fi
# Seed once (small: only one hot id is requested).
env SEED_ITEMS=1000 SEED_USERS=100 SEED_POSTS=1000 DATABASE_URL="sqlite:$DB" LOG_LEVEL=silent PORT=0 \
  timeout 120 node --import tsx cli/hotpath.ts serve --workers 1 >/dev/null 2>&1 &
SEEDER=$!
for _ in $(seq 1 600); do [ -s "$DB" ] && sleep 3 && break; sleep 0.2; done
kill "$SEEDER" 2>/dev/null || true
wait "$SEEDER" 2>/dev/null || true
for spec in "$@"; do
  label=${spec%%=*}
  vars=${spec#*=}
  port=$((20000 + RANDOM % 20000))
  # shellcheck disable=SC2086
  env $vars DATABASE_URL="sqlite:$DB" LOG_LEVEL=silent PORT=$port \
    node ${NODE_FLAGS:-} --import tsx cli/hotpath.ts serve --workers 1 --no-seed >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/items/1" >/dev/null && break; sleep 0.2; done
  wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/items/1" >/dev/null
  before=$(awk '{print $14+$15}' "/proc/$pid/stat")
  requests=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" "http://127.0.0.1:$port/items/1" | awk '/requests in/ {print $1}')
  after=$(awk '{print $14+$15}' "/proc/$pid/stat")
  ticks=$(getconf CLK_TCK)
  echo "$label requests=$requests cpu_us_per_req=$(awk -v a="$after" -v b="$before" -v r="$requests" -v t="$ticks" 'BEGIN {printf "%.1f", (a-b)*1e6/t/r}')"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
