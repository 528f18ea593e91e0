// convene/server.h: `convene serve`, an HTTP/1.1 server for the feeds of a FeedCatalog.
//
// Routes (GET and HEAD only; anything else is 405 with "Allow: GET, HEAD"):
//   /                     the subscribe page (text/html)
//   /healthz              {"status":"ok","requests":N,"renders":N,"connections":N} (JSON):
//                         requests served, feeds rendered since start (the catalog's
//                         renders(): a feed served from cache does not move it), open
//                         connections
//   /feeds/...            the feeds of convene/feed_catalog.h (text/calendar; charset=utf-8)
// Everything else is 404 with a short body that names nothing of the server.
//
// Feeds carry a strong ETag (If-None-Match → 304) and Last-Modified (If-Modified-Since
// → 304, when there is no If-None-Match), gzip when the client accepts it (the gzip
// representation has its own ETag, "...-gz"), Vary: Accept-Encoding, and keep-alive.
// Response headers and bodies are written from the catalog's cached bytes, so a 304 or
// a repeated GET costs a look-up, not a render.
//
// Strict framing (RFC 9112): a request is answered 400 and its connection closed when
// it has a Transfer-Encoding on GET or HEAD (or in HTTP/1.0), any transfer coding but
// "chunked", both Content-Length and Transfer-Encoding, Content-Length values that
// differ, a Content-Length on GET or HEAD other than 0, no Host (HTTP/1.1), more than one
// Host or a Host that is not a host[:port], an obs-fold (a header line continued on the
// next line) or a line of whitespace before the first header, or a request target that is
// not origin-form ("/feeds/all.ics"; absolute-form and "*" are refused). Nothing after
// such a request is read as another request: the bytes are drained and dropped.
//
// Limits: a request's header block is at most `max_header_bytes` (431 otherwise); a
// request must arrive within `request_timeout` (a slow client gets 408 and is closed)
// and an idle keep-alive connection is closed after it; at most `max_connections`
// connections are open: when a new one arrives at the limit, the connection idle the
// longest (nothing of a request received) is closed to make room, and only when every
// connection has a request under way is the new one answered 503 and closed. Other
// methods than GET and HEAD are 405; the body of a request is never read, so one that
// has a body is answered and its connection closed.
//
// The access log (Common Log Format plus the time taken) never holds a member token:
// every part of the target that could be a token is written "<token>", whatever the
// path around it ("//feeds/members/<token>.ics", "/x/<token>", percent-encoded forms,
// query strings). Member tokens are checked by the store (hashes compared in constant
// time).
//
// Built on Boost.Beast (parsing) and Asio (connections), one io_context per thread;
// see docs/server.md for why (measured against cpp-httplib and nginx).
//
// Stopping (stop(), or SIGTERM/SIGINT with handle_signals): the listening socket closes,
// connections with nothing of a request received close at once, and each connection
// with a request under way (even one only partly received) gets its response, with
// "Connection: close", before it closes; whatever is left at `drain_timeout` is cut off.
//
// How to use:
//   convene::FeedCatalog catalog(convene::FeedSource::file("samples/x.json"), {});
//   convene::Server server(catalog, {.host = "127.0.0.1", .port = 8080});
//   if (auto error = server.listen()) { puts(error->c_str()); return 1; }
//   server.run();            // until stop() or, with handle_signals, SIGTERM/SIGINT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace convene {

class FeedCatalog;

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see Server::port())
  int threads = 2;
  std::size_t max_connections = 512;
  std::size_t max_header_bytes = 8192;
  std::chrono::milliseconds request_timeout{10000};
  // How long stop() waits for requests in flight before closing everything.
  std::chrono::milliseconds drain_timeout{10000};
  // Stop gracefully on SIGTERM and SIGINT, reopen the access log on SIGHUP (the CLI
  // sets it; tests call stop()).
  bool handle_signals = false;
  // The access log, one line per request: "" none, "-" standard output (for the
  // journal), else a file appended to (created 0640). With handle_signals, SIGHUP
  // reopens the file (logrotate's convention: rename it, then send SIGHUP).
  std::string access_log;
  // Base URL of the subscribe page's links; empty: "http://<Host header or listen address>".
  std::string base_url;
  // Called once when a graceful stop begins (on the thread that handles it), before the
  // idle connections are closed: the CLI prints "convene: stopping ..." from here.
  std::function<void()> on_stop;
};

class Server {
 public:
  Server(FeedCatalog& catalog, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the access log, binds and listens. nullopt on success, else why not
  // ("127.0.0.1:8080: Address already in use", "access.log: cannot open for appending:
  // Permission denied").
  std::optional<std::string> listen();
  // The bound port (after listen()).
  unsigned short port() const;
  // Serves until stop(); returns once every connection is closed.
  void run();
  // Graceful stop, from any thread (not from a signal handler: use handle_signals):
  // stops accepting, closes idle connections, lets requests in flight finish, then
  // run() returns.
  void stop();

  // Counters (for tests and /healthz).
  std::uint64_t requests() const;
  // Reopens the access log file (what SIGHUP does); from any thread. nullopt on
  // success, else why not (the old file is kept then).
  std::optional<std::string> reopen_access_log();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene
