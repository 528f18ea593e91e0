// The server's request path without sockets, and what its parts share (internal).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "convene/http.h"

namespace convene::http {

// What a Request reads: the parsed message and the route's parameters.
struct Request::Parsed {
  const boost::beast::http::request<boost::beast::http::string_body>& message;
  const std::vector<std::pair<std::string_view, std::string>>& params;
  std::string_view path;
  std::string_view query;
};

namespace internal {

// Calls f(item) for each trimmed item of a comma-separated field value.
template <typename F>
void for_each_item(std::string_view list, F f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    f(trim(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// "Not Found" for 404, ...; "Error" for a code it does not know.
const char* reason_phrase(int status);

// Percent-decodes `text` once ('+' stays '+'); nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);

// The request target as the access log writes it: every run of characters that could
// be (or percent-decode to) a token (20 or more base64url characters, unless all
// lower-case letters, digits and '-' like a series id) becomes "<token>"; bytes that
// would break the log line become '?'; at most 200 characters. The query is kept,
// masked the same way.
std::string loggable_target(std::string_view target);

// Serves `input` as the bytes one connection from `peer` received, handed to the parser
// `chunk` bytes at a time (0: all at once), exactly as a connection of the server with
// `router` and `options` would (options.trusted_proxies applies), and returns every
// byte the server would write back, up to the point where it would close the
// connection. No socket, no thread, no timer.
std::string serve_bytes(const Router& router, const ServerOptions& options, std::string_view input,
                        std::size_t chunk = 0, std::string_view peer = "192.0.2.1");

}  // namespace internal
}  // namespace convene::http
