#include "convene/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>  // Boost 1.74's asio uses std::exchange without including <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
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
#include "internal/server_exchange.h"

// How it is built (see docs/server.md for the measurements behind it):
//   - one io_context per thread, each with its own connections: no strands, no locks on
//     the path of a request; the acceptor (on the first) hands each new connection to
//     the next worker in turn;
//   - timeouts are deadlines that a per-worker sweep timer checks a few times per
//     timeout, instead of a timer armed and cancelled around every read and write
//     (each of those is a timerfd syscall);
//   - a connection's protocol (parsing, the strict framing rules, dispatch, the bytes of
//     the response) is an Exchange that knows nothing of sockets: a Session only moves
//     bytes between its socket and its Exchange, and serve_bytes() (the fuzzer, tests)
//     drives the same Exchange from memory;
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

// --- the access log's view of a target ------------------------------------------------

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// How many rounds of percent-decoding the log looks through ("%2541" is 'A' after two).
constexpr int kLogDecodeRounds = 4;
// A token is 43 base64url characters; a piece of one this long is masked too.
constexpr std::size_t kTokenLikeLength = 20;

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += char(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// True when `text` holds kTokenLikeLength or more base64url characters in a row that are
// not a lower-case slug ("stakeholder-learning-community"): a random 43-character token
// is all lower-case letters, digits and '-' with a probability of (37/64)^43 < 1e-10.
bool holds_token_like_run(std::string_view text) {
  std::size_t run = 0;
  bool slug = true;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '\0';
    if (i < text.size() && token_char(c)) {
      ++run;
      if ((c >= 'A' && c <= 'Z') || c == '_') slug = false;
      continue;
    }
    if (run >= kTokenLikeLength && !slug) return true;
    run = 0;
    slug = true;
  }
  return false;
}

// A run of target characters that could encode a token: base64url characters and '%'.
// Decoded up to kLogDecodeRounds times; a run that still holds a '%' after that is
// masked when it is long enough to hide a token (so the cost stays linear).
bool could_be_token(std::string_view raw) {
  std::string text(raw);
  for (int round = 0; round < kLogDecodeRounds; ++round) {
    if (holds_token_like_run(text)) return true;
    if (text.find('%') == std::string::npos) return false;
    text = percent_decode(text);
  }
  return holds_token_like_run(text) || (text.find('%') != std::string::npos && raw.size() >= kTokenLikeLength);
}

}  // namespace

namespace server_internal {

std::string loggable_target(std::string_view target) {
  constexpr std::size_t kMaxLogged = 200;
  std::string out;
  out.reserve(std::min(target.size(), kMaxLogged) + 8);
  for (std::size_t i = 0; i < target.size() && out.size() <= kMaxLogged;) {
    std::size_t j = i;
    while (j < target.size() && (token_char(target[j]) || target[j] == '%')) ++j;
    if (j > i) {
      const auto run = target.substr(i, j - i);
      if (could_be_token(run)) out += "<token>";
      else out += run;
      i = j;
      continue;
    }
    const auto c = static_cast<unsigned char>(target[i++]);
    out += (c < 0x21 || c == '"' || c == '\\' || c >= 0x7f) ? '?' : char(c);
  }
  if (out.size() > kMaxLogged) {
    // Never cut inside "<token>": cut before it.
    std::size_t cut = kMaxLogged;
    const auto open = out.rfind('<', cut);
    if (open != std::string::npos && out.find('>', open) >= cut) cut = open;
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace server_internal

namespace {

using server_internal::loggable_target;

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

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or a closed pipe: the lines are dropped
    bytes.remove_prefix(std::size_t(n));
  }
}

// Errors of the server itself go to standard error (the journal), one line each.
void report_error(std::string_view what) {
  std::string line = "convene serve: error: ";
  line += what;
  line += '\n';
  write_all(2, line);
}

// --- the access log ------------------------------------------------------------------

class AccessLog {
 public:
  ~AccessLog() {
    if (owned_) ::close(fd_);
  }
  // "" no log, "-" standard output, else a file opened for appending.
  std::optional<std::string> open(const std::string& where) {
    path_ = where;
    if (where.empty()) return std::nullopt;
    if (where == "-") {
      fd_ = 1;
      return std::nullopt;
    }
    auto opened = open_file();
    if (!opened) return "access log " + path_ + ": cannot open for appending: " + std::strerror(errno);
    fd_ = *opened;
    owned_ = true;
    return std::nullopt;
  }
  std::optional<std::string> reopen() {
    if (!owned_) return std::nullopt;
    auto opened = open_file();
    if (!opened) return "access log " + path_ + ": cannot reopen: " + std::strerror(errno);
    std::lock_guard lock(mutex_);
    ::close(fd_);
    fd_ = *opened;
    return std::nullopt;
  }
  bool enabled() const { return fd_ >= 0; }
  void write(std::string& lines) {
    if (lines.empty() || fd_ < 0) return;
    std::lock_guard lock(mutex_);
    write_all(fd_, lines);
    lines.clear();
  }

 private:
  std::optional<int> open_file() const {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return std::nullopt;
    return fd;
  }
  std::mutex mutex_;
  std::string path_;
  int fd_ = -1;
  bool owned_ = false;
};

// --- RFC 9112's framing rules ---------------------------------------------------------

// A Host value is uri-host [ ":" port ] (RFC 9110 §7.2): reg-name, IPv4 or an IP-literal.
bool valid_host(std::string_view host) {
  static constexpr std::string_view allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]";
  return host.size() <= 300 && host.find_first_not_of(allowed) == std::string_view::npos;
}

// An obs-fold (a field line continued on the next line) or whitespace before the first
// field line (RFC 9112 §5.2, §2.2): a line feed followed by a space or a tab, in the
// header block `block` (from the request line to the blank line that ends it).
bool folded(std::string_view block) {
  for (std::size_t i = block.find('\n'); i != std::string_view::npos && i + 1 < block.size();
       i = block.find('\n', i + 1))
    if (block[i + 1] == ' ' || block[i + 1] == '\t') return true;
  return false;
}

// RFC 9112 §3.2, §6.1, §6.3 for a request that Beast parsed: true when its framing or
// its Host is one that two parsers could read differently. `body_allowed`: the method
// may carry a body (then only "Transfer-Encoding: chunked" is understood).
bool ambiguous_request(const http::request_parser<http::empty_body>& parser, bool body_allowed) {
  const auto& req = parser.get();
  const auto hosts = req.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11)) return true;
  if (hosts == 1) {
    const auto host = req[http::field::host];
    if (!valid_host(std::string_view(host.data(), host.size()))) return true;
  }
  const auto codings = req.count(http::field::transfer_encoding);
  if (codings == 0) return false;
  if (!body_allowed || req.version() < 11 || codings > 1) return true;
  if (req.count(http::field::content_length) > 0) return true;
  const auto te = req[http::field::transfer_encoding];
  return !iequals(trim(std::string_view(te.data(), te.size())), "chunked");
}

// --- what every connection shares ----------------------------------------------------

struct Site {
  FeedCatalog& catalog;
  const ServerOptions& options;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::size_t> connections{0};
  unsigned short bound_port = 0;
  AccessLog log;

  Site(FeedCatalog& c, const ServerOptions& o) : catalog(c), options(o) {}
};

// --- one connection's protocol, without its socket ------------------------------------

// Parses requests from the bytes a connection received, decides each one's response and
// holds the response's bytes while they are written. The owner moves bytes: it reads
// into `in` and calls advance() when told Next::read, writes buffers() when told
// Next::write and then calls written(), and closes when told so (Next::linger: end the
// sending side, then read and drop what the client still sends for a while).
class Exchange {
 public:
  enum class Next { read, write, close, linger };

  Exchange(Site& site, std::string_view peer) : site_(site), peer_(peer) {
    head_.reserve(512);
    reset();
  }

  Next advance(beast::flat_buffer& in) {
    if (in.size() == 0) return Next::read;
    const std::string_view data(static_cast<const char*>(in.data().data()), in.size());
    if (!header_seen_) {
      // The parser is given the header block whole, once its end has arrived: Beast
      // 1.74 applies its header limit to each put() alone, and the block is checked for
      // obs-folds first. Each byte is searched once.
      const std::size_t limit = site_.options.max_header_bytes;
      const auto eom = data.find("\r\n\r\n", scanned_ > 3 ? scanned_ - 3 : 0);
      if (eom == std::string_view::npos) {
        if (data.size() >= limit) return refuse(431);
        scanned_ = data.size();
        return Next::read;
      }
      if (eom + 4 > limit) return refuse(431);
      header_seen_ = true;
      if (folded(data.substr(0, eom + 2))) return refuse(400);
    }
    beast::error_code ec;
    const auto used = parser_->put(in.data(), ec);
    in.consume(used);
    if (ec == http::error::need_more) return Next::read;
    if (ec) return refuse(400);
    if (!parser_->is_header_done()) return Next::read;
    return handle();
  }

  // The request timeout passed while reading: a partly received request gets a 408.
  Next timeout(const beast::flat_buffer& in) {
    if (between_requests(in)) return Next::close;
    return refuse(408);
  }

  // The response was written: the next request (perhaps already received), or the end.
  Next written(beast::flat_buffer& in) {
    held_.reset();
    if (close_after_ || site_.stopping) return unread_ ? Next::linger : Next::close;
    reset();
    return advance(in);
  }

  // Nothing of a next request has been received.
  bool between_requests(const beast::flat_buffer& in) const { return in.size() == 0 && !parser_->got_some(); }

  std::array<asio::const_buffer, 2> buffers() const {
    return {asio::buffer(head_), asio::buffer(body_.data(), body_.size())};
  }

  // The access log's line for the response just written (`bytes` of it were sent).
  void log_line(std::string& out, std::size_t bytes) const {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - started_).count();
    char when[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm);
    out += peer_;
    out += when;
    out += request_line_.empty() ? std::string_view("\"-\"") : std::string_view(request_line_);
    out += ' ';
    append_number(out, std::uint64_t(status_));
    out += ' ';
    append_number(out, bytes > head_.size() ? bytes - head_.size() : 0);
    out += ' ';
    append_number(out, std::uint64_t(micros / 1000));
    out += '.';
    append_number(out, std::uint64_t(micros / 100 % 10));
    out += "ms\n";
  }

 private:
  using Request = http::request<http::empty_body>;

  void reset() {
    parser_.emplace();
    parser_->header_limit(std::uint32_t(std::min<std::size_t>(site_.options.max_header_bytes, UINT32_MAX)));
    scanned_ = 0;
    header_seen_ = false;
    close_after_ = false;
    unread_ = false;
    request_line_.clear();
    started_ = Steady::now();
  }

  // A request whose framing cannot be trusted: answered, and nothing after it is read.
  Next refuse(int code) {
    unread_ = true;
    return respond_error(code, true);
  }

  Next handle() {
    auto& req = parser_->get();
    site_.requests.fetch_add(1, std::memory_order_relaxed);
    close_after_ = !req.keep_alive() || site_.stopping;
    const std::string_view target(req.target().data(), req.target().size());
    if (site_.log.enabled()) {
      started_ = Steady::now();
      request_line_ = '"';
      request_line_ += std::string_view(req.method_string().data(), req.method_string().size());
      request_line_ += ' ';
      request_line_ += loggable_target(target);
      request_line_ += req.version() == 10 ? " HTTP/1.0\"" : " HTTP/1.1\"";
    }
    const bool head_only = req.method() == http::verb::head;
    const bool get_or_head = head_only || req.method() == http::verb::get;
    if (ambiguous_request(*parser_, !get_or_head)) return refuse(400);
    // Nothing here takes a body: its bytes are never read, so the connection closes.
    const bool has_body = !parser_->is_done();
    unread_ = has_body;
    if (!get_or_head) return respond_error(405, has_body);
    if (has_body) return refuse(400);
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    // Only origin-form ("/feeds/all.ics"); absolute-form and "*" are refused.
    if (path.empty() || path.front() != '/') return refuse(400);

    try {
      if (path == "/" || path == "/index.html") return respond_page(req, head_only);
      if (path == "/healthz") {
        small_body_ = "{\"status\":\"ok\",\"requests\":";
        append_number(small_body_, site_.requests.load(std::memory_order_relaxed));
        small_body_ += ",\"renders\":";
        append_number(small_body_, site_.catalog.renders());
        small_body_ += ",\"connections\":";
        append_number(small_body_, site_.connections.load(std::memory_order_relaxed));
        small_body_ += "}\n";
        return respond_small(200, "application/json", head_only, "no-store");
      }
      auto feed_path = parse_feed_path(path);
      if (!feed_path) return respond_error(404, close_after_);
      auto feed = site_.catalog.get(*feed_path);
      if (!feed) return respond_error(404, close_after_);
      return respond_feed(req, std::move(feed), head_only, feed_path->kind == FeedPath::Kind::member);
    } catch (const std::exception& e) {
      report_error(e.what());
      return respond_error(500, close_after_);
    }
  }

  Next respond_page(const Request& req, bool head_only) {
    std::string base = site_.options.base_url;
    if (base.empty()) {
      const auto host_field = req[http::field::host];
      const std::string host(host_field.data(), host_field.size());
      const bool host_ok =
          !host.empty() && host.size() < 256 &&
          host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
              std::string::npos;
      base = "http://" + (host_ok ? host : site_.options.host + ":" + std::to_string(site_.bound_port));
    }
    small_body_ = subscribe_page(site_.catalog.listings(), base, site_.catalog.source().describe());
    return respond_small(200, "text/html; charset=utf-8", head_only, "no-cache");
  }

  void begin_head(int code) {
    status_ = code;
    head_.clear();
    head_ += "HTTP/1.1 ";
    append_number(head_, std::uint64_t(code));
    head_ += ' ';
    head_ += reason_phrase(code);
    head_ += "\r\nDate: ";
    head_ += date_now();
    head_ += "\r\nServer: convene\r\n";
  }
  void field(std::string_view name, std::string_view value) {
    head_ += name;
    head_ += ": ";
    head_ += value;
    head_ += "\r\n";
  }

  Next respond_feed(const Request& req, std::shared_ptr<const FeedResponse> feed, bool head_only, bool is_private) {
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
      body_ = {};
    } else {
      field("Content-Type", "text/calendar; charset=utf-8");
      if (gz) field("Content-Encoding", "gzip");
      const std::string& bytes = gz ? feed->gzip : feed->body;
      head_ += "Content-Length: ";
      append_number(head_, bytes.size());
      head_ += "\r\n";
      body_ = head_only ? std::string_view{} : std::string_view(bytes);
    }
    held_ = std::move(feed);
    return finish_head();
  }

  Next respond_small(int code, const char* type, bool head_only, const char* cache) {
    begin_head(code);
    field("Content-Type", type);
    field("Cache-Control", cache);
    head_ += "Content-Length: ";
    append_number(head_, small_body_.size());
    head_ += "\r\n";
    if (code == 405) field("Allow", "GET, HEAD");
    body_ = head_only ? std::string_view{} : std::string_view(small_body_);
    held_.reset();
    return finish_head();
  }

  // Error bodies are the reason phrase and nothing else: no path, no server detail.
  Next respond_error(int code, bool close) {
    close_after_ = close_after_ || close;
    small_body_ = reason_phrase(code);
    small_body_ += '\n';
    const bool head_only = parser_->is_header_done() && parser_->get().method() == http::verb::head;
    return respond_small(code, "text/plain; charset=utf-8", head_only, "no-store");
  }

  Next finish_head() {
    if (close_after_) field("Connection", "close");
    else if (parser_->is_header_done() && parser_->get().version() == 10) field("Connection", "keep-alive");
    head_ += "\r\n";
    return Next::write;
  }

  Site& site_;
  std::string peer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::size_t scanned_ = 0;   // bytes searched for the end of the header block
  bool header_seen_ = false;  // the header block's end arrived (and was checked)
  bool close_after_ = false;
  bool unread_ = false;       // the request was refused before all of it was read
  // The response: its head, and its body (owned, or held from the catalog).
  std::string head_;
  std::string small_body_;
  std::shared_ptr<const FeedResponse> held_;
  std::string_view body_;
  int status_ = 0;
  // For the access log.
  Steady::time_point started_;
  std::string request_line_;
};

}  // namespace

// --- connections and threads -------------------------------------------------------------

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
    void flush_log() { server.site.log.write(log_buffer); }
    void maybe_finish();  // when stopping and no connection is left: let run() return
    // The connection idle the longest (nothing of a request received), or null.
    std::shared_ptr<Session> longest_idle();
  };

  ServerOptions options;
  Site site;
  // When stopping, connections still open at this steady-clock count are cut off. Set
  // before `stopping`, read by every worker's sweep.
  std::atomic<Steady::rep> drain_deadline{std::numeric_limits<Steady::rep>::max()};
  std::size_t next_worker = 0;
  Steady::duration tick{};
  // Declared last: destroyed first, while everything above is still there.
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::signal_set> hangups;

  Impl(FeedCatalog& c, ServerOptions o) : options(std::move(o)), site(c, options) {
    const int n = std::max(1, options.threads);
    for (int i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>(*this));
    acceptor = std::make_unique<tcp::acceptor>(workers[0]->io);
    signals = std::make_unique<asio::signal_set>(workers[0]->io);
    hangups = std::make_unique<asio::signal_set>(workers[0]->io);
    // A deadline is noticed at most a tick late: an eighth of the timeout, 5 to 250 ms.
    tick = std::clamp<Steady::duration>(options.request_timeout / 8, std::chrono::milliseconds{5},
                                        std::chrono::milliseconds{250});
  }
  ~Impl() {
    for (auto& w : workers) w->flush_log();
  }

  void accept();
  void adopt(Worker& worker, std::shared_ptr<tcp::socket> socket);
  void make_room(std::size_t target, std::size_t tried, std::shared_ptr<tcp::socket> socket);
  void begin_stop();
  void wait_for_hangup();
};

struct Server::Impl::Session : std::enable_shared_from_this<Session> {
  Impl& server;
  Worker& worker;
  tcp::socket socket;
  beast::flat_buffer buffer;
  Exchange exchange;
  // A deadline for the read or write under way (checked by the worker's sweep).
  Steady::time_point deadline = Steady::time_point::max();
  Steady::time_point waiting_since;  // when it began to wait for its next request
  bool timed_out = false;
  bool reading = false;  // a read is under way
  bool counted = true;   // holds one of the `connections` slots

  static std::string peer_of(tcp::socket& s) {
    beast::error_code ec;
    auto endpoint = s.remote_endpoint(ec);
    return ec ? "-" : endpoint.address().to_string();
  }

  Session(Worker& w, tcp::socket s)
      : server(w.server), worker(w), socket(std::move(s)), exchange(w.server.site, peer_of(socket)) {
    worker.sessions.insert(this);
  }
  ~Session() {
    beast::error_code ec;
    socket.close(ec);
    worker.sessions.erase(this);
    release_slot();
    worker.maybe_finish();
  }

  void release_slot() {
    if (std::exchange(counted, false)) server.site.connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    await_request();
    act(Exchange::Next::read);
  }

  // True when nothing of a next request has arrived: safe to close on stop or at the limit.
  bool idle() {
    if (!reading || !exchange.between_requests(buffer)) return false;
    beast::error_code ec;
    return socket.available(ec) == 0 && !ec;
  }

  void close() {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  // Closed to make room for a new connection: its slot is free at once.
  void evict() {
    release_slot();
    close();
  }

  void await_request() {
    deadline = Steady::now() + server.options.request_timeout;
    waiting_since = Steady::now();
  }

  void act(Exchange::Next next) {
    switch (next) {
      case Exchange::Next::read:
        if (server.site.stopping && exchange.between_requests(buffer)) return close();
        return read();
      case Exchange::Next::write: return write();
      case Exchange::Next::close: return close();
      case Exchange::Next::linger: return linger();
    }
  }

  void read() {
    reading = true;
    const std::size_t room = std::max<std::size_t>(4096, std::min<std::size_t>(65536, buffer.capacity() - buffer.size()));
    socket.async_read_some(buffer.prepare(room), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->on_read(ec, n);
    });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    reading = false;
    if (!ec) buffer.commit(n);
    if (std::exchange(timed_out, false)) {
      deadline = Steady::time_point::max();
      // A slow client: whatever it sent, it gets a 408 (best effort) and is closed.
      return act(exchange.timeout(buffer));
    }
    if (ec) return close();
    const auto next = exchange.advance(buffer);
    if (next != Exchange::Next::read) deadline = Steady::time_point::max();
    act(next);
  }

  // Closing with unread bytes would send a RST, which can destroy the response the
  // client has not read yet (a 400 or 431). So: end our side, read and drop what the
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

  void write() {
    deadline = Steady::now() + server.options.request_timeout;
    asio::async_write(socket, exchange.buffers(), [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
      self->on_write(ec, bytes);
    });
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    deadline = Steady::time_point::max();
    if (server.site.log.enabled()) {
      exchange.log_line(worker.log_buffer, bytes);
      if (worker.log_buffer.size() > 16384) worker.flush_log();
    }
    if (ec || timed_out) return close();
    await_request();
    const auto next = exchange.written(buffer);
    if (next != Exchange::Next::read) deadline = Steady::time_point::max();
    act(next);
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
  const bool drained = server.site.stopping && now.time_since_epoch().count() >= server.drain_deadline.load();
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
  if (!(server.site.stopping && sessions.empty())) arm_sweep();
}

void Server::Impl::Worker::maybe_finish() {
  if (destroying || !server.site.stopping || !sessions.empty()) return;
  flush_log();
  sweep.cancel();
  guard.reset();
}

std::shared_ptr<Server::Impl::Session> Server::Impl::Worker::longest_idle() {
  Session* oldest = nullptr;
  for (Session* s : sessions)
    if (s->counted && s->idle() && (!oldest || s->waiting_since < oldest->waiting_since)) oldest = s;
  return oldest ? oldest->weak_from_this().lock() : nullptr;
}

namespace {

// Over the limit with every connection busy: a short 503, then close; no session.
void refuse_busy(tcp::socket& socket) {
  static const std::string busy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nService Unavailable\n";
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(busy), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

void Server::Impl::accept() {
  // The next connection goes to the next worker: its socket lives on that io_context.
  const std::size_t target = next_worker++ % workers.size();
  Worker& worker = *workers[target];
  acceptor->async_accept(worker.io, [this, &worker, target](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      beast::error_code ignored;
      s->set_option(tcp::no_delay(true), ignored);
      if (site.stopping) refuse_busy(*s);
      else if (site.connections.load(std::memory_order_relaxed) >= options.max_connections) make_room(target, 0, s);
      else adopt(worker, std::move(s));
    }
    accept();
  });
}

void Server::Impl::adopt(Worker& worker, std::shared_ptr<tcp::socket> socket) {
  site.connections.fetch_add(1, std::memory_order_relaxed);
  asio::post(worker.io, [&worker, socket = std::move(socket)]() mutable {
    std::make_shared<Session>(worker, std::move(*socket))->start();
  });
}

// At the limit: the connection idle the longest, on any worker (each asked on its own
// thread, the new connection's first), is closed and the new one takes its slot; when no
// connection is idle, the new one is refused.
void Server::Impl::make_room(std::size_t target, std::size_t tried, std::shared_ptr<tcp::socket> socket) {
  Worker& asked = *workers[(target + tried) % workers.size()];
  asio::post(asked.io, [this, &asked, target, tried, socket = std::move(socket)]() mutable {
    if (auto idle = asked.longest_idle()) {
      idle->evict();
      return adopt(*workers[target], std::move(socket));
    }
    if (tried + 1 < workers.size()) return make_room(target, tried + 1, std::move(socket));
    refuse_busy(*socket);
  });
}

void Server::Impl::begin_stop() {
  if (site.stopping) return;
  drain_deadline = (Steady::now() + options.drain_timeout).time_since_epoch().count();
  site.stopping = true;
  beast::error_code ec;
  acceptor->close(ec);
  signals->cancel(ec);
  hangups->cancel(ec);
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

void Server::Impl::wait_for_hangup() {
  hangups->async_wait([this](beast::error_code ec, int) {
    if (ec) return;
    // Each worker writes what it buffered to the old file; the last one reopens.
    auto left = std::make_shared<std::atomic<std::size_t>>(workers.size());
    for (auto& w : workers) {
      asio::post(w->io, [this, worker = w.get(), left] {
        worker->flush_log();
        if (left->fetch_sub(1) == 1)
          if (auto error = site.log.reopen()) report_error(*error);
      });
    }
    wait_for_hangup();
  });
}

Server::Server(FeedCatalog& catalog, ServerOptions options)
    : impl_(std::make_unique<Impl>(catalog, std::move(options))) {}

Server::~Server() = default;

std::optional<std::string> Server::listen() {
  auto& i = *impl_;
  if (auto error = i.site.log.open(i.options.access_log)) return error;
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
  i.site.bound_port = i.acceptor->local_endpoint(ec).port();
  return std::nullopt;
}

unsigned short Server::port() const { return impl_->site.bound_port; }

void Server::run() {
  auto& i = *impl_;
  if (i.options.handle_signals) {
    i.signals->add(SIGTERM);
    i.signals->add(SIGINT);
    i.signals->async_wait([&i](beast::error_code ec, int) {
      if (!ec) i.begin_stop();
    });
    i.hangups->add(SIGHUP);
    i.wait_for_hangup();
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

std::uint64_t Server::requests() const { return impl_->site.requests.load(); }

std::optional<std::string> Server::reopen_access_log() { return impl_->site.log.reopen(); }

// --- the request path from memory (the fuzzer, tests) ---------------------------------------

namespace server_internal {

std::string serve_bytes(FeedCatalog& catalog, const ServerOptions& options, std::string_view input,
                        std::size_t chunk) {
  Site site(catalog, options);
  Exchange exchange(site, "-");
  beast::flat_buffer in;
  std::string out;
  if (chunk == 0) chunk = std::max<std::size_t>(1, input.size());
  auto next = Exchange::Next::read;
  while (true) {
    switch (next) {
      case Exchange::Next::read: {
        if (input.empty()) return out;  // the client is done: the connection closes
        const auto piece = input.substr(0, chunk);
        input.remove_prefix(piece.size());
        auto room = in.prepare(piece.size());
        std::memcpy(room.data(), piece.data(), piece.size());
        in.commit(piece.size());
        next = exchange.advance(in);
        break;
      }
      case Exchange::Next::write:
        for (const auto& b : exchange.buffers()) out.append(static_cast<const char*>(b.data()), b.size());
        next = exchange.written(in);
        break;
      case Exchange::Next::close:
      case Exchange::Next::linger: return out;
    }
  }
}

}  // namespace server_internal

}  // namespace convene
