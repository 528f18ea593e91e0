// The router, requests and responses of convene/http.h.
#include <utility>  // Boost 1.74's asio uses std::exchange without including <utility>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <stdexcept>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "convene/http.h"
#include "internal/http_exchange.h"

namespace convene::http {

namespace {

namespace bhttp = boost::beast::http;

constexpr std::array<Method, 6> kMethods{Method::get, Method::head, Method::post, Method::put, Method::patch, Method::del};

std::size_t method_index(Method m) {
  for (std::size_t i = 0; i < kMethods.size(); ++i)
    if (kMethods[i] == m) return i;
  return kMethods.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// RFC 9110 §5.6.2 tchar.
bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), token_char); }

// A field value may hold visible bytes, spaces, tabs and obs-text; never CR, LF, NUL.
bool field_value_ok(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view content_type) {
  std::string out(trim(content_type.substr(0, content_type.find(';'))));
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

}  // namespace

// --- header values -----------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> list_items(std::string_view value) {
  std::vector<std::string_view> out;
  internal::for_each_item(value, [&](std::string_view item) {
    if (!item.empty()) out.push_back(item);
  });
  return out;
}

bool accepts_gzip(std::string_view header) {
  bool gzip = false, gzip_named = false, star = false;
  internal::for_each_item(header, [&](std::string_view item) {
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

bool etag_listed(std::string_view header, std::initializer_list<std::string_view> tags) {
  bool match = false;
  internal::for_each_item(header, [&](std::string_view tag) {
    if (tag == "*") match = true;
    if (tag.size() > 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    for (auto t : tags)
      if (!t.empty() && tag == t) match = true;
  });
  return match;
}

// --- methods, params, forms -------------------------------------------------------------

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::patch: return "PATCH";
    case Method::del: return "DELETE";
    case Method::other: return "";
  }
  return "";
}

std::optional<std::string_view> Params::get(std::string_view name) const {
  for (const auto& [k, v] : items)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> Params::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items)
    if (k == name) out.emplace_back(v);
  return out;
}

namespace internal {

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi * 16 + lo);
    i += 2;
  }
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

}  // namespace internal

std::optional<Params> parse_form(std::string_view text) {
  Params out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    if (out.items.size() == kMaxParams) return std::nullopt;
    const auto eq = pair.find('=');
    std::string name(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    std::replace(name.begin(), name.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    auto n = internal::percent_decode(name), v = internal::percent_decode(value);
    if (!n || !v) return std::nullopt;
    out.items.emplace_back(std::move(*n), std::move(*v));
  }
  return out;
}

// --- requests ---------------------------------------------------------------------------

std::string_view Request::method_name() const {
  const auto m = parsed_.message.method_string();
  return {m.data(), m.size()};
}
std::string_view Request::target() const {
  const auto t = parsed_.message.target();
  return {t.data(), t.size()};
}
std::string_view Request::path() const { return parsed_.path; }
std::string_view Request::query() const { return parsed_.query; }

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : parsed_.params)
    if (k == name) return v;
  return {};
}

std::string_view Request::header(std::string_view name) const {
  const auto it = parsed_.message.find(boost::beast::string_view(name.data(), name.size()));
  if (it == parsed_.message.end()) return {};
  return {it->value().data(), it->value().size()};
}

bool Request::has_header(std::string_view name) const {
  return parsed_.message.find(boost::beast::string_view(name.data(), name.size())) != parsed_.message.end();
}

std::string_view Request::body() const { return parsed_.message.body(); }

std::optional<Params> Request::query_params() const { return parse_form(parsed_.query); }

std::optional<Params> Request::form() const {
  if (media_type(header("Content-Type")) != "application/x-www-form-urlencoded") return std::nullopt;
  return parse_form(body());
}

std::optional<nlohmann::json> Request::json(std::string* why) const {
  auto say = [why](std::string text) {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  const auto type = media_type(header("Content-Type"));
  if (type != "application/json" && !(type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0))
    return say("the body must be application/json");
  bool too_deep = false;
  // The callback's depth of an object or array start is how many containers are open
  // around it: the kMaxJsonDepth-th nested one has depth kMaxJsonDepth - 1.
  auto depth_guard = [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    using E = nlohmann::json::parse_event_t;
    if ((event == E::object_start || event == E::array_start) && depth >= kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  try {
    auto value = nlohmann::json::parse(body(), depth_guard);
    if (too_deep) return say("the JSON body nests deeper than " + std::to_string(kMaxJsonDepth));
    return value;
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep) return say("the JSON body nests deeper than " + std::to_string(kMaxJsonDepth));
    return say("the body is not JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

Params Request::cookies() const {
  Params out;
  for (auto it = parsed_.message.find(bhttp::field::cookie);
       it != parsed_.message.end() && it->name() == bhttp::field::cookie; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty() && out.items.size() < kMaxParams) {
      const auto semi = list.find(';');
      const auto pair = trim(list.substr(0, semi));
      list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      auto value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      out.items.emplace_back(std::string(trim(pair.substr(0, eq))), std::string(value));
    }
  }
  return out;
}

std::string Request::base_url() const { return (secure_ ? "https://" : "http://") + std::string(authority_); }

// --- responses --------------------------------------------------------------------------

void Response::reset(bool problem_details) {
  status_ = 200;
  fields_.clear();
  owned_.clear();
  owner_.reset();
  body_view_ = {};
  problem_details_ = problem_details;
}

Response& Response::status(int code) {
  if (code < 100 || code > 599) throw std::invalid_argument("HTTP status " + std::to_string(code));
  status_ = code;
  return *this;
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (!is_token(name)) throw std::invalid_argument("a header name that is not a token");
  // The server frames every response itself.
  for (std::string_view reserved : {"Content-Length", "Transfer-Encoding", "Connection", "Date", "Server",
                                    "Keep-Alive", "Upgrade", "Trailer"})
    if (iequals(name, reserved)) throw std::invalid_argument("the server sets " + std::string(reserved) + " itself");
  if (!field_value_ok(value)) throw std::invalid_argument("a control byte in the value of " + std::string(name));
  fields_ += name;
  fields_ += ": ";
  fields_ += value;
  fields_ += "\r\n";
  return *this;
}

Response& Response::body(std::string bytes) {
  owner_.reset();
  owned_ = std::move(bytes);
  body_view_ = owned_;
  return *this;
}

Response& Response::body(std::shared_ptr<const void> owner, std::string_view bytes) {
  owned_.clear();
  owner_ = std::move(owner);
  body_view_ = bytes;
  return *this;
}

Response& Response::text(int code, std::string text) {
  return status(code).type("text/plain; charset=utf-8").body(std::move(text));
}

Response& Response::html(int code, std::string text) {
  return status(code).type("text/html; charset=utf-8").body(std::move(text));
}

Response& Response::json(int code, const nlohmann::json& value) {
  return status(code).type("application/json").body(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response& Response::problem(int code, std::string_view title, std::string_view detail) {
  return problem(code, title, detail, nlohmann::json::object());
}

Response& Response::problem(int code, std::string_view title, std::string_view detail, const nlohmann::json& extra) {
  nlohmann::json doc = {{"type", "about:blank"}, {"title", title}, {"status", code}};
  if (!detail.empty()) doc["detail"] = detail;
  if (extra.is_object()) doc.update(extra);
  doc["status"] = code;
  return status(code)
      .type("application/problem+json")
      .body(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response& Response::error(int code) {
  fields_.clear();
  const char* reason = internal::reason_phrase(code);
  if (problem_details_) problem(code, reason);
  else text(code, std::string(reason) + "\n");
  return cache("no-store");
}

Response& Response::redirect(std::string_view location, int code) {
  if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308)
    throw std::invalid_argument("redirect status " + std::to_string(code));
  const bool visible = std::all_of(location.begin(), location.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '<' && c != '>';
  });
  const bool path = location.size() >= 1 && location[0] == '/' && (location.size() == 1 || location[1] != '/');
  auto starts = [&](std::string_view scheme) {
    return location.size() > scheme.size() && iequals(location.substr(0, scheme.size()), scheme);
  };
  const bool absolute = starts("https://") || starts("http://");
  if (!visible || !(path || absolute)) throw std::invalid_argument("a redirect to something not a path or URL");
  return status(code).header("Location", location).body(std::string{});
}

Response& Response::cookie(const Cookie& c) {
  auto octet = [](char ch) {
    const auto x = static_cast<unsigned char>(ch);
    return x == 0x21 || (x >= 0x23 && x <= 0x2b) || (x >= 0x2d && x <= 0x3a) || (x >= 0x3c && x <= 0x5b) ||
           (x >= 0x5d && x <= 0x7e);
  };
  if (!is_token(c.name)) throw std::invalid_argument("a cookie name that is not a token");
  if (!std::all_of(c.value.begin(), c.value.end(), octet)) throw std::invalid_argument("a cookie value with a byte it may not hold");
  if (!std::all_of(c.path.begin(), c.path.end(), [](char ch) { return ch != ';' && ch > 0x20 && ch < 0x7f; }))
    throw std::invalid_argument("a cookie path with a byte it may not hold");
  if (c.same_site != "Strict" && c.same_site != "Lax" && c.same_site != "None")
    throw std::invalid_argument("SameSite must be Strict, Lax or None");
  if (c.same_site == "None" && !c.secure) throw std::invalid_argument("SameSite=None needs Secure");
  std::string v = c.name + "=" + c.value;
  if (!c.path.empty()) v += "; Path=" + c.path;
  if (c.max_age) v += "; Max-Age=" + std::to_string(std::max<std::int64_t>(0, c.max_age->count()));
  if (c.http_only) v += "; HttpOnly";
  if (c.secure) v += "; Secure";
  v += "; SameSite=" + c.same_site;
  return header("Set-Cookie", v);
}

// --- the router -------------------------------------------------------------------------

struct Router::Node {
  struct Route {
    Handler handler;
    std::optional<std::size_t> max_body_bytes;
  };
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;  // {name}
  std::string param_name;
  std::unique_ptr<Node> rest;   // {name...}: a leaf
  std::string rest_name;
  std::array<std::optional<Route>, kMethods.size()> routes;

  bool any_route() const {
    return std::any_of(routes.begin(), routes.end(), [](const auto& r) { return r.has_value(); });
  }
  const Route* route_for(Method m) const {
    const auto i = method_index(m);
    if (i < routes.size() && routes[i]) return &*routes[i];
    if (m == Method::head) return route_for(Method::get);
    return nullptr;
  }
  void add_allow(std::array<bool, kMethods.size()>& allow) const {
    for (std::size_t i = 0; i < routes.size(); ++i) allow[i] = allow[i] || routes[i].has_value();
    if (routes[method_index(Method::get)]) allow[method_index(Method::head)] = true;
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

namespace {

// "/a/{b}/c" → {"a", "{b}", "c"}; "/" → {}.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.size() <= 1) return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// A decoded parameter must be a real segment: not empty, ".", "..", no '/' or control byte.
bool usable_param(std::string_view v) {
  if (v.empty() || v == "." || v == "..") return false;
  return std::none_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f || c == '/' || c == '\\';
  });
}

}  // namespace

Router& Router::add(Method method, std::string_view pattern, Handler handler, RouteOptions options) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("route \"" + std::string(pattern) + "\": " + why);
  };
  if (method == Method::other) throw bad("not a method the router serves");
  if (pattern.empty() || pattern.front() != '/') throw bad("a pattern starts with '/'");
  const auto segments = split_path(pattern);
  Node* node = root_.get();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto seg = segments[i];
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      auto name = seg.substr(1, seg.size() - 2);
      const bool rest = name.size() > 3 && name.substr(name.size() - 3) == "...";
      if (rest) name.remove_suffix(3);
      const bool named = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      });
      if (!named) throw bad("a parameter is named by letters, digits and '_'");
      if (rest) {
        if (i + 1 != segments.size()) throw bad("{" + std::string(name) + "...} must be the last segment");
        if (!node->rest) node->rest = std::make_unique<Node>(), node->rest_name = name;
        else if (node->rest_name != name) throw bad("another route names this parameter {" + node->rest_name + "...}");
        node = node->rest.get();
      } else {
        if (!node->param) node->param = std::make_unique<Node>(), node->param_name = name;
        else if (node->param_name != name) throw bad("another route names this parameter {" + node->param_name + "}");
        node = node->param.get();
      }
      continue;
    }
    if (seg.empty() || seg.find_first_of("{}%") != std::string_view::npos)
      throw bad("a literal segment is not empty and has no '{', '}' or '%'");
    auto it = node->literals.find(seg);
    if (it == node->literals.end()) it = node->literals.emplace(std::string(seg), std::make_unique<Node>()).first;
    node = it->second.get();
  }
  auto& slot = node->routes[method_index(method)];
  if (slot) throw bad(std::string(method_name(method)) + " is registered twice");
  slot = Node::Route{std::move(handler), options.max_body_bytes};
  return *this;
}

Router& Router::problem_details_under(std::string prefix) {
  problem_prefixes_.push_back(std::move(prefix));
  return *this;
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match out;
  for (const auto& prefix : problem_prefixes_)
    if (path.substr(0, prefix.size()) == prefix) out.problem_details = true;
  const auto segments = split_path(path);
  std::array<bool, kMethods.size()> allow{};
  bool matched_path = false;
  // Depth first, literals before the parameter before the rest: each node is visited at
  // most once (a node has one path from the root), so the cost is bounded by the routes.
  const std::function<bool(const Node&, std::size_t)> visit = [&](const Node& node, std::size_t i) -> bool {
    if (i == segments.size()) {
      if (!node.any_route()) return false;
      if (const auto* route = node.route_for(method)) {
        out.status = 200;
        out.handler = &route->handler;
        out.max_body_bytes = route->max_body_bytes;
        return true;
      }
      matched_path = true;
      node.add_allow(allow);
      return false;
    }
    const auto seg = segments[i];
    const bool escaped = seg.find('%') != std::string_view::npos;
    std::optional<std::string> decoded;
    if (escaped) decoded = internal::percent_decode(seg);
    if (!escaped || decoded) {
      const std::string_view value = escaped ? std::string_view(*decoded) : seg;
      if (auto it = node.literals.find(value); it != node.literals.end() && visit(*it->second, i + 1)) return true;
      if (node.param && usable_param(value)) {
        out.params.emplace_back(node.param_name, std::string(value));
        if (visit(*node.param, i + 1)) return true;
        out.params.pop_back();
      }
    }
    if (node.rest && node.rest->any_route()) {
      const auto start = static_cast<std::size_t>(seg.data() - path.data());
      out.params.emplace_back(node.rest_name, std::string(path.substr(start)));
      if (visit(*node.rest, segments.size())) return true;
      out.params.pop_back();
    }
    return false;
  };
  if (visit(*root_, 0)) return out;
  out.params.clear();
  if (matched_path) {
    out.status = 405;
    for (std::size_t i = 0; i < kMethods.size(); ++i) {
      if (!allow[i]) continue;
      if (!out.allow.empty()) out.allow += ", ";
      out.allow += method_name(kMethods[i]);
    }
  }
  return out;
}

}  // namespace convene::http
