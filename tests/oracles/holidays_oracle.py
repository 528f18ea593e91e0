#!/usr/bin/python3
"""Oracle for convene's built-in holiday calendars: python3-holidays (Debian 0.10.x).

Usage: holidays_oracle.py us-federal|us-dc FROM_YEAR TO_YEAR

Prints one line per (day, name) that python-holidays gives in [FROM-01-01, TO-12-31],
sorted: "YYYY-MM-DD<TAB>name". Names are python-holidays' own, unchanged; the C++ test
(tests/holiday_calendar_test.cpp) maps them to convene's and names every difference.

python-holidays stores one string per day and joins two holidays on the same day into
"A, B" (Martin Luther King, Jr. Day and Inauguration Day in 1997, 2013 observed, 2041).
Splitting on ", " would break "Martin Luther King, Jr. Day", so the oracle records every
assignment python-holidays makes instead of reading the joined strings back.

Exits non-zero (ImportError) when the holidays module is missing: the test fails then.
"""
import datetime
import sys

import holidays


def main(argv):
    if len(argv) != 4 or argv[1] not in ("us-federal", "us-dc"):
        sys.stderr.write(__doc__)
        return 2
    calendar, first, last = argv[1], int(argv[2]), int(argv[3])
    state = "DC" if calendar == "us-dc" else None

    entries = set()

    class Recording(holidays.US):
        def __setitem__(self, key, value):
            entries.add((key, value))
            super().__setitem__(key, value)

    # observed=True: the Saturday -> Friday and Sunday -> Monday days are listed too.
    # Years one beyond each end, so that a 31 December observance of the next year's
    # New Year's Day (and any spill-over) is seen; the output is cut to the range.
    Recording(years=range(first - 1, last + 2), observed=True, state=state)
    lo, hi = datetime.date(first, 1, 1), datetime.date(last, 12, 31)
    for day, name in sorted(entries):
        if lo <= day <= hi:
            print("%s\t%s" % (day.isoformat(), name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
