// The web tests' fixture: a store of the samples (with the member Maria following the
// school nurses, Omar following the DC CoP monthly meeting, and the facilitator Ana of
// the school nurses, with a password), a simulated clock at 2027-01-05, and the site's
// routes driven through the real request path (http::internal::serve_bytes) with a
// browser's cookie jar. Header-only: it needs convene::integrations, which the test
// support library does not link.
#pragma once

#include <cctype>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "convene/accounts.h"
#include "convene/feed_catalog.h"
#include "convene/feed_routes.h"
#include "convene/http.h"
#include "convene/store.h"
#include "convene/web.h"
#include "http_replies.h"
#include "internal/http_exchange.h"
#include "test_support.h"

namespace convene::web::testing {

using convene::testing::TempDir;

inline Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}

using convene::testing::parse_reply;
using convene::testing::Reply;

// The value of the hidden CSRF field of the first form (of the form posting to
// `action` when given) on `html`.
inline std::string csrf_of(const std::string& html, const std::string& action = "") {
  std::string from = html;
  if (!action.empty()) {
    const auto p = html.find("action=\"" + action + "\"");
    if (p == std::string::npos) return "";
    from = html.substr(p);
  }
  std::smatch m;
  if (!std::regex_search(from, m, std::regex("name=\"csrf\" value=\"([^\"]+)\""))) return "";
  return m[1];
}

inline std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    for (const auto* s : {&k, &v}) {
      for (unsigned char c : *s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out += char(c);
        } else {
          static const char* hex = "0123456789ABCDEF";
          out += '%';
          out += hex[c >> 4];
          out += hex[c & 15];
        }
      }
      if (s == &k) out += '=';
    }
  }
  return out;
}

// A browser's cookie jar, enough for one site: name -> value, from Set-Cookie.
struct Jar {
  std::map<std::string, std::string> cookies;
  void take(const Reply& r) {
    for (const auto& c : r.all("set-cookie")) {
      const auto eq = c.find('=');
      const auto semi = c.find(';');
      const std::string name = c.substr(0, eq);
      const std::string value = c.substr(eq + 1, semi - eq - 1);
      if (value.empty() || c.find("Max-Age=0") != std::string::npos) cookies.erase(name);
      else cookies[name] = value;
    }
  }
  std::string header() const {
    if (cookies.empty()) return "";
    std::string out = "Cookie: ";
    for (const auto& [k, v] : cookies) out += (out.size() > 8 ? "; " : "") + k + "=" + v;
    return out + "\r\n";
  }
};

struct WebFixture {
  TempDir dir;
  SimulatedClock clock{at("2027-01-05T15:00:00Z")};
  std::unique_ptr<Store> store;
  std::unique_ptr<FeedCatalog> catalog;
  std::unique_ptr<Site> site;
  http::Router router;
  std::string member_token, other_token;
  std::string ana_password = "correct horse battery staple";

  WebFixture() {
    store = Store::open({.path = (dir / "convene.db").string(), .clock = &clock});
    auto loaded = load_definitions((convene::testing::source_dir() / "samples/communities-2026-27.json").string());
    store->import_definitions(*loaded.definitions, {.actor = "admin"});
    member_token = store->add_member({.id = "maria", .name = "Maria", .email = "maria@school.example"}, {.actor = "admin"}).token;
    store->subscribe("maria", {Subscription::Kind::community, "school-nurses"}, {.actor = "admin"});
    other_token = store->add_member({.id = "omar", .name = "Omar", .email = "omar@school.example"}, {.actor = "admin"}).token;
    store->subscribe("omar", {Subscription::Kind::series, "dc-cop-monthly"}, {.actor = "admin"});
    Accounts accounts(*store);
    const IssuedSecret link = accounts.add_user(
        {.email = "ana@district.example", .name = "Ana", .role = Role::facilitator, .communities = {"school-nurses"}},
        {.actor = "admin"});
    accounts.set_password(link.token, hash_password(ana_password));
    catalog = std::make_unique<FeedCatalog>(FeedSource::store(*store), FeedCatalogOptions{.clock = &clock});
    add_feed_routes(router, *catalog, {.base_url = "https://cop.example.org", .subscribe_page = false});
    site = std::make_unique<Site>(*catalog, store.get(), SiteOptions{.base_url = "https://cop.example.org", .clock = &clock});
    site->add_routes(router);
  }

  Reply request(const std::string& raw, const std::string& peer = "192.0.2.1", const http::ServerOptions& options = {}) {
    return parse_reply(http::internal::serve_bytes(router, options, raw, 0, peer), raw.rfind("HEAD", 0) == 0);
  }
  Reply get(const std::string& target, Jar* jar = nullptr) {
    Reply r = request("GET " + target + " HTTP/1.1\r\nHost: cop.example.org\r\n" + (jar ? jar->header() : "") +
                      "Connection: close\r\n\r\n");
    if (jar) jar->take(r);
    return r;
  }
  Reply post(const std::string& target, const std::vector<std::pair<std::string, std::string>>& fields,
             Jar* jar = nullptr, const std::string& peer = "192.0.2.1") {
    const std::string body = form_encode(fields);
    Reply r = request("POST " + target + " HTTP/1.1\r\nHost: cop.example.org\r\n" + (jar ? jar->header() : "") +
                          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                      peer);
    if (jar) jar->take(r);
    return r;
  }
  // Signs `email` in with `password`; the jar holds the session cookie on success.
  Reply sign_in(Jar& jar, const std::string& email, const std::string& password, const std::string& peer = "192.0.2.1") {
    const Reply form = get("/signin", &jar);
    return post("/signin", {{"csrf", csrf_of(form.body)}, {"email", email}, {"password", password}}, &jar, peer);
  }
};

}  // namespace convene::web::testing
