// The web in a real browser: Debian's Chromium, driven by playwright-core from npm
// (installed into tests/web/node_modules by this test's set-up, `npm ci`), against
// `convene serve` on 127.0.0.1 over a store of the samples, with the clock pinned
// (CONVENE_NOW) to 2027-01-05. One browser launch for the whole file
// (tests/web/browser.mjs walks every scenario and reports JSON); each section checks one
// part of that walk and of what the store and the feeds say afterwards, in one TEST (ctest
// runs each TEST in a process of its own).
//
// axe-core runs on every page type (WCAG 2.1 A and AA rules): 0 violations. The
// screenshots at phone (390 px) and desktop (1280 px) widths are kept under
// <build>/tests/web-screenshots/ as the test's artifacts.
#include <gtest/gtest.h>
#include <libical/ical.h>

#include <filesystem>
#include <regex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace convene::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kNow = "2027-01-05T15:00:00Z";
constexpr const char* kSnowDay = "2027-01-13";  // a Wednesday: Power Hour, "next-week" on a closure
constexpr const char* kArchiveWord = "inhalers";
constexpr const char* kArchiveSession = "/sessions/mentoring-monday/2026-10-19T16:00";
constexpr const char* kPassword = "snow day in the district";

struct Walk {
  json report;
  std::string failure;          // set-up that failed, with its output
  std::string member_token;
  fs::path db;
  fs::path screenshots;
};

Walk* walk = nullptr;

std::string cli_ok(const std::vector<std::string>& args, const fs::path& db, std::string& failure) {
  std::vector<std::string> all = {"--db", db.string()};
  all.insert(all.end(), args.begin(), args.end());
  auto r = run_cli(all, "", {{"CONVENE_NOW", kNow}});
  if (r.exit_code != 0 && failure.empty()) failure = "convene " + args.front() + ": " + r.err;
  return r.out;
}

class WebBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    walk = new Walk;
    static TempDir dir;
    Walk& w = *walk;
    const fs::path web = source_dir() / "tests" / "web";
    if (!fs::exists(web / "node_modules" / "playwright-core" / "package.json") ||
        !fs::exists(web / "node_modules" / "axe-core" / "axe.min.js")) {
      auto npm = run({"npm", "ci", "--prefix", web.string(), "--no-audit", "--no-fund"});
      if (npm.exit_code != 0) {
        w.failure = "installing playwright-core and axe-core with `npm ci --prefix tests/web` failed:\n" + npm.err;
        return;
      }
    }
    w.db = dir / "convene.db";
    std::string& failure = w.failure;
    fs::copy(source_dir() / "samples" / "communities-2026-27.json", dir / "communities-2026-27.json");
    fs::copy(source_dir() / "samples" / "district-2026-27.ics", dir / "district-2026-27.ics");
    cli_ok({"import", (dir / "communities-2026-27.json").string()}, w.db, failure);
    cli_ok({"edit", "mentoring-monday", "2026-10-19T16:00", "--agenda", "Asthma action plans and inhaler technique",
            "--presenter", "Dr. Rivera"}, w.db, failure);
    w.member_token = json::parse(cli_ok({"member", "add", "maria", "--name", "Maria", "--email", "maria@school.example",
                                         "--remind", "PT15M", "--format", "json"}, w.db, failure),
                                 nullptr, false)
                         .value("token", "");
    cli_ok({"subscribe", "maria", "community:school-nurses"}, w.db, failure);
    const json user = json::parse(cli_ok({"user", "add", "ana@district.example", "--name", "Ana", "--role", "facilitator",
                                          "--community", "school-nurses", "--format", "json"}, w.db, failure),
                                  nullptr, false);
    if (!failure.empty()) return;
    std::string error;
    auto server = ChildProcess::start({"/usr/bin/env", "CONVENE_NOW=" + std::string(kNow), cli_path().string(), "serve",
                                       "--db", w.db.string(), "--listen", "127.0.0.1:0", "--access-log", "off"},
                                      "on (http://127\\.0\\.0\\.1:[0-9]+)/", error);
    if (!server) {
      failure = "convene serve did not start: " + error;
      return;
    }
    w.screenshots = binary_dir() / "tests" / "web-screenshots";
    fs::remove_all(w.screenshots);
    fs::create_directories(w.screenshots);
    const json setup = {{"base", server->match()},
                        {"member_token", w.member_token},
                        {"password_path", user.value("password_path", "")},
                        {"email", "ana@district.example"},
                        {"password", kPassword},
                        {"screenshots", w.screenshots.string()},
                        {"profile", (dir / "chromium-profile").string()},
                        {"archive_word", kArchiveWord},
                        {"archive_session", kArchiveSession},
                        {"snow_day", kSnowDay}};
    auto node = run({"node", (web / "browser.mjs").string()}, setup.dump());
    server->stop();
    if (node.exit_code != 0) {
      failure = "tests/web/browser.mjs failed:\n" + node.err + node.out;
      return;
    }
    w.report = json::parse(node.out, nullptr, false);
    if (w.report.is_discarded()) failure = "browser.mjs wrote no report:\n" + node.out;
  }
  static void TearDownTestSuite() {
    delete walk;
    walk = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(walk->failure.empty()) << walk->failure; }

};

const json& part(const char* name) {
  EXPECT_FALSE(walk->report["errors"].contains(name)) << walk->report["errors"].value(name, "");
  return walk->report[name];
}
std::string text(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// The VEVENTs of a feed, as (UID, DTSTART as YYYYMMDDTHHMMSS in its zone, SUMMARY, DESCRIPTION).
struct Event {
  std::string uid, start, summary, description, status, recurrence_id;
};
std::vector<Event> events_of(const std::string& feed) {
  std::vector<Event> out;
  icalcomponent* cal = icalparser_parse_string(feed.c_str());
  if (!cal) return out;
  for (auto* e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
    Event ev;
    ev.uid = icalcomponent_get_uid(e) ? icalcomponent_get_uid(e) : "";
    ev.start = icaltime_as_ical_string(icalcomponent_get_dtstart(e));
    ev.summary = icalcomponent_get_summary(e) ? icalcomponent_get_summary(e) : "";
    ev.description = icalcomponent_get_description(e) ? icalcomponent_get_description(e) : "";
    if (auto* p = icalcomponent_get_first_property(e, ICAL_STATUS_PROPERTY)) ev.status = icalproperty_get_value_as_string(p);
    if (icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY))
      ev.recurrence_id = icaltime_as_ical_string(icalcomponent_get_recurrenceid(e));
    out.push_back(ev);
  }
  icalcomponent_free(cal);
  return out;
}

// Power Hour of 13 January: its own event in an expanded feed, the exception
// (RECURRENCE-ID) of the series' event in a feed of rules; nothing when it has none. A
// copy: the callers pass the temporary list of events_of (ASan found a pointer into it
// read after the list was gone).
std::optional<Event> power_hour_of_january(const std::vector<Event>& events) {
  for (const auto& e : events)
    if (e.uid.rfind("power-hour-20270113T1500@", 0) == 0 ||
        (e.uid.rfind("power-hour@", 0) == 0 && e.recurrence_id == "20270113T150000"))
      return e;
  return std::nullopt;
}

void member_sees_the_community_and_its_subscribe_buttons() {
  const json& m = part("member");
  EXPECT_EQ(text(m, "community_title"), "School Nurse Communities of Practice");
  EXPECT_EQ(m.value("pattern", 0), 1);
  const json& s = m["subscribe"];
  EXPECT_EQ(text(s, "google").rfind("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F127.0.0.1%3A", 0), 0u) << s;
  EXPECT_EQ(text(s, "outlook_365").rfind("https://outlook.office.com/calendar/0/addfromweb?url=", 0), 0u) << s;
  EXPECT_EQ(text(s, "outlook_com").rfind("https://outlook.live.com/calendar/0/addfromweb?url=", 0), 0u) << s;
  EXPECT_EQ(text(s, "apple").rfind("webcal://127.0.0.1:", 0), 0u) << s;
  EXPECT_TRUE(std::regex_match(text(s, "copy"), std::regex("http://127\\.0\\.0\\.1:\\d+/feeds/communities/school-nurses\\.ics")))
      << s;
  EXPECT_EQ(s.value("qr", 0), 1);
  // The viewer is in Chicago: each time also in theirs, added by the page's script.
  EXPECT_GT(m.value("local_time_shown", 0), 0);
  // Martin Luther King, Jr. Day moved the January session, and the page says why.
  EXPECT_NE(text(m, "session_text").find("Martin Luther King, Jr. Day"), std::string::npos) << text(m, "session_text");
}

void member_follows_a_series_and_changes_reminders_on_their_page() {
  const json& m = part("member");
  EXPECT_NE(text(m, "follow_notice").find("Saved"), std::string::npos) << m;
  EXPECT_NE(text(m, "reminders_notice").find("Saved"), std::string::npos) << m;
  EXPECT_TRUE(m.value("one_day_checked", false));
  EXPECT_EQ(m.value("feed_status", 0), 200);
  // What the store now says, through the CLI.
  auto shown = run_cli({"--db", walk->db.string(), "member", "show", "maria", "--format", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const json member = json::parse(shown.out);
  EXPECT_EQ(member["reminders"]["offsets"], json::array({"P1D"})) << member;
  auto subs = member["subscriptions"].dump();
  EXPECT_NE(subs.find("dc-cop-monthly"), std::string::npos) << subs;
  EXPECT_NE(subs.find("school-nurses"), std::string::npos) << subs;
  // The feed they got from their page holds both.
  EXPECT_NE(text(m, "feed_before").find("DC CoP Monthly Meeting"), std::string::npos);
}

void facilitator_signs_in_closes_a_snow_day_and_the_members_feed_shows_it() {
  const json& f = part("facilitator");
  EXPECT_EQ(text(f, "after_signout"), "/signin");
  EXPECT_EQ(text(f, "workspace_path"), "/workspace");
  // The preview lists Power Hour and who will be told, before anything changes.
  EXPECT_NE(text(f, "preview").find("Power Hour"), std::string::npos) << text(f, "preview");
  EXPECT_NE(text(f, "preview").find("Maria (maria@school.example)"), std::string::npos) << text(f, "preview");
  EXPECT_NE(text(f, "preview").find("Nothing has changed yet"), std::string::npos);
  EXPECT_NE(text(f, "closed").find("Closed"), std::string::npos) << text(f, "closed");
  // Before: Power Hour on 13 January; on the next request after: a week later, saying
  // why, in the member's feed of one event per session and in their feed of rules.
  const auto before = power_hour_of_january(events_of(text(walk->report["member"], "expanded_before")));
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->start, "20270113T150000");
  EXPECT_FALSE(power_hour_of_january(events_of(text(walk->report["member"], "feed_before"))).has_value());  // no exception yet
  for (const char* feed : {"expanded_after", "feed_after"}) {
    const auto after = power_hour_of_january(events_of(text(f, feed)));
    ASSERT_TRUE(after.has_value()) << feed;
    EXPECT_EQ(after->start, "20270120T150000") << feed;
    EXPECT_NE((after->summary + after->description).find("Snow day"), std::string::npos) << feed << ": " << after->description;
  }
  EXPECT_EQ(f.value("reopen_lists_snow_day", 0), 1);
  // The history names the facilitator as the one who closed it.
  EXPECT_NE(text(f, "history").find("ana@district.example"), std::string::npos) << text(f, "history");
}

void session_cookie_is_http_only_and_lax() {
  const json& c = part("facilitator")["cookie"];
  ASSERT_TRUE(c.is_object());
  EXPECT_TRUE(c.value("httpOnly", false));
  EXPECT_EQ(c.value("sameSite", ""), "Lax");
  EXPECT_EQ(c.value("path", ""), "/workspace");
  EXPECT_FALSE(c.value("secure", true));  // plain http on loopback
}

void archive_finds_a_past_session_by_a_word_of_its_agenda() {
  const json& a = part("archive");
  EXPECT_EQ(a["marks"], json::array({"inhaler"})) << a;
  EXPECT_EQ(text(a, "session_path"), kArchiveSession);
  EXPECT_NE(text(a, "session_text").find("Asthma action plans and inhaler technique"), std::string::npos);
  EXPECT_NE(text(a, "session_text").find("Dr. Rivera"), std::string::npos);
}

void every_page_type_has_no_accessibility_violations() {
  const json& axe = walk->report["axe"];
  for (const char* page : {"home", "community", "series", "session", "member", "password", "signin", "workspace",
                           "close-preview", "workspace-session", "workspace-series", "reopen", "history", "archive",
                           "not-found"}) {
    ASSERT_TRUE(axe.contains(page)) << page << " was not audited: " << walk->report["errors"];
    EXPECT_EQ(axe[page], json::array()) << page << ": " << axe[page].dump(2);
  }
}

void screenshots_at_phone_and_desktop_widths_are_kept() {
  for (const auto& page : walk->report["pages"]) {
    for (const char* width : {"phone", "desktop"}) {
      const fs::path shot = walk->screenshots / (page.get<std::string>() + "-" + width + ".png");
      ASSERT_TRUE(fs::exists(shot)) << shot;
      EXPECT_GT(fs::file_size(shot), 5000u) << shot;
    }
  }
  EXPECT_GE(walk->report["pages"].size(), 15u);
}

// Review of the first workspace: the closing preview's table (four columns of dates)
// scrolled sideways on a phone. Every table is now a list of cards below 48rem: at the
// phone width (390 px) no page and no table region scrolls sideways.
void nothing_scrolls_sideways_on_a_phone() {
  const json& sideways = walk->report["sideways"];
  for (const auto& page : walk->report["pages"]) {
    const std::string name = page.get<std::string>();
    ASSERT_TRUE(sideways.contains(name)) << name;
    EXPECT_EQ(sideways[name].value("page", -1), 0) << name << ": " << sideways[name];
    EXPECT_LE(sideways[name].value("regions", -1), 1) << name << ": " << sideways[name];
  }
}

// One test, so that ctest (which runs each test in a process of its own) launches the
// browser once: each part of the walk is checked in its own section.
TEST_F(WebBrowser, MemberAndFacilitatorDoEverythingInChromiumAccessibly) {
  {
    SCOPED_TRACE("MemberSeesTheCommunityAndItsSubscribeButtons");
    member_sees_the_community_and_its_subscribe_buttons();
  }
  {
    SCOPED_TRACE("MemberFollowsASeriesAndChangesRemindersOnTheirPage");
    member_follows_a_series_and_changes_reminders_on_their_page();
  }
  {
    SCOPED_TRACE("FacilitatorSignsInClosesASnowDayAndTheMembersFeedShowsIt");
    facilitator_signs_in_closes_a_snow_day_and_the_members_feed_shows_it();
  }
  {
    SCOPED_TRACE("SessionCookieIsHttpOnlyAndLax");
    session_cookie_is_http_only_and_lax();
  }
  {
    SCOPED_TRACE("ArchiveFindsAPastSessionByAWordOfItsAgenda");
    archive_finds_a_past_session_by_a_word_of_its_agenda();
  }
  {
    SCOPED_TRACE("EveryPageTypeHasNoAccessibilityViolations");
    every_page_type_has_no_accessibility_violations();
  }
  {
    SCOPED_TRACE("NothingScrollsSidewaysOnAPhone");
    nothing_scrolls_sideways_on_a_phone();
  }
  {
    SCOPED_TRACE("ScreenshotsAtPhoneAndDesktopWidthsAreKept");
    screenshots_at_phone_and_desktop_widths_are_kept();
  }
}

}  // namespace
}  // namespace convene::testing
