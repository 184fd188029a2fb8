#!/bin/bash
# Server CPU µs per request of one bench/http target (utime+stime from /proc over a 5 s wrk run
# after a 2 s warm-up). Usage: bench/http/cpu-per-request.sh <target> <port> [path] [wrk args...]
# INM=1 replays the ETag as If-None-Match (the 304 path). Brief runs only: the machine is shared.
cd "$(dirname "$0")/../.."
T=$1; P=$2; URL=${3:-/items/1}; shift $(( $# < 3 ? $# : 3 ))
node --import tsx bench/http/$T.ts $P > /dev/null 2>&1 &
PID=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$P$URL && break; sleep 0.2; done
if [ -n "$INM" ]; then E=$(curl -si http://127.0.0.1:$P$URL | grep -i "^etag:" | cut -d" " -f2- | tr -d "\r"); set -- "$@" -H "If-None-Match: $E"; echo "etag=$E"; fi
wrk -t1 -c20 -d2s "$@" http://127.0.0.1:$P$URL > /dev/null
tick=$(getconf CLK_TCK)
s1=$(awk '{print $14+$15}' /proc/$PID/stat)
out=$(wrk -t1 -c20 -d5s "$@" http://127.0.0.1:$P$URL)
s2=$(awk '{print $14+$15}' /proc/$PID/stat)
reqs=$(echo "$out" | grep -oP '^\s*\K\d+(?= requests in)')
echo "$T $URL: reqs=$reqs cpu_us_per_req=$(echo "($s2-$s1)*1000000/$tick/$reqs" | bc -l | cut -c1-6) $(echo "$out" | grep Requests/sec)"
kill $PID; wait $PID 2>/dev/null
