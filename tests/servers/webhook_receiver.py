#!/usr/bin/python3
"""A webhook receiver for convene's tests: Python's http.server on 127.0.0.1.

It listens on a port the kernel picks and prints "listening PORT" once it accepts
connections. Every POST is appended to --log as one JSON line ({"path", "headers" (names
lower-case), "body"}) before it is answered, so a test that saw the answer finds the line.
What it answers depends on the path's first segment:
  /ok/...     200 "ok" (as Slack answers)
  /fail/...   500 "internal error"
  /busy/...   429 with "Retry-After: SECONDS" (--retry-after, default 120)
  /gone/...   404 "no_service" (as Slack answers a removed webhook)
  /hang/...   nothing: it holds the connection until the client gives up
  /wait/...   200 once the folder --wait-for holds an .eml file (the SMTP sink's), so a
              test can tell a client that posts while it sends email from one that
              posts only before or after (at most 60 s, then 504)
Each request is served on a thread of its own, so a hanging one holds up no other.
SIGTERM stops it.
"""
import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--retry-after", default="120")
    parser.add_argument("--wait-for", default="")
    args = parser.parse_args()
    lock = threading.Lock()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self, code, text, extra=()):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY)
            body = self.rfile.read(length).decode("utf-8", "replace")
            record = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            with lock, open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            kind = self.path.strip("/").split("/")[0]
            if kind == "ok":
                self.answer(200, "ok")
            elif kind == "fail":
                self.answer(500, "internal error")
            elif kind == "busy":
                self.answer(429, "rate limited", [("Retry-After", args.retry_after)])
            elif kind == "gone":
                self.answer(404, "no_service")
            elif kind == "hang":
                stop.wait()
            elif kind == "wait":
                for _ in range(6000):
                    if args.wait_for and any(f.endswith(".eml") for f in os.listdir(args.wait_for)):
                        self.answer(200, "ok")
                        return
                    if stop.wait(0.01):
                        return
                self.answer(504, "waited too long")
            else:
                self.answer(400, "unknown path")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def on_term(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
