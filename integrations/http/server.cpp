#include "convene/http.h"

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
#include <nlohmann/json.hpp>

#include "convene/feed_catalog.h"  // http_date
#include "internal/http_exchange.h"

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
//   - the request is parsed by Beast: its header block whole, then (only when the route
//     takes one) its body; the response is two buffers: a head built into a reused
//     string, and the handler's body (a feed's cached bytes are held by a shared_ptr
//     while they are written, never copied);
//   - the access log is buffered per worker and written at most every sweep tick.

namespace convene::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
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

using internal::for_each_item;

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

// Decodes the %XX escapes that are well formed; the rest stays as it is.
std::string decode_leniently(std::string_view s) {
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
    text = decode_leniently(text);
  }
  return holds_token_like_run(text) || (text.find('%') != std::string::npos && raw.size() >= kTokenLikeLength);
}

}  // namespace

namespace internal {

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

}  // namespace internal

namespace {

using internal::loggable_target;
using internal::reason_phrase;

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
  line += what.substr(0, 300);
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
  // Before the workers run: enabled() is read by them without the lock.
  std::optional<std::string> open(const std::string& where) {
    path_ = where;
    if (where.empty()) return std::nullopt;
    if (where == "-") {
      fd_ = 1;
      enabled_ = true;
      return std::nullopt;
    }
    auto opened = open_file();
    if (!opened) return "access log " + path_ + ": cannot open for appending: " + std::strerror(errno);
    fd_ = *opened;
    owned_ = true;
    enabled_ = true;
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
  // Not fd_ >= 0: reopen() changes fd_ (under the lock) while the workers ask.
  bool enabled() const { return enabled_; }
  void write(std::string& lines) {
    if (lines.empty() || !enabled_) return;
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
  int fd_ = -1;  // guarded by mutex_ once the workers run
  bool enabled_ = false;
  bool owned_ = false;
};

// --- trusted proxies ---------------------------------------------------------------------

// An address or a network ("10.0.0.0/8"); IPv4-mapped IPv6 addresses count as IPv4.
struct Network {
  asio::ip::address base;
  unsigned bits = 0;

  static asio::ip::address plain(asio::ip::address a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
  }
  static std::array<unsigned char, 16> bytes_of(const asio::ip::address& a) {
    std::array<unsigned char, 16> out{};
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), out.begin());
    } else {
      const auto b = a.to_v6().to_bytes();
      std::copy(b.begin(), b.end(), out.begin());
    }
    return out;
  }
  bool contains(asio::ip::address a) const {
    a = plain(a);
    if (a.is_v4() != base.is_v4()) return false;
    const auto p = bytes_of(a), q = bytes_of(base);
    for (unsigned i = 0; i < bits; ++i) {
      const unsigned mask = 0x80u >> (i % 8);
      if ((p[i / 8] & mask) != (q[i / 8] & mask)) return false;
    }
    return true;
  }
};

std::optional<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  beast::error_code ec;
  const auto address = asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  Network n{Network::plain(address), 0};
  const unsigned max_bits = n.base.is_v4() ? 32 : 128;
  n.bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned bits = 0;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (err != std::errc{} || end != digits.data() + digits.size() || digits.empty() || bits > max_bits)
      return std::nullopt;
    n.bits = address.is_v6() && n.base.is_v4() ? (bits >= 96 ? bits - 96 : 0) : bits;
  }
  return n;
}

// --- RFC 9112's framing rules ---------------------------------------------------------

// A Host value is uri-host [ ":" port ] (RFC 9110 §7.2): reg-name, IPv4 or an IP-literal.
bool valid_host(std::string_view host) {
  static constexpr std::string_view allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]";
  return host.size() <= 300 && host.find_first_not_of(allowed) == std::string_view::npos;
}

// A host for links we write (the subscribe page's): letters, digits, '.', '-', ':' and
// brackets only.
bool plain_host(std::string_view host) {
  return !host.empty() && host.size() < 256 &&
         host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
             std::string_view::npos;
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

using Parser = bhttp::request_parser<bhttp::string_body>;

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

// RFC 9112 §3.2, §6.1, §6.3 for a request that Beast parsed: true when its framing or
// its Host is one that two parsers could read differently. `body_allowed`: the method
// may carry a body (then only "Transfer-Encoding: chunked" is understood).
bool ambiguous_request(const Parser& parser, bool body_allowed) {
  const auto& req = parser.get();
  const auto hosts = req.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && req.version() >= 11)) return true;
  if (hosts == 1 && !valid_host(view(req[bhttp::field::host]))) return true;
  const auto codings = req.count(bhttp::field::transfer_encoding);
  if (codings == 0) return false;
  if (!body_allowed || req.version() < 11 || codings > 1) return true;
  if (req.count(bhttp::field::content_length) > 0) return true;
  const auto te = trim(view(req[bhttp::field::transfer_encoding]));
  return !iequals(te, "chunked");
}

Method method_of(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get: return Method::get;
    case bhttp::verb::head: return Method::head;
    case bhttp::verb::post: return Method::post;
    case bhttp::verb::put: return Method::put;
    case bhttp::verb::patch: return Method::patch;
    case bhttp::verb::delete_: return Method::del;
    default: return Method::other;
  }
}

// The body a route reads when its RouteOptions do not say.
std::size_t default_body_limit(Method m, const ServerOptions& options) {
  return m == Method::post || m == Method::put || m == Method::patch ? options.max_body_bytes : 0;
}

// --- what every connection shares ----------------------------------------------------

struct Site {
  const Router& router;
  const ServerOptions& options;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::size_t> connections{0};
  std::string authority;  // "127.0.0.1:8080": for a request without Host
  std::vector<Network> trusted;
  std::optional<std::string> trusted_error;
  AccessLog log;

  Site(const Router& r, const ServerOptions& o) : router(r), options(o) {
    for (const auto& entry : o.trusted_proxies) {
      if (auto n = parse_network(entry)) trusted.push_back(*n);
      else if (!trusted_error)
        trusted_error = "trusted proxy \"" + entry.substr(0, 80) + "\" is not an address or a network (ADDRESS/BITS)";
    }
    set_port(o.port);
  }
  void set_port(unsigned short port) {
    const bool v6 = options.host.find(':') != std::string::npos;
    authority = (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(port);
  }
  bool is_trusted(const asio::ip::address& a) const {
    return std::any_of(trusted.begin(), trusted.end(), [&](const Network& n) { return n.contains(a); });
  }
};

// --- one connection's protocol, without its socket ------------------------------------

// Parses requests from the bytes a connection received, routes each one, runs its
// handler and holds the response's bytes while they are written. The owner moves bytes:
// it reads into `in` and calls advance() when told Next::read, writes buffers() when told
// Next::write and then calls written(), and closes when told so (Next::linger: end the
// sending side, then read and drop what the client still sends for a while).
class Exchange {
 public:
  enum class Next { read, write, close, linger };

  Exchange(Site& site, std::string peer, std::optional<asio::ip::address> address)
      : site_(site), peer_(std::move(peer)), peer_trusted_(address && site.is_trusted(*address)) {
    head_.reserve(512);
    reset();
  }

  Next advance(beast::flat_buffer& in) {
    if (in.size() == 0) return Next::read;
    if (reading_body_) return read_body(in);
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
    if (ec == bhttp::error::need_more) return Next::read;
    if (ec) return refuse(400);
    if (!parser_->is_header_done()) return Next::read;
    return on_header(in);
  }

  // The request timeout passed while reading: a partly received request gets a 408.
  Next timeout(const beast::flat_buffer& in) {
    if (between_requests(in)) return Next::close;
    return refuse(408);
  }

  // The response was written: the body it announced (100 Continue), the next request
  // (perhaps already received), or the end.
  Next written(beast::flat_buffer& in) {
    if (std::exchange(interim_, false)) return read_body(in);
    response_.reset(false);
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
    if (interim_) return;
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - started_).count();
    char when[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm);
    out += client_;
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
  void reset() {
    parser_.emplace();
    parser_->header_limit(std::uint32_t(std::min<std::size_t>(site_.options.max_header_bytes, UINT32_MAX)));
    // The route's limit is set once the header is read. (Not boost::none: Beast 1.74
    // compares a Content-Length with the optional limit, and every number is more
    // than none.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    scanned_ = 0;
    header_seen_ = false;
    reading_body_ = false;
    close_after_ = false;
    unread_ = false;
    method_ = Method::other;
    match_ = {};
    request_line_.clear();
    client_ = peer_;
    started_ = Steady::now();
  }

  // A request whose framing cannot be trusted, or that is refused before its body is
  // read: answered, and nothing after it is read.
  Next refuse(int code) {
    unread_ = true;
    close_after_ = true;
    return respond_error(code);
  }

  Next on_header(beast::flat_buffer& in) {
    auto& req = parser_->get();
    site_.requests.fetch_add(1, std::memory_order_relaxed);
    method_ = method_of(req.method());
    close_after_ = !req.keep_alive() || site_.stopping;
    const std::string_view target = view(req.target());
    const auto q = target.find('?');
    path_ = target.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    read_forwarded(req);
    if (site_.log.enabled()) {
      started_ = Steady::now();
      request_line_ = '"';
      // A method the server does not know is any token: masked like the target.
      if (method_ == Method::other) request_line_ += loggable_target(view(req.method_string()));
      else request_line_ += view(req.method_string());
      request_line_ += ' ';
      request_line_ += loggable_target(target);
      request_line_ += req.version() == 10 ? " HTTP/1.0\"" : " HTTP/1.1\"";
    }
    const bool get_or_head = method_ == Method::get || method_ == Method::head;
    if (ambiguous_request(*parser_, !get_or_head)) return refuse(400);
    // Only origin-form ("/feeds/all.ics"); absolute-form and "*" are refused.
    if (path_.empty() || path_.front() != '/') return refuse(400);
    match_ = site_.router.match(method_, path_);
    const bool has_body = !parser_->is_done();
    if (match_.status != 200) {
      // Not found, or not this method: a body is never read.
      unread_ = has_body;
      close_after_ = close_after_ || has_body;
      return respond_error(match_.status);
    }
    if (!has_body) return dispatch();
    if (get_or_head) return refuse(400);  // RFC 9110: no body on GET or HEAD
    const std::size_t limit = match_.max_body_bytes.value_or(default_body_limit(method_, site_.options));
    if (auto length = parser_->content_length(); limit == 0 || (length && *length > limit)) return refuse(413);
    const auto expect = trim(view(req[bhttp::field::expect]));
    if (!expect.empty() && !iequals(expect, "100-continue")) return refuse(417);
    parser_->body_limit(limit);
    parser_->eager(true);
    reading_body_ = true;
    if (!expect.empty() && in.size() == 0) {
      // RFC 9110 §10.1.1: the client waits for this before it sends the body.
      interim_ = true;
      head_ = "HTTP/1.1 100 Continue\r\n\r\n";
      body_ = {};
      return Next::write;
    }
    return read_body(in);
  }

  Next read_body(beast::flat_buffer& in) {
    if (in.size() == 0) return Next::read;
    beast::error_code ec;
    const auto used = parser_->put(in.data(), ec);
    in.consume(used);
    if (ec == bhttp::error::need_more) return Next::read;
    if (ec == bhttp::error::body_limit) return refuse(413);
    if (ec) return refuse(400);
    if (!parser_->is_done()) return Next::read;
    reading_body_ = false;
    return dispatch();
  }

  // The client's address, scheme and host, from X-Forwarded-* when the peer is trusted.
  void read_forwarded(const bhttp::request<bhttp::string_body>& req) {
    secure_ = false;
    const auto host = view(req[bhttp::field::host]);
    authority_ = plain_host(host) ? host : std::string_view(site_.authority);
    if (!peer_trusted_) return;
    // X-Forwarded-For: right to left, past the trusted proxies, to the first address that
    // is not one (or the leftmost).
    std::vector<std::string_view> hops;
    for (auto it = req.find("X-Forwarded-For"); it != req.end() && iequals(view(it->name_string()), "X-Forwarded-For");
         ++it)
      for_each_item(view(it->value()), [&](std::string_view hop) {
        if (hops.size() < 64) hops.push_back(hop);
      });
    for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
      beast::error_code ec;
      const auto address = asio::ip::make_address(std::string(*hop), ec);
      if (ec) break;
      client_ = Network::plain(address).to_string();
      if (!site_.is_trusted(address)) break;
    }
    auto last_item = [&](std::string_view name) {
      std::string_view last;
      for (auto it = req.find(beast::string_view(name.data(), name.size()));
           it != req.end() && iequals(view(it->name_string()), name); ++it)
        for_each_item(view(it->value()), [&](std::string_view item) { last = item; });
      return last;
    };
    secure_ = iequals(last_item("X-Forwarded-Proto"), "https");
    if (const auto forwarded_host = last_item("X-Forwarded-Host"); plain_host(forwarded_host))
      authority_ = forwarded_host;
  }

  Next dispatch() {
    const Request::Parsed parsed{parser_->get(), match_.params, path_, query_};
    const Request request(parsed, method_, client_, secure_, authority_,
                          {site_.requests.load(std::memory_order_relaxed),
                           site_.connections.load(std::memory_order_relaxed)});
    response_.reset(match_.problem_details);
    try {
      (*match_.handler)(request, response_);
    } catch (const std::exception& e) {
      report_error(e.what());
      response_.reset(match_.problem_details);
      response_.error(500);
    }
    return respond();
  }

  // The server's own error response (a refusal, 404, 405).
  Next respond_error(int code) {
    response_.reset(match_.problem_details);
    response_.error(code);
    if (code == 405) response_.header("Allow", match_.allow);
    return respond();
  }

  Next respond() {
    const int code = response_.status();
    status_ = code;
    head_.clear();
    head_ += "HTTP/1.1 ";
    append_number(head_, std::uint64_t(code));
    head_ += ' ';
    head_ += reason_phrase(code);
    head_ += "\r\nDate: ";
    head_ += date_now();
    head_ += "\r\nServer: convene\r\n";
    head_ += response_.fields();
    const bool no_content = code == 304 || code == 204 || code < 200;
    body_ = no_content || method_ == Method::head ? std::string_view{} : response_.body_bytes();
    if (!no_content) {
      head_ += "Content-Length: ";
      append_number(head_, response_.body_bytes().size());
      head_ += "\r\n";
    }
    if (close_after_) head_ += "Connection: close\r\n";
    else if (parser_->is_header_done() && parser_->get().version() == 10) head_ += "Connection: keep-alive\r\n";
    head_ += "\r\n";
    return Next::write;
  }

  Site& site_;
  const std::string peer_;
  const bool peer_trusted_;
  std::optional<Parser> parser_;
  std::size_t scanned_ = 0;    // bytes searched for the end of the header block
  bool header_seen_ = false;   // the header block's end arrived (and was checked)
  bool reading_body_ = false;  // the route takes the body: it is being read
  bool interim_ = false;       // head_ is a 100 Continue
  bool close_after_ = false;
  bool unread_ = false;        // the request was refused before all of it was read
  // The request.
  Method method_ = Method::other;
  std::string_view path_, query_;
  Router::Match match_;
  std::string client_;
  bool secure_ = false;
  std::string_view authority_;
  // The response, and what is written: its head and body.
  Response response_;
  std::string head_;
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

  const Router& router;
  ServerOptions options;
  Site site;
  // When stopping, connections still open at this steady-clock count are cut off. Set
  // before `stopping`, read by every worker's sweep.
  std::atomic<Steady::rep> drain_deadline{std::numeric_limits<Steady::rep>::max()};
  unsigned short bound_port = 0;
  std::size_t next_worker = 0;
  Steady::duration tick{};
  // Declared last: destroyed first, while everything above is still there.
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::signal_set> hangups;

  Impl(const Router& r, ServerOptions o) : router(r), options(std::move(o)), site(r, options) {
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
  // `slot_held`: the connection takes an evicted one's slot, already counted.
  void adopt(Worker& worker, std::shared_ptr<tcp::socket> socket, bool slot_held = false);
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
  bool reading = false;      // a read is under way
  bool counted = true;       // holds one of the `connections` slots
  bool interrupted = false;  // its read was cancelled to stop or evict it (see interrupt())
  bool evicted = false;      // closed to make room: at most the request under way is served
  bool lingering = false;    // answered and closing: only draining what the client still sends

  static std::optional<asio::ip::address> address_of(tcp::socket& s) {
    beast::error_code ec;
    auto endpoint = s.remote_endpoint(ec);
    if (ec) return std::nullopt;
    return Network::plain(endpoint.address());
  }

  Session(Worker& w, tcp::socket s, std::optional<asio::ip::address> address)
      : server(w.server),
        worker(w),
        socket(std::move(s)),
        exchange(w.server.site, address ? address->to_string() : "-", address) {
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

  // True when nothing of a next request has arrived, as far as this thread can tell.
  bool idle() {
    if (!reading || interrupted || !exchange.between_requests(buffer)) return false;
    beast::error_code ec;
    return socket.available(ec) == 0 && !ec;
  }

  // Ends an idle connection. Not by closing it: a read the reactor has completed may
  // still wait in the queue with a request's bytes (the socket is empty then, and the
  // buffer not yet filled). So the read is cancelled, and on_read() closes the
  // connection if nothing arrived, or serves what did.
  void interrupt() {
    interrupted = true;
    beast::error_code ec;
    socket.cancel(ec);
  }

  void close() {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  // Closed to make room for a new connection, which takes its slot (so the count never
  // shows a free slot in between: the acceptor, on another thread, would take it too).
  // One that only lingers has its response sent already: it closes now, after dropping
  // what arrived.
  void evict() {
    counted = false;
    if (lingering) return drop_arrived_and_close();
    evicted = true;
    interrupt();
  }

  // Closing with bytes unread sends a reset, which can destroy a response the client has
  // not read yet: what has already arrived (at most kEvictDrainBytes) is read first.
  void drop_arrived_and_close() {
    constexpr std::size_t kEvictDrainBytes = 65536;
    beast::error_code ec;
    socket.non_blocking(true, ec);
    std::array<char, 4096> scratch;
    for (std::size_t dropped = 0; !ec && dropped < kEvictDrainBytes;)
      dropped += socket.read_some(asio::buffer(scratch), ec);
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
    const bool was_interrupted = std::exchange(interrupted, false);
    if (std::exchange(timed_out, false)) {
      deadline = Steady::time_point::max();
      // A slow client: whatever it sent, it gets a 408 (best effort) and is closed.
      return act(exchange.timeout(buffer));
    }
    if (ec == asio::error::operation_aborted && was_interrupted && !exchange.between_requests(buffer))
      return read();  // bytes of a request had arrived after all: go on
    if (ec) return close();
    const auto next = exchange.advance(buffer);
    if (next != Exchange::Next::read) deadline = Steady::time_point::max();
    act(next);
  }

  // Closing with unread bytes would send a RST, which can destroy the response the
  // client has not read yet (a 400 or 431). So: end our side, read and drop what the
  // client still sends until it closes, at most a second (or the request timeout).
  void linger() {
    lingering = true;
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
    if (evicted) return buffer.size() > 0 ? linger() : close();
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
  // A connection that is only draining before its close goes first, then the one idle
  // the longest.
  Session* oldest = nullptr;
  for (Session* s : sessions) {
    if (!s->counted) continue;
    if (s->lingering) return s->weak_from_this().lock();
    if (s->idle() && (!oldest || s->waiting_since < oldest->waiting_since)) oldest = s;
  }
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

void Server::Impl::adopt(Worker& worker, std::shared_ptr<tcp::socket> socket, bool slot_held) {
  if (!slot_held) site.connections.fetch_add(1, std::memory_order_relaxed);
  asio::post(worker.io, [&worker, socket = std::move(socket)]() mutable {
    auto address = Session::address_of(*socket);
    std::make_shared<Session>(worker, std::move(*socket), address)->start();
  });
}

// At the limit: a connection that only lingers after its response, else the one idle the
// longest, on any worker (each asked on its own thread, the new connection's first), is
// closed and the new one takes its slot; when no connection is idle, the new one is
// refused.
void Server::Impl::make_room(std::size_t target, std::size_t tried, std::shared_ptr<tcp::socket> socket) {
  Worker& asked = *workers[(target + tried) % workers.size()];
  asio::post(asked.io, [this, &asked, target, tried, socket = std::move(socket)]() mutable {
    if (auto idle = asked.longest_idle()) {
      idle->evict();
      return adopt(*workers[target], std::move(socket), true);
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
      for (auto& s : idle) s->interrupt();
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

Server::Server(const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}

Server::~Server() = default;

std::optional<std::string> Server::listen() {
  auto& i = *impl_;
  if (i.site.trusted_error) return i.site.trusted_error;
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
  i.bound_port = i.acceptor->local_endpoint(ec).port();
  i.site.set_port(i.bound_port);
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

namespace internal {

std::string serve_bytes(const Router& router, const ServerOptions& options, std::string_view input,
                        std::size_t chunk, std::string_view peer) {
  Site site(router, options);
  beast::error_code ec;
  const auto address = asio::ip::make_address(std::string(peer), ec);
  Exchange exchange(site, std::string(peer), ec ? std::nullopt : std::optional(Network::plain(address)));
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

}  // namespace internal

}  // namespace convene::http
