#!/bin/sh
# A community page of the samples from `convene serve` (over the store) against nginx
# serving the same bytes as a static file, with wrk on loopback (docs/benchmarks.md);
# then a change made with the CLI and the very next request, which must show it.
# Both servers run at once with 2 workers; the rounds alternate convene and nginx (so a
# noisy neighbour hurts both alike), and the table gives the medians.
#
# Usage: bench/web_vs_nginx.sh BUILD_DIR [SECONDS] [CONNECTIONS] [THREADS] [ROUNDS]
#   e.g. bench/web_vs_nginx.sh build-release 5 32 2 5
set -eu
BUILD=${1:?build dir}; SECS=${2:-5}; CONNS=${3:-32}; THREADS=${4:-2}; ROUNDS=${5:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
CPID=
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -f "$WORK/nginx.pid" ] && nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CPORT=$(free_port); NPORT=$(free_port)
PAGE=communities/school-nurses
export CONVENE_NOW=2027-01-05T15:00:00Z
cp "$SRC/samples/communities-2026-27.json" "$SRC/samples/district-2026-27.ics" "$WORK/"
"$BUILD/convene" import "$WORK/communities-2026-27.json" --db "$WORK/convene.db" >/dev/null
"$BUILD/convene" serve --db "$WORK/convene.db" --listen 127.0.0.1:$CPORT --threads 2 --access-log off \
  --base-url https://cop.example.org >"$WORK/convene.out" &
CPID=$!
mkdir -p "$WORK/www"
cat > "$WORK/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  server {
    listen 127.0.0.1:$NPORT; root $WORK/www; etag on; keepalive_requests 1000000;
    location = /$PAGE { default_type "text/html; charset=utf-8"; try_files /community.html =404; }
  }
}
NGX
for i in $(seq 100); do
  curl -s -o /dev/null http://127.0.0.1:$CPORT/healthz && break
  sleep 0.1
done
curl -s -o "$WORK/www/community.html" http://127.0.0.1:$CPORT/$PAGE
chmod -R a+rX "$WORK"  # nginx workers run as www-data
nginx -p "$WORK" -c "$WORK/nginx.conf"
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$NPORT/$PAGE && break; sleep 0.1; done
curl -s -o "$WORK/b" http://127.0.0.1:$NPORT/$PAGE
cmp -s "$WORK/www/community.html" "$WORK/b" || { echo "convene and nginx serve different bytes" >&2; exit 1; }
echo "page: /$PAGE, $(wc -c < "$WORK/b") bytes; wrk -t$THREADS -c$CONNS -d${SECS}s, $ROUNDS rounds"

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
    port=$CPORT; [ "$name" = nginx ] && port=$NPORT
    url=http://127.0.0.1:$port/$PAGE
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
    'BEGIN {printf "| %s | %d | %d | %.2fx | %.2f ms | %.2f ms |\n", l, cr, nr, cr/nr, cp, np}'
done
echo
echo "every round (name kind req/s p99_ms):"; cat "$WORK/results"
echo "convene peak memory: $(grep VmHWM /proc/$CPID/status | tr -s ' \t' ' ')"

# A change, and the very next request.
"$BUILD/convene" cancel power-hour 2027-01-13T15:00 --reason "Bench snow day" --db "$WORK/convene.db" >/dev/null
if curl -s http://127.0.0.1:$CPORT/$PAGE | grep -q "Bench snow day"; then
  echo "a change made with the CLI: shown by the next request"
else
  echo "a change made with the CLI: NOT shown by the next request" >&2; exit 1
fi
