// The JSON API (/api/v1, docs/api.md) through the real request path, over a store of the
// samples: bearer tokens scoped to communities, each action, ETag/If-Match mapped to the
// store's revisions, and every problem+json error (RFC 9457).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "web_fixture.h"

namespace convene::web {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::WebFixture;

struct Api : WebFixture {
  std::string nurses_token, all_token;
  Api() {
    Accounts accounts(*store);
    nurses_token = accounts.add_api_token({.name = "nurses-tool", .communities = {"school-nurses"}}, {.actor = "admin"}).token;
    all_token = accounts.add_api_token({.name = "district", .all_communities = true}, {.actor = "admin"}).token;
  }
  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& token = "", const std::string& extra = "") {
    const std::string auth = "Authorization: Bearer " + (token.empty() ? nurses_token : token) + "\r\n";
    return request(method + " " + target + " HTTP/1.1\r\nHost: cop.example.org\r\n" + (token == "-" ? "" : auth) +
                   (body.empty() ? "" : "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") +
                   extra + "Connection: close\r\n\r\n" + body);
  }
  static json body(const Reply& r) { return json::parse(r.body, nullptr, false); }
};

void expect_problem(const Reply& r, int status, const std::string& pointer = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
  const json p = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(p.is_object()) << r.body;
  EXPECT_EQ(p.value("status", 0), status);
  EXPECT_FALSE(p.value("title", "").empty());
  if (!pointer.empty()) EXPECT_EQ(p.value("pointer", ""), pointer) << r.body;
}

TEST(WebApi, WithoutAKnownTokenIs401WithItsChallenge) {
  Api a;
  const Reply none = a.call("GET", "/api/v1/communities", "", "-");
  expect_problem(none, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"convene\"");
  expect_problem(a.call("GET", "/api/v1/communities", "", "not-a-token"), 401);
  Accounts(*a.store).revoke_api_token("nurses-tool", {.actor = "admin"});
  expect_problem(a.call("GET", "/api/v1/communities"), 401);
}

TEST(WebApi, TokenSeesOnlyItsCommunities) {
  Api a;
  const json mine = Api::body(a.call("GET", "/api/v1/communities"));
  ASSERT_EQ(mine["communities"].size(), 1u);
  EXPECT_EQ(mine["communities"][0]["id"], "school-nurses");
  EXPECT_EQ(mine["communities"][0]["series"][0]["pattern"], "Third Monday of the month, 4–5 pm ET");
  EXPECT_EQ(Api::body(a.call("GET", "/api/v1/communities", "", a.all_token))["communities"].size(), 3u);
  expect_problem(a.call("GET", "/api/v1/communities/dc-sbh-cop"), 403);
  expect_problem(a.call("GET", "/api/v1/sessions/dc-cop-monthly/2027-01-15T10:00"), 403);
  expect_problem(a.call("GET", "/api/v1/communities/nowhere"), 404);
  const json sessions = Api::body(a.call("GET", "/api/v1/sessions?from=2027-01-01&to=2027-01-31"));
  ASSERT_FALSE(sessions["sessions"].empty());
  for (const auto& s : sessions["sessions"]) EXPECT_EQ(s["community"], "school-nurses");
}

TEST(WebApi, SessionCarriesItsRevisionAsETag) {
  Api a;
  const Reply r = a.call("GET", "/api/v1/sessions/mentoring-monday/2027-01-18T16:00");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  const json s = Api::body(r);
  EXPECT_EQ(r.header("etag"), "\"r" + std::to_string(s["revision"].get<std::uint64_t>()) + "\"");
  EXPECT_EQ(s["status"], "shifted");  // by the holiday policy
  EXPECT_EQ(s["why"], "Moved from Monday 18 January: Martin Luther King, Jr. Day");
}

TEST(WebApi, EachActionIsTheStoresWithTheTokenAsActor) {
  Api a;
  const std::string session = "/api/v1/sessions/power-hour/2027-02-10T15:00";
  const Reply moved = a.call("POST", session + "/reschedule", R"({"to":"2027-02-11T15:00","reason":"Room booked"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_TRUE(Api::body(moved)["changed"].get<bool>());
  EXPECT_FALSE(moved.header("etag").empty());
  auto last = [&] { return a.store->history({.series = "power-hour", .limit = 1}).back(); };
  EXPECT_EQ(last().action, "reschedule");
  EXPECT_EQ(last().actor, "api:nurses-tool");
  EXPECT_EQ(last().reason, "Room booked");
  EXPECT_EQ(a.call("POST", session + "/restore").status, 200);
  EXPECT_EQ(last().action, "restore");
  EXPECT_EQ(a.call("POST", session + "/cancel", R"({"reason":"Presenter ill"})").status, 200);
  EXPECT_EQ(last().action, "cancel");
  EXPECT_EQ(a.call("POST", session + "/restore").status, 200);
  const Reply edited = a.call("PATCH", session, R"({"agenda":"Vaccination clinics","resources":[{"title":"Slides","url":"https://example.org/s.pdf"}]})");
  ASSERT_EQ(edited.status, 200) << edited.body;
  const json s = Api::body(a.call("GET", session));
  EXPECT_EQ(s["agenda"], "Vaccination clinics");
  EXPECT_EQ(s["resources"][0]["url"], "https://example.org/s.pdf");
  const Reply split = a.call("POST", "/api/v1/series/power-hour/split", R"({"from":"2027-03-01","time":"14:00"})");
  ASSERT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(last().action, "split");
  EXPECT_EQ(a.call("GET", "/api/v1/history?series=power-hour").status, 200);
  EXPECT_EQ(Api::body(a.call("GET", "/api/v1/history?series=power-hour"))["changes"].back()["action"], "split");
}

TEST(WebApi, ClosingADayRehearsesWithDryRunThenCloses) {
  Api a;
  const std::uint64_t version = a.store->data_version();
  const Reply rehearsal = a.call("POST", "/api/v1/calendars/district/closures",
                                 R"({"from":"2027-01-13","name":"Snow day","dry_run":true})");
  ASSERT_EQ(rehearsal.status, 200) << rehearsal.body;
  const json r = Api::body(rehearsal);
  EXPECT_TRUE(r["dry_run"].get<bool>());
  EXPECT_EQ(r["affected"].size(), 1u) << r;
  EXPECT_EQ(a.store->data_version(), version);
  ASSERT_EQ(a.call("POST", "/api/v1/calendars/district/closures", R"({"from":"2027-01-13","name":"Snow day"})").status, 200);
  EXPECT_EQ(Api::body(a.call("GET", "/api/v1/sessions/power-hour/2027-01-13T15:00"))["local_start"], "2027-01-20T15:00");
  ASSERT_EQ(a.call("POST", "/api/v1/calendars/district/reopen", R"({"from":"2027-01-13"})").status, 200);
  EXPECT_EQ(Api::body(a.call("GET", "/api/v1/sessions/power-hour/2027-01-13T15:00"))["local_start"], "2027-01-13T15:00");
  // cop-closures is observed by communities the token is not scoped to.
  expect_problem(a.call("POST", "/api/v1/calendars/cop-closures/closures", R"({"from":"2027-01-15","name":"Snow day"})"), 403);
}

TEST(WebApi, IfMatchOfAnOlderRevisionIs412SayingWhoChangedIt) {
  Api a;
  const std::string session = "/api/v1/sessions/power-hour/2027-02-10T15:00";
  const std::string etag = a.call("GET", session).header("etag");
  ASSERT_EQ(a.call("POST", session + "/cancel", R"({"reason":"x"})", a.all_token, "If-Match: " + etag + "\r\n").status, 200);
  const Reply late = a.call("POST", session + "/reschedule", R"({"to":"2027-02-11T15:00"})", "", "If-Match: " + etag + "\r\n");
  expect_problem(late, 412);
  EXPECT_NE(Api::body(late).value("detail", "").find("api:district"), std::string::npos) << late.body;
  EXPECT_EQ(a.store->history({.series = "power-hour", .limit = 1}).back().action, "cancel");
  const std::string fresh = a.call("GET", session).header("etag");
  EXPECT_EQ(a.call("POST", session + "/restore", "", "", "If-Match: " + fresh + "\r\n").status, 200);
  expect_problem(a.call("POST", session + "/restore", "", "", "If-Match: \"seven\"\r\n"), 412);
  // A series' ETag guards a split the same way.
  const std::string series_etag = a.call("GET", "/api/v1/series/power-hour").header("etag");
  ASSERT_EQ(a.call("POST", "/api/v1/series/power-hour/split", R"({"from":"2027-03-01","time":"14:00"})").status, 200);
  expect_problem(a.call("POST", "/api/v1/series/power-hour/split", R"({"from":"2027-04-01","time":"13:00"})", "",
                        "If-Match: " + series_etag + "\r\n"),
                 412);
}

TEST(WebApi, EveryErrorIsProblemJson) {
  Api a;
  const std::string session = "/api/v1/sessions/power-hour/2027-02-10T15:00";
  expect_problem(a.call("POST", session + "/reschedule", R"({"to":"next tuesday"})"), 422, "/to");
  expect_problem(a.call("POST", session + "/reschedule", R"({})"), 422, "/to");
  expect_problem(a.call("POST", session + "/reschedule", R"({"to":"2027-02-11T15:00","duration":"long"})"), 422, "/duration");
  expect_problem(a.call("PATCH", session, R"j({"join_url":"javascript:alert(1)"})j"), 422, "/join_url");
  expect_problem(a.call("PATCH", session, R"({"resources":[{"title":"x","url":"ftp://x.example"}]})"), 422, "/resources/0/url");
  expect_problem(a.call("PATCH", session, R"({"agenda":42})"), 422, "/agenda");
  expect_problem(a.call("POST", session + "/reschedule", R"({"to":)"), 400);
  expect_problem(a.call("POST", session + "/reschedule", "[1]"), 400);
  const Reply form = a.request("POST " + session + "/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + a.nurses_token +
                               "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=b");
  expect_problem(form, 415);
  expect_problem(a.call("GET", "/api/v1/sessions/power-hour/2027-02-11T15:00"), 404);
  expect_problem(a.call("GET", "/api/v1/nothing-here"), 404);
  expect_problem(a.call("DELETE", "/api/v1/communities"), 405);
  expect_problem(a.call("GET", "/api/v1/sessions?from=2027-01-01&to=2029-01-01"), 400);
  // A move onto another session of the series is the store's refusal, said plainly.
  expect_problem(a.call("POST", session + "/reschedule", R"({"to":"2027-03-10T15:00"})"), 422);
}

TEST(WebApi, ArchiveSearchIsScopedToo) {
  Api a;
  OccurrenceEdit edit;
  edit.agenda = "Asthma action plans and inhaler technique";
  a.store->edit("mentoring-monday", *parse_local_minute("2026-10-19T16:00"), edit, {.actor = "ana"});
  const json hits = Api::body(a.call("GET", "/api/v1/archive?q=inhaler"));
  ASSERT_EQ(hits["hits"].size(), 1u) << hits;
  EXPECT_EQ(hits["hits"][0]["occurrence_id"], "2026-10-19T16:00");
  EXPECT_EQ(hits["hits"][0]["url"], "https://cop.example.org/sessions/mentoring-monday/2026-10-19T16:00");
  // The body is kept: a range-for over a member of a temporary reads freed memory (ASan).
  const json all = Api::body(a.call("GET", "/api/v1/archive"));
  for (const auto& h : all["hits"]) EXPECT_EQ(h["community"], "school-nurses");
}

}  // namespace
}  // namespace convene::web
