#!/usr/bin/env bash
# `convene worker` on the real clock: MEMBERS reminders due in the same minute, sent to
# python3-aiosmtpd on loopback; and the worker idle with those MEMBERS reminders planned.
#
#   bench/remind_worker_bench.sh [CONVENE] [MEMBERS] [IDLE_SECONDS] [CONNECTIONS]
#   bench/remind_worker_bench.sh build/convene 10000 60 4
#
# One session starts DUE + 15 minutes (a community in UTC, one series with "reminders":
# ["PT15M"]), followed by MEMBERS members (written with sqlite3: 10,000 `member add`
# processes would measure process start-up). The worker starts, plans the MEMBERS
# reminders, and sleeps until the burst's start (DUE, a whole minute about IDLE_SECONDS
# + 100 s ahead, less its lead: at most kMaxLead, 60 s, convene/remind.h):
#   idle: its CPU time (utime + stime from /proc/PID/stat) over IDLE_SECONDS of that
#         sleep, scaled to an hour, and its resident memory (VmRSS, VmHWM);
#   send: each message's lateness is the sink's file time (aiosmtpd writes it on the
#         250) minus DUE, an early one counted as 0: p50, p99, max; its earliness DUE
#         minus that time, a late one counted as 0: p50, max; messages per second from
#         the first to the last; and the 250-to-commit window the worker measured (its
#         log), and its pacing (log lines "paced the burst ...").
#   the sink: how many connections the worker opened (its connections.log), and the
#         sink's own throughput: the very messages it received, sent again to a fresh
#         sink by Python's smtplib over the same number of connections at once (a
#         thread each), so the two figures are the same server's with two clients.
# The reference is cron: peers that send from a cron job are late by up to its
# interval, one to five minutes (Nextcloud #50868).
set -euo pipefail
cd "$(dirname "$0")/.."
CONVENE=$(realpath "${1:-build/convene}")
MEMBERS=${2:-10000}
IDLE=${3:-60}
CONNECTIONS=${4:-4}
work=$(mktemp -d)
sink_pid=
worker_pid=
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
unset CONVENE_NOW

mkdir -p "$work/sink"
/usr/bin/python3 tests/servers/smtp_sink.py --dir "$work/sink" > "$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sink.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$work/sink.log")

# DUE: a whole minute at least IDLE + 100 s from now (the planning pass, the idle
# window, then the lead); the session 15 minutes later.
due=$(( ( $(date +%s) + IDLE + 100 + 59 ) / 60 * 60 ))
start=$(date -u -d "@$(( due + 900 ))" +%Y-%m-%dT%H:%M)
cat > "$work/defs.json" <<EOF
{ "communities": [ { "id": "bench", "name": "Bench CoP", "timezone": "UTC",
    "series": [ { "id": "hour", "title": "Power Hour", "start": "$start", "duration": "PT1H",
                  "reminders": ["PT15M"], "join_url": "https://meet.example.org/ph" } ] } ] }
EOF
db="$work/convene.db"
"$CONVENE" --db "$db" import "$work/defs.json" --as bench > /dev/null
/usr/bin/python3 - "$db" "$MEMBERS" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with db:
    for i in range(int(sys.argv[2])):
        mid = "m%05d" % i
        db.execute("INSERT INTO members (id, name, email, created) VALUES (?, ?, ?, 0)", (mid, "Member %d" % i, mid + "@example.org"))
        db.execute("INSERT INTO subscriptions (member, kind, target, created) VALUES (?, 'series', 'hour', 0)", (mid,))
EOF
"$CONVENE" --db "$db" target add mail --kind email --smtp-url "smtp://127.0.0.1:$port" \
  --from "Bench CoP <cop@example.org>" --max-connections "$CONNECTIONS" --all --as bench > /dev/null

"$CONVENE" --db "$db" worker > "$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1200); do grep -q "planned $MEMBERS" "$work/worker.log" && break; sleep 0.1; done
grep -q "planned $MEMBERS" "$work/worker.log" || { cat "$work/worker.log"; echo "the worker did not plan" >&2; exit 1; }
sleep 2
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$worker_pid/stat"; }
before=$(cpu)
sleep "$IDLE"
after=$(cpu)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$worker_pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status")
now=$(date +%s)
[ "$now" -lt "$(( due - 60 ))" ] || { echo "the idle window ran into the burst's lead" >&2; exit 1; }
echo "idle with $MEMBERS planned: $(( after - before )) ticks of CPU in ${IDLE} s ($ticks ticks/s):" \
  "$(python3 -c "print(f'{($after - $before) / $ticks * 3600 / $IDLE:.3f}')") CPU s per idle hour;" \
  "RSS $(( rss / 1024 )) MiB (peak $(( hwm / 1024 )) MiB, the planning pass)"

for _ in $(seq 3000); do
  [ "$(find "$work/sink" -name '*.eml' | wc -l)" -ge "$MEMBERS" ] && break
  sleep 0.1
done
/usr/bin/python3 - "$work/sink" "$due" "$MEMBERS" <<'EOF'
import os, sys
folder, due, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = sorted(os.stat(os.path.join(folder, f)).st_mtime_ns / 1e9 for f in os.listdir(folder) if f.endswith(".eml"))
late = sorted(max(0.0, t - due) for t in times)
early = sorted(max(0.0, due - t) for t in times)
pick = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]
span = max(times[-1] - times[0], 1e-9)
print(f"sent {len(times)} of {n}: {len(times) / span:.0f} msg/s from the first to the last, "
      f"the first {times[0] - due:+.3f} s and the last {times[-1] - due:+.3f} s from the due minute")
print(f"lateness (early = 0) p50 {pick(late, 0.5):.3f} s, p99 {pick(late, 0.99):.3f} s, max {late[-1]:.3f} s; "
      f"earliness (late = 0) p50 {pick(early, 0.5):.3f} s, max {early[-1]:.3f} s; "
      f"{sum(1 for t in times if t < due)} sent before the due minute")
EOF
grep "250-to-commit window" "$work/worker.log" || true
grep "paced the burst" "$work/worker.log" || true
grep -c "late " "$work/worker.log" | sed 's/^/late log lines: /' || true
echo "connections the worker opened: $(wc -l < "$work/sink/connections.log") (--max-connections $CONNECTIONS)"

# The sink's own throughput: the same messages through smtplib, CONNECTIONS at once.
kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
worker_pid=
mkdir -p "$work/sink2"
kill "$sink_pid" && wait "$sink_pid" 2>/dev/null || true
/usr/bin/python3 tests/servers/smtp_sink.py --dir "$work/sink2" > "$work/sink2.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sink2.log" 2>/dev/null && break; sleep 0.1; done
port2=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$work/sink2.log")
/usr/bin/python3 - "$work/sink" "$port2" "$CONNECTIONS" <<'EOF'
import json, os, smtplib, sys, threading, time
folder, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sorted(f for f in os.listdir(folder) if f.endswith(".eml"))
jobs = []
for f in names:
    with open(os.path.join(folder, f[:-4] + ".json")) as meta_file:
        meta = json.load(meta_file)
    with open(os.path.join(folder, f), "rb") as data:
        jobs.append((meta["mail_from"], meta["rcpt_tos"], data.read()))
def run(part):
    with smtplib.SMTP("127.0.0.1", port) as s:
        for frm, to, data in part:
            s.sendmail(frm, to, data)
threads = [threading.Thread(target=run, args=(jobs[i::n],)) for i in range(n)]
start = time.time()
for t in threads: t.start()
for t in threads: t.join()
took = time.time() - start
print(f"the sink's own throughput (smtplib, {n} connections, the same {len(jobs)} messages): "
      f"{len(jobs) / took:.0f} msg/s in {took:.1f} s")
EOF
echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
