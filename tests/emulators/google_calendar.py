#!/usr/bin/python3
"""A Google Calendar API v3 emulator (and its OAuth token endpoint) for convene's tests.

Every request is checked against the published discovery document
(/work/shared/reference/calendar.v3.json, given with --reference): the method and path
must be one of its methods, every query parameter one of that method's (with its type
and enum: sendUpdates is all|externalOnly|none), every body field a property of its
schema with the right JSON type, recursively. On top of the schema, the prose rules:
an event id is 5 to 1024 characters of base32hex (a-v, 0-9); recurrence lines are
RRULE, EXRULE, RDATE or EXDATE (never DTSTART); a recurring event's start and end carry
timeZone, an IANA name; a dateTime without an offset needs a timeZone; attendees have
an email. A request that breaks a rule is answered 400 and listed in
/_control/violations.

State is kept as the service keeps it: an id used once stays used after delete (a new
insert with it is 409, the event is still read with status "cancelled", and an update
may bring it back); instances are "<id>_<original start UTC, basic form>" and exist only
where the recurrence makes one; an exception (a patched or cancelled instance) is kept
per instance; attendees' responses are set with POST /_control/respond
{"event", "email", "responseStatus"}; POST /_control/delete {"event"} deletes an event as
its organizer would in Google's own pages.

Meet: an insert or patch with conferenceData.createRequest and conferenceDataVersion=1
answers statusCode "pending" for --meet-pending reads, then "success" (or "failure"
with --meet-failure).

The token endpoint (POST /token) takes the JWT-bearer grant: RS256 over the header and
claims, verified with --public-key; iss must be --client-email, scope the calendar scope,
aud this endpoint's URL, iat within 5 minutes of now, exp at most an hour after iat.
"""
import argparse
import base64
import datetime
import json
import re
import sys
import time
import zoneinfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from dateutil.rrule import rrulestr, rruleset

import emulator_common as common
from emulator_common import ValidationError

SCOPE = "https://www.googleapis.com/auth/calendar"
ID_RULE = re.compile(r"^[a-v0-9]{5,1024}$")
ZONES = zoneinfo.available_timezones()
UTC = datetime.timezone.utc
# How far an expansion looks (instances past this are not checked).
MAX_INSTANCES = 5000


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Discovery:
    def __init__(self, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.schemas = self.doc["schemas"]
        self.base = "/" + self.doc["servicePath"].strip("/")
        self.routes = []
        self._collect(self.doc.get("resources", {}))

    def _collect(self, resources):
        for res in resources.values():
            for name, m in res.get("methods", {}).items():
                pattern = re.sub(r"\{\+?([A-Za-z]+)\}", r"(?P<\1>[^/]+)", m["path"])
                self.routes.append((m["httpMethod"], re.compile("^" + self.base + "/" + pattern + "$"), m))
            self._collect(res.get("resources", {}))

    def route(self, method, raw_path):
        for http_method, regex, m in self.routes:
            match = regex.match(raw_path)
            if match and http_method == method:
                return m, {k: urllib_unquote(v) for k, v in match.groupdict().items()}
        return None, None

    def check_query(self, m, query):
        # The method's own parameters and the ones every method takes (fields, ...).
        params = dict(self.doc.get("parameters", {}), **m.get("parameters", {}))
        for name, values in query.items():
            p = params.get(name)
            if not p or p.get("location") != "query":
                raise ValidationError("query parameter %r is not one of %s's" % (name, m["id"]))
            for v in values:
                if "enum" in p and v not in p["enum"]:
                    raise ValidationError("%s=%r is not one of %s" % (name, v, p["enum"]))
                if p.get("type") == "integer" and not re.fullmatch(r"-?\d+", v):
                    raise ValidationError("%s=%r is not an integer" % (name, v))
                if p.get("type") == "boolean" and v not in ("true", "false"):
                    raise ValidationError("%s=%r is not a boolean" % (name, v))
                if p.get("type") == "integer" and "minimum" in p and int(v) < int(p["minimum"]):
                    raise ValidationError("%s=%r is below %s" % (name, v, p["minimum"]))

    def check_body(self, value, schema, where):
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        t = schema.get("type")
        if t == "object":
            if not isinstance(value, dict):
                raise ValidationError("%s is not an object" % where)
            props = schema.get("properties")
            if props is not None:
                for k, v in value.items():
                    if k not in props:
                        raise ValidationError("%s.%s is not a property of %s" % (where, k, schema.get("id", "it")))
                    self.check_body(v, props[k], where + "." + k)
            elif "additionalProperties" in schema:
                for k, v in value.items():
                    self.check_body(v, schema["additionalProperties"], where + "." + k)
        elif t == "array":
            if not isinstance(value, list):
                raise ValidationError("%s is not an array" % where)
            for i, v in enumerate(value):
                self.check_body(v, schema["items"], "%s[%d]" % (where, i))
        elif t == "string":
            if not isinstance(value, str):
                raise ValidationError("%s is not a string" % where)
            if "enum" in schema and value not in schema["enum"]:
                raise ValidationError("%s=%r is not one of %s" % (where, value, schema["enum"]))
            if schema.get("format") == "date-time":
                try:
                    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    raise ValidationError("%s=%r is not an RFC 3339 date-time" % (where, value))
            if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                raise ValidationError("%s=%r is not a date" % (where, value))
        elif t == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError("%s is not an integer" % where)
        elif t == "boolean":
            if not isinstance(value, bool):
                raise ValidationError("%s is not a boolean" % where)


def urllib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


def parse_time(t, where):
    """An EventDateTime as an aware datetime."""
    if not isinstance(t, dict) or "dateTime" not in t:
        raise ValidationError("%s has no dateTime (convene's sessions are timed)" % where)
    zone = t.get("timeZone")
    if zone is not None and zone not in ZONES:
        raise ValidationError("%s.timeZone %r is not an IANA time zone" % (where, zone))
    dt = datetime.datetime.fromisoformat(t["dateTime"].replace("Z", "+00:00"))
    if dt.tzinfo is None:
        if zone is None:
            raise ValidationError("%s.dateTime has no offset and there is no timeZone" % where)
        dt = dt.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return dt


def check_recurrence(lines):
    for line in lines:
        name = re.split(r"[;:]", line, 1)[0].upper()
        if name not in ("RRULE", "EXRULE", "RDATE", "EXDATE"):
            raise ValidationError("recurrence line %r is not RRULE, EXRULE, RDATE or EXDATE" % line[:60])
        if "\n" in line or "\r" in line:
            raise ValidationError("recurrence line %r holds a line break" % line[:60])


def parse_dates(line):
    head, _, value = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    tz = zoneinfo.ZoneInfo(params["TZID"]) if "TZID" in params else UTC
    out = []
    for v in value.split(","):
        if v.endswith("Z"):
            out.append(datetime.datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
        else:
            out.append(datetime.datetime.strptime(v, "%Y%m%dT%H%M%S").replace(tzinfo=tz))
    return out


def expand(event):
    """The original starts (UTC) of a recurring event's instances."""
    start = parse_time(event["start"], "start")
    zone = zoneinfo.ZoneInfo(event["start"]["timeZone"])
    dtstart = start.astimezone(zone)
    rs = rruleset()
    for line in event.get("recurrence", []):
        name = re.split(r"[;:]", line, 1)[0].upper()
        if name == "RRULE":
            rs.rrule(rrulestr(line.split(":", 1)[1], dtstart=dtstart))
        elif name == "EXRULE":
            rs.exrule(rrulestr(line.split(":", 1)[1], dtstart=dtstart))
        elif name == "RDATE":
            for d in parse_dates(line):
                rs.rdate(d)
        elif name == "EXDATE":
            for d in parse_dates(line):
                rs.exdate(d)
    rs.rdate(dtstart)
    out = []
    for dt in rs:
        out.append(dt.astimezone(UTC))
        if len(out) >= MAX_INSTANCES:
            break
    return out


def basic(dt):
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class Google:
    def __init__(self, args, emulator):
        self.args = args
        self.emulator = emulator
        self.discovery = Discovery(args.reference)
        with open(args.public_key, "rb") as f:
            self.public_key = serialization.load_pem_public_key(f.read())
        self.calendars = set(args.calendar)
        self.events = {}      # id -> event (as stored; status "cancelled" once deleted)
        self.exceptions = {}  # id -> {basic original start: instance fields}
        self.responses = {}   # (id, email) -> responseStatus
        self.meet_reads = {}  # id -> reads left while pending
        self.subjects = []    # sub claims seen
        self.port = 0

    # --- common hooks
    def is_token_path(self, path):
        return path == "/token"

    def quota_answer(self):
        return 403, "rateLimitExceeded"

    def concurrency_key(self, path):
        return "calendar"

    def concurrency_limited(self, n):
        return None

    def error_body(self, status, reason, message=""):
        return {"error": {"code": status, "message": message or reason or "error",
                          "errors": [{"domain": "usageLimits" if "RateLimit" in reason else "global",
                                      "reason": reason or "backendError", "message": message or reason}]}}

    def control(self, method, path, body):
        if path == "/_control/respond":  # "event": a series' id, or an instance's (one session)
            with self.emulator.lock:
                self.responses[(body["event"], body["email"])] = body["responseStatus"]
            return 200, {}
        if path == "/_control/delete":  # the organizer deletes the event in Google's own UI
            with self.emulator.lock:
                self.events[body["event"]]["status"] = "cancelled"
            return 200, {}
        return None

    # --- the token endpoint
    def token(self, form):
        def refuse(error, description):
            return 400, {"error": error, "error_description": description}
        if self.emulator.revoked:
            return refuse("invalid_grant", "Invalid grant: account not found")
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return refuse("unsupported_grant_type", "Invalid grant_type")
        try:
            header_b64, claims_b64, sig_b64 = form["assertion"][0].split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            if header.get("alg") != "RS256":
                return refuse("invalid_grant", "alg is not RS256")
            self.public_key.verify(b64url_decode(sig_b64), (header_b64 + "." + claims_b64).encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except Exception as e:  # noqa: BLE001 - any malformed assertion is one refusal
            return refuse("invalid_grant", "Invalid JWT Signature. (%s)" % type(e).__name__)
        now = time.time()
        problems = []
        if claims.get("iss") != self.args.client_email:
            problems.append("iss")
        if SCOPE not in str(claims.get("scope", "")).split():
            problems.append("scope")
        if claims.get("aud") != "http://127.0.0.1:%d/token" % self.port:
            problems.append("aud")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or abs(iat - now) > 300:
            problems.append("iat")
        elif not 0 < exp - iat <= 3600:
            problems.append("exp")
        if problems:
            self.emulator.violation("POST", "/token", "JWT claims wrong: " + ", ".join(problems))
            return refuse("invalid_grant", "Invalid JWT: " + ", ".join(problems))
        if "sub" in claims:
            self.subjects.append(claims["sub"])
        return 200, {"access_token": self.emulator.issue_token(), "expires_in": self.emulator.token_lifetime,
                     "token_type": "Bearer"}

    # --- the API
    def api(self, handler, method, path, raw_path, query, body):
        m, params = self.discovery.route(method, raw_path)
        if not m:
            raise ValidationError("%s %s is not a method of the discovery document" % (method, raw_path))
        self.discovery.check_query(m, query)
        for name, p in m.get("parameters", {}).items():
            if p.get("required") and p.get("location") == "path" and name not in params:
                raise ValidationError("%s lacks %s" % (m["id"], name))
        if "request" in m:
            if body is None:
                raise ValidationError("%s needs a body" % m["id"])
            self.discovery.check_body(body, m["request"], "body")
        elif body is not None:
            raise ValidationError("%s takes no body" % m["id"])
        cal = params.get("calendarId")
        with self.emulator.lock:
            if cal is not None and cal not in self.calendars:
                return 404, self.error_body(404, "notFound", "Not Found"), {}
            handler_name = m["id"].split(".", 1)[1].replace(".", "_")
            fn = getattr(self, "m_" + handler_name, None)
            if not fn:
                raise ValidationError("the emulator does not serve %s" % m["id"])
            return fn(params, query, body)

    def m_calendars_get(self, params, query, body):
        return 200, {"kind": "calendar#calendar", "id": params["calendarId"], "summary": "Organizer",
                     "timeZone": "America/New_York"}, {}

    def check_event(self, ev, partial):
        if "recurrence" in ev:
            check_recurrence(ev["recurrence"])
        for k in ("start", "end"):
            if k in ev:
                parse_time(ev[k], k)
        for a in ev.get("attendees", []):
            if "email" not in a:
                raise ValidationError("an attendee has no email")
        if not partial:
            for k in ("start", "end"):
                if k not in ev:
                    raise ValidationError("an event needs %s" % k)
        if ev.get("recurrence"):
            for k in ("start", "end"):
                if "timeZone" not in ev.get(k, {}):
                    raise ValidationError("a recurring event's %s needs timeZone" % k)

    def meet(self, eid, ev, query):
        req = (ev.get("conferenceData") or {}).get("createRequest")
        if not req or query.get("conferenceDataVersion") != ["1"]:
            ev.pop("conferenceData", None) if req else None
            return
        if "conferenceSolutionKey" not in req or req["conferenceSolutionKey"].get("type") != "hangoutsMeet":
            raise ValidationError("conferenceData.createRequest.conferenceSolutionKey.type is not hangoutsMeet")
        self.meet_reads[eid] = self.args.meet_pending
        ev["conferenceData"] = {"createRequest": {"requestId": req.get("requestId", ""),
                                                  "conferenceSolutionKey": req["conferenceSolutionKey"],
                                                  "status": {"statusCode": "pending"}}}

    def view(self, eid, ev, advance=True):
        """The event as a read returns it (attendees' responses, Meet progress: a pending
        request advances with each read when `advance`)."""
        out = json.loads(json.dumps(ev))
        for a in out.get("attendees", []):
            a["responseStatus"] = self.responses.get((eid, a["email"]), "needsAction")
        cd = out.get("conferenceData")
        if advance and cd and "createRequest" in cd and eid in self.meet_reads:
            left = self.meet_reads[eid]
            if left <= 0:
                ok = not self.args.meet_failure
                cd["createRequest"]["status"]["statusCode"] = "success" if ok else "failure"
                if ok:
                    cd["entryPoints"] = [{"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"}]
                ev["conferenceData"] = json.loads(json.dumps(cd))
                del self.meet_reads[eid]
            else:
                self.meet_reads[eid] = left - 1
        return out

    def m_events_insert(self, params, query, body):
        eid = body.get("id")
        if eid is not None and not ID_RULE.match(eid):
            raise ValidationError("event id %r is not 5-1024 characters of base32hex (a-v, 0-9)" % eid[:40])
        self.check_event(body, False)
        if eid in self.events:
            return 409, self.error_body(409, "duplicate", "The requested identifier already exists."), {}
        if eid is None:
            eid = "e" + str(len(self.events)).zfill(8)
        ev = dict(body, id=eid, kind="calendar#event", status=body.get("status", "confirmed"), sequence=0,
                  iCalUID=eid + "@google.com")
        self.meet(eid, ev, query)
        self.events[eid] = ev
        self.exceptions[eid] = {}
        return 200, self.view(eid, ev), {}

    def split_instance(self, eid):
        if "_" not in eid:
            return None, None
        base, _, stamp = eid.rpartition("_")
        return base, stamp

    def instance(self, base, stamp, body):
        """The original start of instance `stamp` of `base`, checked."""
        ev = self.events.get(base)
        if not ev or ev.get("status") == "cancelled" or not ev.get("recurrence"):
            return None
        starts = {basic(d): d for d in expand(ev)}
        if stamp not in starts:
            return None
        if body and "recurringEventId" in body and body["recurringEventId"] != base:
            raise ValidationError("recurringEventId %r is not the instance's series" % body["recurringEventId"])
        if body and "originalStartTime" in body:
            if basic(parse_time(body["originalStartTime"], "originalStartTime")) != stamp:
                raise ValidationError("originalStartTime is not the instance's original start")
        return starts[stamp]

    def m_events_get(self, params, query, body):
        eid = params["eventId"]
        if eid in self.events:
            return 200, self.view(eid, self.events[eid]), {}
        base, stamp = self.split_instance(eid)
        if base and self.instance(base, stamp, None):
            return 200, self.instance_view(base, stamp), {}
        return 404, self.error_body(404, "notFound", "Not Found"), {}

    def instance_view(self, base, stamp, advance=True):
        ev = self.view(base, self.events[base], advance)
        original = {basic(d): d for d in expand(self.events[base])}[stamp]
        zone = self.events[base]["start"]["timeZone"]
        length = parse_time(ev["end"], "end") - parse_time(ev["start"], "start")
        local = original.astimezone(zoneinfo.ZoneInfo(zone))
        inst = {k: v for k, v in ev.items() if k not in ("recurrence", "id")}
        inst.update(id=base + "_" + stamp, recurringEventId=base,
                    originalStartTime={"dateTime": local.isoformat(), "timeZone": zone},
                    start={"dateTime": local.isoformat(), "timeZone": zone},
                    end={"dateTime": (local + length).isoformat(), "timeZone": zone})
        inst.update(self.exceptions[base].get(stamp, {}))
        for a in inst.get("attendees", []):  # an answer for this session only
            a["responseStatus"] = self.responses.get((inst["id"], a["email"]), a["responseStatus"])
        return inst

    def is_exception(self, base, stamp):
        """Google keeps an instance of its own once it is changed or answered on its own."""
        iid = base + "_" + stamp
        return stamp in self.exceptions[base] or any(k[0] == iid for k in self.responses)

    def m_events_list(self, params, query, body):
        """Not expanded (singleEvents false): the events and their exceptions, paged."""
        if query.get("singleEvents") == ["true"]:
            raise ValidationError("the emulator lists events unexpanded only")
        show_deleted = query.get("showDeleted") == ["true"]
        items = []
        for eid, ev in self.events.items():
            if ev.get("status") == "cancelled" and not show_deleted:
                continue
            items.append(self.view(eid, ev, advance=False))
            if ev.get("status") == "cancelled" or not ev.get("recurrence"):
                continue
            for d in expand(ev):
                st = basic(d)
                if self.is_exception(eid, st):
                    inst = self.instance_view(eid, st, advance=False)
                    if inst.get("status") != "cancelled" or show_deleted:
                        items.append(inst)
        size = min(int(query.get("maxResults", ["250"])[0]), 2500)
        start = int(query.get("pageToken", ["0"])[0] or 0)
        page = {"kind": "calendar#events", "items": items[start:start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return 200, page, {}

    def m_events_patch(self, params, query, body):
        eid = params["eventId"]
        self.check_event(body, True)
        if "id" in body and body["id"] != eid:
            raise ValidationError("a patch may not change the id")
        if eid in self.events:
            ev = self.events[eid]
            old = ev.get("recurrence")
            ev.update(body)
            ev["sequence"] = ev.get("sequence", 0) + 1
            self.check_event(ev, False)
            self.meet(eid, ev, query) if "conferenceData" in body else None
            if ev.get("recurrence") != old or "start" in body:
                valid = {basic(d) for d in expand(ev)} if ev.get("recurrence") else set()
                self.exceptions[eid] = {k: v for k, v in self.exceptions[eid].items() if k in valid}
            return 200, self.view(eid, ev), {}
        base, stamp = self.split_instance(eid)
        if base and self.instance(base, stamp, body):
            for k in ("recurrence", "attendees"):
                if k in body:
                    raise ValidationError("an instance patch may not carry %s" % k)
            exc = self.exceptions[base].setdefault(stamp, {})
            exc.update({k: v for k, v in body.items() if k not in ("recurringEventId", "originalStartTime")})
            return 200, self.instance_view(base, stamp), {}
        return 404, self.error_body(404, "notFound", "Not Found"), {}

    def m_events_update(self, params, query, body):
        return self.m_events_patch(params, query, body)

    def m_events_delete(self, params, query, body):
        eid = params["eventId"]
        if eid in self.events:
            if self.events[eid].get("status") == "cancelled":
                return 410, self.error_body(410, "deleted", "Resource has been deleted"), {}
            self.events[eid]["status"] = "cancelled"
            return 204, None, {}
        base, stamp = self.split_instance(eid)
        if base and self.instance(base, stamp, None):
            self.exceptions[base].setdefault(stamp, {})["status"] = "cancelled"
            return 204, None, {}
        return 404, self.error_body(404, "notFound", "Not Found"), {}

    def m_events_instances(self, params, query, body):
        base = params["eventId"]
        if base not in self.events or not self.events[base].get("recurrence"):
            return 404, self.error_body(404, "notFound", "Not Found"), {}
        show_deleted = query.get("showDeleted") == ["true"]
        items = []
        for d in expand(self.events[base]):
            inst = self.instance_view(base, basic(d))
            if inst.get("status") == "cancelled" and not show_deleted:
                continue
            items.append(inst)
        return 200, {"kind": "calendar#events", "items": items}, {}

    def state(self):
        with self.emulator.lock:
            out = {}
            for eid, ev in self.events.items():
                e = self.view(eid, ev) if False else json.loads(json.dumps(ev))
                for a in e.get("attendees", []):
                    a["responseStatus"] = self.responses.get((eid, a["email"]), "needsAction")
                e["exceptions"] = self.exceptions.get(eid, {})
                out[eid] = e
            return {"events": out, "subjects": self.subjects}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--client-email", required=True)
    p.add_argument("--calendar", action="append", default=[])
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--quota-per-minute", type=int, default=0)
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--meet-pending", type=int, default=1)
    p.add_argument("--meet-failure", action="store_true")
    args = p.parse_args()
    emulator = common.Emulator(args.latency_ms, args.quota_per_minute, args.token_lifetime)
    common.serve(emulator, Google(args, emulator), "google")


if __name__ == "__main__":
    main()
