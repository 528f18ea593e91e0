#!/usr/bin/env bash
# A first sync of 100 series with 20 overrides each (moved sessions) through the cloud
# emulators on loopback, each request answered after LATENCY ms:
#   - Google (tests/emulators/google_calendar.py) with a quota of QUOTA requests a minute
#     (answered 403 rateLimitExceeded past it), the target pacing at its default 600;
#   - Graph (tests/emulators/graph.py) with its 4-requests-per-mailbox limit.
# The ideal is what the limit alone allows: Google, the requests the work needs (an
# insert and 20 instance patches a series, then one events.list reading the attendees'
# responses back) spaced by 60/QUOTA s; Graph, its requests (a create, one instance
# listing and 20 patches a series; then the responses: one listing of the mailbox and
# one /instances a series) four at a time, each LATENCY ms.
# Prints wall times, ideals and ratios (target: within 1.2x), and what the emulators saw.
#
#   bench/cloud_sync_bench.sh [CONVENE] [SERIES] [OVERRIDES] [LATENCY_MS] [QUOTA] [google|graph|both]
#   bench/cloud_sync_bench.sh build/convene 100 20 50 600
set -euo pipefail
cd "$(dirname "$0")/.."
CONVENE=$(realpath "${1:-build/convene}")
SERIES=${2:-100}
OVERRIDES=${3:-20}
LATENCY=${4:-50}
QUOTA=${5:-600}
WHICH=${6:-both}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export CONVENE_NOW=2026-08-20T12:00:00Z CONVENE_DB= CONVENE_KEY_FILE=

# SERIES weekly series (Mondays, 30 sessions) in one community; OVERRIDES sessions of each
# moved a day later.
/usr/bin/python3 - "$work/defs.json" "$SERIES" "$OVERRIDES" <<'EOF'
import datetime, json, sys
path, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = datetime.date(2026, 9, 7)
series, overrides = [], []
for i in range(n):
    sid = "s%03d" % i
    hour = 8 + i % 10
    series.append({"id": sid, "title": "Session group %d" % i, "start": "%sT%02d:00" % (first, hour),
                   "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=30"})
    for j in range(k):
        day = first + datetime.timedelta(weeks=j)
        overrides.append({"series": sid, "occurrence": "%sT%02d:00" % (day, hour),
                          "move_to": "%sT%02d:00" % (day + datetime.timedelta(days=1), hour),
                          "reason": "Moved for the benchmark"})
json.dump({"calendars": {}, "communities": [{"id": "bench", "name": "Bench", "timezone": "America/New_York",
           "series": series}], "overrides": overrides}, open(path, "w"))
EOF

start_emulator() {  # VAR LOG ARGS...: its port in VAR (not in a subshell: its pid is kept for cleanup)
  local var=$1 log=$2
  shift 2
  /usr/bin/python3 "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
  printf -v "$var" '%s' "$(sed -n 's/^.* listening \([0-9]*\)$/\1/p' "$log")"
}

store() {  # DB: the definitions, one member following the community
  "$CONVENE" --db "$1" import "$work/defs.json" --as bench > /dev/null
  "$CONVENE" --db "$1" member add rosa --email rosa@example.org > /dev/null
  "$CONVENE" --db "$1" member set rosa --delivery invite > /dev/null
  "$CONVENE" --db "$1" subscribe rosa community:bench > /dev/null
}

seconds() { /usr/bin/python3 -c "import time; print(time.monotonic())"; }

t0=0 t1=1 t2=0 t3=1 gstats='{"requests":0,"quota_refusals":0}' mstats='{"requests":0,"max_in_flight":{}}' gviol=[] mviol=[]
if [ "$WHICH" != graph ]; then
mkdir -p "$work/google"
/usr/bin/python3 tests/emulators/keygen.py "$work/google" bench@convene-bench.iam.gserviceaccount.com \
  https://oauth2.googleapis.com/token
start_emulator gport "$work/google.log" tests/emulators/google_calendar.py \
  --reference tests/emulators/reference/calendar.v3.json --public-key "$work/google/public.pem" \
  --client-email bench@convene-bench.iam.gserviceaccount.com --calendar bench@group.calendar.google.com \
  --latency-ms "$LATENCY" --quota-per-minute "$QUOTA"
store "$work/google.db"
"$CONVENE" --db "$work/google.db" target add g --kind google --calendar-id bench@group.calendar.google.com \
  --credentials-file "$work/google/service-account.json" --api-url "http://127.0.0.1:$gport" \
  --token-url "http://127.0.0.1:$gport/token" --all > /dev/null
t0=$(seconds)
"$CONVENE" --db "$work/google.db" sync > "$work/google.out" || { tail -5 "$work/google.out"; exit 1; }
t1=$(seconds)
gstats=$(curl -s "http://127.0.0.1:$gport/_control/stats")
gviol=$(curl -s "http://127.0.0.1:$gport/_control/violations")
fi

if [ "$WHICH" != google ]; then
mkdir -p "$work/graph"
printf 'bench-secret\n' > "$work/graph/secret" && chmod 600 "$work/graph/secret"
start_emulator mport "$work/graph.log" tests/emulators/graph.py \
  --reference tests/emulators/reference/graph-v1.0-events-subset.openapi.yml --tenant bench-tenant \
  --client-id bench-app --client-secret bench-secret --mailbox organizer@example.org --latency-ms "$LATENCY"
store "$work/graph.db"
"$CONVENE" --db "$work/graph.db" target add m --kind graph --tenant bench-tenant --client-id bench-app \
  --client-secret-file "$work/graph/secret" --mailbox organizer@example.org --api-url "http://127.0.0.1:$mport" \
  --token-url "http://127.0.0.1:$mport/bench-tenant/oauth2/v2.0/token" --all > /dev/null
t2=$(seconds)
"$CONVENE" --db "$work/graph.db" sync > "$work/graph.out" || { tail -5 "$work/graph.out"; exit 1; }
t3=$(seconds)
mstats=$(curl -s "http://127.0.0.1:$mport/_control/stats")
mviol=$(curl -s "http://127.0.0.1:$mport/_control/violations")
fi

/usr/bin/python3 - "$t0" "$t1" "$t2" "$t3" "$SERIES" "$OVERRIDES" "$LATENCY" "$QUOTA" "$gstats" "$mstats" \
  "$gviol" "$mviol" <<'EOF'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
n, k, latency, quota = map(int, sys.argv[5:9])
gstats, mstats = json.loads(sys.argv[9]), json.loads(sys.argv[10])
gviol, mviol = json.loads(sys.argv[11]), json.loads(sys.argv[12])
g_needed = n * (1 + k) + 1
g_ideal = g_needed * 60.0 / quota
m_needed = n * (2 + k) + 1 + n
m_ideal = m_needed * latency / 1000.0 / 4
print("google: %d series x %d overrides, %d ms latency, quota %d/min" % (n, k, latency, quota))
print("  wall %.1f s, ideal %.1f s (%d requests at the quota), ratio %.2fx; requests seen %d, quota refusals %d, violations %d"
      % (t1 - t0, g_ideal, g_needed, (t1 - t0) / g_ideal, gstats["requests"], gstats["quota_refusals"], len(gviol)))
print("graph: %d series x %d overrides, %d ms latency, 4 per mailbox" % (n, k, latency))
print("  wall %.1f s, ideal %.1f s (%d requests, 4 at a time), ratio %.2fx; requests seen %d, most at once %s, "
      "mean in flight %s, violations %d"
      % (t3 - t2, m_ideal, m_needed, (t3 - t2) / m_ideal, mstats["requests"], mstats["max_in_flight"],
         {k: round(v, 2) for k, v in mstats.get("mean_in_flight", {}).items()}, len(mviol)))
EOF
