// libFuzzer target: the server's request path, from raw bytes to the bytes it answers.
//
// The input is what one connection receives: its first byte picks how many bytes each
// read delivers (1 to 32, or all at once) and whether the peer is a trusted proxy, the
// rest are the bytes. They go through the same Exchange a `convene serve` connection
// uses (Beast's parser, the strict framing rules, the router, the handlers, the response
// bytes), with no socket (http::internal::serve_bytes): the feed routes over the
// definitions in tests/data/store/definitions.json, and a form route, a JSON route and a
// parameter route under a problem-details prefix, with small body limits (their own
// errors are 422, so that every 400 is the server's refusal), so bodies
// (Content-Length, chunked, Expect) and the request helpers are fuzzed too. Besides
// crashes and sanitizer reports it checks:
//   - nothing is answered after a 400 or a 431 (the connection closes: no smuggling);
//   - every response starts with a status line and frames its body with Content-Length;
//   - the access log's view of the target (the input as a target) never holds 20
//     base64url characters in a row that are not a lower-case slug, after any number
//     of percent-decodings: no token reaches the log.
// See docs/server.md ("Fuzzing the request path") for how to build and run it, and what
// it found.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convene/clock.h"
#include "convene/feed_catalog.h"
#include "convene/feed_routes.h"
#include "convene/http.h"
#include "internal/http_exchange.h"

#ifndef CONVENE_SOURCE_DIR
#error "CONVENE_SOURCE_DIR must name the source tree (the definitions the fuzzer serves)"
#endif

namespace {

using convene::http::internal::loggable_target;
using convene::http::internal::serve_bytes;
namespace http = convene::http;

[[noreturn]] void fail(const char* what, std::string_view context) {
  std::fprintf(stderr, "server_request_fuzz: %s\n%.*s\n", what, int(std::min<std::size_t>(context.size(), 2000)),
               context.data());
  std::abort();
}

class FixedClock final : public convene::Clock {
 public:
  // 2027-02-01T10:00:00Z, the day the server tests pin.
  convene::Instant now() const override { return convene::Instant{convene::Seconds{1801476000}}; }
};

convene::FeedCatalog& catalog() {
  static FixedClock clock;
  static convene::FeedCatalog instance(
      convene::FeedSource::file(CONVENE_SOURCE_DIR "/tests/data/store/definitions.json"), [] {
        convene::FeedCatalogOptions o;
        o.clock = &clock;
        return o;
      }());
  return instance;
}

const http::Router& router() {
  static const http::Router instance = [] {
    http::Router r;
    convene::add_feed_routes(r, catalog());
    r.problem_details_under("/api/");
    r.post("/form/{id}", [](const http::Request& req, http::Response& res) {
      auto form = req.form();
      auto cookies = req.cookies();
      if (!form) return void(res.error(422));
      res.text(200, std::to_string(form->items.size()) + " " + std::to_string(cookies.items.size()) + " " +
                        std::string(req.param("id")));
    }, {.max_body_bytes = 512});
    r.put("/api/v1/things/{id}", [](const http::Request& req, http::Response& res) {
      std::string why;
      auto value = req.json(&why);
      if (!value) return void(res.problem(422, "Bad body", why));
      res.json(200, {{"id", req.param("id")}, {"client", req.client()}, {"secure", req.secure()}, {"v", *value}});
    }, {.max_body_bytes = 2048});
    r.get("/api/v1/query", [](const http::Request& req, http::Response& res) {
      auto q = req.query_params();
      if (!q) return void(res.problem(422, "Bad query"));
      res.json(200, {{"n", q->items.size()}, {"base", req.base_url()}});
    });
    return r;
  }();
  return instance;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// True when `text` has 20 base64url characters in a row, not all [a-z0-9-].
bool token_like(std::string_view text) {
  std::size_t run = 0;
  bool slug = true;
  for (char c : text) {
    if (token_char(c)) {
      ++run;
      if ((c >= 'A' && c <= 'Z') || c == '_') slug = false;
      if (run >= 20 && !slug) return true;
    } else {
      run = 0;
      slug = true;
    }
  }
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_once(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void check_log_view(std::string_view target) {
  const std::string logged = loggable_target(target);
  if (logged.size() > 203) fail("loggable_target longer than 203", logged);
  for (unsigned char c : logged)
    if (c < 0x21 || c == '"' || c == '\\' || c >= 0x7f) fail("loggable_target kept a byte that breaks the line", logged);
  // The output is at most 203 bytes: decoding until nothing changes is cheap.
  std::string text = logged;
  while (true) {
    if (token_like(text)) fail("a token-like run reached the log", logged);
    std::string next = decode_once(text);
    if (next == text) break;
    text = std::move(next);
  }
}

void check_responses(std::string_view out) {
  std::size_t at = 0;
  while (at < out.size()) {
    if (out.substr(at, 9) != "HTTP/1.1 ") fail("a response does not start with a status line", out.substr(at));
    const auto end = out.find("\r\n\r\n", at);
    if (end == std::string_view::npos) fail("a response head without its end", out.substr(at));
    const auto head = out.substr(at, end + 4 - at);
    const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
    at = end + 4;
    if (status == 304 || status == 204 || status < 200) continue;
    const auto cl = head.find("\r\nContent-Length: ");
    if (cl == std::string_view::npos) fail("a response without Content-Length", head);
    const std::size_t length = std::strtoull(std::string(head.substr(cl + 18, 20)).c_str(), nullptr, 10);
    // HEAD responses carry the length of the body they leave out: the next bytes are
    // either the body or the next status line.
    if (out.substr(at, 9) != "HTTP/1.1 " && at != out.size()) {
      if (out.size() - at < length) fail("a body shorter than its Content-Length", head);
      at += length;
    }
    if ((status == 400 || status == 431) && at < out.size()) fail("a response after a refused request", out);
    if (head.find("\r\nConnection: close\r\n") != std::string_view::npos && at < out.size())
      fail("a response after Connection: close", out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const http::ServerOptions options = [] {
    http::ServerOptions o;
    o.max_header_bytes = 4096;
    o.max_body_bytes = 1024;
    o.trusted_proxies = {"127.0.0.1", "10.0.0.0/8"};
    return o;
  }();
  const std::size_t chunk = data[0] % 33;  // 0: all at once
  const char* peer = data[0] & 0x80 ? "127.0.0.1" : "192.0.2.1";
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  check_responses(serve_bytes(router(), options, input, chunk, peer));
  check_log_view(input.substr(0, 8192));
  return 0;
}
