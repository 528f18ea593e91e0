#include "convene/server.h"

#include <utility>  // Boost 1.74's asio uses std::exchange without including <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <ctime>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "convene/feed_catalog.h"

// How it is built (see docs/server.md for the measurements behind it):
//   - one io_context per thread, each with its own connections: no strands, no locks on
//     the path of a request; the acceptor (on the first) hands each new connection to
//     the next worker in turn;
//   - timeouts are deadlines that a per-worker sweep timer checks a few times per
//     timeout, instead of a timer armed and cancelled around every read and write
//     (each of those is a timerfd syscall);
//   - the request is parsed by Beast up to the end of its header block (GET and HEAD
//     carry no body); the response is two buffers: a head built into a reused string,
//     and the catalog's cached body or gzip, held by a shared_ptr while it is written;
//   - the access log is buffered per worker and written at most every sweep tick.

namespace convene {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;

namespace {

// "Date:" value, formatted at most once per second per thread.
const std::string& date_now() {
  thread_local std::time_t last = 0;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    last = now;
    text = http_date(Instant{Seconds{now}});
  }
  return text;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename F>
void for_each_item(std::string_view list, F f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    f(trim(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Accept-Encoding (RFC 9110 §12.5.3): gzip (or x-gzip, or *) with a q-value above 0.
bool accepts_gzip(std::string_view header) {
  bool gzip = false, gzip_named = false, star = false;
  for_each_item(header, [&](std::string_view item) {
    const auto semi = item.find(';');
    const auto name = trim(item.substr(0, semi));
    bool zero = false;
    if (semi != std::string_view::npos) {
      auto params = trim(item.substr(semi + 1));
      if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=')
        zero = params.substr(2).find_first_not_of("0.") == std::string_view::npos;
    }
    if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
      gzip_named = true;
      gzip = !zero;
    } else if (name == "*") {
      star = !zero;
    }
  });
  return gzip_named ? gzip : star;
}

// If-None-Match (RFC 9110 §13.1.2): "*", or a list of entity tags compared weakly.
bool etag_matches(std::string_view header, std::string_view a, std::string_view b) {
  bool match = false;
  for_each_item(header, [&](std::string_view tag) {
    if (tag == "*") match = true;
    if (tag.size() > 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    if (tag == a || tag == b) match = true;
  });
  return match;
}

// The request target as the access log shows it: a member's token never appears.
std::string loggable_target(std::string_view target) {
  const auto q = target.find('?');
  std::string path(target.substr(0, q));
  for (const char* prefix : {"/feeds/members/", "/feeds/expanded/members/"}) {
    if (path.rfind(prefix, 0) == 0) return std::string(prefix) + "<token>.ics";
  }
  // Anything that would decode to a member path is hidden too ("/feeds/%6dembers/...").
  if (path.find("embers") != std::string::npos || path.find('%') != std::string::npos) {
    if (auto parsed = parse_feed_path(path); parsed && parsed->kind == FeedPath::Kind::member)
      return std::string(parsed->expanded ? "/feeds/expanded/members/" : "/feeds/members/") + "<token>.ics";
  }
  for (char& c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f)
      c = '?';
  return path.size() > 200 ? path.substr(0, 200) + "..." : path;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

}  // namespace

struct Server::Impl {
  struct Session;

  // One thread's share of the server: its io_context, its connections, their sweep.
  struct Worker {
    Impl& server;
    std::unordered_set<Session*> sessions;  // touched only on this worker's thread
    std::string log_buffer;                 // access log lines not yet written
    asio::io_context io{1};
    asio::steady_timer sweep{io};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{io.get_executor()};

    bool destroying = false;

    explicit Worker(Impl& s) : server(s) {}
    ~Worker() { destroying = true; }  // sessions destroyed with `io` must not touch the rest
    void arm_sweep();
    void on_sweep();
    void flush_log();
    void maybe_finish();  // when stopping and no connection is left: let run() return
  };

  FeedCatalog& catalog;
  ServerOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::size_t> connections{0};
  // When stopping, connections still open at this steady-clock count are cut off. Set
  // before `stopping`, read by every worker's sweep.
  std::atomic<Steady::rep> drain_deadline{std::numeric_limits<Steady::rep>::max()};
  std::mutex log_mutex;
  unsigned short bound_port = 0;
  std::size_t next_worker = 0;
  Steady::duration tick{};
  // Declared last: destroyed first, while everything above is still there.
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::signal_set> signals;

  Impl(FeedCatalog& c, ServerOptions o) : catalog(c), options(std::move(o)) {
    const int n = std::max(1, options.threads);
    for (int i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>(*this));
    acceptor = std::make_unique<tcp::acceptor>(workers[0]->io);
    signals = std::make_unique<asio::signal_set>(workers[0]->io);
    // A deadline is noticed at most a tick late: an eighth of the timeout, 5 to 250 ms.
    tick = std::clamp<Steady::duration>(options.request_timeout / 8, std::chrono::milliseconds{5},
                                        std::chrono::milliseconds{250});
  }
  ~Impl() {
    for (auto& w : workers) w->flush_log();
  }

  void accept();
  void begin_stop();
  void write_log(std::string& lines) {
    if (lines.empty() || !options.access_log) return;
    std::lock_guard lock(log_mutex);
    options.access_log->write(lines.data(), std::streamsize(lines.size()));
    options.access_log->flush();
    lines.clear();
  }
};

struct Server::Impl::Session : std::enable_shared_from_this<Session> {
  Impl& server;
  Worker& worker;
  tcp::socket socket;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::empty_body>> parser;
  std::string peer;
  // A deadline for the read or write under way (checked by the worker's sweep).
  Steady::time_point deadline = Steady::time_point::max();
  bool timed_out = false;
  bool waiting = false;  // waiting for a request's bytes (idle, or a request partly read)
  // The response being written: its head, and its body (owned, or held from the catalog).
  std::string head;
  std::string small_body;
  std::shared_ptr<const FeedResponse> held;
  std::string_view body;
  bool close_after = false;
  bool unread = false;  // the request was refused before all of it was read
  // For the access log.
  Steady::time_point started;
  std::string log_request;
  int status = 0;

  Session(Worker& w, tcp::socket s) : server(w.server), worker(w), socket(std::move(s)) {
    beast::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    peer = ec ? "-" : endpoint.address().to_string();
    head.reserve(512);
    worker.sessions.insert(this);
  }
  ~Session() {
    beast::error_code ec;
    socket.close(ec);
    worker.sessions.erase(this);
    server.connections.fetch_sub(1, std::memory_order_relaxed);
    worker.maybe_finish();
  }

  // True when nothing of a next request has arrived: safe to close on stop.
  bool idle() {
    if (!waiting || buffer.size() > 0 || (parser && parser->got_some())) return false;
    beast::error_code ec;
    return socket.available(ec) == 0 && !ec;
  }

  void close() {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  // Closing with unread bytes would send a RST, which can destroy the response the
  // client has not read yet (a 431 or 405). So: end our side, read and drop what the
  // client still sends until it closes, at most a second (or the request timeout).
  void linger() {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    deadline = Steady::now() + std::min<Steady::duration>(server.options.request_timeout, std::chrono::seconds{1});
    discard();
  }
  void discard() {
    buffer.clear();
    socket.async_read_some(buffer.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || self->timed_out) return self->close();
      self->discard();
    });
  }

  void read() {
    if (server.stopping && buffer.size() == 0) return close();
    parser.emplace();
    parser->header_limit(std::uint32_t(std::min<std::size_t>(server.options.max_header_bytes, UINT32_MAX)));
    deadline = Steady::now() + server.options.request_timeout;
    waiting = true;
    unread = false;
    http::async_read_header(socket, buffer, *parser,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    waiting = false;
    deadline = Steady::time_point::max();
    if (server.options.access_log) started = Steady::now();
    const bool expired = std::exchange(timed_out, false) && ec;
    if (expired) {
      // A slow client: whatever it sent, it gets a 408 (best effort) and is closed.
      if (buffer.size() == 0 && !(parser && parser->got_some())) return close();
      log_request = "\"-\"";
      unread = true;
      return respond_error(408, true);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || ec == asio::error::bad_descriptor) {
      return close();
    }
    if (ec) {
      log_request = "\"-\"";
      unread = true;
      return respond_error(ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400, true);
    }
    handle();
  }

  void handle() {
    auto& req = parser->get();
    server.requests.fetch_add(1, std::memory_order_relaxed);
    close_after = !req.keep_alive() || server.stopping;
    const std::string_view target(req.target().data(), req.target().size());
    if (server.options.access_log) {
      log_request.clear();
      log_request += '"';
      log_request += std::string_view(req.method_string().data(), req.method_string().size());
      log_request += ' ';
      log_request += loggable_target(target);
      log_request += req.version() == 10 ? " HTTP/1.0\"" : " HTTP/1.1\"";
    }
    const bool head_only = req.method() == http::verb::head;
    // Nothing here takes a body: its bytes are never read, so the connection closes.
    const bool has_body = !parser->is_done();
    unread = has_body;
    if (req.method() != http::verb::get && !head_only) return respond_error(405, has_body);
    if (has_body) return respond_error(413, true);
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    // Only origin-form ("/feeds/all.ics"); absolute-form and "*" are refused.
    if (path.empty() || path.front() != '/') return respond_error(400, true);

    try {
      if (path == "/" || path == "/index.html") return respond_page(req, head_only);
      if (path == "/healthz") {
        small_body = "{\"status\":\"ok\",\"requests\":";
        append_number(small_body, server.requests.load(std::memory_order_relaxed));
        small_body += ",\"renders\":";
        append_number(small_body, server.catalog.renders());
        small_body += ",\"connections\":";
        append_number(small_body, server.connections.load(std::memory_order_relaxed));
        small_body += "}\n";
        return respond_small(200, "application/json", head_only, "no-store");
      }
      auto feed_path = parse_feed_path(path);
      if (!feed_path) return respond_error(404, close_after);
      auto feed = server.catalog.get(*feed_path);
      if (!feed) return respond_error(404, close_after);
      return respond_feed(req, std::move(feed), head_only, feed_path->kind == FeedPath::Kind::member);
    } catch (const std::exception& e) {
      std::string line = std::string("convene serve: error: ") + e.what() + "\n";
      server.write_log(line);
      return respond_error(500, close_after);
    }
  }

  void respond_page(const http::request<http::empty_body>& req, bool head_only) {
    std::string base = server.options.base_url;
    if (base.empty()) {
      const auto host_field = req[http::field::host];
      const std::string host(host_field.data(), host_field.size());
      const bool host_ok =
          !host.empty() && host.size() < 256 &&
          host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
              std::string::npos;
      base = "http://" + (host_ok ? host : server.options.host + ":" + std::to_string(server.bound_port));
    }
    small_body = subscribe_page(server.catalog.listings(), base, server.catalog.source().describe());
    respond_small(200, "text/html; charset=utf-8", head_only, "no-cache");
  }

  void begin_head(int code) {
    status = code;
    head.clear();
    head += "HTTP/1.1 ";
    append_number(head, std::uint64_t(code));
    head += ' ';
    head += reason_phrase(code);
    head += "\r\nDate: ";
    head += date_now();
    head += "\r\nServer: convene\r\n";
  }
  void field(std::string_view name, std::string_view value) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }

  void respond_feed(const http::request<http::empty_body>& req, std::shared_ptr<const FeedResponse> feed,
                    bool head_only, bool is_private) {
    const auto accept_encoding = req[http::field::accept_encoding];
    const bool gz = !feed->gzip.empty() && !accept_encoding.empty() &&
                    accepts_gzip(std::string_view(accept_encoding.data(), accept_encoding.size()));
    const std::string& etag = gz ? feed->gzip_etag : feed->etag;
    bool not_modified = false;
    if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
      not_modified = etag_matches(std::string_view(inm->value().data(), inm->value().size()), feed->etag,
                                  feed->gzip_etag);
    } else if (auto ims = req.find(http::field::if_modified_since); ims != req.end()) {
      auto since = parse_http_date(std::string_view(ims->value().data(), ims->value().size()));
      not_modified = since && feed->last_modified <= *since;
    }
    begin_head(not_modified ? 304 : 200);
    field("ETag", etag);
    field("Last-Modified", feed->last_modified_http);
    field("Cache-Control", is_private ? "private, max-age=300" : "public, max-age=300");
    field("Vary", "Accept-Encoding");
    if (not_modified) {
      body = {};
    } else {
      field("Content-Type", "text/calendar; charset=utf-8");
      if (gz) field("Content-Encoding", "gzip");
      const std::string& bytes = gz ? feed->gzip : feed->body;
      head += "Content-Length: ";
      append_number(head, bytes.size());
      head += "\r\n";
      body = head_only ? std::string_view{} : std::string_view(bytes);
    }
    held = std::move(feed);
    finish_head();
    write();
  }

  void respond_small(int code, const char* type, bool head_only, const char* cache) {
    begin_head(code);
    field("Content-Type", type);
    field("Cache-Control", cache);
    head += "Content-Length: ";
    append_number(head, small_body.size());
    head += "\r\n";
    if (code == 405) field("Allow", "GET, HEAD");
    body = head_only ? std::string_view{} : std::string_view(small_body);
    held.reset();
    finish_head();
    write();
  }

  // Error bodies are the reason phrase and nothing else: no path, no server detail.
  void respond_error(int code, bool close) {
    close_after = close_after || close;
    small_body = reason_phrase(code);
    small_body += '\n';
    const bool head_only = parser && parser->is_header_done() && parser->get().method() == http::verb::head;
    respond_small(code, "text/plain; charset=utf-8", head_only, "no-store");
  }

  void finish_head() {
    if (close_after) field("Connection", "close");
    else if (parser && parser->is_header_done() && parser->get().version() == 10) field("Connection", "keep-alive");
    head += "\r\n";
  }

  void write() {
    deadline = Steady::now() + server.options.request_timeout;
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.data(), body.size())};
    asio::async_write(socket, buffers, [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
      self->on_write(ec, bytes);
    });
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    deadline = Steady::time_point::max();
    if (server.options.access_log) log(bytes);
    held.reset();
    if (ec || timed_out) return close();
    // Unread bytes of the request (a body, an oversized header) or of another one: linger.
    if (close_after || server.stopping) return unread ? linger() : close();
    read();
  }

  void log(std::size_t bytes) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - started).count();
    char when[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm);
    std::string& out = worker.log_buffer;
    out += peer;
    out += when;
    out += log_request;
    out += ' ';
    append_number(out, std::uint64_t(status));
    out += ' ';
    append_number(out, bytes > head.size() ? bytes - head.size() : 0);
    out += ' ';
    append_number(out, std::uint64_t(micros / 1000));
    out += '.';
    append_number(out, std::uint64_t(micros / 100 % 10));
    out += "ms\n";
    if (out.size() > 16384) server.write_log(out);
  }

  // Called by the sweep when the deadline has passed.
  void expire() {
    timed_out = true;
    beast::error_code ec;
    socket.cancel(ec);
  }
};

void Server::Impl::Worker::arm_sweep() {
  sweep.expires_after(server.tick);
  sweep.async_wait([this](beast::error_code ec) {
    if (!ec) on_sweep();
  });
}

void Server::Impl::Worker::on_sweep() {
  const auto now = Steady::now();
  const bool drained = server.stopping && now.time_since_epoch().count() >= server.drain_deadline.load();
  std::vector<std::shared_ptr<Session>> expired;
  for (Session* s : sessions) {
    if (drained || now >= s->deadline) {
      if (auto p = s->weak_from_this().lock()) expired.push_back(std::move(p));
    }
  }
  for (auto& s : expired) {
    if (drained) s->close();
    else s->expire();
  }
  flush_log();
  if (!(server.stopping && sessions.empty())) arm_sweep();
}

void Server::Impl::Worker::flush_log() { server.write_log(log_buffer); }

void Server::Impl::Worker::maybe_finish() {
  if (destroying || !server.stopping || !sessions.empty()) return;
  flush_log();
  sweep.cancel();
  guard.reset();
}

void Server::Impl::accept() {
  // The next connection goes to the next worker: its socket lives on that io_context.
  Worker& worker = *workers[next_worker++ % workers.size()];
  acceptor->async_accept(worker.io, [this, &worker](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (connections.load(std::memory_order_relaxed) >= options.max_connections || stopping) {
        // Over the limit: a short 503, then close; the connection never gets a session.
        static const std::string busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nService Unavailable\n";
        beast::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(busy), ignored);
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
      } else {
        connections.fetch_add(1, std::memory_order_relaxed);
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        asio::post(worker.io, [&worker, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
          std::make_shared<Session>(worker, std::move(*s))->read();
        });
      }
    }
    accept();
  });
}

void Server::Impl::begin_stop() {
  if (stopping) return;
  drain_deadline = (Steady::now() + options.drain_timeout).time_since_epoch().count();
  stopping = true;
  beast::error_code ec;
  acceptor->close(ec);
  signals->cancel(ec);
  if (options.on_stop) options.on_stop();
  // Idle connections (nothing of a request received) close now; the others after their
  // response, or at the drain deadline.
  for (auto& w : workers) {
    asio::post(w->io, [worker = w.get()] {
      std::vector<std::shared_ptr<Session>> idle;
      for (Session* s : worker->sessions)
        if (s->idle())
          if (auto p = s->weak_from_this().lock()) idle.push_back(std::move(p));
      for (auto& s : idle) s->close();
      worker->maybe_finish();
    });
  }
}

Server::Server(FeedCatalog& catalog, ServerOptions options)
    : impl_(std::make_unique<Impl>(catalog, std::move(options))) {}

Server::~Server() = default;

std::optional<std::string> Server::listen() {
  auto& i = *impl_;
  const std::string where = i.options.host + ":" + std::to_string(i.options.port);
  beast::error_code ec;
  auto address = asio::ip::make_address(i.options.host, ec);
  if (ec) return where + ": \"" + i.options.host + "\" is not an IP address";
  tcp::endpoint endpoint{address, i.options.port};
  i.acceptor->open(endpoint.protocol(), ec);
  if (!ec) i.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor->bind(endpoint, ec);
  if (!ec) i.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    i.acceptor->close(ignored);
    return where + ": " + ec.message();
  }
  i.bound_port = i.acceptor->local_endpoint(ec).port();
  return std::nullopt;
}

unsigned short Server::port() const { return impl_->bound_port; }

void Server::run() {
  auto& i = *impl_;
  if (i.options.handle_signals) {
    i.signals->add(SIGTERM);
    i.signals->add(SIGINT);
    i.signals->async_wait([&i](beast::error_code ec, int) {
      if (!ec) i.begin_stop();
    });
  }
  i.accept();
  for (auto& w : i.workers) w->arm_sweep();
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < i.workers.size(); ++t) threads.emplace_back([w = i.workers[t].get()] { w->io.run(); });
  i.workers[0]->io.run();
  for (auto& t : threads) t.join();
  for (auto& w : i.workers) w->flush_log();
}

void Server::stop() {
  asio::post(impl_->workers[0]->io, [i = impl_.get()] { i->begin_stop(); });
}

std::uint64_t Server::requests() const { return impl_->requests.load(); }

}  // namespace convene
