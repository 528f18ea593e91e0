#!/usr/bin/python3
"""Independent reader #1: python3-icalendar + python3-recurring-ical-events (Debian).

Usage: read_python.py FROM_UTC TO_UTC FILE...   (FROM/TO as 2026-09-01T00:00:00Z)
Prints one line per occurrence whose start is in [FROM, TO):
  FILE <TAB> UID <TAB> START (UTC) <TAB> END (UTC) <TAB> STATUS
STATUS is "cancelled" for an event whose STATUS is CANCELLED (what a calendar client
reads), else the X-CONVENE-STATUS of an override or an expanded event, else "scheduled".
"""
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events


def utc(value):
    if value.tzinfo is None:
        raise SystemExit("floating time in feed: %r" % (value,))
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    start = datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    end = datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    out = []
    for path in sys.argv[3:]:
        with open(path, "rb") as f:
            calendar = icalendar.Calendar.from_ical(f.read())
        for event in recurring_ical_events.of(calendar).between(start, end):
            begin = event["DTSTART"].dt
            if not (start <= begin < end):
                continue
            finish = event["DTEND"].dt if "DTEND" in event else begin + event["DURATION"].dt
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                status = "cancelled"
            else:
                status = str(event.get("X-CONVENE-STATUS", "scheduled"))
            out.append("\t".join([path, str(event["UID"]), utc(begin), utc(finish), status]))
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


main()
