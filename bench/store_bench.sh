#!/bin/sh
# The store's benchmark (issue 3): whole-process wall time and peak memory of
#   - importing 1,000 series with 200 overrides into a fresh store,
#   - importing the same file again (nothing changes), and an edited one then the
#     original again (two imports that diff every series' occurrences over three years),
#   - one reschedule,
#   - expanding one school year of all 1,000 series from the store, beside the same
#     expansion from the definitions file (target: store within 1.5x of file).
# Usage: bench/store_bench.sh [path/to/convene] [runs]   (default build/convene, 5 runs)
# Prints one line per step: the median wall seconds and the largest max RSS over the runs.
set -eu
CONVENE=$(realpath "${1:-build/convene}")
RUNS=${2:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export CONVENE_NOW=2026-08-20T12:00:00Z CONVENE_DB="$WORK/convene.db"

/usr/bin/python3 - <<'PY'
import json
series = []
for i in range(1000):
    kind = i % 4
    rule = ["FREQ=MONTHLY;BYDAY=2MO", "FREQ=WEEKLY;BYDAY=WE", "FREQ=MONTHLY;BYDAY=3TH",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"][kind]
    series.append({"id": f"s{i:04d}", "title": f"Series {i}", "start": f"2026-09-0{1 + kind}T{9 + i % 8:02d}:00"
                   if kind else f"2026-09-14T{9 + i % 8:02d}:00",
                   "duration": "PT1H", "rrule": rule,
                   "on_holiday": ["skip", "following", "next-week", "modified-following"][i % 4]})
communities = [{"id": f"c{c}", "name": f"Community {c}", "timezone": "America/New_York",
                "observes": ["dc", "school"], "series": series[c * 100:(c + 1) * 100]} for c in range(10)]
overrides = []
for k in range(200):
    s = series[k * 4 + 1]  # weekly Wednesday series
    t = s["start"][11:]
    overrides.append({"series": s["id"], "occurrence": f"2026-10-07T{t}", "cancel": True, "reason": "Conference"}
                     if k % 2 else {"series": s["id"], "occurrence": f"2026-10-21T{t}",
                                    "move_to": f"2026-10-22T{t}", "reason": "Room change"})
doc = {"calendars": {"dc": {"builtin": "us-dc"},
                     "school": {"closures": [{"name": "Winter break", "from": "2026-12-21", "to": "2027-01-01"},
                                             {"name": "Spring break", "from": "2027-04-12", "to": "2027-04-16"}]}},
       "communities": communities, "overrides": overrides}
json.dump(doc, open("bench.json", "w"), indent=1)
PY

measure() {  # label, command...
  label=$1; shift
  : > times
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    [ "$label" = "import (fresh store)" ] && rm -f convene.db convene.db-wal convene.db-shm
    if [ "$label" = "reschedule (one session)" ]; then
      "$CONVENE" restore s0001 2026-11-04 >/dev/null 2>&1 || true
    fi
    /usr/bin/time -f "%e %M" -o t "$@" >/dev/null
    cat t >> times
    i=$((i + 1))
  done
  sort -n times | awk -v label="$label" '{w[NR]=$1; if ($2>m) m=$2} END {printf "%-34s %7.3f s  %7d KiB\n", label, w[int((NR+1)/2)], m}'
}

measure "import (fresh store)" "$CONVENE" import bench.json
measure "import again (no change)" "$CONVENE" import bench.json
sed 's/"Series 0"/"Series zero"/' bench.json > edited.json
measure "import edited (1 series changed)" sh -c "'$CONVENE' import edited.json && '$CONVENE' import bench.json"
measure "reschedule (one session)" "$CONVENE" reschedule s0001 2026-11-04 --to 2026-11-05 --reason bench
measure "expand school year, from file" "$CONVENE" expand bench.json --from 2026-09-01 --to 2027-06-30
measure "expand school year, from store" "$CONVENE" expand --from 2026-09-01 --to 2027-06-30
"$CONVENE" expand bench.json --from 2026-09-01 --to 2027-06-30 > file.out
"$CONVENE" expand --from 2026-09-01 --to 2027-06-30 > store.out
echo "occurrences: $(grep -c '"occurrence_id"' store.out) (store and file outputs differ only by the reschedule: $(diff file.out store.out | grep -c '^[<>]') lines)"
