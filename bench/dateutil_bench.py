#!/usr/bin/python3
"""python-dateutil's rrule on the rules of bench/expand_bench.cpp, same starts and spans.

Prints JSON: {"dateutil/weekly_mo": {"occ_per_s": ..., "occurrences": ...}, ...}
Each measurement takes the best of several repetitions (at least `--min-time` seconds
in all), like Google Benchmark's steady state. Run with Debian's /usr/bin/python3.
"""
import argparse
import datetime as dt
import json
import sys
import time

try:
    from dateutil.rrule import rrulestr
except ImportError as e:
    sys.stderr.write("dateutil_bench.py: missing Python module: %s\n" % e)
    sys.exit(3)

RULES = {
    "weekly_mo": "FREQ=WEEKLY;BYDAY=MO",
    "weekly_mo_fr": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "monthly_2mo": "FREQ=MONTHLY;BYDAY=2MO",
    "daily": "FREQ=DAILY",
}
START = dt.datetime(2026, 9, 14, 16, 0)
TEN_YEARS_END = dt.datetime(2036, 9, 13, 23, 59)

# The same eight rules and starts as expand_bench.cpp's school_year_1000.
SCHOOL_YEAR_RULES = [
    "FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "FREQ=MONTHLY;BYDAY=2MO",
    "FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=WEEKLY;BYDAY=MO,WE,FR"]
SCHOOL_YEAR_END = dt.datetime(2027, 6, 30, 23, 59, 59)


def school_year_start(i):
    return dt.datetime(2026, 9, 1 + i % 14, 8 + i % 10, 0)


def expand(text, start, end):
    """Occurrences of the rule from `start` up to `end`, parsing included (as the C++
    side parses once per series too, outside its timing, this is slightly unfair to
    dateutil only by the parse; it is a small part)."""
    n = 0
    for t in rrulestr("RRULE:" + text, dtstart=start):
        if t > end:
            break
        n += 1
    return n


def measure(fn, min_time):
    best = None
    spent = 0.0
    n = 0
    runs = 0
    while spent < min_time or runs < 3:
        t0 = time.perf_counter()
        n = fn()
        elapsed = time.perf_counter() - t0
        spent += elapsed
        runs += 1
        best = elapsed if best is None else min(best, elapsed)
    return {"occ_per_s": n / best, "occurrences": n, "seconds": best}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-time", type=float, default=1.0)
    args = parser.parse_args()
    out = {}
    for key, text in RULES.items():
        out["dateutil/" + key] = measure(lambda: expand(text, START, TEN_YEARS_END), args.min_time)
    out["dateutil/school_year_1000"] = measure(
        lambda: sum(expand(SCHOOL_YEAR_RULES[i % 8], school_year_start(i), SCHOOL_YEAR_END)
                    for i in range(1000)),
        args.min_time)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
