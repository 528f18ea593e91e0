#!/usr/bin/python3
"""Oracle for convene's ICS closures: python3-icalendar + python3-recurring-ical-events.

Usage: ics_closures_oracle.py FILE.ics

Prints one line per all-day event instance between 1900 and 2100, as convene reads them
(load_ics_closures): "FIRST<TAB>LAST<TAB>SUMMARY", LAST inclusive (DTEND is exclusive;
DURATION counts days; neither means one day). Timed and STATUS:CANCELLED events are
left out. recurring-ical-events expands RRULE/RDATE/EXDATE and RECURRENCE-ID itself.
Exits non-zero when a module is missing, so the test fails.
"""
import datetime
import sys

import icalendar
import recurring_ical_events


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    events = recurring_ical_events.of(calendar).between(
        datetime.date(1900, 1, 1), datetime.date(2101, 1, 1))
    for event in events:
        start = event["DTSTART"].dt
        if isinstance(start, datetime.datetime):
            continue  # a timed event
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if "DTEND" in event:
            end = event["DTEND"].dt
        elif "DURATION" in event:
            end = start + event["DURATION"].dt
        else:
            end = start + datetime.timedelta(days=1)
        last = max(start, end - datetime.timedelta(days=1))
        print("%s\t%s\t%s" % (start.isoformat(), last.isoformat(), event.get("SUMMARY", "Closed")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
