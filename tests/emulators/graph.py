#!/usr/bin/python3
"""A Microsoft Graph v1.0 calendar emulator (and the Microsoft identity platform's token
endpoint) for convene's tests.

Every request is checked against the published OpenAPI description of the events
endpoints (graph-v1.0-events-subset.openapi.yml, given with --reference): the path and
method must be one of its operations, query parameters ones it declares (required ones
present), the body must match the request schema (properties known, JSON types, enums:
pattern types, days of week, week index, range types, onlineMeetingProvider). On top of
the schema, the prose rules: a dateTimeTimeZone's and a range's recurrenceTimeZone must
be Windows zone names (ICU's CLDR table: "India Standard Time", never "Asia/Kolkata"),
and so must Prefer: outlook.timezone; each pattern type carries the fields it needs
(weekly: daysOfWeek; absoluteMonthly: dayOfMonth; relativeMonthly: daysOfWeek and
index; ...); an endDate range has an endDate. A request that breaks a rule is answered
400 and listed in /_control/violations.

State is kept as Exchange keeps it: a create whose transactionId was seen before answers
the event it created then (no second event); a recurring event's instances are what its
pattern makes, each with an opaque id and its originalStart (UTC); a PATCHed instance is
an exception; a cancelled one (POST .../cancel) leaves the instances; a cancelled event
answers 404 to a second cancel (Exchange sends its attendees one cancellation; the state's
"cancellations" counts them per event); attendees'
responses are set with POST /_control/respond {"event", "email", "response"}. At most 4
requests run at once per mailbox; a fifth is answered 429 (MailboxConcurrency) with
Retry-After.
"""
import argparse
import base64
import datetime
import functools
import json
import re
import secrets
import urllib.parse
import zoneinfo

import icu
import yaml
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule
from dateutil.rrule import weekday as rr_weekday

import emulator_common as common
from emulator_common import ValidationError

UTC = datetime.timezone.utc
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
MAX_INSTANCES = 5000
MAILBOX_CONCURRENCY = 4


@functools.lru_cache(maxsize=None)
def windows_to_iana(name):
    iana = icu.TimeZone.getIDForWindowsID(name)
    return iana or None


class OpenApi:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.schemas = self.doc["components"]["schemas"]
        self.params = self.doc["components"].get("parameters", {})
        self.routes = []
        self._props = {}
        for p, ops in self.doc["paths"].items():
            regex = re.compile("^/v1.0" + re.sub(r"\{([^}]+)\}", lambda m: "(?P<%s>[^/]+)" % m.group(1).replace("-", "_"), p) + "$")
            for method, op in ops.items():
                if method in ("get", "post", "patch", "delete", "put"):
                    self.routes.append((method.upper(), regex, op, p))

    def route(self, method, raw_path):
        for m, regex, op, p in self.routes:
            match = regex.match(raw_path)
            if match and m == method:
                return op, p, {k: urllib_unquote(v) for k, v in match.groupdict().items()}
        return None, None, None

    def resolve(self, schema):
        while "$ref" in schema:
            ref = schema["$ref"].split("/")[-1]
            schema = self.schemas.get(ref) or self.params.get(ref)
        return schema

    def check_query(self, op, query):
        declared = {}
        for p in op.get("parameters", []):
            p = self.resolve(p)
            declared[p["name"]] = p
        for name, p in declared.items():
            if p.get("in") == "query" and p.get("required") and name not in query:
                raise ValidationError("query parameter %s is required by %s" % (name, op.get("operationId")))
        for name in query:
            if name not in declared or declared[name].get("in") != "query":
                raise ValidationError("query parameter %r is not one of %s's" % (name, op.get("operationId")))

    def properties(self, schema):
        """All properties of a schema, through allOf and $ref (kept once worked out)."""
        key = id(schema)
        if key not in self._props:
            self._props[key] = self._properties(schema)
        return self._props[key]

    def _properties(self, schema):
        schema = self.resolve(schema)
        props = dict(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            props.update(self._properties(part))
        return props

    def check(self, value, schema, where):
        schema = self.resolve(schema)
        if value is None:
            if schema.get("nullable") or any(self.resolve(s).get("nullable") for s in schema.get("anyOf", [])):
                return
            raise ValidationError("%s is null" % where)
        if "anyOf" in schema:
            options = [self.resolve(s) for s in schema["anyOf"]]
            errors = []
            for o in options:
                try:
                    return self.check(value, o, where)
                except ValidationError as e:
                    errors.append(str(e))
            raise ValidationError("; ".join(errors))
        if "enum" in schema:
            if value not in schema["enum"]:
                raise ValidationError("%s=%r is not one of %s" % (where, value, schema["enum"]))
            return
        t = schema.get("type")
        if t is None and ("allOf" in schema or "properties" in schema):
            t = "object"
        if t == "object":
            if not isinstance(value, dict):
                raise ValidationError("%s is not an object" % where)
            props = self.properties(schema)
            for k, v in value.items():
                if k.startswith("@odata."):
                    continue
                if k not in props:
                    raise ValidationError("%s.%s is not a property of %s" % (where, k, schema.get("title", "it")))
                self.check(v, props[k], where + "." + k)
        elif t == "array":
            if not isinstance(value, list):
                raise ValidationError("%s is not an array" % where)
            for i, v in enumerate(value):
                self.check(v, schema.get("items", {}), "%s[%d]" % (where, i))
        elif t == "string":
            if not isinstance(value, str):
                raise ValidationError("%s is not a string" % where)
            if "pattern" in schema and not re.search(schema["pattern"], value):
                raise ValidationError("%s=%r does not match %s" % (where, value, schema["pattern"]))
        elif t in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError("%s is not a number" % where)
        elif t == "boolean":
            if not isinstance(value, bool):
                raise ValidationError("%s is not a boolean" % where)


def urllib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


def windows_zone(name, where):
    if not isinstance(name, str) or not windows_to_iana(name):
        raise ValidationError("%s %r is not a Windows time zone name" % (where, name))
    return zoneinfo.ZoneInfo(windows_to_iana(name))


def when(t, where):
    if not isinstance(t, dict) or "dateTime" not in t or "timeZone" not in t:
        raise ValidationError("%s needs dateTime and timeZone" % where)
    zone = windows_zone(t["timeZone"], where + ".timeZone")
    dt = datetime.datetime.fromisoformat(t["dateTime"][:19])
    return dt.replace(tzinfo=zone)


def check_recurrence(rec):
    p, r = rec.get("pattern") or {}, rec.get("range") or {}
    t = p.get("type")
    need = {"daily": [], "weekly": ["daysOfWeek"], "absoluteMonthly": ["dayOfMonth"],
            "relativeMonthly": ["daysOfWeek"], "absoluteYearly": ["dayOfMonth", "month"],
            "relativeYearly": ["daysOfWeek", "month"]}
    if t not in need:
        raise ValidationError("recurrence.pattern.type %r is not one of Graph's six" % t)
    for k in need[t] + ["interval"]:
        if not p.get(k):
            raise ValidationError("a %s pattern needs %s" % (t, k))
    if r.get("type") not in ("endDate", "noEnd", "numbered"):
        raise ValidationError("recurrence.range.type %r" % r.get("type"))
    if "startDate" not in r:
        raise ValidationError("recurrence.range needs startDate")
    if r["type"] == "endDate" and not r.get("endDate"):
        raise ValidationError("an endDate range needs endDate")
    if r["type"] == "numbered" and not r.get("numberOfOccurrences"):
        raise ValidationError("a numbered range needs numberOfOccurrences")
    if r.get("recurrenceTimeZone") is not None:
        windows_zone(r["recurrenceTimeZone"], "recurrence.range.recurrenceTimeZone")


def expand(ev):
    """Original starts (UTC) of a recurring event."""
    start = when(ev["start"], "start")
    p, r = ev["recurrence"]["pattern"], ev["recurrence"]["range"]
    days = [rr_weekday(DAYS.index(d)) for d in p.get("daysOfWeek", [])]
    kw = dict(interval=p.get("interval", 1), dtstart=start)
    t = p["type"]
    if t == "daily":
        rule = rrule(DAILY, **kw, count=_count(r), until=_until(r, start))
    elif t == "weekly":
        rule = rrule(WEEKLY, byweekday=days, wkst=DAYS.index(p.get("firstDayOfWeek", "sunday")), **kw,
                     count=_count(r), until=_until(r, start))
    elif t == "absoluteMonthly":
        rule = rrule(MONTHLY, bymonthday=p["dayOfMonth"], **kw, count=_count(r), until=_until(r, start))
    elif t == "relativeMonthly":
        rule = rrule(MONTHLY, byweekday=days, bysetpos=INDEX[p.get("index", "first")], **kw, count=_count(r),
                     until=_until(r, start))
    elif t == "absoluteYearly":
        rule = rrule(YEARLY, bymonth=p["month"], bymonthday=p["dayOfMonth"], **kw, count=_count(r),
                     until=_until(r, start))
    else:
        rule = rrule(YEARLY, bymonth=p["month"], byweekday=days, bysetpos=INDEX[p.get("index", "first")], **kw,
                     count=_count(r), until=_until(r, start))
    out = []
    for dt in rule:
        out.append(dt.astimezone(UTC))
        if len(out) >= MAX_INSTANCES:
            break
    return out


def _count(r):
    return r.get("numberOfOccurrences") if r["type"] == "numbered" else None


def _until(r, start):
    if r["type"] != "endDate":
        return None
    d = datetime.date.fromisoformat(r["endDate"])
    return datetime.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=start.tzinfo)


def stamp(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Graph:
    def __init__(self, args, emulator):
        self.args = args
        self.emulator = emulator
        self.openapi = OpenApi(args.reference)
        self.events = {}         # id -> event
        self.transactions = {}   # transactionId -> id
        self.exceptions = {}     # id -> {original stamp: fields (isCancelled for a cancelled one)}
        self.instance_ids = {}   # opaque instance id -> (id, stamp)
        self.responses = {}      # (id, email) -> response
        self.cancellations = {}  # id -> cancellations sent to its attendees (POST .../cancel)
        self.port = 0

    def is_token_path(self, path):
        return path == "/%s/oauth2/v2.0/token" % self.args.tenant

    def quota_answer(self):
        return 429, "TooManyRequests"

    def concurrency_key(self, path):
        m = re.match(r"^/v1.0/users/([^/]+)", path)
        return m.group(1) if m else "-"

    def concurrency_limited(self, n):
        if n > MAILBOX_CONCURRENCY:
            return 429, self.error_body(429, "ApplicationThrottled", "MailboxConcurrency"), {"Retry-After": "1"}
        return None

    def error_body(self, status, code, message=""):
        return {"error": {"code": code or "generalException", "message": message or code or "error"}}

    def control(self, method, path, body):
        if path == "/_control/respond":  # with "originalStart" (UTC): that occurrence only
            with self.emulator.lock:
                key = body["event"]
                if "originalStart" in body:
                    key = self.instance_id(key, body["originalStart"])
                self.responses[(key, body["email"])] = body["response"]
            return 200, {}
        return None

    def token(self, form):
        if self.emulator.revoked:
            return 401, {"error": "invalid_client",
                         "error_description": "AADSTS7000222: The provided client secret keys are expired."}
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"}
        if form.get("scope") != ["https://graph.microsoft.com/.default"]:
            self.emulator.violation("POST", "token", "scope %r" % form.get("scope"))
            return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: The provided value for scope is not valid."}
        if form.get("client_id") != [self.args.client_id] or form.get("client_secret") != [self.args.client_secret]:
            return 401, {"error": "invalid_client",
                         "error_description": "AADSTS7000215: Invalid client secret provided."}
        return 200, {"token_type": "Bearer", "expires_in": self.emulator.token_lifetime,
                     "access_token": self.emulator.issue_token()}

    def api_call(self, handler, method, path, raw_path, query, body):
        op, pattern, params = self.openapi.route(method, raw_path)
        if not op:
            raise ValidationError("%s %s is not an operation of the OpenAPI description" % (method, raw_path))
        self.openapi.check_query(op, query)
        prefer = handler.headers.get("Prefer")
        if prefer:
            m = re.search(r'outlook\.timezone="([^"]*)"', prefer)
            if m:
                windows_zone(m.group(1), "Prefer: outlook.timezone")
        if "requestBody" in op:
            if body is None:
                raise ValidationError("%s needs a body" % op.get("operationId"))
            self.openapi.check(body, op["requestBody"]["content"]["application/json"]["schema"], "body")
        user = params.get("user_id")
        if user != self.args.mailbox:
            return 404, self.error_body(404, "ErrorItemNotFound", "The mailbox was not found"), {}
        with self.emulator.lock:
            self.request_path = raw_path
            return self.dispatch(method, pattern, params, query, body)

    # the common handler calls service.api
    def api(self, handler, method, path, raw_path, query, body):
        return self.api_call(handler, method, path, raw_path, query, body)

    def online_meeting(self, ev):
        """isOnlineMeeting: Exchange makes the meeting of the provider asked for (Teams:
        teamsForBusiness; the enum itself is checked against the schema) and answers its
        join URL in onlineMeeting."""
        if not ev.get("isOnlineMeeting"):
            return
        provider = ev.get("onlineMeetingProvider")
        if provider != "teamsForBusiness":
            raise ValidationError("isOnlineMeeting with onlineMeetingProvider %r: this tenant has Teams only" % provider)
        if "onlineMeeting" not in ev:
            ev["onlineMeeting"] = {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
                                              + secrets.token_hex(16) + "%40thread.v2/0"}

    def check_event(self, ev):
        for k in ("start", "end"):
            if k in ev:
                when(ev[k], k)
        if ev.get("recurrence"):
            check_recurrence(ev["recurrence"])
        for a in ev.get("attendees", []):
            if not (a.get("emailAddress") or {}).get("address"):
                raise ValidationError("an attendee has no emailAddress.address")

    def view(self, eid):
        ev = json.loads(json.dumps(self.events[eid]))
        for a in ev.get("attendees", []):
            a["status"] = {"response": self.responses.get((eid, a["emailAddress"]["address"]), "none")}
        return ev

    def instance_id(self, eid, s):
        iid = "AAMk" + base64.urlsafe_b64encode(("%s|%s" % (eid, s)).encode()).decode().rstrip("=")
        self.instance_ids[iid] = (eid, s)
        return iid

    def instance_view(self, eid, original):
        ev = self.view(eid)
        s = stamp(original)
        zone = when(ev["start"], "start").tzinfo
        length = when(ev["end"], "end") - when(ev["start"], "start")
        local = original.astimezone(zone)
        inst = {k: v for k, v in ev.items() if k not in ("recurrence", "id", "transactionId")}
        inst.update(id=self.instance_id(eid, s), seriesMasterId=eid, type="occurrence", originalStart=s,
                    start={"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": ev["start"]["timeZone"]},
                    end={"dateTime": (local + length).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                         "timeZone": ev["start"]["timeZone"]})
        exc = self.exceptions[eid].get(s)
        if exc:
            inst.update(exc)
            inst["type"] = "exception"
        for a in inst.get("attendees", []):  # an answer for this occurrence only
            key = (inst["id"], a["emailAddress"]["address"])
            if key in self.responses:
                a["status"] = {"response": self.responses[key]}
        return inst

    def page(self, items, query):
        """$top/$skip paging, with @odata.nextLink while more remain."""
        top = int(query.get("$top", ["10"])[0])
        skip = int(query.get("$skip", ["0"])[0])
        out = {"value": items[skip:skip + top]}
        if skip + top < len(items):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            rest["$skip"] = [str(skip + top)]
            out["@odata.nextLink"] = "http://127.0.0.1:%d%s?%s" % (
                self.port, self.request_path, urllib.parse.urlencode(rest, doseq=True))
        return out

    def dispatch(self, method, pattern, params, query, body):
        eid = params.get("event_id")
        if pattern == "/users/{user-id}/events" and method == "POST":
            self.check_event(body)
            tx = body.get("transactionId")
            if tx and tx in self.transactions:
                return 201, self.view(self.transactions[tx]), {}
            new = "AAMkAG" + secrets.token_hex(12)
            ev = dict(body, id=new, iCalUId="040000008200E00074C5B7101A82E008" + secrets.token_hex(8),
                      type="seriesMaster" if body.get("recurrence") else "singleInstance", isCancelled=False)
            self.online_meeting(ev)
            self.events[new] = ev
            self.exceptions[new] = {}
            if tx:
                self.transactions[tx] = new
            return 201, self.view(new), {}
        if pattern == "/users/{user-id}/events" and method == "GET":
            return 200, self.page([self.view(e) for e in self.events if not self.events[e]["isCancelled"]], query), {}
        target = self.instance_ids.get(eid)
        if pattern == "/users/{user-id}/events/{event-id}":
            if target:
                base, s = target
                if s in self.exceptions[base] and self.exceptions[base][s].get("isCancelled"):
                    return 404, self.error_body(404, "ErrorItemNotFound"), {}
                if method == "PATCH":
                    self.check_event(body)
                    if "recurrence" in body or "attendees" in body:
                        raise ValidationError("an occurrence's patch may not carry recurrence or attendees")
                    self.exceptions[base].setdefault(s, {}).update(body)
                    return 200, self.instance_view(base, datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)), {}
                return 200, self.instance_view(base, datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)), {}
            if eid not in self.events or self.events[eid]["isCancelled"]:
                return 404, self.error_body(404, "ErrorItemNotFound", "The specified object was not found in the store."), {}
            if method == "GET":
                return 200, self.view(eid), {}
            if method == "DELETE":
                self.events[eid]["isCancelled"] = True
                return 204, None, {}
            self.check_event(body)
            ev = self.events[eid]
            old = (ev.get("recurrence"), ev.get("start"))
            ev.update(body)
            self.online_meeting(ev)
            if (ev.get("recurrence"), ev.get("start")) != old:
                self.exceptions[eid] = {}  # Exchange drops exceptions when the pattern changes
            return 200, self.view(eid), {}
        if pattern == "/users/{user-id}/events/{event-id}/instances":
            if eid not in self.events or self.events[eid]["isCancelled"] or not self.events[eid].get("recurrence"):
                return 404, self.error_body(404, "ErrorItemNotFound"), {}
            lo = datetime.datetime.fromisoformat(query["startDateTime"][0].replace("Z", "+00:00"))
            hi = datetime.datetime.fromisoformat(query["endDateTime"][0].replace("Z", "+00:00"))
            items = []
            for d in expand(self.events[eid]):
                if not lo <= d < hi:
                    continue
                exc = self.exceptions[eid].get(stamp(d), {})
                if exc.get("isCancelled"):
                    continue
                items.append(self.instance_view(eid, d))
            return 200, self.page(items, query), {}
        if pattern.endswith("/microsoft.graph.cancel"):
            if "event-id1" in pattern:
                target = self.instance_ids.get(params.get("event_id1"))
                if not target or target[0] != eid:
                    return 404, self.error_body(404, "ErrorItemNotFound"), {}
                exc = self.exceptions[eid].setdefault(target[1], {})
                if exc.get("isCancelled"):
                    return 404, self.error_body(404, "ErrorItemNotFound"), {}
                exc["isCancelled"] = True
                return 202, None, {}
            if eid not in self.events or self.events[eid]["isCancelled"]:
                return 404, self.error_body(404, "ErrorItemNotFound"), {}
            self.events[eid]["isCancelled"] = True
            self.cancellations[eid] = self.cancellations.get(eid, 0) + 1
            return 202, None, {}
        raise ValidationError("the emulator does not serve %s %s" % (method, pattern))

    def state(self):
        with self.emulator.lock:
            out = {}
            for eid in self.events:
                e = self.view(eid)
                e["exceptions"] = self.exceptions[eid]
                out[eid] = e
            return {"events": out, "cancellations": self.cancellations}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--quota-per-minute", type=int, default=0)
    p.add_argument("--token-lifetime", type=int, default=3600)
    args = p.parse_args()
    emulator = common.Emulator(args.latency_ms, args.quota_per_minute, args.token_lifetime)
    common.serve(emulator, Graph(args, emulator), "graph")


if __name__ == "__main__":
    main()
