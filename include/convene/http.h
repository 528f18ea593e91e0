// convene/http.h: the HTTP/1.1 server of `convene serve`, and its router.
//
// How to add a route (the feeds, pages, the JSON API and unsubscribe links are all routes):
//
//   convene::http::Router router;
//   router.get("/sessions/{series}/{occurrence}", [&](const Request& req, Response& res) {
//     auto page = render_session(req.param("series"), req.param("occurrence"));  // decoded once
//     if (!page) return res.error(404);
//     res.html(200, *page);
//   });
//   router.post("/unsubscribe/{token}", [&](const Request& req, Response& res) {
//     auto form = req.form();                      // application/x-www-form-urlencoded
//     if (!form || form->get("List-Unsubscribe") != "One-Click") return res.error(400);
//     ...
//     res.status(204);
//   }, {.max_body_bytes = 1024});
//   convene::http::Server server(router, {.host = "127.0.0.1", .port = 8080});
//   if (auto error = server.listen()) { puts(error->c_str()); return 1; }
//   server.run();                                  // until stop() or SIGTERM/SIGINT
//
// A handler gets the parsed Request and fills the Response; it runs on one of the server's
// threads, so what it touches must be thread-safe. It never sees a request the server
// refused (bad framing, too large, wrong method): those are answered before it is called.
// An exception from a handler is a 500 (its message goes to standard error, never to the
// client).
//
// Patterns: "/" separated segments, each a literal ("sessions"), a parameter ("{series}":
// one non-empty segment, percent-decoded once; a segment that decodes to ".", "..", or
// holds a control byte or '/' matches no parameter), or, last, a rest parameter
// ("{path...}": one or more segments, given raw, not decoded). Literals win over
// parameters, parameters over rest parameters, whatever the order of registration:
//   /feeds/{path...}             /feeds/all.ics, /feeds/series/x.ics
//   /sessions/{series}/{occ}     /sessions/power-hour/2027-02-01T16:00
//   /me/{token}                  /me/Zm9v...
// A GET route answers HEAD too (same headers, no body). A path that matches routes of
// other methods only is 405 with their Allow; a path that matches none is 404.
//
// Bodies: a route takes a body only when its RouteOptions say so (POST, PUT and PATCH
// routes default to ServerOptions::max_body_bytes; GET, HEAD and DELETE take none). The
// body is framed by Content-Length or "Transfer-Encoding: chunked" (decoded by Beast), and
// read whole before the handler runs; more than the route's limit is 413 and the
// connection closes. `Expect: 100-continue` is answered when the body will be read.
//
// Errors: res.error(status) is the server's own error response, the reason phrase as
// text/plain ("Not Found\n"), or, for paths under Router::problem_details_under()
// prefixes, application/problem+json (RFC 9457). res.problem() writes a problem+json
// response with a title and detail of the handler's choosing.
//
// Behind a reverse proxy (ServerOptions::trusted_proxies): requests from those addresses
// have their X-Forwarded-Proto, X-Forwarded-For and X-Forwarded-Host believed, so
// Request::secure() is true for https (mark cookies Secure), Request::client() is the
// browser's address (also in the access log), and Request::base_url() the public one.
// Requests from any other address have those fields ignored.
//
// Strict framing (RFC 9112), limits, the access log and stopping are described in
// docs/server.md: a request whose framing two parsers could read differently is 400 and
// the connection closes; headers at most max_header_bytes (431); a request must arrive
// within request_timeout (408); at max_connections the longest-idle connection is closed
// to make room (503 only when all are busy); the access log never holds a token; SIGHUP
// reopens it; SIGTERM finishes the requests in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace convene::http {

enum class Method { get, head, post, put, patch, del, other };

// "GET" ... "DELETE"; "" for other.
std::string_view method_name(Method m);

// Name-value pairs of a query string, a form body or a Cookie header, in order.
struct Params {
  std::vector<std::pair<std::string, std::string>> items;
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of `name` (a repeated checkbox, say).
  std::vector<std::string_view> all(std::string_view name) const;
};

// How many pairs a query string or form body may hold; more is a malformed one.
inline constexpr std::size_t kMaxParams = 1000;
// How deep a JSON body may nest.
inline constexpr int kMaxJsonDepth = 64;

// application/x-www-form-urlencoded (also a query string): pairs split on '&', names and
// values split on the first '=', '+' is a space, %XX decoded once. nullopt when an escape
// is malformed or there are more than kMaxParams pairs.
std::optional<Params> parse_form(std::string_view text);

// Header values (RFC 9110 §5.6): helpers for handlers.
// ASCII case-insensitive equality (field names, tokens).
bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);
// The items of a comma-separated field value, trimmed ("gzip;q=0.8, br" → two items).
std::vector<std::string_view> list_items(std::string_view value);
// Accept-Encoding (§12.5.3) allows gzip: gzip, x-gzip or "*" with a q-value above 0.
bool accepts_gzip(std::string_view accept_encoding);
// If-None-Match / If-Match (§13.1.1, §13.1.2): "*", or a list naming one of `tags`
// ("\"...\"" as the server sent them); W/ is ignored (the weak comparison If-None-Match
// uses; If-Match needs strong tags, which is what convene sends).
bool etag_listed(std::string_view header, std::initializer_list<std::string_view> tags);

// Server counters, for /healthz.
struct ServerStats {
  std::uint64_t requests = 0;     // requests parsed since start
  std::size_t connections = 0;    // open connections
};

class Request {
 public:
  Method method() const { return method_; }
  std::string_view method_name() const;
  // The request target as sent ("/archive?q=snow%20day"), its path and its query (raw).
  std::string_view target() const;
  std::string_view path() const;
  std::string_view query() const;
  // A path parameter of the route ("{series}": decoded; "{path...}": raw); "" if none.
  std::string_view param(std::string_view name) const;
  // The first value of a header field (case-insensitive name), "" when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The body (empty for routes that take none).
  std::string_view body() const;

  // The query string parsed (nullopt when malformed, see parse_form).
  std::optional<Params> query_params() const;
  // The body as a form, when its Content-Type is application/x-www-form-urlencoded.
  std::optional<Params> form() const;
  // The body as JSON, when its Content-Type is application/json (or +json), nested at
  // most kMaxJsonDepth; otherwise nullopt and `why` says what is wrong (for a 400/415).
  std::optional<nlohmann::json> json(std::string* why = nullptr) const;
  // The cookies of the Cookie header (RFC 6265 §5.4).
  Params cookies() const;

  // True when the client reached us over https (X-Forwarded-Proto from a trusted proxy).
  bool secure() const { return secure_; }
  // The client's address: the peer, or from X-Forwarded-For when the peer is trusted.
  std::string_view client() const { return client_; }
  // "https://cop.example.org" as the client sees it: scheme, then the trusted
  // X-Forwarded-Host, the Host, or the listening address.
  std::string base_url() const;
  const ServerStats& stats() const { return stats_; }

  struct Parsed;  // the parser's message and the route's parameters (internal)
  Request(const Parsed& parsed, Method method, std::string_view client, bool secure, std::string_view authority,
          ServerStats stats)
      : parsed_(parsed), method_(method), client_(client), secure_(secure), authority_(authority), stats_(stats) {}

 private:
  const Parsed& parsed_;
  Method method_;
  std::string_view client_;
  bool secure_;
  std::string_view authority_;
  ServerStats stats_;
};

// A Set-Cookie (RFC 6265 §4.1). Name and value must be cookie tokens/octets (no ';',
// ',', space, quote, backslash or control bytes), else Response::cookie throws.
struct Cookie {
  std::string name;
  std::string value;
  std::string path = "/";
  std::optional<std::chrono::seconds> max_age;  // none: a session cookie; 0: delete it
  bool http_only = true;
  bool secure = false;              // set it from Request::secure()
  std::string same_site = "Lax";    // "Strict", "Lax", "None" (needs secure)
};

class Response {
 public:
  Response& status(int code);
  int status() const { return status_; }
  // Adds a header field. Throws std::invalid_argument when the name is not a token or
  // the value holds CR, LF, NUL or other control bytes (no header injection, ever).
  Response& header(std::string_view name, std::string_view value);
  Response& type(std::string_view content_type) { return header("Content-Type", content_type); }
  Response& cache(std::string_view cache_control) { return header("Cache-Control", cache_control); }
  // The body: owned, or bytes kept alive by `owner` (a cached feed) while written.
  Response& body(std::string bytes);
  Response& body(std::shared_ptr<const void> owner, std::string_view bytes);

  // Shorthands: status, Content-Type and body.
  Response& text(int code, std::string body);                     // text/plain; charset=utf-8
  Response& html(int code, std::string body);                     // text/html; charset=utf-8
  Response& json(int code, const nlohmann::json& value);          // application/json
  // application/problem+json (RFC 9457): {"type":"about:blank","title","status","detail"}
  // plus `extra` members (an object).
  Response& problem(int code, std::string_view title, std::string_view detail = {});
  Response& problem(int code, std::string_view title, std::string_view detail, const nlohmann::json& extra);
  // The server's error response for `code`: the reason phrase as text (or as a problem
  // under the router's problem-details prefixes), Cache-Control: no-store.
  Response& error(int code);
  // 303 (or 301, 302, 307, 308) to `location`: a path ("/me/x", not "//host") or an
  // absolute http(s) URL, without spaces or control bytes; else std::invalid_argument.
  Response& redirect(std::string_view location, int code = 303);
  Response& cookie(const Cookie& cookie);

  // For the server (internal): the header fields so far, the body, reset between requests.
  const std::string& fields() const { return fields_; }
  std::string_view body_bytes() const { return body_view_; }
  void reset(bool problem_details);

 private:
  int status_ = 200;
  std::string fields_;  // "Name: value\r\n" lines
  std::string owned_;
  std::shared_ptr<const void> owner_;
  std::string_view body_view_;
  bool problem_details_ = false;
};

using Handler = std::function<void(const Request&, Response&)>;

struct RouteOptions {
  // Largest body the route reads; nullopt: ServerOptions::max_body_bytes for POST, PUT
  // and PATCH, no body for GET, HEAD and DELETE.
  std::optional<std::size_t> max_body_bytes;
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Registers `handler` for `method` and `pattern` (see the top of this header). Throws
  // std::invalid_argument for a malformed pattern or a route registered twice.
  Router& add(Method method, std::string_view pattern, Handler handler, RouteOptions options = {});
  Router& get(std::string_view pattern, Handler h, RouteOptions o = {}) { return add(Method::get, pattern, std::move(h), o); }
  Router& post(std::string_view pattern, Handler h, RouteOptions o = {}) { return add(Method::post, pattern, std::move(h), o); }
  Router& put(std::string_view pattern, Handler h, RouteOptions o = {}) { return add(Method::put, pattern, std::move(h), o); }
  Router& patch(std::string_view pattern, Handler h, RouteOptions o = {}) { return add(Method::patch, pattern, std::move(h), o); }
  Router& del(std::string_view pattern, Handler h, RouteOptions o = {}) { return add(Method::del, pattern, std::move(h), o); }
  // Errors the server answers itself (404, 405, 413, 400, ...) for paths starting with
  // `prefix` ("/api/") are application/problem+json.
  Router& problem_details_under(std::string prefix);

  // What a request for `method` and `path` (raw, without the query) reaches.
  struct Match {
    int status = 404;                      // 200: found; 404; 405 (see allow)
    const Handler* handler = nullptr;
    std::optional<std::size_t> max_body_bytes;  // as registered (see RouteOptions)
    std::vector<std::pair<std::string_view, std::string>> params;
    std::string allow;                     // for 405: "GET, HEAD, POST"
    bool problem_details = false;
  };
  Match match(Method method, std::string_view path) const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<std::string> problem_prefixes_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see Server::port())
  int threads = 2;
  std::size_t max_connections = 512;
  std::size_t max_header_bytes = 8192;
  // The largest body a POST, PUT or PATCH route reads unless its RouteOptions say less.
  std::size_t max_body_bytes = 1 << 20;
  // The header block and body of a request must arrive within this; an idle keep-alive
  // connection is closed after it.
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
  // Reverse proxies whose X-Forwarded-* fields are believed: addresses or networks
  // ("127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"). Empty: none (the fields are ignored).
  std::vector<std::string> trusted_proxies;
  // Called once when a graceful stop begins (on the thread that handles it), before the
  // idle connections are closed: the CLI prints "convene: stopping ..." from here.
  std::function<void()> on_stop;
};

class Server {
 public:
  // `router` must outlive the server and not change while it runs.
  Server(const Router& router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Checks the options, opens the access log, binds and listens. nullopt on success, else
  // why not ("127.0.0.1:8080: Address already in use", "access log access.log: cannot
  // open for appending: Permission denied", "trusted proxy \"10.0.0/8\": not an address").
  std::optional<std::string> listen();
  // The bound port (after listen()).
  unsigned short port() const;
  // Serves until stop(); returns once every connection is closed.
  void run();
  // Graceful stop, from any thread (not from a signal handler: use handle_signals):
  // stops accepting, closes idle connections, lets requests in flight finish, then
  // run() returns.
  void stop();
  // Requests parsed since start.
  std::uint64_t requests() const;
  // Reopens the access log file (what SIGHUP does); from any thread. nullopt on
  // success, else why not (the old file is kept then).
  std::optional<std::string> reopen_access_log();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene::http
