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
// Limits: a request's header block is at most `max_header_bytes` (431 otherwise); a
// request must arrive within `request_timeout` (a slow client gets 408 and is closed)
// and an idle keep-alive connection is closed after it; at most `max_connections`
// connections are open (more are answered 503 and closed). GET and HEAD take no body:
// a request with one is 413 (405 for other methods) and the connection is closed.
// Request targets are origin-form only ("/feeds/all.ics"); absolute-form is 400. Member tokens are checked by the store (hashes compared in constant
// time) and never written to the access log ("/feeds/members/<token>.ics").
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
#include <ostream>
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
  // Stop gracefully on SIGTERM and SIGINT (the CLI sets it; tests call stop()).
  bool handle_signals = false;
  // One line per request (Common Log Format plus the time taken); nullptr: no log.
  std::ostream* access_log = nullptr;
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

  // Binds and listens. nullopt on success, else why not ("127.0.0.1:8080: Address
  // already in use").
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene
