#!/usr/bin/env bash
# Invitations to a 1,000-member community through python3-aiosmtpd on loopback:
# `convene sync` (plan, render, outbox, libcurl SMTP) against a plain reference sender,
# Python's smtplib sending the very same messages over one connection to the same server,
# alternating, in one run. Prints each run and the medians.
#
#   bench/invite_smtp_bench.sh [CONVENE] [RUNS] [MEMBERS]
#   bench/invite_smtp_bench.sh build/convene 5 1000
#
# The community is the samples' school nurses (4 series), so each run sends 4 x MEMBERS
# invitations. Members are written into the store with sqlite3 (1,000 `convene member
# add` processes would measure process start-up, not sync).
set -euo pipefail
cd "$(dirname "$0")/.."
CONVENE=${1:-build/convene}
RUNS=${2:-5}
MEMBERS=${3:-1000}
CONVENE=$(realpath "$CONVENE")
work=$(mktemp -d)
sink_pid=
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export CONVENE_NOW=2026-08-20T12:00:00Z
mkdir -p "$work/sink"
/usr/bin/python3 tests/servers/smtp_sink.py --dir "$work/sink" > "$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sink.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$work/sink.log")

# The template store: the samples, MEMBERS members with invite delivery, one email target.
template="$work/template.db"
(cd samples && "$CONVENE" --db "$template" import communities-2026-27.json --as bench > /dev/null)
/usr/bin/python3 - "$template" "$MEMBERS" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
with db:
    for i in range(n):
        mid = "m%04d" % i
        db.execute("INSERT INTO members (id, name, email, created, delivery) VALUES (?, ?, ?, 0, 'invite')",
                   (mid, "Member %d" % i, mid + "@example.org"))
        db.execute("INSERT INTO subscriptions (member, kind, target, created) VALUES (?, 'community', 'school-nurses', 0)",
                   (mid,))
EOF
"$CONVENE" --db "$template" target add mail --kind email --smtp-url "smtp://127.0.0.1:$port" \
  --from "School Nurse CoP <cop@example.org>" --community school-nurses > /dev/null

now() { date +%s.%N; }
convene_rates=()
smtplib_rates=()
for run in $(seq "$RUNS"); do
  cp "$template" "$work/run.db"
  start=$(now)
  "$CONVENE" --db "$work/run.db" sync > "$work/sync.out" 2> /dev/null
  end=$(now)
  sent=$(sqlite3 "$work/run.db" "SELECT count(*) FROM outbox WHERE state = 'sent'")
  rate=$(python3 -c "print(f'{$sent / ($end - $start):.0f}')")
  convene_rates+=("$rate")
  # The same messages, as convene rendered them, through smtplib.
  rm -rf "$work/out" && mkdir "$work/out"
  sqlite3 "$work/run.db" "SELECT id, recipient FROM outbox" > "$work/out/list"
  /usr/bin/python3 - "$work/run.db" "$port" > "$work/smtplib.out" <<'EOF'
import smtplib, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT o.recipient, p.payload FROM outbox o JOIN outbox_payloads p ON p.id = o.id ORDER BY o.id").fetchall()
start = time.monotonic()
with smtplib.SMTP("127.0.0.1", int(sys.argv[2])) as s:
    s.ehlo("example.org")
    for recipient, payload in rows:
        s.sendmail("cop@example.org", [recipient], payload.encode())
print(f"{len(rows) / (time.monotonic() - start):.0f}")
EOF
  smtplib_rates+=("$(cat "$work/smtplib.out")")
  echo "run $run: convene $rate msg/s ($sent messages), smtplib ${smtplib_rates[-1]} msg/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${convene_rates[@]}")
p=$(median "${smtplib_rates[@]}")
echo "median: convene $c msg/s, smtplib $p msg/s, ratio $(python3 -c "print(f'{$c / $p:.2f}')")x"
