#!/bin/sh
# convene serve vs nginx serving the same bytes as a static file, with wrk on loopback
# (docs/benchmarks.md, docs/server.md). Both servers run at once with 2 workers; wrk uses
# the same threads and connections against each; the rounds alternate convene and nginx
# (so a noisy neighbour hurts both alike), and the table gives the medians.
#
# Usage: bench/serve_vs_nginx.sh BUILD_DIR [SECONDS] [CONNECTIONS] [THREADS] [ROUNDS] [file|store]
#   e.g. bench/serve_vs_nginx.sh build-release 5 32 2 5 store
set -eu
BUILD=${1:?build dir}; SECS=${2:-5}; CONNS=${3:-32}; THREADS=${4:-2}; ROUNDS=${5:-5}; SOURCE=${6:-file}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
CPID=
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
FEED=feeds/expanded/series/weekly-50.ics
export CONVENE_TODAY=2026-09-01
if [ "$SOURCE" = store ]; then
  CONVENE_NOW=2026-08-15T09:00:00Z "$BUILD/convene" import "$SRC/bench/serve_50_events.json" --db "$WORK/convene.db" >/dev/null
  FROM="--store $WORK/convene.db"
else
  FROM="$SRC/bench/serve_50_events.json"
fi
# shellcheck disable=SC2086
"$BUILD/convene" publish $FROM --out "$WORK/www" >/dev/null
# shellcheck disable=SC2086
"$BUILD/convene" serve $FROM --listen 127.0.0.1:18181 --threads 2 --access-log off >"$WORK/convene.out" &
CPID=$!
cat > "$WORK/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  types { text/calendar ics; }
  server { listen 127.0.0.1:18182; root $WORK/www; etag on; keepalive_requests 1000000; }
}
NGX
chmod -R a+rX "$WORK"  # nginx workers run as www-data
nginx -p "$WORK" -c "$WORK/nginx.conf"
for i in $(seq 100); do
  curl -s -o /dev/null http://127.0.0.1:18181/healthz && curl -s -o /dev/null http://127.0.0.1:18182/ && break
  sleep 0.1
done
curl -s -o "$WORK/a" http://127.0.0.1:18181/$FEED
curl -s -o "$WORK/b" http://127.0.0.1:18182/$FEED
cmp -s "$WORK/a" "$WORK/b" || { echo "convene and nginx serve different bytes" >&2; exit 1; }
echo "source: $SOURCE; feed: $(wc -c < "$WORK/a") bytes, $(grep -c BEGIN:VEVENT "$WORK/a") VEVENTs;" \
     "wrk -t$THREADS -c$CONNS -d${SECS}s, $ROUNDS rounds"

# wrk --latency output → "RPS P99_MS"
measure() {  # URL [HEADER]
  if [ -n "${2:-}" ]; then out=$(wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H "$2" "$1")
  else out=$(wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$1"); fi
  echo "$out" | awk '/Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
              ms = (u=="us") ? v/1000 : (u=="s") ? v*1000 : v}
    END {printf "%.0f %.3f\n", rps, ms}'
}
for r in $(seq "$ROUNDS"); do
  for name in convene nginx; do
    port=18181; [ "$name" = nginx ] && port=18182
    url=http://127.0.0.1:$port/$FEED
    etag=$(curl -sI "$url" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
    echo "$name get $(measure "$url")" >> "$WORK/results"
    echo "$name 304 $(measure "$url" "If-None-Match: $etag")" >> "$WORK/results"
  done
done
median() {  # NAME KIND COLUMN
  awk -v n="$1" -v k="$2" -v c="$3" '$1==n && $2==k {print $c}' "$WORK/results" | sort -n |
    awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
echo
echo "| request | convene req/s | nginx req/s | ratio | convene p99 | nginx p99 |"
echo "|---------|--------------:|------------:|------:|------------:|----------:|"
for kind in get 304; do
  cr=$(median convene $kind 3); nr=$(median nginx $kind 3)
  cp=$(median convene $kind 4); np=$(median nginx $kind 4)
  label="full GET"; [ "$kind" = 304 ] && label="304 (If-None-Match)"
  awk -v l="$label" -v cr="$cr" -v nr="$nr" -v cp="$cp" -v np="$np" \
    'BEGIN {printf "| %s | %d | %d | %.2f× | %.2f ms | %.2f ms |\n", l, cr, nr, cr/nr, cp, np}'
done
echo
echo "every round (name kind req/s p99_ms):"; cat "$WORK/results"
echo "convene peak memory: $(grep VmHWM /proc/$CPID/status | tr -s ' \t' ' ')"
