#!/usr/bin/python3
"""An independent computation of `convene expand`, for the engine's differential test.

Reads a definitions file (JSON without comments) and a window, and prints the
occurrences convene should list, as JSON, computed with other tools entirely:
python3-dateutil for recurrence rules, zoneinfo for time zones, python3-holidays for
the federal holidays, and a separate implementation of the holiday policies written
from the product's specification, not from convene's code.

Usage: engine_oracle.py DEFINITIONS.json FROM TO
Supports what the generator in tests/schedule_differential_test.cpp produces:
builtin us-federal/us-dc, rules (fixed with weekend observance, nth weekday,
easter), closures; series with rrule/add/except/on_holiday/observes; overrides with
cancel/move_to/duration.
"""
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

import holidays as pyholidays
from dateutil import easter as dueaster
from dateutil import rrule as durrule

DAY = dt.timedelta(days=1)
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def parse_local(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M")


def parse_date(text):
    return dt.datetime.strptime(text, "%Y-%m-%d").date()


def parse_duration(text):
    # The generator writes PTnHnM or PTnM only.
    assert text.startswith("PT"), text
    rest, hours, minutes = text[2:], 0, 0
    if "H" in rest:
        h, rest = rest.split("H", 1)
        hours = int(h)
    if "M" in rest:
        minutes = int(rest.split("M", 1)[0])
    return dt.timedelta(hours=hours, minutes=minutes)


# --- holidays -----------------------------------------------------------------

def observed_weekend(day):
    if day.weekday() == 5:
        return day - DAY
    if day.weekday() == 6:
        return day + DAY
    return None


def builtin_days(kind, years):
    """{date: name} for us-federal / us-dc, both the holiday and its observed day."""
    out = {}
    for year in years:
        # python3-holidays (0.10) gives the federal holidays and their observed days,
        # except Juneteenth (2021 on), which it predates.
        for day, name in sorted(pyholidays.US(years=[year], observed=True).items()):
            if day.year != year and not (day.month == 12 and day.day == 31):
                continue
            out.setdefault(day, name)
        # The holiday itself is a holiday even when observed elsewhere.
        for (m, d, name) in [(1, 1, "New Year's Day"), (7, 4, "Independence Day"),
                             (11, 11, "Veterans Day"), (12, 25, "Christmas Day")]:
            out.setdefault(dt.date(year, m, d), name)
        if year >= 2021:
            j = dt.date(year, 6, 19)
            out.setdefault(j, "Juneteenth")
            o = observed_weekend(j)
            if o:
                out.setdefault(o, "Juneteenth (observed)")
        if kind == "us-dc":
            if year >= 2005:
                e = dt.date(year, 4, 16)
                out.setdefault(e, "DC Emancipation Day")
                o = observed_weekend(e)
                if o:
                    out.setdefault(o, "DC Emancipation Day (observed)")
            if year >= 1965 and (year - 1965) % 4 == 0:
                i = dt.date(year, 1, 20)
                out.setdefault(i, "Inauguration Day")
                if i.weekday() == 6:
                    out.setdefault(i + DAY, "Inauguration Day (observed)")
    return out


def nth_weekday(year, month, weekday, nth):
    if nth > 0:
        d = dt.date(year, month, 1)
        d += dt.timedelta(days=(weekday - d.weekday()) % 7)
        d += dt.timedelta(weeks=nth - 1)
        return d if d.month == month else None
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - DAY)
    d = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    d -= dt.timedelta(weeks=-nth - 1)
    return d if d.month == month else None


def calendar_days(cal, years):
    """The set of holiday dates of one calendar over the years (names not needed)."""
    days = set()
    if "builtin" in cal:
        days |= set(builtin_days(cal["builtin"], years))
    for rule in cal.get("rules", []):
        for year in years:
            if "since" in rule and year < rule["since"]:
                continue
            if "until" in rule and year > rule["until"]:
                continue
            if "easter" in rule:
                days.add(dueaster.easter(year) + dt.timedelta(days=rule["easter"]))
            elif "weekday" in rule:
                d = nth_weekday(year, rule["month"], WEEKDAYS.index(rule["weekday"]), rule["nth"])
                if d:
                    days.add(d)
            else:
                d = dt.date(year, rule["month"], rule["day"])
                days.add(d)
                if rule.get("observed") == "weekend" and observed_weekend(d):
                    days.add(observed_weekend(d))
    for c in cal.get("closures", []):
        first = parse_date(c.get("date", c.get("from")))
        last = parse_date(c.get("date", c.get("to")))
        while first <= last:
            days.add(first)
            first += DAY
    return days


# --- policies -----------------------------------------------------------------

def business(day, holidays, workweek):
    return day.weekday() in workweek and day not in holidays


def search(day, step, holidays, workweek):
    for i in range(1, 32):
        c = day + step * i * DAY
        if business(c, holidays, workweek):
            return c
    return None


def apply_policy(day, policy, holidays, workweek):
    if policy == "skip":
        return None
    if policy == "keep":
        return day
    if policy == "following":
        return search(day, 1, holidays, workweek)
    if policy == "preceding":
        return search(day, -1, holidays, workweek)
    if policy == "modified-following":
        f = search(day, 1, holidays, workweek)
        if f and f.month == day.month:
            return f
        return search(day, -1, holidays, workweek)
    if policy == "modified-preceding":
        p = search(day, -1, holidays, workweek)
        if p and p.month == day.month:
            return p
        return search(day, 1, holidays, workweek)
    if policy == "nearest":
        f, p = search(day, 1, holidays, workweek), search(day, -1, holidays, workweek)
        if f is None or p is None:
            return f or p
        return f if (f - day) <= (day - p) else p
    if policy == "next-week":
        for w in range(1, 5):
            c = day + dt.timedelta(weeks=w)
            if c not in holidays:
                return c
        return None
    raise ValueError(policy)


# --- expansion ----------------------------------------------------------------

def rule_starts(series, tz, lo, hi):
    start = parse_local(series["start"])
    out = {start} if lo <= start <= hi else set()
    text = series.get("rrule")
    if text:
        parts = dict(p.split("=", 1) for p in text.split(";"))
        until = parts.pop("UNTIL", None)
        rebuilt = ";".join(k + "=" + v for k, v in parts.items())
        rule = durrule.rrulestr(rebuilt, dtstart=start, cache=False)
        bound = None
        if until:
            if len(until) == 8:  # a DATE: the whole local day is included
                bound = lambda t, d=dt.datetime.strptime(until, "%Y%m%d"): t.date() <= d.date()
            elif until.endswith("Z"):
                u = dt.datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
                bound = lambda t, u=u: t.replace(tzinfo=tz, fold=0) <= u
            else:
                u = dt.datetime.strptime(until, "%Y%m%dT%H%M%S")
                bound = lambda t, u=u: t <= u
        for t in rule:
            if t > hi or (bound and not bound(t)):
                break
            if t >= lo:
                out.add(t)
    for a in series.get("add", []):
        t = parse_local(a)
        if lo <= t <= hi:
            out.add(t)
    for e in series.get("except", []):
        out.discard(parse_local(e))
    return sorted(out)


def to_utc(local, tz):
    # RFC 5545 §3.3.5: fold=0 is the first of two ambiguous times and, for a
    # nonexistent one, the offset before the gap: exactly what zoneinfo does.
    return local.replace(tzinfo=tz, fold=0).astimezone(dt.timezone.utc)


def rfc3339(utc, tz):
    local = utc.astimezone(tz)
    return local.isoformat()


def main():
    defs = json.load(open(sys.argv[1]))
    wfrom, wto = parse_date(sys.argv[2]), parse_date(sys.argv[3])
    margin = dt.timedelta(days=70)
    lo = dt.datetime.combine(wfrom, dt.time()) - margin
    hi = dt.datetime.combine(wto, dt.time(23, 59, 59)) + margin
    years = list(range(wfrom.year - 1, wto.year + 2))
    cal_days = {cid: calendar_days(c, years) for cid, c in defs.get("calendars", {}).items()}
    overrides = {}
    for o in defs.get("overrides", []):
        overrides[(o["series"], o["occurrence"])] = o
    result = []
    for community in defs["communities"]:
        tz = ZoneInfo(community["timezone"])
        workweek = {WEEKDAYS.index(d) for d in community.get("workweek", WEEKDAYS[:5])}
        for series in community["series"]:
            holidays = set()
            for cid in community.get("observes", []) + series.get("observes", []):
                holidays |= cal_days[cid]
            policy = series.get("on_holiday", "skip")
            duration = parse_duration(series["duration"])
            items = []
            held = set()
            for t in rule_starts(series, tz, lo, hi):
                item = {"original": t, "target": t, "status": "scheduled"}
                if t.date() in holidays and policy != "keep":
                    day = apply_policy(t.date(), policy, holidays, workweek)
                    if day is None:
                        item["status"] = "skipped"
                    else:
                        item["status"] = "shifted"
                        item["target"] = dt.datetime.combine(day, t.time())
                if item["status"] == "scheduled":
                    held.add(t)
                items.append(item)
            for item in items:
                if item["status"] == "shifted":
                    if item["target"] in held:
                        item["status"] = "skipped"
                    else:
                        held.add(item["target"])
            for item in items:
                o = overrides.get((series["id"], item["original"].strftime("%Y-%m-%dT%H:%M")))
                item["duration"] = duration
                if not o:
                    continue
                if o.get("cancel"):
                    item["status"] = "cancelled"
                elif "move_to" in o:
                    item["status"] = "moved"
                    item["target"] = parse_local(o["move_to"])
                if "duration" in o:
                    item["duration"] = parse_duration(o["duration"])
            for item in items:
                live = item["status"] not in ("skipped", "cancelled")
                shown = item["target"] if live else item["original"]
                if not (wfrom <= shown.date() <= wto):
                    continue
                start = to_utc(item["target"], tz) if live else None
                result.append({
                    "series": series["id"],
                    "occurrence_id": item["original"].strftime("%Y-%m-%dT%H:%M"),
                    "status": item["status"],
                    "start": rfc3339(start, tz) if live else None,
                    "end": rfc3339(start + item["duration"], tz) if live else None,
                })
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
