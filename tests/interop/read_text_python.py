#!/usr/bin/python3
"""Independent reader #1 for the injection tests: python3-icalendar + recurring-ical-events.

Usage: read_text_python.py FROM_UTC TO_UTC FILE...   (FROM/TO as 2026-09-01T00:00:00Z)
Prints one JSON object: {"FILE": {"uids": [UID of every VEVENT, in order],
                                  "occurrences": [{uid, start, summary, description,
                                                   location, url, organizer, cn,
                                                   categories}, ...]}}
for the occurrences whose start (UTC) is in [FROM, TO), in start order.
"""
import json
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events


def utc(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(event, name):
    value = event.get(name)
    return "" if value is None else str(value)


def categories(event):
    value = event.get("CATEGORIES")
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(c) for v in values for c in v.cats]


def main():
    start = datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    end = datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    out = {}
    for path in sys.argv[3:]:
        with open(path, "rb") as f:
            calendar = icalendar.Calendar.from_ical(f.read())
        uids = [str(e.get("UID")) for e in calendar.walk("VEVENT")]
        occurrences = []
        for event in recurring_ical_events.of(calendar).between(start, end):
            organizer = event.get("ORGANIZER")
            occurrences.append({
                "uid": str(event["UID"]),
                "start": utc(event["DTSTART"].dt),
                "summary": text(event, "SUMMARY"),
                "description": text(event, "DESCRIPTION"),
                "location": text(event, "LOCATION"),
                "url": text(event, "URL"),
                "organizer": "" if organizer is None else str(organizer),
                "cn": "" if organizer is None else str(organizer.params.get("CN", "")),
                "categories": categories(event),
            })
        occurrences.sort(key=lambda o: (o["start"], o["uid"]))
        out[path] = {"uids": uids, "occurrences": occurrences}
    json.dump(out, sys.stdout)


main()
