#!/bin/sh
# convene serve vs nginx serving the same bytes, with wrk on loopback (docs/benchmarks.md).
# Usage: bench/serve_vs_nginx.sh BUILD_DIR [SECONDS] [CONNECTIONS] [THREADS]
set -eu
BUILD=${1:?build dir}; SECS=${2:-10}; CONNS=${3:-32}; THREADS=${4:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d); trap 'kill $CPID 2>/dev/null; nginx -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
FEED=feeds/expanded/series/weekly-50.ics
CONVENE_TODAY=2026-09-01 "$BUILD/convene" publish "$SRC/bench/serve_50_events.json" --out "$WORK/www" >/dev/null
CONVENE_TODAY=2026-09-01 "$BUILD/convene" serve "$SRC/bench/serve_50_events.json" --listen 127.0.0.1:18181 \
  --threads 2 --access-log off >/dev/null & CPID=$!
cat > "$WORK/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { text/calendar ics; }
  server { listen 127.0.0.1:18182; root $WORK/www; etag on; keepalive_requests 1000000; }
}
NGX
chmod -R a+rX "$WORK"  # nginx workers run as www-data
nginx -p "$WORK" -c "$WORK/nginx.conf"
sleep 1
echo "bytes: $(wc -c < "$WORK/www/$FEED") ($(grep -c BEGIN:VEVENT "$WORK/www/$FEED") VEVENTs)"
for target in convene:18181 nginx:18182; do
  name=${target%%:*}; port=${target##*:}
  url=http://127.0.0.1:$port/$FEED
  etag=$(curl -sI "$url" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
  echo "$name: $(curl -s -o /dev/null -w "%{http_code} %{size_download} bytes" "$url")"
  echo "== $name full GET"
  wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$url" | grep -E "Requests/sec|99%"
  echo "== $name 304 (If-None-Match: $etag)"
  wrk --latency -t"$THREADS" -c"$CONNS" -d"${SECS}s" -H "If-None-Match: $etag" "$url" | grep -E "Requests/sec|99%"
done
echo "convene peak RSS: $(grep VmHWM /proc/$CPID/status)"
