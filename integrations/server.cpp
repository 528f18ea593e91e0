#include "convene/server.h"

#include <utility>  // Boost 1.74's asio uses std::exchange without including <utility>

#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "convene/feed_catalog.h"

namespace convene {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

bool accepts_gzip(std::string_view header) {
  bool yes = false;
  for_each_item(header, [&](std::string_view item) {
    const auto semi = item.find(';');
    const auto name = trim(item.substr(0, semi));
    if (name != "gzip" && name != "x-gzip" && name != "*") return;
    bool zero = false;
    if (semi != std::string_view::npos) {
      auto params = trim(item.substr(semi + 1));
      if (params.rfind("q=", 0) == 0) {
        const auto q = params.substr(2);
        zero = q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (name == "*" && yes) return;
    yes = !zero;
  });
  return yes;
}

bool etag_matches(std::string_view header, const std::string& a, const std::string& b) {
  bool match = false;
  for_each_item(header, [&](std::string_view tag) {
    if (tag == "*") match = true;
    if (tag.rfind("W/", 0) == 0) tag.remove_prefix(2);  // If-None-Match compares weakly
    if (tag == a || tag == b) match = true;
  });
  return match;
}

// "/feeds/members/<token>.ics" → "/feeds/members/<token>.ics" with the token hidden.
std::string loggable_target(std::string_view target) {
  const auto q = target.find('?');
  std::string path(target.substr(0, q));
  for (const char* prefix : {"/feeds/members/", "/feeds/expanded/members/"}) {
    if (path.rfind(prefix, 0) == 0) return std::string(prefix) + "<token>.ics";
  }
  for (char& c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || static_cast<unsigned char>(c) >= 0x7f) c = '?';
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

}  // namespace

struct Server::Impl {
  FeedCatalog& catalog;
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::mutex log_mutex;

  struct Session;
  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  // Stop and drain run on this strand: the drain timer is touched nowhere else.
  asio::strand<asio::io_context::executor_type> control{io.get_executor()};
  asio::steady_timer drain_timer{io};

  Impl(FeedCatalog& c, ServerOptions o) : catalog(c), options(std::move(o)) {}

  // Called when a session ends: once stopping and none is left, run() may return.
  void session_ended() {
    if (!stopping) return;
    asio::post(control, [this] {
      std::lock_guard lock(sessions_mutex);
      if (sessions.empty()) drain_timer.cancel();
    });
  }

  void accept();
  void begin_stop();
  void log(const std::string& line) {
    if (!options.access_log) return;
    std::lock_guard lock(log_mutex);
    *options.access_log << line << '\n';
    options.access_log->flush();
  }
};

struct Server::Impl::Session : std::enable_shared_from_this<Session> {
  Impl& server;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::empty_body>> parser;
  std::string peer;
  // The response being written: its head, and its body (owned or held).
  std::string head;
  std::string small_body;
  std::shared_ptr<const FeedResponse> held;
  std::string_view body;
  bool close_after = false;
  std::atomic<bool> in_request{false};
  // For the access log.
  std::chrono::steady_clock::time_point started;
  std::string log_prefix;
  int status = 0;

  Session(Impl& s, tcp::socket socket) : server(s), stream(std::move(socket)) {
    beast::error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    peer = ec ? "-" : endpoint.address().to_string();
  }
  ~Session() {
    {
      std::lock_guard lock(server.sessions_mutex);
      server.sessions.erase(this);
    }
    server.session_ended();
  }

  void start() {
    {
      std::lock_guard lock(server.sessions_mutex);
      server.sessions.emplace(this, weak_from_this());
    }
    asio::dispatch(stream.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  void read() {
    if (server.stopping) return close();
    in_request = false;
    parser.emplace();
    parser->header_limit(std::uint32_t(server.options.max_header_bytes));
    parser->body_limit(0);
    stream.expires_after(server.options.request_timeout);
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    in_request = true;
    started = std::chrono::steady_clock::now();
    if (ec == beast::error::timeout) {
      // A slow client: whatever it sent, it gets a 408 (best effort) and is closed.
      if (buffer.size() == 0) return close();
      log_prefix = "\"-\"";
      return respond_error(408, true);
    }
    if (ec == http::error::header_limit) {
      log_prefix = "\"-\"";
      return respond_error(431, true);
    }
    if (ec == http::error::body_limit) {
      log_prefix = "\"-\"";
      return respond_error(413, true);
    }
    if (ec) {
      log_prefix = "\"-\"";
      return respond_error(400, true);
    }
    handle();
  }

  void handle() {
    auto& req = parser->get();
    server.requests.fetch_add(1, std::memory_order_relaxed);
    close_after = !req.keep_alive() || server.stopping;
    const std::string_view target(req.target().data(), req.target().size());
    log_prefix = "\"" + std::string(req.method_string()) + " " + loggable_target(target) +
                 (req.version() == 10 ? " HTTP/1.0\"" : " HTTP/1.1\"");
    const bool head_only = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head_only) return respond_error(405, close_after);
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    if (path.empty() || path.front() != '/') return respond_error(400, true);

    try {
      if (path == "/" || path == "/index.html") {
        std::string base = server.options.base_url;
        if (base.empty()) {
          std::string host(req[http::field::host]);
          const bool host_ok = !host.empty() && host.size() < 256 &&
                               host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
                                   std::string::npos;
          base = "http://" + (host_ok ? host : server.options.host + ":" + std::to_string(server.acceptor.local_endpoint().port()));
        }
        small_body = subscribe_page(server.catalog.listings(), base, server.catalog.source().describe());
        return respond_small(200, "text/html; charset=utf-8", head_only, "no-cache");
      }
      if (path == "/healthz") {
        small_body = "ok\n";
        return respond_small(200, "text/plain; charset=utf-8", head_only, "no-store");
      }
      auto feed_path = parse_feed_path(path);
      if (!feed_path) return respond_error(404, close_after);
      auto feed = server.catalog.get(*feed_path);
      if (!feed) return respond_error(404, close_after);
      return respond_feed(req, std::move(feed), head_only, feed_path->kind == FeedPath::Kind::member);
    } catch (const std::exception& e) {
      server.log(std::string("convene serve: error: ") + e.what());
      return respond_error(500, close_after);
    }
  }

  void begin_head(int code) {
    status = code;
    head.clear();
    head.reserve(512);
    head += "HTTP/1.1 ";
    head += std::to_string(code);
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
    const bool gz = !feed->gzip.empty() && accepts_gzip(std::string_view(req[http::field::accept_encoding].data(),
                                                                         req[http::field::accept_encoding].size()));
    const std::string gz_etag = feed->etag.substr(0, feed->etag.size() - 1) + "-gz\"";
    const std::string& etag = gz ? gz_etag : feed->etag;
    bool not_modified = false;
    if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
      not_modified = etag_matches(std::string_view(inm->value().data(), inm->value().size()), feed->etag, gz_etag);
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
      field("Content-Length", std::to_string(bytes.size()));
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
    field("Content-Length", std::to_string(small_body.size()));
    if (code == 405) field("Allow", "GET, HEAD");
    body = head_only ? std::string_view{} : std::string_view(small_body);
    held.reset();
    finish_head();
    write();
  }

  void respond_error(int code, bool close) {
    close_after = close_after || close;
    small_body = std::string(reason_phrase(code)) + "\n";
    const bool head_only = parser && parser->is_header_done() && parser->get().method() == http::verb::head;
    respond_small(code, "text/plain; charset=utf-8", head_only, "no-store");
  }

  void finish_head() {
    if (close_after) field("Connection", "close");
    else if (parser && parser->is_header_done() && parser->get().version() == 10) field("Connection", "keep-alive");
    head += "\r\n";
  }

  void write() {
    stream.expires_after(server.options.request_timeout);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.data(), body.size())};
    asio::async_write(stream, buffers, [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
      self->on_write(ec, bytes);
    });
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    if (server.options.access_log) {
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started).count();
      char when[64];
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      gmtime_r(&now, &tm);
      std::strftime(when, sizeof when, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
      server.log(peer + " - - " + when + " " + log_prefix + " " + std::to_string(status) + " " +
                 std::to_string(bytes > head.size() ? bytes - head.size() : 0) + " " +
                 std::to_string(micros / 1000) + "." + std::to_string(micros / 100 % 10) + "ms");
    }
    held.reset();
    if (ec || close_after || server.stopping) return close();
    read();
  }
};

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), asio::bind_executor(control, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      std::size_t open;
      {
        std::lock_guard lock(sessions_mutex);
        open = sessions.size();
      }
      if (open >= options.max_connections || stopping) {
        // Over the limit: a short 503, then close; the connection never gets a session.
        static const std::string busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
            "Connection: close\r\nRetry-After: 1\r\n\r\nService Unavailable\n";
        beast::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(busy), ignored);
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(*this, std::move(socket))->start();
      }
    }
    accept();
  }));
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  // Idle connections (waiting for a request) close now; the others after their response.
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [ptr, weak] : sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) {
    asio::post(s->stream.get_executor(), [s] {
      if (!s->in_request) s->stream.socket().cancel();
    });
  }
  // Past the drain timeout, whatever is left is cut off; the timer is cancelled (and
  // run() returns) as soon as the last session ends.
  drain_timer.expires_after(options.drain_timeout);
  drain_timer.async_wait(asio::bind_executor(control, [this](beast::error_code e) {
    if (!e) io.stop();
  }));
  std::lock_guard lock(sessions_mutex);
  if (sessions.empty()) drain_timer.cancel();
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
  i.acceptor.open(endpoint.protocol(), ec);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(endpoint, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    i.acceptor.close(ignored);
    return where + ": " + ec.message();
  }
  return std::nullopt;
}

unsigned short Server::port() const {
  beast::error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Server::run() {
  auto& i = *impl_;
  if (i.options.handle_signals) {
    i.signals.add(SIGTERM);
    i.signals.add(SIGINT);
    i.signals.async_wait(asio::bind_executor(i.control, [&i](beast::error_code ec, int) {
      if (!ec) i.begin_stop();
    }));
  }
  i.accept();
  std::vector<std::thread> threads;
  for (int t = 1; t < std::max(1, i.options.threads); ++t) threads.emplace_back([&i] { i.io.run(); });
  i.io.run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  asio::post(impl_->control, [i = impl_.get()] { i->begin_stop(); });
}

std::uint64_t Server::requests() const { return impl_->requests.load(); }

}  // namespace convene
