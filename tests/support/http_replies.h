// The responses a test reads back from the request path's raw bytes, parsed by
// Boost.Beast's response parser (the same library the server frames them with), so no
// test parses HTTP by hand. Header-only, like the tests that use it (http_test, the web
// fixture).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace convene::testing {

struct Reply {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // lower-case names, in order
  std::string body;
  // The first value of the header `name` (lower case), or "".
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // Every value of a repeated header (Set-Cookie), in order.
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = headers.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

// Every response in `bytes`, in order (a body by its framing; none after HEAD, 1xx, 204,
// 304). Throws std::runtime_error on bytes that are not whole responses.
inline std::vector<Reply> parse_replies(std::string_view bytes, bool head = false) {
  namespace http = boost::beast::http;
  std::vector<Reply> out;
  while (!bytes.empty()) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.skip(head);
    parser.body_limit(boost::none);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (!ec && !parser.is_done()) parser.put_eof(ec);  // a body that ends with the connection
    if (ec) throw std::runtime_error("not a response (" + ec.message() + "): " + std::string(bytes.substr(0, 200)));
    const auto& message = parser.get();
    Reply r;
    r.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
      r.headers.emplace(std::move(name), std::string(field.value()));
    }
    r.body = message.body();
    out.push_back(std::move(r));
    bytes.remove_prefix(used);
  }
  return out;
}

// The one response in `bytes`.
inline Reply parse_reply(std::string_view bytes, bool head = false) {
  auto all = parse_replies(bytes, head);
  if (all.size() != 1) throw std::runtime_error(std::to_string(all.size()) + " responses where one was expected");
  return std::move(all.front());
}

}  // namespace convene::testing
