// convene/http.h: the router, requests, responses and bodies. Most tests drive the real
// request path from memory (http::internal::serve_bytes: the same parser, framing rules
// and dispatch a connection uses); one runs the real server on 127.0.0.1 with libcurl.
#include <curl/curl.h>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/http.h"
#include "http_replies.h"
#include "internal/http_exchange.h"

namespace convene::http {
namespace {

using internal::serve_bytes;

using convene::testing::Reply;

// The responses in `bytes` (a body by its framing; none after HEAD, 1xx, 204, 304).
std::vector<Reply> replies(const std::string& bytes, bool head = false) {
  return convene::testing::parse_replies(bytes, head);
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& type, const std::string& body,
                 const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// One request through the real request path; its one reply.
Reply one(const Router& router, const std::string& request, const ServerOptions& options = {},
          const std::string& peer = "192.0.2.1") {
  auto all = replies(serve_bytes(router, options, request, 0, peer), request.rfind("HEAD", 0) == 0);
  if (all.size() != 1) throw std::runtime_error(std::to_string(all.size()) + " replies to: " + request);
  return all.front();
}

Handler says(std::string text) {
  return [text](const Request&, Response& res) { res.text(200, text); };
}

// --- the router --------------------------------------------------------------------------

TEST(Router, LiteralsBeatParametersBeatTheRestWhateverTheOrder) {
  Router router;
  router.get("/sessions/{rest...}", says("rest"));
  router.get("/sessions/{series}/{occurrence}", says("session"));
  router.get("/sessions/new", says("new"));
  router.get("/", says("home"));
  EXPECT_EQ(one(router, get("/")).body, "home");
  EXPECT_EQ(one(router, get("/sessions/new")).body, "new");
  EXPECT_EQ(one(router, get("/sessions/power-hour/2027-02-01T16:00")).body, "session");
  EXPECT_EQ(one(router, get("/sessions/a/b/c")).body, "rest");
  EXPECT_EQ(one(router, get("/sessions/a")).body, "rest");
  // A literal that leads nowhere gives way to the parameter.
  EXPECT_EQ(one(router, get("/sessions/new/2027-02-01T16:00")).body, "session");
  EXPECT_EQ(one(router, get("/sessions")).status, 404);
  EXPECT_EQ(one(router, get("/elsewhere")).status, 404);
}

TEST(Router, ParametersAreDecodedOnceAndMustBeWholeSegments) {
  Router router;
  router.get("/me/{token}", [](const Request& req, Response& res) { res.text(200, std::string(req.param("token"))); });
  router.get("/files/{path...}", [](const Request& req, Response& res) { res.text(200, std::string(req.param("path"))); });
  EXPECT_EQ(one(router, get("/me/%41bc-_")).body, "Abc-_");
  EXPECT_EQ(one(router, get("/me/%252e")).body, "%2e");  // once, not twice
  EXPECT_EQ(one(router, get("/me/a?x=1")).body, "a");
  for (const std::string refused : {"/me/", "/me/.", "/me/..", "/me/%2e%2E", "/me/a%2Fb", "/me/a%5Cb", "/me/a%00",
                                    "/me/a%0a", "/me/%zz", "/me/%4", "/me/a/b", "//me/a"})
    EXPECT_EQ(one(router, get(refused)).status, 404) << refused;
  // The rest is given raw: its handler decodes by its own rules.
  EXPECT_EQ(one(router, get("/files/a/%2F/b")).body, "a/%2F/b");
  EXPECT_EQ(one(router, get("/files//x")).body, "/x");
  // Literal segments match their decoded form.
  EXPECT_EQ(one(router, get("/%6De/x")).body, "x");
}

TEST(Router, OtherMethodsOfAPathAre405WithTheirAllow) {
  Router router;
  router.get("/things/{id}", says("got"));
  router.post("/things/{id}", says("posted"));
  router.put("/things/{id}", says("put"));
  router.del("/only-delete", says("deleted"));
  auto r = one(router, "DELETE /things/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, POST, PUT");
  EXPECT_EQ(r.body, "Method Not Allowed\n");
  EXPECT_EQ(one(router, "OPTIONS /things/1 HTTP/1.1\r\nHost: x\r\n\r\n").header("allow"), "GET, HEAD, POST, PUT");
  EXPECT_EQ(one(router, "GET /only-delete HTTP/1.1\r\nHost: x\r\n\r\n").header("allow"), "DELETE");
  EXPECT_EQ(one(router, "DELETE /only-delete HTTP/1.1\r\nHost: x\r\n\r\n").body, "deleted");
  // HEAD is GET without the body, Content-Length kept.
  auto head = one(router, "HEAD /things/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "3");
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(one(router, "PATCH /nowhere HTTP/1.1\r\nHost: x\r\n\r\n").status, 404);
}

TEST(Router, RefusesMalformedPatternsAndRoutesRegisteredTwice) {
  Router router;
  router.get("/a/{id}", says("a"));
  EXPECT_THROW(router.get("/a/{id}", says("again")), std::invalid_argument);
  EXPECT_THROW(router.get("/a/{other}/x", says("x")), std::invalid_argument);
  for (const std::string bad : {"", "a", "/a//b", "/{}", "/{rest...}/x", "/a%20b", "/a{b}", "/{...}"})
    EXPECT_THROW(router.get(bad, says("x")), std::invalid_argument) << bad;
  EXPECT_THROW(router.add(Method::other, "/x", says("x")), std::invalid_argument);
  EXPECT_NO_THROW(router.post("/a/{id}", says("post")));
}

// --- bodies ------------------------------------------------------------------------------

Router echo_router(RouteOptions options = {}) {
  Router router;
  router.post("/echo", [](const Request& req, Response& res) { res.text(200, "[" + std::string(req.body()) + "]"); },
              options);
  router.del("/echo", says("deleted"));
  router.get("/echo", says("got"));
  return router;
}

TEST(HttpServer, ReadsBodiesByContentLengthOrChunkedThenTheNextRequest) {
  const auto router = echo_router();
  const std::string chunked =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
      "Trailer-Field: x\r\n\r\n";
  const std::string input = post("/echo", "text/plain", "abc") + chunked + get("/echo");
  for (std::size_t chunk : {0, 1, 7}) {
    auto all = replies(serve_bytes(router, {}, input, chunk));
    ASSERT_EQ(all.size(), 3u) << chunk;
    EXPECT_EQ(all[0].body, "[abc]");
    EXPECT_EQ(all[1].body, "[hello world]");
    EXPECT_EQ(all[2].body, "got");
  }
  EXPECT_EQ(one(router, post("/echo", "text/plain", "")).body, "[]");
}

TEST(HttpServer, ABodyOverTheRoutesLimitIs413AndTheConnectionCloses) {
  const auto router = echo_router({.max_body_bytes = 10});
  auto over = replies(serve_bytes(router, {}, post("/echo", "text/plain", std::string(11, 'a')) + get("/echo")));
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].status, 413);
  EXPECT_EQ(over[0].header("connection"), "close");
  EXPECT_EQ(one(router, post("/echo", "text/plain", std::string(10, 'a'))).status, 200);
  // Chunked: counted as it arrives.
  auto chunked = replies(serve_bytes(
      router, {}, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
      3));
  ASSERT_EQ(chunked.size(), 1u);
  EXPECT_EQ(chunked[0].status, 413);
  // Without RouteOptions, ServerOptions::max_body_bytes.
  ServerOptions small;
  small.max_body_bytes = 4;
  EXPECT_EQ(one(echo_router(), post("/echo", "text/plain", "abcde"), small).status, 413);
  EXPECT_EQ(one(echo_router(), post("/echo", "text/plain", "abcd"), small).status, 200);
  // A huge Content-Length is refused before anything of the body is read.
  EXPECT_EQ(one(router, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n").status, 413);
}

TEST(HttpServer, ABodyWhereTheRouteTakesNoneIsRefused) {
  const auto router = echo_router();
  EXPECT_EQ(one(router, "DELETE /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/echo")).status, 413);
  EXPECT_EQ(one(router, "GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/echo")).status, 400);
  EXPECT_EQ(one(router, "GET /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").status, 400);
  // A malformed chunk is 400.
  EXPECT_EQ(one(router, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").status, 400);
}

TEST(HttpServer, Expect100ContinueIsAnsweredWhenTheBodyWillBeRead) {
  const auto router = echo_router({.max_body_bytes = 100});
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  // The header alone arrives first: 100 Continue, then the final response.
  const auto bytes = serve_bytes(router, {}, head + "hello", head.size());
  EXPECT_EQ(bytes.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0), 0u) << bytes;
  EXPECT_NE(bytes.find("[hello]"), std::string::npos);
  // Refused at once (no 100) when the body would not be read.
  const auto refused = serve_bytes(
      router, {}, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n", 0);
  EXPECT_EQ(refused.rfind("HTTP/1.1 413 ", 0), 0u) << refused;
  EXPECT_EQ(one(router, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: teapot\r\n\r\nhello").status,
            417);
}

// --- request helpers ----------------------------------------------------------------------

TEST(Request, FormsQueriesAndCookies) {
  Router router;
  router.post("/form", [](const Request& req, Response& res) {
    auto form = req.form();
    if (!form) return void(res.error(400));
    std::string out;
    for (const auto& [k, v] : form->items) out += k + "=" + v + ";";
    res.text(200, out);
  });
  router.get("/search", [](const Request& req, Response& res) {
    auto q = req.query_params();
    if (!q) return void(res.error(400));
    res.text(200, std::string(q->get("q").value_or("-")) + "|" + std::to_string(q->all("c").size()));
  });
  router.get("/cookies", [](const Request& req, Response& res) {
    auto c = req.cookies();
    res.text(200, std::string(c.get("session").value_or("-")) + "|" + std::string(c.get("csrf").value_or("-")));
  });
  EXPECT_EQ(one(router, post("/form", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")).body,
            "List-Unsubscribe=One-Click;");
  EXPECT_EQ(one(router, post("/form", "application/x-www-form-urlencoded; charset=UTF-8",
                             "a=snow+day&b=%C3%A9t%C3%A9&&c&d=%0D%0A"))
                .body,
            "a=snow day;b=été;c=;d=\r\n;");
  EXPECT_EQ(one(router, post("/form", "application/x-www-form-urlencoded", "a=%zz")).status, 400);
  EXPECT_EQ(one(router, post("/form", "text/plain", "a=1")).status, 400);
  std::string many;
  for (std::size_t i = 0; i <= kMaxParams; ++i) many += "a=1&";
  EXPECT_EQ(one(router, post("/form", "application/x-www-form-urlencoded", many)).status, 400);
  EXPECT_EQ(one(router, get("/search?q=snow%20day&c=1&c=2")).body, "snow day|2");
  EXPECT_EQ(one(router, get("/search")).body, "-|0");
  EXPECT_EQ(one(router, get("/search?q=%")).status, 400);
  EXPECT_EQ(one(router, get("/cookies", "Cookie: a=1; session=\"abc\"; csrf=x=y\r\n")).body, "abc|x=y");
  EXPECT_EQ(one(router, get("/cookies")).body, "-|-");
}

TEST(Request, JsonBodiesAreCheckedAndBoundedInDepth) {
  Router router;
  router.post("/api/v1/things", [](const Request& req, Response& res) {
    std::string why;
    auto value = req.json(&why);
    if (!value) return void(res.problem(why.find("application/json") != std::string::npos ? 415 : 400, "Bad body", why));
    res.json(201, {{"got", *value}});
  });
  auto ok = one(router, post("/api/v1/things", "application/json", R"({"a":[1,2]})"));
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(nlohmann::json::parse(ok.body)["got"]["a"][1], 2);
  EXPECT_EQ(one(router, post("/api/v1/things", "application/merge-patch+json", "{}")).status, 201);
  auto wrong_type = one(router, post("/api/v1/things", "text/plain", "{}"));
  EXPECT_EQ(wrong_type.status, 415);
  EXPECT_EQ(wrong_type.header("content-type"), "application/problem+json");
  const std::string secret = "{\"a\": secret-word-here}";
  auto broken = one(router, post("/api/v1/things", "application/json", secret));
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(broken.body.find("secret"), std::string::npos) << broken.body;
  std::string deep(64, '['), deeper(65, '[');
  deep += std::string(64, ']');
  deeper += std::string(65, ']');
  EXPECT_EQ(one(router, post("/api/v1/things", "application/json", deep)).status, 201);
  auto too_deep = one(router, post("/api/v1/things", "application/json", deeper));
  EXPECT_EQ(too_deep.status, 400);
  EXPECT_NE(too_deep.body.find("deeper than 64"), std::string::npos) << too_deep.body;
  // 100,000 deep (the definitions loader's crash in issue 7) is refused, not a crash.
  const std::string abyss = std::string(100000, '[') + std::string(100000, ']');
  ServerOptions big;
  big.max_body_bytes = 1 << 20;
  EXPECT_EQ(one(router, post("/api/v1/things", "application/json", abyss), big).status, 400);
}

// --- responses ----------------------------------------------------------------------------

TEST(Response, ProblemDetailsUnderTheRoutersPrefixes) {
  Router router;
  router.problem_details_under("/api/");
  router.get("/api/v1/sessions/{id}", [](const Request& req, Response& res) {
    res.problem(409, "Changed since you read it", "changed by ana at 10:02",
                {{"type", "https://convene.example/problems/conflict"}, {"revision", 7}, {"status", 200}});
    (void)req;
  });
  router.get("/page", says("page"));
  auto missing = one(router, get("/api/v1/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
  EXPECT_EQ(missing.header("cache-control"), "no-store");
  const auto problem = nlohmann::json::parse(missing.body);
  EXPECT_EQ(problem["status"], 404);
  EXPECT_EQ(problem["title"], "Not Found");
  EXPECT_EQ(problem["type"], "about:blank");
  auto not_allowed = one(router, "DELETE /api/v1/sessions/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(nlohmann::json::parse(not_allowed.body)["status"], 405);
  EXPECT_EQ(not_allowed.header("allow"), "GET, HEAD");
  auto conflict = one(router, get("/api/v1/sessions/1"));
  EXPECT_EQ(conflict.status, 409);
  const auto c = nlohmann::json::parse(conflict.body);
  EXPECT_EQ(c["status"], 409);  // the extra members cannot change it
  EXPECT_EQ(c["revision"], 7);
  EXPECT_EQ(c["detail"], "changed by ana at 10:02");
  EXPECT_EQ(c["type"], "https://convene.example/problems/conflict");
  // Outside the prefix, errors stay plain text.
  EXPECT_EQ(one(router, get("/nothing")).body, "Not Found\n");
}

TEST(Response, RedirectsCookiesAndHeadersNeverInjectAnything) {
  Router router;
  router.post("/signin", [](const Request& req, Response& res) {
    res.cookie({.name = "session", .value = "abc123", .max_age = std::chrono::hours{8}, .secure = req.secure()})
        .redirect("/workspace");
  });
  router.get("/to", [](const Request& req, Response& res) {
    res.redirect(req.query_params().value_or(Params{}).get("where").value_or("/"));
  });
  router.get("/header", [](const Request& req, Response& res) { res.header("X-Echo", req.query()).text(200, "ok"); });
  router.get("/header-decoded", [](const Request& req, Response& res) {
    res.header("X-Echo", req.query_params().value_or(Params{}).get("v").value_or("")).text(200, "ok");
  });
  router.get("/length", [](const Request&, Response& res) { res.header("Content-Length", "0"); });
  router.get("/cookie", [](const Request& req, Response& res) {
    res.cookie({.name = "c", .value = std::string(req.query())}).text(200, "ok");
  });
  auto signin = one(router, post("/signin", "application/x-www-form-urlencoded", ""));
  EXPECT_EQ(signin.status, 303);
  EXPECT_EQ(signin.header("location"), "/workspace");
  EXPECT_EQ(signin.header("set-cookie"), "session=abc123; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax");
  // The handler cannot be made to redirect off the site, or to split the header.
  EXPECT_EQ(one(router, get("/to?where=%2Fme%2Fx")).header("location"), "/me/x");
  EXPECT_EQ(one(router, get("/to?where=https://cop.example.org/")).header("location"), "https://cop.example.org/");
  for (const std::string where : {"%2F%2Fevil.example", "%2F%5Cevil.example", "javascript:alert(1)",
                                  "%2Fa%0D%0ASet-Cookie:%20x=y", "%2Fa%20b", "evil.example"}) {
    auto r = one(router, get("/to?where=" + where));
    EXPECT_EQ(r.status, 500) << where;
    EXPECT_EQ(r.header("location"), "") << where;
    EXPECT_EQ(r.header("set-cookie"), "") << where;
  }
  EXPECT_EQ(one(router, get("/header?a%0D%0AX-Injected:%201")).header("x-echo"), "a%0D%0AX-Injected:%201");
  auto split = one(router, get("/header-decoded?v=a%0D%0AX-Injected:%201"));
  EXPECT_EQ(split.status, 500);
  EXPECT_EQ(split.header("x-injected"), "");
  EXPECT_EQ(split.header("x-echo"), "");
  EXPECT_EQ(one(router, get("/length")).status, 500);  // the server frames responses itself
  EXPECT_EQ(one(router, get("/cookie?a;b")).status, 500);
  EXPECT_EQ(one(router, get("/cookie?ab")).header("set-cookie"), "c=ab; Path=/; HttpOnly; SameSite=Lax");
}

// --- header values ---------------------------------------------------------------------------

TEST(HeaderValues, ListsGzipAndEntityTags) {
  EXPECT_EQ(list_items(" gzip;q=0.8 ,, br\t"), (std::vector<std::string_view>{"gzip;q=0.8", "br"}));
  EXPECT_TRUE(list_items("").empty());
  EXPECT_TRUE(accepts_gzip("br, gzip;q=0.8"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("X-GZIP"));
  for (const std::string no : {"", "identity", "gzip;q=0", "gzip;q=0.000", "*;q=0", "gzip;q=0, *", "br"})
    EXPECT_FALSE(accepts_gzip(no)) << no;
  EXPECT_TRUE(etag_listed("\"a\"", {"\"a\""}));
  EXPECT_TRUE(etag_listed("W/\"a\"", {"\"a\""}));
  EXPECT_TRUE(etag_listed("\"x\", \"b\"", {"\"a\"", "\"b\""}));
  EXPECT_TRUE(etag_listed("*", {"\"a\""}));
  EXPECT_FALSE(etag_listed("\"ab\"", {"\"a\""}));
  // An empty item never matches a representation that has no tag.
  EXPECT_FALSE(etag_listed("\"x\",,", {"\"a\"", ""}));
  EXPECT_TRUE(iequals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(iequals("Content-Type", "Content-Typ"));
}

// --- behind a reverse proxy ----------------------------------------------------------------

TEST(HttpServer, ForwardedFieldsAreBelievedOnlyFromTrustedProxies) {
  Router router;
  router.get("/who", [](const Request& req, Response& res) {
    res.text(200, std::string(req.client()) + "|" + (req.secure() ? "https" : "http") + "|" + req.base_url());
  });
  ServerOptions options;
  options.trusted_proxies = {"127.0.0.1", "10.0.0.0/8", "fd00::/8"};
  const std::string forwarded = get("/who",
                                    "X-Forwarded-For: 198.51.100.9, 203.0.113.7, 10.1.1.1\r\n"
                                    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: cop.example.org\r\n");
  EXPECT_EQ(one(router, forwarded, options, "127.0.0.1").body, "203.0.113.7|https|https://cop.example.org");
  EXPECT_EQ(one(router, forwarded, options, "10.200.0.1").body, "203.0.113.7|https|https://cop.example.org");
  EXPECT_EQ(one(router, forwarded, options, "fd12::1").body, "203.0.113.7|https|https://cop.example.org");
  EXPECT_EQ(one(router, forwarded, options, "::ffff:127.0.0.1").body, "203.0.113.7|https|https://cop.example.org");
  // From anyone else, the fields are ignored.
  EXPECT_EQ(one(router, forwarded, options, "192.0.2.1").body, "192.0.2.1|http|http://x");
  EXPECT_EQ(one(router, forwarded, options, "11.0.0.1").body, "11.0.0.1|http|http://x");
  EXPECT_EQ(one(router, forwarded, {}, "127.0.0.1").body, "127.0.0.1|http|http://x");
  // The walk stops at the first untrusted hop (what is left of it is not believed); a
  // host or scheme that is not one is not taken.
  EXPECT_EQ(one(router,
                get("/who", "X-Forwarded-For: <script>, 203.0.113.7\r\nX-Forwarded-Host: a b\r\n"
                            "X-Forwarded-Proto: gopher\r\n"),
                options, "127.0.0.1")
                .body,
            "203.0.113.7|http|http://x");
  // A bad entry is refused where the options are checked.
  for (const std::string bad : {"10.0.0/8", "10.0.0.0/33", "localhost", "::1/129", "1.2.3.4/"}) {
    ServerOptions wrong;
    wrong.port = 0;
    wrong.trusted_proxies = {bad};
    Server server(router, wrong);
    auto error = server.listen();
    ASSERT_TRUE(error) << bad;
    EXPECT_NE(error->find("trusted proxy \"" + bad + "\""), std::string::npos) << *error;
  }
}

// --- the access log's view of a target ------------------------------------------------------

TEST(HttpAccessLog, MasksTokenLikeRunsOnly) {
  using internal::loggable_target;
  const std::string token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg";
  EXPECT_EQ(loggable_target("/feeds/members/" + token + ".ics"), "/feeds/members/<token>.ics");
  EXPECT_EQ(loggable_target("/me/" + token + "?x=" + token), "/me/<token>?x=<token>");
  EXPECT_EQ(loggable_target("/feeds/members/Zm9vYmFyYmF6cXV4cXV1.ics"), "/feeds/members/<token>.ics");
  EXPECT_EQ(loggable_target("/feeds/members/Zm9vYmFyYmF6cXV4cXV.ics"), "/feeds/members/Zm9vYmFyYmF6cXV4cXV.ics");
  EXPECT_EQ(loggable_target("/feeds/members/Zm9vYmFy%59mF6cXV4cXV1.ics"), "/feeds/members/<token>.ics");
  EXPECT_EQ(loggable_target("/feeds/members/Zm9vYmFy%2559mF6cXV4cXV1.ics"), "/feeds/members/<token>.ics");
  // Encoded five times or more: masked when long enough to hide a token.
  EXPECT_EQ(loggable_target("/x/%2525252541"), "/x/%2525252541");
  EXPECT_EQ(loggable_target("/x/%252525252541aaaaaaaaa"), "/x/<token>");
  // Ids are lower-case slugs, kept however long; so are numbers and dates.
  EXPECT_EQ(loggable_target("/feeds/series/stakeholder-learning-community.ics"),
            "/feeds/series/stakeholder-learning-community.ics");
  EXPECT_EQ(loggable_target("/sessions/power-hour/2027-02-01T16:00?q=123456789012345678901234"),
            "/sessions/power-hour/2027-02-01T16:00?q=123456789012345678901234");
  // Bytes that would break the line, and the length.
  EXPECT_EQ(loggable_target("/a\"b\\c d\x01\xff"), "/a?b?c?d??");
  const auto long_one = loggable_target("/" + std::string(500, 'a'));
  EXPECT_EQ(long_one.size(), 203u);
  EXPECT_EQ(long_one.substr(200), "...");
  // A cut never leaves part of "<token>".
  const auto cut = loggable_target("/" + std::string(195, 'a') + "/" + token);
  EXPECT_EQ(cut, "/" + std::string(195, 'a') + "/...");
}

// --- over real sockets ----------------------------------------------------------------------

TEST(HttpServer, ServesBodiesOverRealSockets) {
  Router router;
  router.post("/unsubscribe/{token}", [](const Request& req, Response& res) {
    auto form = req.form();
    if (!form || form->get("List-Unsubscribe") != "One-Click") return void(res.error(400));
    res.text(200, "unsubscribed " + std::string(req.param("token")) + " " + std::to_string(req.body().size()));
  });
  ServerOptions options;
  options.port = 0;
  options.threads = 1;
  Server server(router, options);
  ASSERT_FALSE(server.listen());
  std::thread runner([&] { server.run(); });
  struct Stop {
    Server& s;
    std::thread& t;
    ~Stop() {
      s.stop();
      t.join();
    }
  } stop{server, runner};

  auto fetch = [&](const std::string& body, bool expect_continue) {
    CURL* c = curl_easy_init();
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/unsubscribe/tok";
    std::string got;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, expect_continue ? "Expect: 100-continue" : "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) {
      static_cast<std::string*>(out)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    EXPECT_EQ(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return std::to_string(status) + " " + got;
  };
  EXPECT_EQ(fetch("List-Unsubscribe=One-Click", false), "200 unsubscribed tok 26");
  const std::string big = "List-Unsubscribe=One-Click&pad=" + std::string(300000, 'x');
  EXPECT_EQ(fetch(big, true), "200 unsubscribed tok " + std::to_string(big.size()));
  EXPECT_EQ(fetch("List-Unsubscribe=Two-Clicks", false), "400 Bad Request\n");
  EXPECT_EQ(fetch(std::string(2 << 20, 'x'), true), "413 Content Too Large\n");
}

}  // namespace
}  // namespace convene::http
