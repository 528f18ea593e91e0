#!/bin/sh
# Builds convene in Release, runs bench/expand_bench (convene's engine, its bare
# iterator, libical's iterator) and bench/dateutil_bench.py (python-dateutil) in one
# run, and prints occurrences per second with the ratio of convene's engine to the
# faster of libical and dateutil. Target: at least 10x on every row.
#
#   bench/run_expand_comparison.sh            # build folder: build-bench-release
#   BUILD=/tmp/b MIN_TIME=0.5 bench/run_expand_comparison.sh
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench-release}
MIN_TIME=${MIN_TIME:-1}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cmake -S "$SRC" -B "$BUILD" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target expand_bench >/dev/null
"$BUILD/bench/expand_bench" --benchmark_min_time="$MIN_TIME" \
  --benchmark_out="$OUT/convene.json" --benchmark_out_format=json >/dev/null 2>"$OUT/convene.err"
/usr/bin/python3 "$SRC/bench/dateutil_bench.py" --min-time "$MIN_TIME" >"$OUT/dateutil.json"

/usr/bin/python3 - "$OUT/convene.json" "$OUT/dateutil.json" <<'EOF'
import json, sys
convene = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
dateutil = json.load(open(sys.argv[2]))
keys = ["weekly_mo", "weekly_mo_fr", "monthly_2mo", "daily", "school_year_1000"]
rules = {"weekly_mo": "FREQ=WEEKLY;BYDAY=MO (10 y)",
         "weekly_mo_fr": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR (10 y)",
         "monthly_2mo": "FREQ=MONTHLY;BYDAY=2MO (10 y)",
         "daily": "FREQ=DAILY (10 y)",
         "school_year_1000": "1,000 series, one school year"}
def rate(name):
    b = convene.get(name)
    return b["occ_per_s"] if b else float("nan")
head = ("rule", "engine occ/s", "iterator occ/s", "libical occ/s", "dateutil occ/s",
        "engine / faster", "iterator / faster")
rows = []
worst = float("inf")
for k in keys:
    e, it, li = rate("engine/" + k), rate("iterator/" + k), rate("libical/" + k)
    du = dateutil["dateutil/" + k]["occ_per_s"]
    faster = max(li, du)
    worst = min(worst, e / faster)
    rows.append((rules[k], "%.3gM" % (e / 1e6), "%.3gM" % (it / 1e6), "%.0fk" % (li / 1e3),
                 "%.0fk" % (du / 1e3), "%.1fx" % (e / faster), "%.0fx" % (it / faster)))
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
fmt = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
print(fmt(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(fmt(r))
print("\nengine = convene::expand() with us-dc holidays (policy following) and zone "
      "resolution (America/New_York); iterator = bare RecurrenceIterator.")
print("worst engine ratio: %.1fx (target 10x)" % worst)
EOF
