#!/usr/bin/python3
"""Reads email messages as a receiving mail client would, for convene's tests.

Usage: read_mail.py FILE.eml...   (or a folder: every *.eml in it, sorted)
       read_mail.py FILE.ics...   (calendar objects, as a CalDAV server stores them:
                                   {"file", "calendar"} each, "calendar" as below)

Prints one JSON array, an object per message, from Python's email package (the
standard library's parser with policy.default, which decodes RFC 2047 words and
validates addresses) and python3-icalendar for text/calendar parts:
  file, defects (the parser's complaints, as strings), longest_line (octets, CRLF
  excluded), eight_bit (any octet >= 0x80), bare_lf (a LF not after a CR),
  headers: {name (lower case): [decoded values]}, from / to / reply_to:
  [{"name", "addr"}], structure ("multipart/mixed(multipart/alternative(text/plain,...))"),
  parts: [{"type", "params", "cte", "disposition", "text"}] for each leaf
  (text decoded, with LF line ends and no final line break), and
  calendar (the first text/calendar leaf): {"method", "content_type_method",
  "events": [{"uid", "sequence", "recurrence_id", "dtstart", "dtend", "summary",
  "description", "status", "organizer", "attendees": [{"value", "params"}],
  "rrule", "exdates", "rdates"}]}.
"""
import email
import email.policy
import json
import os
import sys

import icalendar


def addresses(msg, name):
    header = msg.get(name)
    if header is None:
        return []
    return [{"name": a.display_name, "addr": a.addr_spec} for a in header.addresses]


def structure(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_type(), ",".join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def ical_time(value):
    if value is None:
        return None
    dt = value.dt
    tz = getattr(dt, "tzinfo", None)
    text = dt.isoformat()
    tzid = value.params.get("TZID")
    return {"text": text, "tzid": tzid, "utc": bool(tz is not None and str(tz) == "UTC")}


def list_times(component, name):
    out = []
    values = component.get(name)
    if values is None:
        return out
    if not isinstance(values, list):
        values = [values]
    for v in values:
        for d in v.dts:
            out.append(d.dt.isoformat())
    return out


def read_calendar(text, content_type_method):
    cal = icalendar.Calendar.from_ical(text)
    events = []
    for ev in cal.walk("VEVENT"):
        attendees = ev.get("ATTENDEE")
        if attendees is None:
            attendees = []
        elif not isinstance(attendees, list):
            attendees = [attendees]
        organizer = ev.get("ORGANIZER")
        events.append(
            {
                "uid": str(ev.get("UID")),
                "sequence": int(ev.get("SEQUENCE", 0)),
                "recurrence_id": ical_time(ev.get("RECURRENCE-ID")),
                "dtstart": ical_time(ev.get("DTSTART")),
                "dtend": ical_time(ev.get("DTEND")),
                "summary": str(ev.get("SUMMARY", "")),
                "description": str(ev.get("DESCRIPTION", "")),
                "status": str(ev.get("STATUS", "")),
                "organizer": None
                if organizer is None
                else {"value": str(organizer), "params": {k: str(v) for k, v in organizer.params.items()}},
                "attendees": [
                    {"value": str(a), "params": {k: str(v) for k, v in a.params.items()}} for a in attendees
                ],
                "rrule": ev.get("RRULE").to_ical().decode() if ev.get("RRULE") is not None else None,
                "exdates": list_times(ev, "EXDATE"),
                "rdates": list_times(ev, "RDATE"),
            }
        )
    return {
        "method": str(cal.get("METHOD", "")),
        "content_type_method": content_type_method,
        "timezones": [str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")],
        "events": events,
    }


def read(path):
    raw = open(path, "rb").read()
    lines = raw.split(b"\r\n")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {
        "file": os.path.basename(path),
        "defects": [repr(d) for d in msg.defects],
        "longest_line": max(len(line) for line in lines),
        "eight_bit": any(b >= 0x80 for b in raw),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
        "headers": {},
        "from": addresses(msg, "from"),
        "to": addresses(msg, "to"),
        "reply_to": addresses(msg, "reply-to"),
        "structure": structure(msg),
        "parts": [],
        "calendar": None,
    }
    for name, value in msg.items():
        out["headers"].setdefault(name.lower(), []).append(str(value))
    for part in msg.walk():
        if part.is_multipart():
            for d in part.defects:
                out["defects"].append(repr(d))
            continue
        text = part.get_content()
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        # LF line ends, without the final line break (in a multipart, the CRLF before a
        # boundary belongs to the boundary).
        text = text.replace("\r\n", "\n")
        if text.endswith("\n"):
            text = text[:-1]
        out["defects"].extend(repr(d) for d in part.defects)
        out["parts"].append(
            {
                "type": part.get_content_type(),
                "params": {k: v for k, v in part.get_params() or [] if v != ""},
                "cte": part.get("content-transfer-encoding", ""),
                "disposition": part.get_content_disposition(),
                "text": text,
            }
        )
        if part.get_content_type() == "text/calendar" and out["calendar"] is None:
            out["calendar"] = read_calendar(text, part.get_param("method"))
    return out


def main(argv):
    files = []
    for arg in argv:
        if os.path.isdir(arg):
            files.extend(sorted(os.path.join(arg, f) for f in os.listdir(arg) if f.endswith(".eml")))
        else:
            files.append(arg)
    out = []
    for f in files:
        if f.endswith(".ics"):
            out.append({"file": os.path.basename(f), "calendar": read_calendar(open(f, encoding="utf-8").read(), None)})
        else:
            out.append(read(f))
    json.dump(out, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
