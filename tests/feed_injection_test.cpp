// Feed injection (issue 7): a value holding CR/LF and "END:VEVENT\r\nBEGIN:VEVENT..." must
// never forge an event. Issue 7 found that a join_url or an organizer email with CR/LF
// was written into every feed as it was (libical writes URI and CAL-ADDRESS values raw),
// so one field forged whole events in every subscriber's calendar, through the live
// server too: `convene edit power-hour 2026-11-11 --join-url $'https://x\r\nEND:VEVENT
// \r\nBEGIN:VEVENT\r\nUID:forged@evil\r\n...'`, and python3-icalendar read the forged
// event as real.
//
// Here the payload goes into every text field of a series and of an override, through a
// definitions file and through the CLI on a store (`convene edit --title ... --resource`,
// `reschedule --reason`, `close --name`). Links and addresses holding it are refused where
// they enter, with one message naming the JSON path or the flag. Then the feeds are
// published and three independent readers (python3-icalendar with recurring-ical-events,
// ical.js, libical) must see exactly one event per session, no foreign UID, and every text
// intact (a CR/LF comes back as the one line break iCalendar text has, "\n").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <libical/ical.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "servers.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace convene::testing;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const std::string kForge =
    "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@evil\r\nDTSTART:20261118T200000Z\r\n"
    "DTEND:20261118T210000Z\r\nSUMMARY:Forged\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nX-A:b";

// The payload of one field: its name, the forging lines, and the characters iCalendar
// TEXT escapes (; , \) or that other outputs care about (" < :).
std::string payload(const std::string& field) { return field + kForge + " ; , \\ \" : <b>"; }

// What a reader shows for a text: iCalendar text has one line break, "\n".
std::string as_read(std::string text) {
  for (std::size_t at; (at = text.find("\r\n")) != std::string::npos;) text.replace(at, 2, "\n");
  return text;
}

const std::string kFrom = "2026-11-01T00:00:00Z", kTo = "2027-01-01T00:00:00Z";

// The sessions of power-hour in [kFrom, kTo): weekly on Wednesday 15:00 New York, six of
// them; 11 November moved to the 12th (an override), 25 November shifted to the 26th (a
// closure, policy "following").
const std::set<std::string> kSessions = {"2026-11-04T20:00:00Z", "2026-11-12T20:00:00Z", "2026-11-18T20:00:00Z",
                                         "2026-11-26T20:00:00Z", "2026-12-02T20:00:00Z", "2026-12-09T20:00:00Z"};

// The definitions, with `text(field)` in every text field.
nlohmann::ordered_json definitions(const std::function<std::string(const std::string&)>& text, bool with_override) {
  nlohmann::ordered_json series = {
      {"id", "power-hour"},
      {"title", text("series-title")},
      {"description", text("series-description")},
      {"start", "2026-11-04T15:00"},
      {"duration", "PT1H"},
      {"rrule", "FREQ=WEEKLY;COUNT=6"},
      {"on_holiday", "following"},
      {"join_url", "https://meet.example.org/power"},
      {"location", text("series-location")},
      {"organizer", {{"name", "Ana Ruiz"}, {"email", "ana@example.org"}}},
      {"presenter", text("series-presenter")},
      {"categories", {"Power hour"}}};
  nlohmann::ordered_json defs = {
      {"calendars", {{"closures", {{"closures", {{{"name", text("closure-name")}, {"date", "2026-11-25"}}}}}}}},
      {"communities",
       {{{"id", "nurses"}, {"name", text("community-name")}, {"timezone", "America/New_York"},
         {"observes", {"closures"}}, {"series", {series}}}}}};
  if (with_override) {
    defs["overrides"] = {{{"series", "power-hour"},
                          {"occurrence", "2026-11-11T15:00"},
                          {"move_to", "2026-11-12T15:00"},
                          {"title", text("override-title")},
                          {"description", text("override-description")},
                          {"location", text("override-location")},
                          {"presenter", text("override-presenter")},
                          {"agenda", text("override-agenda")},
                          {"resources", {{{"title", text("resource-title")}, {"url", "https://example.org/s.pdf"}}}},
                          {"reason", text("reason")}}};
  }
  return defs;
}

struct Occurrence {
  std::string uid, start, summary, description, location, url, cn;
};
// file -> (every VEVENT's UID, the occurrences in the window)
struct Read {
  std::vector<std::string> uids;
  std::vector<Occurrence> occurrences;
};
using Reading = std::map<std::string, Read>;

Reading from_json(const std::string& text) {
  Reading out;
  const auto j = nlohmann::json::parse(text);
  for (const auto& [file, r] : j.items()) {
    Read read;
    for (const auto& u : r["uids"]) read.uids.push_back(u.get<std::string>());
    for (const auto& o : r["occurrences"]) {
      read.occurrences.push_back({o["uid"], o["start"], o["summary"], o["description"], o["location"], o["url"],
                                  o["cn"]});
    }
    out[fs::path(file).filename().string() + (file.find("expanded") != std::string::npos ? " (expanded)" : "")] =
        std::move(read);
  }
  return out;
}

std::vector<std::string> feed_files(const fs::path& dir) {
  return {(dir / "feeds/all.ics").string(), (dir / "feeds/series/power-hour.ics").string(),
          (dir / "feeds/expanded/all.ics").string(), (dir / "feeds/expanded/series/power-hour.ics").string()};
}

Reading read_python(const fs::path& dir) {
  std::vector<std::string> args = {(source_dir() / "tests/interop/read_text_python.py").string(), kFrom, kTo};
  for (const auto& f : feed_files(dir)) args.push_back(f);
  const auto r = run_python(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? from_json(r.out) : Reading{};
}

Reading read_icaljs(const fs::path& dir) {
  const fs::path interop = source_dir() / "tests/interop";
  if (!fs::exists(interop / "node_modules" / "ical.js" / "package.json")) {
    auto npm = run({"npm", "ci", "--prefix", interop.string(), "--no-audit", "--no-fund"});
    EXPECT_EQ(npm.exit_code, 0) << "installing ical.js with `npm ci --prefix tests/interop` failed:\n" << npm.err;
  }
  std::vector<std::string> args = {"node", (interop / "read_text_icaljs.mjs").string(), kFrom, kTo};
  for (const auto& f : feed_files(dir)) args.push_back(f);
  const auto r = run(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? from_json(r.out) : Reading{};
}

// libical, in process: every VEVENT's UID, and each session of the window (a master's
// recurrences, each replaced by its RECURRENCE-ID override if it has one).
std::string utc_text(time_t at) {
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&at));
  return buf;
}

// The instant of a DATE-TIME property, with its TZID looked up in `calendar`.
time_t instant_of(icalcomponent* calendar, icalproperty* p, icaltimetype t) {
  if (icaltime_is_utc(t)) return icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
  icalparameter* tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
  icaltimezone* zone = tzid ? icalcomponent_get_timezone(calendar, icalparameter_get_tzid(tzid)) : nullptr;
  EXPECT_NE(zone, nullptr);
  return zone ? icaltime_as_timet_with_zone(t, zone) : 0;
}

std::string text_of(icalcomponent* c, icalproperty_kind kind) {
  icalproperty* p = icalcomponent_get_first_property(c, kind);
  if (!p) return "";
  if (kind == ICAL_URL_PROPERTY) return icalproperty_get_url(p);
  return icalvalue_get_text(icalproperty_get_value(p));  // TEXT, unescaped
}

Occurrence occurrence_of(icalcomponent* c, time_t start) {
  Occurrence o;
  o.uid = icalcomponent_get_uid(c);
  o.start = utc_text(start);
  o.summary = text_of(c, ICAL_SUMMARY_PROPERTY);
  o.description = text_of(c, ICAL_DESCRIPTION_PROPERTY);
  o.location = text_of(c, ICAL_LOCATION_PROPERTY);
  o.url = text_of(c, ICAL_URL_PROPERTY);
  if (icalproperty* org = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY)) {
    if (icalparameter* cn = icalproperty_get_first_parameter(org, ICAL_CN_PARAMETER)) o.cn = icalparameter_get_cn(cn);
  }
  return o;
}

Reading read_libical(const fs::path& dir) {
  Reading out;
  const icaltimetype lo = icaltime_from_string("20261001T000000Z"), hi = icaltime_from_string("20270201T000000Z");
  for (const auto& file : feed_files(dir)) {
    icalcomponent* calendar = icalparser_parse_string(read_file(file).c_str());
    EXPECT_NE(calendar, nullptr) << file;
    if (!calendar) continue;
    Read read;
    std::map<std::pair<std::string, time_t>, icalcomponent*> overrides;  // (UID, RECURRENCE-ID)
    std::vector<icalcomponent*> masters;
    for (icalcomponent* c = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT); c;
         c = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
      read.uids.push_back(icalcomponent_get_uid(c));
      if (icalproperty* rid = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY)) {
        overrides[{read.uids.back(), instant_of(calendar, rid, icalproperty_get_recurrenceid(rid))}] = c;
      } else {
        masters.push_back(c);
      }
    }
    for (icalcomponent* master : masters) {
      std::vector<time_t> starts;
      icalcomponent_foreach_recurrence(
          master, lo, hi,
          [](icalcomponent*, struct icaltime_span* span, void* data) {
            static_cast<std::vector<time_t>*>(data)->push_back(span->start);
          },
          &starts);
      const std::string uid = icalcomponent_get_uid(master);
      for (const time_t start : starts) {
        auto it = overrides.find({uid, start});
        icalcomponent* shown = it == overrides.end() ? master : it->second;
        icalproperty* dtstart = icalcomponent_get_first_property(shown, ICAL_DTSTART_PROPERTY);
        const time_t shown_start =
            it == overrides.end() ? start : instant_of(calendar, dtstart, icalproperty_get_dtstart(dtstart));
        Occurrence o = occurrence_of(shown, shown_start);
        if (o.start >= kFrom && o.start < kTo) read.occurrences.push_back(std::move(o));
      }
    }
    std::sort(read.occurrences.begin(), read.occurrences.end(),
              [](const Occurrence& a, const Occurrence& b) { return a.start < b.start; });
    out[fs::path(file).filename().string() + (file.find("expanded") != std::string::npos ? " (expanded)" : "")] =
        std::move(read);
    icalcomponent_free(calendar);
  }
  return out;
}

// What every reader must see in every feed file: one event per session, no UID but the
// series' own, and each text as it was written (CR/LF read back as "\n").
void expect_intact(const std::string& reader, const Reading& reading,
                   const std::function<std::string(const std::string&)>& text) {
  ASSERT_EQ(reading.size(), 4u) << reader;
  for (const auto& [file, read] : reading) {
    const std::string where = reader + ", " + file;
    for (const auto& uid : read.uids) {
      EXPECT_EQ(uid.rfind("power-hour", 0), 0u) << where << ": a foreign UID " << uid;
      EXPECT_THAT(uid, Not(HasSubstr("evil"))) << where;
    }
    std::multiset<std::string> starts;
    for (const auto& o : read.occurrences) starts.insert(o.start);
    EXPECT_EQ(starts, std::multiset<std::string>(kSessions.begin(), kSessions.end())) << where;
    for (const auto& o : read.occurrences) {
      const std::string at = where + ", session " + o.start;
      EXPECT_EQ(o.url, "https://meet.example.org/power") << at;
      EXPECT_EQ(o.cn, "Ana Ruiz") << at;
      if (o.start == "2026-11-12T20:00:00Z") {
        EXPECT_EQ(o.summary, as_read(text("override-title"))) << at;
        EXPECT_EQ(o.location, as_read(text("override-location"))) << at;
        EXPECT_THAT(o.description,
                    HasSubstr("Moved from Wednesday 11 November: " + as_read(text("reason")) + "\n\n" +
                              as_read(text("override-description")) + "\n\nPresenter: " +
                              as_read(text("override-presenter")) + "\nAgenda: " + as_read(text("override-agenda")) +
                              "\nResources:\n- " + as_read(text("resource-title")) + ": https://example.org/s.pdf"))
            << at;
      } else {
        EXPECT_EQ(o.summary, as_read(text("series-title"))) << at;
        EXPECT_EQ(o.location, as_read(text("series-location"))) << at;
        EXPECT_THAT(o.description, HasSubstr(as_read(text("series-description")) + "\n\nPresenter: " +
                                             as_read(text("series-presenter"))))
            << at;
      }
      if (o.start == "2026-11-26T20:00:00Z") {
        EXPECT_THAT(o.description, HasSubstr("Moved from Wednesday 25 November: " + as_read(text("closure-name"))))
            << at;
      }
    }
  }
}

void expect_every_reader_intact(const fs::path& dir, const std::function<std::string(const std::string&)>& text) {
  expect_intact("python3-icalendar", read_python(dir), text);
  expect_intact("ical.js", read_icaljs(dir), text);
  expect_intact("libical", read_libical(dir), text);
}

// A refusal: exit 1, nothing on stdout, exactly one line on stderr, that starts with
// `start` (naming the flag) and shows the payload escaped (no raw CR or LF).
void expect_refused(const RunResult& r, const std::string& start) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("convene: error: " + start, 0), 0u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\\r\\nEND:VEVENT"));
}

const std::map<std::string, std::string> kToday{{"CONVENE_TODAY", "2026-10-01"}, {"CONVENE_NOW", "2026-10-01T12:00:00Z"}};

TEST(FeedInjection, EveryTextFieldOfADefinitionsFileStaysTextInEveryReader) {
  TempDir dir;
  const auto defs = dir / "defs.json";
  write_file(defs, definitions(payload, true).dump(2));
  auto r = run_cli({"publish", defs.string(), "--out", (dir / "site").string()}, "", kToday);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // libical escapes TEXT: no line of the feed begins a component the feed did not make.
  const std::string all = read_file(dir / "site/feeds/all.ics");
  EXPECT_THAT(all, Not(HasSubstr("\r\nUID:forged@evil")));
  EXPECT_THAT(all, Not(HasSubstr("\r\nSUMMARY:Forged")));
  EXPECT_THAT(all, HasSubstr("SUMMARY:override-title\\nEND:VEVENT\\nBEGIN:VEVENT\\nUID:"));
  expect_every_reader_intact(dir / "site", payload);
}

TEST(FeedInjection, LinksAndAddressesOfADefinitionsFileAreRefusedAtTheirPath) {
  TempDir dir;
  struct Case {
    std::string pointer;
    std::function<void(nlohmann::ordered_json&)> set;
  };
  const std::string link = "https://x" + kForge;
  const std::vector<Case> cases = {
      {"/communities/0/series/0/join_url", [&](auto& d) { d["communities"][0]["series"][0]["join_url"] = link; }},
      {"/communities/0/series/0/organizer/email",
       [&](auto& d) { d["communities"][0]["series"][0]["organizer"]["email"] = "ana@example.org" + kForge; }},
      {"/communities/0/series/0/organizer/name",
       [&](auto& d) { d["communities"][0]["series"][0]["organizer"]["name"] = payload("cn"); }},
      {"/communities/0/series/0/categories/0",
       [&](auto& d) { d["communities"][0]["series"][0]["categories"][0] = payload("category"); }},
      {"/overrides/0/join_url", [&](auto& d) { d["overrides"][0]["join_url"] = link; }},
      {"/overrides/0/resources/0/url", [&](auto& d) { d["overrides"][0]["resources"][0]["url"] = link; }},
  };
  for (const auto& c : cases) {
    auto d = definitions([](const std::string& f) { return f; }, true);
    c.set(d);
    const auto file = dir / "defs.json";
    write_file(file, d.dump(2));
    for (const std::vector<std::string>& verb :
         {std::vector<std::string>{"check", file.string()},
          std::vector<std::string>{"publish", file.string(), "--out", (dir / "site").string()}}) {
      const auto r = run_cli(verb, "", kToday);
      EXPECT_EQ(r.exit_code, 1) << c.pointer;
      EXPECT_EQ(r.out, "") << c.pointer;
      EXPECT_THAT(r.err, HasSubstr("error: " + file.string() + ": " + c.pointer + ": ")) << c.pointer;
      EXPECT_EQ(r.err.find('\r'), std::string::npos) << c.pointer << ": " << r.err;
      EXPECT_FALSE(fs::exists(dir / "site")) << c.pointer << ": nothing is published";
    }
  }
}

TEST(FeedInjection, EveryTextFlagOfTheCliStaysTextInEveryReader) {
  TempDir dir;
  const auto defs = dir / "defs.json";
  // The file itself is clean: the CLI brings the payload in, as a facilitator would.
  auto text = [](const std::string& field) -> std::string {
    if (field == "series-title" || field == "series-description" || field == "series-location" ||
        field == "series-presenter" || field == "community-name")
      return field;
    return payload(field);
  };
  auto clean = definitions([](const std::string& f) { return f; }, false);
  clean["calendars"]["closures"]["closures"] = nlohmann::ordered_json::array();
  write_file(defs, clean.dump(2));
  const std::string db = (dir / "convene.db").string();
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db, "--as", "tester"});
    return run_cli(args, "", kToday);
  };
  ASSERT_EQ(cli({"import", defs.string()}).exit_code, 0);
  auto r = cli({"reschedule", "power-hour", "2026-11-11", "--to", "2026-11-12T15:00", "--reason", payload("reason")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cli({"edit", "power-hour", "2026-11-11", "--title", payload("override-title"), "--description",
           payload("override-description"), "--presenter", payload("override-presenter"), "--location",
           payload("override-location"), "--agenda", payload("override-agenda"), "--resource",
           payload("resource-title") + "|https://example.org/s.pdf"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cli({"close", "closures", "2026-11-25", "--name", payload("closure-name")});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Links and addresses are refused, naming the flag; nothing is stored.
  const std::string history = cli({"history", "--format", "json"}).out;
  const std::string link = "https://x" + kForge;
  expect_refused(cli({"edit", "power-hour", "2026-11-18", "--join-url", link}), "--join-url: ");
  expect_refused(cli({"edit", "power-hour", "2026-11-18", "--resource", "Slides|" + link}), "--resource: ");
  expect_refused(cli({"member", "add", "rosa", "--email", "rosa@example.org" + kForge}), "--email: ");
  EXPECT_EQ(cli({"history", "--format", "json"}).out, history) << "a refused change recorded nothing";
  ASSERT_EQ(cli({"member", "add", "rosa", "--email", "rosa@example.org"}).exit_code, 0);
  expect_refused(cli({"member", "set", "rosa", "--email", "rosa@example.org" + kForge}), "--email: ");
  expect_refused(run_cli({"publish", "--db", db, "--out", (dir / "x").string(), "--base-url", link}, "", kToday),
                 "flag --base-url: base URL \"https://x\\r\\nEND:VEVENT");
  EXPECT_FALSE(fs::exists(dir / "x"));

  r = run_cli({"publish", "--db", db, "--out", (dir / "site").string()}, "", kToday);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_every_reader_intact(dir / "site", text);

  // The reproducer's own path: the same store served live by `convene serve`. The public
  // feeds it serves are read by the same three readers, and a member's private feed holds
  // the payload as text, never as a line of its own.
  auto added = cli({"member", "add", "bea", "--email", "bea@example.org", "--format", "json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string token = nlohmann::json::parse(added.out)["token"].get<std::string>();
  ASSERT_EQ(cli({"subscribe", "bea", "power-hour"}).exit_code, 0);
  for (const auto& [k, v] : kToday) ::setenv(k.c_str(), v.c_str(), 1);
  std::string error;
  auto server = ChildProcess::start(
      {cli_path().string(), "serve", "--store", db, "--listen", "127.0.0.1:0", "--access-log", "off"},
      R"(on http://127\.0\.0\.1:(\d+)/)", error);
  ASSERT_TRUE(server) << error;
  const std::string base = "http://127.0.0.1:" + server->match();
  const fs::path live = dir / "live";
  for (const auto& file : feed_files(live)) {
    const std::string path = "/" + fs::relative(file, live).string();
    const auto got = http_get(base + path);
    ASSERT_EQ(got.status, 200) << path << ": " << got.error;
    fs::create_directories(fs::path(file).parent_path());
    write_file(file, got.body);
  }
  expect_every_reader_intact(live, text);
  const auto mine = http_get(base + "/feeds/members/" + token + ".ics");
  ASSERT_EQ(mine.status, 200) << mine.error;
  EXPECT_THAT(mine.body, HasSubstr("override-title"));
  EXPECT_THAT(mine.body, Not(HasSubstr("\r\nUID:forged@evil"))) << "a forged event in a member's private feed";
  EXPECT_THAT(mine.body, Not(HasSubstr("\r\nSUMMARY:Forged")));
  server->stop();
}

}  // namespace
