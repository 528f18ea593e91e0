"""What the Google Calendar and Microsoft Graph emulators share: the HTTP server, the
request log, injected faults, pacing (latency, a per-minute quota), the access tokens
they issued, and the control endpoints under /_control/ that tests use.

Control endpoints (JSON in and out):
  GET  /_control/log          every request: method, path, query, status, write (a change
                              to the calendar: not a read, not a token request)
  GET  /_control/violations   requests that broke the reference (also answered 400)
  GET  /_control/state        the service's state (each emulator says what)
  POST /_control/faults       {"rules": [rule, ...]} appended; a rule:
        {"method": "POST", "path": REGEX, "times": 1 (-1: forever), "status": 429,
         "retry_after": "1" (optional), "reason": "rateLimitExceeded" (Google's 403),
         "mode": "respond" | "apply_then_respond" | "apply_then_hang", "hang_ms": 3000}
        respond: answered with the status without touching state; apply_then_*: the
        request is carried out, then its answer is lost (replaced, or never sent in time)
  POST /_control/clear-faults
  POST /_control/expire-tokens   every access token issued so far answers 401
  POST /_control/revoke          the credentials are refused from now on (token requests)
  POST /_control/reset-log
"""
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Fault:
    def __init__(self, rule):
        self.method = rule.get("method")
        self.path = re.compile(rule.get("path", ".*"))
        self.times = int(rule.get("times", 1))
        self.status = int(rule.get("status", 500))
        self.retry_after = rule.get("retry_after")
        self.reason = rule.get("reason", "")
        self.mode = rule.get("mode", "respond")
        self.hang_ms = int(rule.get("hang_ms", 3000))
        if self.mode not in ("respond", "apply_then_respond", "apply_then_hang"):
            raise ValueError("unknown fault mode " + self.mode)

    def matches(self, method, path):
        return self.times != 0 and (self.method in (None, method)) and self.path.search(path)


class Emulator:
    """State and policy shared by the handler threads (one lock for everything)."""

    def __init__(self, latency_ms=0, quota_per_minute=0, token_lifetime=3600):
        self.lock = threading.RLock()
        self.log = []
        self.violations = []
        self.faults = []
        self.tokens = {}  # token -> expiry (time.time())
        self.revoked = False
        self.latency = latency_ms / 1000.0
        self.quota = quota_per_minute
        self.window = []  # start times of API requests in the last minute
        self.quota_refusals = 0
        self.token_lifetime = token_lifetime
        self.in_flight = {}  # key -> requests running now (Graph: per mailbox)
        self.max_in_flight = {}
        # key -> [request-seconds in flight, first start, last change]: the mean number
        # in flight from the first request to the last answer (are all slots used?)
        self.busy = {}

    def in_flight_change(self, key, delta):
        """Counts a request in (+1) or out (-1) of `key`'s window; the new count."""
        now = time.monotonic()
        with self.lock:
            n = self.in_flight.get(key, 0)
            b = self.busy.setdefault(key, [0.0, now, now])
            b[0] += n * (now - b[2])
            b[2] = now
            self.in_flight[key] = n + delta
            if delta > 0:
                self.max_in_flight[key] = max(n + delta, self.max_in_flight.get(key, 0))
            return n + delta

    # --- tokens
    def issue_token(self):
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return token

    def token_ok(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        with self.lock:
            expiry = self.tokens.get(header[7:])
        return expiry is not None and expiry > time.time()

    # --- faults and the quota
    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    if f.times > 0:
                        f.times -= 1
                    return f
        return None

    def over_quota(self):
        if not self.quota:
            return False
        now = time.monotonic()
        with self.lock:
            self.window = [t for t in self.window if now - t < 60.0]
            if len(self.window) >= self.quota:
                self.quota_refusals += 1
                return True
            self.window.append(now)
        return False

    def violation(self, method, path, message):
        with self.lock:
            self.violations.append({"method": method, "path": path, "message": message})

    def record(self, method, path, query, status, token=False):
        """`write`: a request that changes the calendar (not a read, not a token request)."""
        with self.lock:
            self.log.append({"method": method, "path": path, "query": query, "status": status,
                             "write": method not in ("GET", "HEAD") and not token, "at": time.time()})

    def control(self, method, path, body):
        """Common control endpoints; None when the path is not one of them."""
        with self.lock:
            if path == "/_control/log":
                return 200, self.log
            if path == "/_control/violations":
                return 200, self.violations
            if path == "/_control/faults" and method == "POST":
                self.faults.extend(Fault(r) for r in body.get("rules", []))
                return 200, {"faults": len(self.faults)}
            if path == "/_control/clear-faults":
                self.faults = []
                return 200, {}
            if path == "/_control/expire-tokens":
                for t in self.tokens:
                    self.tokens[t] = 0
                return 200, {}
            if path == "/_control/revoke":
                self.revoked = True
                return 200, {}
            if path == "/_control/reset-log":
                self.log = []
                return 200, {}
            if path == "/_control/stats":
                mean = {k: (b[0] / (b[2] - b[1]) if b[2] > b[1] else 0.0) for k, b in self.busy.items()}
                return 200, {"quota_refusals": self.quota_refusals, "max_in_flight": self.max_in_flight,
                             "mean_in_flight": mean, "requests": len(self.log)}
        return None


class ValidationError(Exception):
    pass


def make_handler(emulator, service):
    """A request handler class; `service` has token(handler, form) -> (status, body) and
    api(handler, method, path, query, body) -> (status, body_obj, headers), and
    state() for /_control/state."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body are two writes: with Nagle's algorithm the body waits
        # for the client's delayed ACK of the headers (40 ms on Linux), which no real
        # service adds to its answers (found by cloud_sync_bench.sh: 2 of Graph's 4 slots
        # busy on average, each request ~40 ms longer than its latency).
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

        def send_json(self, status, obj, headers=None):
            data = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            if obj is not None:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > 4 * 1024 * 1024:
                raise ValidationError("body too large")
            return self.rfile.read(length) if length else b""

        def handle_any(self, method):
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            raw_path = url.path
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            raw = self.read_body()
            if path.startswith("/_control/"):
                body = json.loads(raw or b"{}")
                result = emulator.control(method, path, body)
                if result is None:
                    result = service.control(method, path, body)
                if path == "/_control/state":
                    result = 200, service.state()
                self.send_json(*(result or (404, {"error": "no such control"})))
                return
            if service.is_token_path(path):
                form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
                status, obj = service.token(form)
                emulator.record(method, path, {}, status, token=True)
                self.send_json(status, obj)
                return
            fault = emulator.take_fault(method, path)
            if fault and fault.mode == "respond":
                emulator.record(method, path, query, fault.status)
                return self.send_json(fault.status, service.error_body(fault.status, fault.reason),
                                      {"Retry-After": fault.retry_after} if fault.retry_after else None)
            if not emulator.token_ok(self.headers.get("Authorization")):
                emulator.record(method, path, query, 401)
                return self.send_json(401, service.error_body(401, "authError"),
                                      {"WWW-Authenticate": "Bearer"})
            if emulator.over_quota():
                emulator.record(method, path, query, 403)
                status, reason = service.quota_answer()
                return self.send_json(status, service.error_body(status, reason))
            key = service.concurrency_key(path)
            n = emulator.in_flight_change(key, +1)
            arrived = time.monotonic()
            try:
                limited = service.concurrency_limited(n)
                if limited:
                    status, obj, headers = limited
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        raise ValidationError("the body is not JSON")
                    status, obj, headers = service.api(self, method, path, raw_path, query, body)
            except ValidationError as e:
                emulator.violation(method, path, str(e))
                status, obj, headers = 400, service.error_body(400, "invalid", str(e)), {}
            except Exception as e:  # noqa: BLE001 - the emulator's own bug: listed, answered 500
                emulator.violation(method, path, "emulator error: %r" % e)
                status, obj, headers = 500, service.error_body(500, "emulatorError", repr(e)), {}
            finally:
                # The answer leaves LATENCY after the request arrived (the emulator's own
                # work included), inside the window: a slow answer holds its slot.
                wait = emulator.latency - (time.monotonic() - arrived)
                if wait > 0:
                    time.sleep(wait)
                emulator.in_flight_change(key, -1)
            emulator.record(method, path, query, status)
            if fault and fault.mode == "apply_then_hang":
                time.sleep(fault.hang_ms / 1000.0)
                self.close_connection = True
                return
            if fault and fault.mode == "apply_then_respond":
                return self.send_json(fault.status, service.error_body(fault.status, fault.reason),
                                      {"Retry-After": fault.retry_after} if fault.retry_after else None)
            self.send_json(status, obj, headers)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PATCH(self):
            self.handle_any("PATCH")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

    return Handler


def serve(emulator, service, name):
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(emulator, service))
    server.daemon_threads = True
    service.port = server.server_address[1]
    print("%s listening %d" % (name, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
