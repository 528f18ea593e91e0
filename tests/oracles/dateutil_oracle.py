#!/usr/bin/python3
"""Recurrence oracle: python-dateutil's rrule (Debian's python3-dateutil) and zoneinfo.

Reads JSON on stdin:
  {"cases": [{"id": 0, "rule": "FREQ=MONTHLY;BYDAY=2MO", "seed": "2026-09-01T16:00:00",
              "zone": "America/New_York",
              "bound": {"kind": "count", "n": 10}}, ...]}
bound kinds: "count" (COUNT=n), "until_local", "until_utc", "until_date" (UNTIL derived
from dateutil's n-th occurrence: that local date-time, its UTC instant, or its date;
"exact": false adds one second to the date-times).

For each case it
  1. takes as DTSTART the first occurrence dateutil gives at or after `seed` (so the
     start matches the rule, and DTSTART's defaults are the start's own);
  2. fixes the bound and runs dateutil's rrule from that start, in naive local time
     (a UTC UNTIL needs an aware DTSTART: then the zone's, via zoneinfo);
  3. gives each local occurrence's instant, computed independently with zoneinfo by
     RFC 5545 §3.3.5: fold=0, i.e. the first of two ambiguous times, and for a time in
     a gap the offset before it (PEP 495; checked below on a known case).

Writes JSON on stdout:
  {"cases": [{"id": 0, "start": "...", "bound_text": "COUNT=10" | "UNTIL=...",
              "local": ["2026-09-14T16:00:00", ...], "instants": [1789416000, ...]}]}
A case the oracle cannot answer gets {"id": .., "error": "..."}; the caller fails on it.
A missing module makes the script exit non-zero with a message on stderr.

Two adaptations, each the product's rule said in dateutil's terms:
UNTIL as a DATE: convene (by the product's rule) includes the whole local day, while
dateutil compares every occurrence with midnight of that day; dateutil is given
23:59:59 of the day instead.
WEEKLY with BYSETPOS (docs/recurrence.md#weekly-bysetpos-first-week): dateutil 2.8.2 builds the first week's set from DTSTART on
(rrule._iterinfo.wdayset starts at DTSTART's day), so BYSETPOS counts a partial first
week: FREQ=WEEKLY;BYDAY=MO,TU,TH;BYSETPOS=3 from Thursday 1999-07-15 skips that
Thursday. RFC 5545's set is the whole week from WKST; dateutil is run from the start of
DTSTART's week (same time of day) and its occurrences before DTSTART are dropped.

A UTC UNTIL is placed on the last of the first n occurrences, whatever its year
(convene's time layer applies the TZif footer's rule after 2037, as zoneinfo does).
"""
import datetime as dt
import itertools
import json
import signal
import sys

try:
    from dateutil.rrule import rrulestr
    from zoneinfo import ZoneInfo
except ImportError as e:  # pragma: no cover - reported to the test
    sys.stderr.write("dateutil_oracle.py: missing Python module: %s\n" % e)
    sys.exit(3)

FMT = "%Y-%m-%dT%H:%M:%S"
UTC = dt.timezone.utc


def instant(local, zone):
    """Epoch seconds of a naive local time in `zone`, RFC 5545 §3.3.5 (fold=0)."""
    return int(local.replace(tzinfo=zone, fold=0).timestamp())


def check_fold_semantics():
    ny = ZoneInfo("America/New_York")
    # Nonexistent: 2027-03-14 02:30 takes the offset before the gap (EST): 07:30Z.
    gap = instant(dt.datetime(2027, 3, 14, 2, 30), ny)
    assert gap == int(dt.datetime(2027, 3, 14, 7, 30, tzinfo=UTC).timestamp()), gap
    # Ambiguous: 2026-11-01 01:30 is the first one (EDT): 05:30Z.
    amb = instant(dt.datetime(2026, 11, 1, 1, 30), ny)
    assert amb == int(dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC).timestamp()), amb


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


WKST = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def parts(text):
    return dict(p.split("=", 1) for p in text.split(";"))


def occurrences(text, start, until=None, count=None):
    """dateutil's occurrences of `text` from `start` (naive or aware), bounded by an
    `until` datetime or a `count`; unbounded (a generator) when neither is given."""
    p = parts(text)
    first = start
    if p["FREQ"] == "WEEKLY" and "BYSETPOS" in p:
        wkst = WKST[p.get("WKST", "MO")]
        first = start - dt.timedelta(days=(start.weekday() - wkst) % 7)
    rule = rrulestr("RRULE:" + text, dtstart=first)
    if until is not None:
        rule = rule.replace(until=until)
    gen = (t for t in rule if t >= start)
    if count is not None:
        return list(itertools.islice(gen, count))
    if until is not None:
        return list(gen)
    return gen


def run_case(case):
    zone = ZoneInfo(case["zone"])
    seed = dt.datetime.strptime(case["seed"], FMT)
    text = case["rule"]
    first = next(occurrences(text, seed), None)
    if first is None:
        return {"id": case["id"], "error": "dateutil finds no occurrence from the seed"}
    bound = case["bound"]
    kind = bound["kind"]
    n = bound["n"]
    if kind == "count":
        bound_text = "COUNT=%d" % n
        local = occurrences(text, first, count=n)
    else:
        ahead = list(itertools.islice(occurrences(text, first), n))
        target = ahead[-1]
        if kind == "until_utc":
            target = ahead[-1]
        extra = dt.timedelta(seconds=0 if bound.get("exact", True) else 1)
        if kind == "until_local":
            until = target + extra
            bound_text = "UNTIL=" + until.strftime("%Y%m%dT%H%M%S")
            local = occurrences(text, first, until=until)
        elif kind == "until_date":
            bound_text = "UNTIL=" + target.strftime("%Y%m%d")
            end_of_day = dt.datetime.combine(target.date(), dt.time(23, 59, 59))
            local = occurrences(text, first, until=end_of_day)
        elif kind == "until_utc":
            until_utc = dt.datetime.fromtimestamp(instant(target, zone), UTC) + extra
            bound_text = "UNTIL=" + until_utc.strftime("%Y%m%dT%H%M%SZ")
            aware = occurrences(text, first.replace(tzinfo=zone), until=until_utc)
            local = [a.replace(tzinfo=None) for a in aware]
        else:
            return {"id": case["id"], "error": "unknown bound kind " + kind}
    return {
        "id": case["id"],
        "start": first.strftime(FMT),
        "bound_text": bound_text,
        "local": [t.strftime(FMT) for t in local],
        "instants": [instant(t, zone) for t in local],
    }


def main():
    check_fold_semantics()
    request = json.load(sys.stdin)
    signal.signal(signal.SIGALRM, on_alarm)
    out = []
    for case in request["cases"]:
        signal.alarm(5)
        try:
            out.append(run_case(case))
        except Timeout:
            out.append({"id": case["id"], "error": "dateutil took more than 5 s"})
        except Exception as e:  # the caller reports it, naming the case
            out.append({"id": case["id"], "error": "%s: %s" % (type(e).__name__, e)})
        finally:
            signal.alarm(0)
    json.dump({"cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
