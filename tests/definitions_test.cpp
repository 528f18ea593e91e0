// Tests of the definitions loader (convene/definitions.h): the full example, the round
// trip through to_json, and one test per kind of bad input, each checking that the
// message names the file, the JSON path and what is wrong.
#include "convene/definitions.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "internal/definitions_text.h"
#include "test_support.h"

namespace convene {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::filesystem::path data_dir() { return testing::source_dir() / "tests" / "data" / "definitions"; }

LoadedDefinitions parse(const std::string& text) {
  return parse_definitions(text, "defs.json", data_dir().string());
}

std::vector<std::string> messages(const LoadedDefinitions& loaded) {
  std::vector<std::string> out;
  for (const auto& d : loaded.diagnostics) out.push_back(d.to_string());
  return out;
}

// The one error of `text`, as to_string() prints it.
std::string only_error(const std::string& text) {
  const auto loaded = parse(text);
  EXPECT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.diagnostics.size(), 1u) << ::testing::PrintToString(messages(loaded));
  return loaded.diagnostics.empty() ? std::string() : loaded.diagnostics.front().to_string();
}

// A valid file around one series (and optional extra top-level members).
std::string with_series(const std::string& series, const std::string& extra = "") {
  return R"({"calendars": {"dc": {"builtin": "us-dc"}},
             "communities": [{"id": "nurses", "name": "Nurses", "timezone": "America/New_York",
                              "observes": ["dc"], "series": [)" +
         series + "]}]" + extra + "}";
}

const std::string kSeries =
    R"({"id": "mm", "title": "Mentoring Monday", "start": "2026-09-14T16:00", "duration": "PT1H",
        "rrule": "FREQ=MONTHLY;BYDAY=2MO"})";

// A series with `member` added ("\"key\": value").
std::string series_with(const std::string& member) {
  return with_series(R"({"id": "mm", "title": "Mentoring Monday", "start": "2026-09-14T16:00",
                         "duration": "PT1H", )" + member + "}");
}

// A file with one calendar `body`.
std::string with_calendar(const std::string& body) {
  return R"({"calendars": {"school": )" + body + "}}";
}

LocalTime at(const char* text) { return *parse_local_minute(text); }
LocalDay day(const char* text) { return *parse_date(text); }

bool has_holiday(const HolidayCalendar& calendar, const char* when, const std::string& name) {
  const LocalDay d = day(when);
  const auto y = date::year_month_day{d}.year();
  for (const auto& h : calendar.holidays(y, y)) {
    if (h.day == d && h.name == name) return true;
  }
  return false;
}

// --- the full example ----------------------------------------------------------

TEST(Definitions, ParsesFullExample) {
  const auto loaded = load_definitions((data_dir() / "full.json").string());
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  EXPECT_TRUE(loaded.diagnostics.empty());
  const Definitions& d = *loaded.definitions;
  EXPECT_EQ(d.source, (data_dir() / "full.json").string());

  ASSERT_EQ(d.calendars.size(), 3u);  // in file order, not sorted
  EXPECT_EQ(d.calendars[0].id, "dc");
  EXPECT_EQ(d.calendars[1].id, "school");
  EXPECT_EQ(d.calendars[2].id, "district");
  EXPECT_EQ(d.calendars[0].builtin, "us-dc");
  const auto& school = d.calendars[1];
  ASSERT_EQ(school.rules.size(), 3u);
  EXPECT_EQ(std::get<FixedDateRule>(school.rules[0]),
            (FixedDateRule{"Staff day", 8, 31, true, 2026, std::nullopt}));
  EXPECT_EQ(std::get<NthWeekdayRule>(school.rules[1]),
            (NthWeekdayRule{"Family day", 10, date::Friday, -1, std::nullopt, 2030}));
  EXPECT_EQ(std::get<EasterRule>(school.rules[2]), (EasterRule{"Good Friday", -2, {}, {}}));
  EXPECT_THAT(school.closures,
              ElementsAre(Closure{"Winter break", day("2026-12-21"), day("2027-01-01")},
                          Closure{"Snow day", day("2027-02-03"), day("2027-02-03")}));
  EXPECT_EQ(d.calendars[2].ics, "district.ics");

  ASSERT_EQ(d.communities.size(), 2u);
  const CommunityDef& nurses = d.communities[0];
  EXPECT_EQ(nurses.id, "nurses");
  EXPECT_EQ(nurses.name, "School Nurse CoP");
  EXPECT_EQ(nurses.description, "Mentoring for school nurses");
  EXPECT_EQ(nurses.timezone, "America/New_York");
  ASSERT_NE(nurses.zone, nullptr);
  EXPECT_EQ(nurses.zone->name(), "America/New_York");
  EXPECT_THAT(nurses.observes, ElementsAre("dc", "school"));
  EXPECT_EQ(nurses.workweek, Workweek());
  ASSERT_EQ(nurses.series.size(), 2u);

  const SeriesDef& mm = nurses.series[0];
  EXPECT_EQ(mm.id, "mentoring-monday");
  EXPECT_EQ(mm.title, "Mentoring Monday");
  EXPECT_EQ(mm.description, "Case consultation");
  EXPECT_EQ(mm.start, at("2026-09-14T16:00"));
  EXPECT_EQ(mm.duration, std::chrono::hours{1});
  EXPECT_EQ(mm.rrule_text, "FREQ=MONTHLY;BYDAY=2MO");
  ASSERT_TRUE(mm.rrule.has_value());
  EXPECT_EQ(mm.rrule->freq, Frequency::monthly);
  EXPECT_THAT(mm.rrule->by_day, ElementsAre(WeekdayNum{date::Monday, 2}));
  EXPECT_THAT(mm.add, ElementsAre(at("2026-12-07T16:00")));
  EXPECT_THAT(mm.except, ElementsAre(at("2027-05-10T16:00")));
  EXPECT_EQ(mm.on_holiday, HolidayPolicy::following);
  EXPECT_THAT(mm.observes, ElementsAre("district"));
  EXPECT_EQ(mm.join_url, "https://meet.example/nurses");
  EXPECT_EQ(mm.location, "Room 101");
  EXPECT_EQ(mm.organizer, (Person{"Ana Ruiz", "ana@example.org"}));
  EXPECT_EQ(mm.presenter, "Dr. Lee");
  EXPECT_THAT(mm.categories, ElementsAre("mentoring", "nursing"));
  EXPECT_FALSE(mm.continues.has_value());

  const SeriesDef& spring = nurses.series[1];
  EXPECT_EQ(spring.start, at("2027-01-11T16:30"));  // ":00" seconds accepted
  EXPECT_EQ(spring.duration, std::chrono::minutes{90});
  EXPECT_EQ(spring.on_holiday, HolidayPolicy::skip);  // the default
  EXPECT_EQ(spring.continues, "mentoring-monday");
  EXPECT_FALSE(spring.organizer.has_value());

  const CommunityDef& sbh = d.communities[1];
  EXPECT_EQ(sbh.workweek, Workweek::of({date::Monday, date::Tuesday, date::Wednesday, date::Thursday}));
  EXPECT_FALSE(sbh.description.has_value());
  EXPECT_EQ(sbh.series[0].duration, std::chrono::hours{26});
  EXPECT_EQ(sbh.series[0].on_holiday, HolidayPolicy::next_week);
  EXPECT_EQ(sbh.series[0].organizer, (Person{"", "sbh@example.org"}));

  ASSERT_EQ(d.overrides.size(), 2u);
  const OverrideDef& moved = d.overrides[0];
  EXPECT_EQ(moved.series, "mentoring-monday");
  EXPECT_EQ(moved.occurrence, at("2027-02-08T16:00"));
  EXPECT_EQ(moved.move_to, at("2027-02-09T16:00"));
  EXPECT_EQ(moved.duration, std::chrono::minutes{45});
  EXPECT_FALSE(moved.cancel);
  EXPECT_EQ(moved.title, "Mentoring Tuesday");
  EXPECT_EQ(moved.description, "Moved for the presenter");
  EXPECT_EQ(moved.join_url, "https://meet.example/nurses-2");
  EXPECT_EQ(moved.location, "Room 102");
  EXPECT_EQ(moved.presenter, "Dr. Kim");
  EXPECT_EQ(moved.agenda, "1. Intros\n2. Cases");
  EXPECT_THAT(moved.resources, ElementsAre(Resource{"Slides", "https://example.org/slides.pdf"}));
  EXPECT_EQ(moved.reason, "Presenter's request");
  EXPECT_TRUE(d.overrides[1].cancel);
  EXPECT_FALSE(d.overrides[1].move_to.has_value());
}

TEST(Definitions, CalendarIsTheBuiltValue) {
  const auto loaded = load_definitions((data_dir() / "full.json").string());
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  const Definitions& d = *loaded.definitions;
  // The builtin, under the calendar's own id.
  const HolidayCalendar& dc = d.find_calendar("dc")->calendar;
  EXPECT_EQ(dc.id(), "dc");
  EXPECT_TRUE(has_holiday(dc, "2027-01-18", "Martin Luther King, Jr. Day"));
  EXPECT_TRUE(has_holiday(dc, "2027-04-16", "DC Emancipation Day"));
  for (const auto& h : dc.holidays(date::year{2027}, date::year{2027})) EXPECT_EQ(h.calendar, "dc");
  // Rules and closures.
  const HolidayCalendar& school = d.find_calendar("school")->calendar;
  EXPECT_EQ(school.id(), "school");
  EXPECT_TRUE(has_holiday(school, "2027-03-26", "Good Friday"));  // Easter 2027 is 28 March
  EXPECT_TRUE(has_holiday(school, "2026-10-30", "Family day"));   // last Friday of October
  EXPECT_TRUE(has_holiday(school, "2026-12-24", "Winter break"));
  EXPECT_TRUE(has_holiday(school, "2027-02-03", "Snow day"));
  EXPECT_TRUE(has_holiday(school, "2026-08-31", "Staff day"));
  EXPECT_FALSE(has_holiday(school, "2025-08-31", "Staff day"));  // since 2026
  // The ICS file's all-day events, DTEND exclusive; the timed event is not a closure.
  const HolidayCalendar& district = d.find_calendar("district")->calendar;
  EXPECT_EQ(district.id(), "district");
  EXPECT_TRUE(has_holiday(district, "2026-11-03", "Professional development day"));
  EXPECT_TRUE(has_holiday(district, "2027-01-01", "Winter break"));
  EXPECT_FALSE(has_holiday(district, "2027-01-02", "Winter break"));
  for (const auto& h : district.holidays(date::year{2026}, date::year{2026})) {
    EXPECT_NE(h.day, day("2026-10-14")) << h.name;
  }
  EXPECT_TRUE(d.find_calendar("district")->closures.empty());  // only what the file lists
  EXPECT_EQ(d.find_calendar("nope"), nullptr);
}

TEST(Definitions, FindSeriesGivesSeriesAndCommunity) {
  const auto loaded = load_definitions((data_dir() / "full.json").string());
  ASSERT_TRUE(loaded.ok());
  auto [community, series] = loaded.definitions->find_series("sbh-quarterly");
  ASSERT_NE(series, nullptr);
  EXPECT_EQ(series->title, "Quarterly convening");
  EXPECT_EQ(community->id, "dc-sbh");
  auto [none_c, none_s] = loaded.definitions->find_series("missing");
  EXPECT_EQ(none_c, nullptr);
  EXPECT_EQ(none_s, nullptr);
}

TEST(Definitions, EmptyDocumentIsValid) {
  const auto loaded = parse("{} // nothing yet");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.definitions->communities.empty());
  EXPECT_EQ(to_json(*loaded.definitions).dump(), "{}");
}

// --- writing back ----------------------------------------------------------------

TEST(Definitions, RoundTripKeepsEverything) {
  const auto first = load_definitions((data_dir() / "full.json").string());
  ASSERT_TRUE(first.ok()) << ::testing::PrintToString(messages(first));
  const auto written = to_json(*first.definitions);
  const auto second = parse_definitions(written.dump(2), "written.json", data_dir().string());
  ASSERT_TRUE(second.ok()) << ::testing::PrintToString(messages(second)) << written.dump(2);
  const Definitions& a = *first.definitions;
  const Definitions& b = *second.definitions;
  EXPECT_EQ(to_json(b), written);
  EXPECT_EQ(to_json(b).dump(2), written.dump(2));  // key order too
  EXPECT_EQ(a.communities, b.communities);
  EXPECT_EQ(a.overrides, b.overrides);
  ASSERT_EQ(a.calendars.size(), b.calendars.size());
  for (std::size_t i = 0; i < a.calendars.size(); ++i) {
    EXPECT_EQ(a.calendars[i].id, b.calendars[i].id);
    EXPECT_EQ(a.calendars[i].builtin, b.calendars[i].builtin);
    EXPECT_EQ(a.calendars[i].rules, b.calendars[i].rules);
    EXPECT_EQ(a.calendars[i].closures, b.calendars[i].closures);
    EXPECT_EQ(a.calendars[i].ics, b.calendars[i].ics);
    EXPECT_EQ(a.calendars[i].calendar.holidays(date::year{2026}, date::year{2028}),
              b.calendars[i].calendar.holidays(date::year{2026}, date::year{2028}));
  }
  // Through a sorted nlohmann::json (a store's copy) too.
  const nlohmann::json sorted = written;
  const auto third = parse_definitions_json(sorted, "store", data_dir().string());
  ASSERT_TRUE(third.ok()) << ::testing::PrintToString(messages(third));
  EXPECT_EQ(third.definitions->communities, a.communities);
  EXPECT_EQ(third.definitions->overrides, a.overrides);
}

TEST(Definitions, ToJsonWritesNaturalOrderAndOmitsDefaults) {
  const auto loaded = parse(with_series(
      R"({"id": "mm", "title": "T", "duration": "PT90M", "start": "2026-09-14T16:00:00",
          "on_holiday": "skip", "add": [], "categories": []})",
      R"(, "overrides": [{"occurrence": "2026-09-14T16:00", "series": "mm", "cancel": false,
                           "reason": "none"}])"));
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  EXPECT_EQ(to_json(*loaded.definitions).dump(),
            R"({"calendars":{"dc":{"builtin":"us-dc"}},)"
            R"("communities":[{"id":"nurses","name":"Nurses","timezone":"America/New_York",)"
            R"("observes":["dc"],"series":[{"id":"mm","title":"T","start":"2026-09-14T16:00",)"
            R"("duration":"PT1H30M"}]}],)"
            R"("overrides":[{"series":"mm","occurrence":"2026-09-14T16:00","reason":"none"}]})");
}

TEST(Definitions, ToJsonWritesRuleWithoutTextAsLibicalDoes) {
  auto loaded = parse(with_series(kSeries));
  ASSERT_TRUE(loaded.ok());
  Definitions d = *loaded.definitions;
  d.communities[0].series[0].rrule_text.reset();  // built by a program, not read
  const auto written = to_json(d);
  const auto rrule = written["communities"][0]["series"][0]["rrule"].get<std::string>();
  EXPECT_THAT(rrule, AllOf(HasSubstr("FREQ=MONTHLY"), HasSubstr("BYDAY=2MO")));
  const auto again = parse_definitions(written.dump(), "again.json", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.definitions->communities[0].series[0].rrule, d.communities[0].series[0].rrule);
}

// --- reading files -----------------------------------------------------------------

TEST(Definitions, MissingFileIsOneErrorNamingIt) {
  testing::TempDir dir;
  const std::string path = (dir / "nope.json").string();
  const auto loaded = load_definitions(path);
  EXPECT_FALSE(loaded.ok());
  ASSERT_EQ(loaded.diagnostics.size(), 1u);
  EXPECT_EQ(loaded.diagnostics[0].where, path);
  EXPECT_THAT(loaded.diagnostics[0].to_string(),
              AllOf(HasSubstr("error: " + path + ": "), HasSubstr("No such file")));
}

TEST(Definitions, DirectoryIsNotAFile) {
  testing::TempDir dir;
  const auto loaded = load_definitions(dir.path().string());
  ASSERT_EQ(loaded.diagnostics.size(), 1u);
  EXPECT_THAT(loaded.diagnostics[0].to_string(), HasSubstr("directory"));
}

TEST(Definitions, IcsPathIsRelativeToTheDefinitionsFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "sub");
  std::filesystem::copy_file(data_dir() / "district.ics", dir / "sub" / "closed.ics");
  testing::write_file(dir / "sub" / "defs.json", R"({"calendars": {"d": {"ics": "closed.ics"}}})");
  const auto loaded = load_definitions((dir / "sub" / "defs.json").string());
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  EXPECT_TRUE(has_holiday(loaded.definitions->calendars[0].calendar, "2026-11-03",
                          "Professional development day"));
}

// --- bad input: syntax -------------------------------------------------------------

TEST(Definitions, MalformedJsonGivesLineAndColumn) {
  // Line 3, column 21: the second comma.
  const auto loaded = parse("{\n  // a comment\n  \"communities\": [1,,2]\n}");
  ASSERT_EQ(loaded.diagnostics.size(), 1u);
  EXPECT_EQ(loaded.diagnostics[0].where, "defs.json:3:21");
  EXPECT_THAT(loaded.diagnostics[0].to_string(),
              AllOf(HasSubstr("error: defs.json:3:21: "), HasSubstr("unexpected ','"),
                    Not(HasSubstr("[json.exception"))));
}

TEST(Definitions, TruncatedJsonPointsAtTheEnd) {
  const auto loaded = parse("{\"calendars\": {\n");
  ASSERT_EQ(loaded.diagnostics.size(), 1u);
  EXPECT_THAT(loaded.diagnostics[0].to_string(),
              AllOf(HasSubstr("defs.json:2:"), HasSubstr("end of input")));
}

TEST(Definitions, BlockCommentsAreAllowed) {
  EXPECT_TRUE(parse("/* header */ {\"calendars\": {} /* none */}").ok());
}

TEST(Definitions, DuplicateJsonKeyIsAnError) {
  const std::string e = only_error(series_with(R"("rrule": "FREQ=WEEKLY", "rrule": "FREQ=DAILY")"));
  EXPECT_THAT(e, AllOf(HasSubstr("defs.json: /communities/0/series/0/rrule: "),
                       HasSubstr("duplicate key \"rrule\"")));
}

TEST(Definitions, DuplicateJsonKeyPathCountsArrayElements) {
  const auto loaded = parse(R"({"calendars": {}, "communities": [
      {"id": "a", "name": "A", "timezone": "UTC", "observes": [], "series": [[1, {}], 2]},
      {"id": "b", "name": "B", "timezone": "UTC", "series": [], "id": "c"}],
      "calendars": {}})");
  EXPECT_THAT(messages(loaded),
              ::testing::Contains(HasSubstr("defs.json: /communities/1/id: duplicate key \"id\"")));
  EXPECT_THAT(messages(loaded),
              ::testing::Contains(HasSubstr("defs.json: /calendars: duplicate key \"calendars\"")));
}

TEST(Definitions, HugeNumberIsOutOfRangeAsWritten) {
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 99999999999999, "day": 1}]})")),
              HasSubstr("/calendars/school/rules/0/month: month 99999999999999 is out of range 1..12"));
}

TEST(Definitions, TopLevelMustBeAnObject) {
  EXPECT_THAT(only_error("[1, 2]"),
              AllOf(HasSubstr("error: defs.json: "), HasSubstr("object at the top level"),
                    HasSubstr("an array")));
}

// --- bad input: keys and types -----------------------------------------------------

TEST(Definitions, UnknownKeySuggestsNearest) {
  const std::string e = only_error(with_series(kSeries + std::string(R"(, {"id": "x", "title": "X",
      "start": "2026-09-14T16:00", "duration": "PT1H", "rrul": "FREQ=DAILY"})")));
  EXPECT_EQ(e, "error: defs.json: /communities/0/series/1/rrul: unknown key \"rrul\"; "
               "did you mean \"rrule\"?");
}

TEST(Definitions, UnknownKeySuggestsNearestAtEveryLevel) {
  const auto loaded = parse(R"({"calender": {},
      "calendars": {"c": {"bultin": "us-dc", "rules": [{"name": "X", "mnth": 1, "month": 1, "day": 1}],
                          "closures": [{"name": "Y", "dat": "2026-01-01", "date": "2026-01-01"}]}},
      "communities": [{"id": "n", "name": "N", "timezone": "UTC", "timzone": "UTC", "series": [
          {"id": "s", "title": "S", "start": "2026-01-05T10:00", "duration": "PT1H",
           "organizer": {"email": "a@b.org", "emial": "a@b.org"}}]}],
      "overrides": [{"series": "s", "occurrence": "2026-01-05T10:00", "cancle": true,
                     "resources": [{"title": "T", "url": "https://x.org/u", "link": "u"}]}]})");
  EXPECT_FALSE(loaded.ok());
  EXPECT_THAT(messages(loaded),
              ElementsAre(HasSubstr("/calender: unknown key \"calender\"; did you mean \"calendars\"?"),
                          HasSubstr("/calendars/c/bultin: unknown key \"bultin\"; did you mean \"builtin\"?"),
                          HasSubstr("/calendars/c/rules/0/mnth: unknown key \"mnth\"; did you mean \"month\"?"),
                          HasSubstr("/calendars/c/closures/0/dat: unknown key \"dat\"; did you mean \"date\"?"),
                          HasSubstr("/communities/0/timzone: unknown key \"timzone\"; did you mean \"timezone\"?"),
                          HasSubstr("/communities/0/series/0/organizer/emial: unknown key \"emial\"; did you mean \"email\"?"),
                          HasSubstr("/overrides/0/cancle: unknown key \"cancle\"; did you mean \"cancel\"?"),
                          HasSubstr("/overrides/0/resources/0/link: unknown key \"link\" (expected one of: title, url)")));
}

TEST(Definitions, UnknownKeyListsKnownKeysWhenNothingIsNear) {
  EXPECT_THAT(only_error(series_with(R"("colour": "blue")")),
              AllOf(HasSubstr("/communities/0/series/0/colour: unknown key \"colour\""),
                    HasSubstr("expected one of: id, title, description, start, duration, rrule")));
}

TEST(Definitions, PointerEscapesSlashAndTilde) {
  EXPECT_THAT(only_error(R"({"calendars": {"a/b~c": {"bultin": "us-dc"}}})"),
              HasSubstr("defs.json: /calendars/a~1b~0c/bultin: unknown key"));
}

TEST(Definitions, WrongTypeNamesExpectedAndFound) {
  EXPECT_THAT(only_error(series_with(R"("rrule": 5)")),
              AllOf(HasSubstr("/communities/0/series/0/rrule: "), HasSubstr("expected a string"),
                    HasSubstr("a number (5)")));
  EXPECT_THAT(only_error(R"({"communities": {"id": "x"}})"),
              AllOf(HasSubstr("defs.json: /communities: "), HasSubstr("expected an array"),
                    HasSubstr("an object")));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": "1", "day": 1}]})")),
              AllOf(HasSubstr("/calendars/school/rules/0/month: "), HasSubstr("expected an integer"),
                    HasSubstr("a string (\"1\")")));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "cancel": "yes"}])")),
              AllOf(HasSubstr("/overrides/0/cancel: "), HasSubstr("expected true or false")));
  EXPECT_THAT(only_error(R"({"calendars": {"c": []}})"),
              AllOf(HasSubstr("/calendars/c: "), HasSubstr("expected an object")));
}

TEST(Definitions, MissingRequiredSeriesFields) {
  const auto loaded = parse(with_series(R"({"id": "mm"})"));
  EXPECT_FALSE(loaded.ok());
  EXPECT_THAT(messages(loaded),
              ElementsAre("error: defs.json: /communities/0/series/0: missing required key \"title\"",
                          "error: defs.json: /communities/0/series/0: missing required key \"start\"",
                          "error: defs.json: /communities/0/series/0: missing required key \"duration\""));
  EXPECT_THAT(only_error(with_series(R"({"title": "T", "start": "2026-09-14T16:00", "duration": "PT1H"})")),
              HasSubstr("/communities/0/series/0: missing required key \"id\""));
}

TEST(Definitions, MissingRequiredCommunityFields) {
  const auto loaded = parse(R"({"communities": [{"description": "nothing else"}]})");
  EXPECT_THAT(messages(loaded),
              ElementsAre(HasSubstr("/communities/0: missing required key \"id\""),
                          HasSubstr("/communities/0: missing required key \"name\""),
                          HasSubstr("/communities/0: missing required key \"timezone\""),
                          HasSubstr("/communities/0: missing required key \"series\"")));
}

TEST(Definitions, EmptyIdsAreErrors) {
  EXPECT_THAT(only_error(with_series(R"({"id": "", "title": "T", "start": "2026-09-14T16:00", "duration": "PT1H"})")),
              HasSubstr("/communities/0/series/0/id: must not be empty"));
  EXPECT_THAT(only_error(R"({"communities": [{"id": "", "name": "N", "timezone": "UTC", "series": []}]})"),
              HasSubstr("/communities/0/id: must not be empty"));
  EXPECT_THAT(only_error(R"({"calendars": {"": {"builtin": "us-dc"}}})"),
              HasSubstr("/calendars/: a calendar id must not be empty"));
}

TEST(Definitions, DuplicateSeriesIdAcrossCommunities) {
  const std::string e = only_error(R"({"communities": [
      {"id": "a", "name": "A", "timezone": "UTC", "series": [
        {"id": "s", "title": "S", "start": "2026-09-14T16:00", "duration": "PT1H"}]},
      {"id": "b", "name": "B", "timezone": "UTC", "series": [
        {"id": "s", "title": "S2", "start": "2026-09-14T16:00", "duration": "PT1H"}]}]})");
  EXPECT_THAT(e, AllOf(HasSubstr("/communities/1/series/0/id: duplicate series id \"s\""),
                       HasSubstr("first used at /communities/0/series/0")));
}

TEST(Definitions, DuplicateCommunityId) {
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "UTC", "series": []},
                                             {"id": "a", "name": "B", "timezone": "UTC", "series": []}]})"),
              AllOf(HasSubstr("/communities/1/id: duplicate community id \"a\""),
                    HasSubstr("first used at /communities/0")));
}

// --- bad input: values ----------------------------------------------------------------

TEST(Definitions, InvalidRruleShowsItAndLibicalsComplaint) {
  const auto direct = RecurrenceRule::parse("FREQ=FORTNIGHTLY;BYDAY=MO");
  ASSERT_FALSE(direct);
  const std::string e = only_error(series_with(R"("rrule": "FREQ=FORTNIGHTLY;BYDAY=MO")"));
  EXPECT_THAT(e, AllOf(HasSubstr("defs.json: /communities/0/series/0/rrule: "),
                       HasSubstr("\"FREQ=FORTNIGHTLY;BYDAY=MO\""), HasSubstr(direct.error())));
  // RecurrenceRule::parse already quotes the text: it is not repeated.
  EXPECT_EQ(e, "error: defs.json: /communities/0/series/0/rrule: " + direct.error());
}

// Issue 7: RecurrenceRule::parse quotes at most 80 characters of a rule; the loader then
// took the shortened quote for a missing one and quoted the whole rule again in front.
TEST(Definitions, LongInvalidRuleIsQuotedOnceAndShortened) {
  const std::string rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9,10,11,12,13,14,15,16,17;BYMINUTE=0,15,30,45;"
                           "COUNT=4294967298";
  const std::string e = only_error(series_with("\"rrule\": \"" + rule + "\""));
  EXPECT_THAT(e, HasSubstr("COUNT must be 1..100000, not 4294967298"));
  EXPECT_EQ(e.find(rule), std::string::npos) << e;
  EXPECT_EQ(e.find("invalid RRULE"), e.rfind("invalid RRULE")) << e;
}

TEST(Definitions, UnknownTimeZoneSuggestsNearZones) {
  const std::string e = only_error(R"({"communities": [{"id": "a", "name": "A",
      "timezone": "America/NewYork", "series": []}]})");
  EXPECT_THAT(e, AllOf(HasSubstr("/communities/0/timezone: unknown time zone \"America/NewYork\""),
                       HasSubstr("did you mean \"America/New_York\"")));
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "New_York", "series": []}]})"),
              HasSubstr("\"America/New_York\""));
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "Mars/Olympus_Mons", "series": []}]})"),
              AllOf(HasSubstr("unknown time zone \"Mars/Olympus_Mons\""), HasSubstr("IANA"),
                    Not(HasSubstr("did you mean"))));
}

TEST(Definitions, ImpossibleStartDate) {
  EXPECT_EQ(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2027-02-30T16:00", "duration": "PT1H"})")),
            "error: defs.json: /communities/0/series/0/start: \"2027-02-30T16:00\" is not a local "
            "date and time: there is no 2027-02-30 (that month has 28 days); expected "
            "\"YYYY-MM-DDTHH:MM\" such as \"2026-09-14T16:00\"");
}

TEST(Definitions, ImpossibleDatesAreReportedEverywhereInFileOrder) {
  const auto loaded = parse(R"({
      "calendars": {"s": {"closures": [{"name": "A", "date": "2026-11-31"},
                                       {"name": "B", "from": "2026-02-29", "to": "2026-03-02"}]}},
      "communities": [{"id": "c", "name": "C", "timezone": "UTC", "series": [
        {"id": "mm", "title": "T", "start": "2026-09-14T16:00", "duration": "PT1H",
         "add": ["2026-09-14T17:00", "2026-04-31T16:00"], "except": ["2026-06-31T16:00"]}]}],
      "overrides": [{"series": "mm", "occurrence": "2026-09-31T16:00",
                     "move_to": "2026-10-01T24:00"}]})");
  EXPECT_THAT(messages(loaded),
              ElementsAre(HasSubstr("/calendars/s/closures/0/date: \"2026-11-31\" is not a date: there is no 2026-11-31"),
                          HasSubstr("/calendars/s/closures/1/from: \"2026-02-29\" is not a date: there is no 2026-02-29 (that month has 28 days)"),
                          HasSubstr("/communities/0/series/0/add/1: \"2026-04-31T16:00\""),
                          HasSubstr("/communities/0/series/0/except/0: \"2026-06-31T16:00\""),
                          HasSubstr("/overrides/0/occurrence: \"2026-09-31T16:00\""),
                          HasSubstr("/overrides/0/move_to: \"2026-10-01T24:00\" is not a local date and time: there is no time 24:00")));
}

TEST(Definitions, LocalTimeWithUtcDesignatorIsRejected) {
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00Z", "duration": "PT1H"})")),
              AllOf(HasSubstr("/communities/0/series/0/start: "), HasSubstr("no \"Z\" or UTC offset")));
}

TEST(Definitions, NonPositiveDuration) {
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00", "duration": "PT0M"})")),
              AllOf(HasSubstr("/communities/0/series/0/duration: "), HasSubstr("must be positive")));
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00", "duration": "-PT1H"})")),
              AllOf(HasSubstr("/communities/0/series/0/duration: "), HasSubstr("must be positive")));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "duration": "PT0S"}])")),
              AllOf(HasSubstr("/overrides/0/duration: "), HasSubstr("must be positive")));
}

TEST(Definitions, MalformedDuration) {
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00", "duration": "1 hour"})")),
              AllOf(HasSubstr("/communities/0/series/0/duration: \"1 hour\" is not an RFC 5545 duration"),
                    HasSubstr("\"PT1H\"")));
}

TEST(Definitions, UnknownCalendarInCommunityObserves) {
  EXPECT_THAT(only_error(R"({"calendars": {"dc": {"builtin": "us-dc"}}, "communities": [
                 {"id": "a", "name": "A", "timezone": "UTC", "observes": ["dcc"], "series": []}]})"),
              AllOf(HasSubstr("/communities/0/observes/0: unknown calendar \"dcc\"; did you mean \"dc\"?"),
                    HasSubstr("calendars defined: dc")));
}

TEST(Definitions, UnknownCalendarInSeriesObserves) {
  EXPECT_THAT(only_error(series_with(R"("observes": ["school"])")),
              HasSubstr("/communities/0/series/0/observes/0: unknown calendar \"school\""));
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "UTC",
                 "observes": ["dc"], "series": []}]})"),
              HasSubstr("the file defines no calendars"));
}

TEST(Definitions, CalendarListedTwiceInObserves) {
  EXPECT_THAT(only_error(series_with(R"("observes": ["dc", "dc"])")),
              HasSubstr("/communities/0/series/0/observes/1: calendar \"dc\" is listed twice"));
}

TEST(Definitions, UnknownBuiltinListsTheBuiltins) {
  EXPECT_THAT(only_error(with_calendar(R"({"builtin": "us-federl"})")),
              AllOf(HasSubstr("/calendars/school/builtin: unknown built-in calendar \"us-federl\""),
                    HasSubstr("did you mean \"us-federal\"?"), HasSubstr("us-federal, us-dc")));
}

TEST(Definitions, RuleMonthOutOfRange) {
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 13, "day": 1}]})")),
              HasSubstr("/calendars/school/rules/0/month: month 13 is out of range 1..12"));
}

TEST(Definitions, RuleDayNotInMonth) {
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 4, "day": 31}]})")),
              HasSubstr("/calendars/school/rules/0/day: month 4 has no day 31"));
  EXPECT_TRUE(parse(with_calendar(R"({"rules": [{"name": "Leap", "month": 2, "day": 29}]})")).ok());
}

TEST(Definitions, RuleNthOutOfRange) {
  for (const char* nth : {"0", "6", "-6"}) {
    EXPECT_THAT(only_error(with_calendar(std::string(R"({"rules": [{"name": "X", "month": 5, "weekday": "MO", "nth": )") +
                                         nth + "}]}")),
                AllOf(HasSubstr("/calendars/school/rules/0/nth: nth " + std::string(nth) +
                                " is out of range"),
                      HasSubstr("1..5"), HasSubstr("-1..-5")));
  }
}

TEST(Definitions, RuleUnknownWeekday) {
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 5, "weekday": "XX", "nth": 1}]})")),
              AllOf(HasSubstr("/calendars/school/rules/0/weekday: unknown weekday \"XX\""),
                    HasSubstr("MO, TU, WE, TH, FR, SA, SU")));
}

TEST(Definitions, RuleMixingKindsIsAnError) {
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "easter": 1, "month": 5}]})")),
              AllOf(HasSubstr("/calendars/school/rules/0/month: an Easter rule takes no \"month\"")));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 5, "weekday": "MO", "nth": 1, "day": 3}]})")),
              HasSubstr("/calendars/school/rules/0/day: an nth-weekday rule takes no \"day\""));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 5, "day": 3, "observed": "always"}]})")),
              AllOf(HasSubstr("/calendars/school/rules/0/observed: unknown observance \"always\""),
                    HasSubstr("\"weekend\"")));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 5, "day": 3, "since": 2030, "until": 2020}]})")),
              HasSubstr("/calendars/school/rules/0/until: \"until\" 2020 is before \"since\" 2030"));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"month": 5, "day": 3}]})")),
              HasSubstr("/calendars/school/rules/0: missing required key \"name\""));
}

TEST(Definitions, ClosureToBeforeFrom) {
  EXPECT_THAT(only_error(with_calendar(R"({"closures": [{"name": "Break", "from": "2026-12-21", "to": "2026-12-01"}]})")),
              HasSubstr("/calendars/school/closures/0/to: \"to\" 2026-12-01 is before \"from\" 2026-12-21"));
}

TEST(Definitions, ClosureNeedsDateOrRange) {
  EXPECT_THAT(only_error(with_calendar(R"({"closures": [{"name": "Break"}]})")),
              HasSubstr("/calendars/school/closures/0: a closure needs \"date\""));
  EXPECT_THAT(only_error(with_calendar(R"({"closures": [{"name": "Break", "from": "2026-12-21"}]})")),
              HasSubstr("/calendars/school/closures/0: missing required key \"to\""));
  EXPECT_THAT(only_error(with_calendar(R"({"closures": [{"name": "B", "date": "2026-12-21", "to": "2026-12-22"}]})")),
              HasSubstr("/calendars/school/closures/0/to: a closure has either \"date\" or"));
}

TEST(Definitions, MissingIcsFileNamesFileAndPath) {
  const std::string e = only_error(with_calendar(R"({"ics": "missing.ics"})"));
  EXPECT_THAT(e, AllOf(HasSubstr("defs.json: /calendars/school/ics: "),
                       HasSubstr((data_dir() / "missing.ics").string())));
}

TEST(Definitions, UnparsableIcsFileNamesFileAndPath) {
  const std::string e = only_error(with_calendar(R"({"ics": "broken.ics"})"));
  EXPECT_THAT(e, AllOf(HasSubstr("defs.json: /calendars/school/ics: "), HasSubstr("broken.ics")));
}

TEST(Definitions, OverrideNamesUnknownSeries) {
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "m",
                  "occurrence": "2026-09-14T16:00", "cancel": true}])")),
              AllOf(HasSubstr("/overrides/0/series: unknown series \"m\""),
                    HasSubstr("did you mean \"mm\"?")));
}

TEST(Definitions, OverrideCannotCancelAndMove) {
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "cancel": true, "move_to": "2026-09-15T16:00"}])")),
              AllOf(HasSubstr("/overrides/0/cancel: "), HasSubstr("not both")));
}

TEST(Definitions, SecondOverrideOfAnOccurrenceIsAnError) {
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [
                  {"series": "mm", "occurrence": "2026-09-14T16:00", "title": "A"},
                  {"series": "mm", "occurrence": "2026-09-14T16:00", "reason": "B"}])")),
              AllOf(HasSubstr("/overrides/1: a second override"), HasSubstr("first is at /overrides/0")));
}

TEST(Definitions, UnknownPolicyListsTheValidOnes) {
  EXPECT_EQ(only_error(series_with(R"("on_holiday": "folowing")")),
            "error: defs.json: /communities/0/series/0/on_holiday: unknown holiday policy "
            "\"folowing\"; did you mean \"following\"? (expected one of: skip, following, "
            "preceding, modified-following, modified-preceding, nearest, next-week, keep)");
}

TEST(Definitions, WorkweekWithBadDayCode) {
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "UTC",
                 "workweek": ["MO", "Tue"], "series": []}]})"),
              AllOf(HasSubstr("/communities/0/workweek/1: unknown day \"Tue\""),
                    HasSubstr("MO, TU, WE, TH, FR, SA, SU")));
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "UTC",
                 "workweek": ["MO", "MO"], "series": []}]})"),
              HasSubstr("/communities/0/workweek/1: day \"MO\" is listed twice"));
}

TEST(Definitions, WorkweekEmpty) {
  EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": "UTC",
                 "workweek": [], "series": []}]})"),
              HasSubstr("/communities/0/workweek: a workweek needs at least one day"));
}

TEST(Definitions, ContinuesMustNameAnotherSeries) {
  EXPECT_THAT(only_error(series_with(R"("continues": "mn")")),
              AllOf(HasSubstr("/communities/0/series/0/continues: unknown series \"mn\""),
                    HasSubstr("did you mean \"mm\"?")));
  EXPECT_THAT(only_error(series_with(R"("continues": "mm")")),
              HasSubstr("/communities/0/series/0/continues: a series cannot continue itself"));
}

TEST(Definitions, OrganizerNeedsAnEmail) {
  EXPECT_THAT(only_error(series_with(R"("organizer": {"name": "Ana"})")),
              HasSubstr("/communities/0/series/0/organizer: missing required key \"email\""));
  EXPECT_THAT(only_error(series_with(R"("organizer": {"email": "ana"})")),
              HasSubstr("/communities/0/series/0/organizer/email: \"ana\" is not an email address"));
}

TEST(Definitions, ErrorsAreCollectedInFileOrder) {
  // The communities come first in this file, so their errors do too, though the
  // calendars are read first.
  const auto loaded = parse(R"({
      "communities": [{"id": "a", "name": "A", "timezone": "Nowhere/Land", "observes": ["x"],
                       "series": [{"id": "s", "title": "S", "start": "2026-09-14T16:00",
                                   "duration": "PT1H", "rrule": "FREQ=NEVER", "on_holiday": "sometimes"}]}],
      "calendars": {"x": {"builtin": "mars"}}})");
  EXPECT_FALSE(loaded.ok());
  EXPECT_FALSE(loaded.definitions.has_value());
  EXPECT_THAT(messages(loaded),
              ElementsAre(HasSubstr("/communities/0/timezone: unknown time zone"),
                          HasSubstr("/communities/0/series/0/rrule: "),
                          HasSubstr("/communities/0/series/0/on_holiday: unknown holiday policy"),
                          HasSubstr("/calendars/x/builtin: unknown built-in calendar")));
}

TEST(Definitions, DiagnosticToString) {
  Diagnostic d{Diagnostic::Severity::error, "samples/nurses.json: /communities/0/timezone",
               "unknown time zone \"X\""};
  EXPECT_EQ(d.to_string(), "error: samples/nurses.json: /communities/0/timezone: unknown time zone \"X\"");
  d.severity = Diagnostic::Severity::warning;
  EXPECT_EQ(d.to_string(), "warning: samples/nurses.json: /communities/0/timezone: unknown time zone \"X\"");
}


// --- series reminders ("reminders": ["PT15M", "P1D"]) ---------------------------

TEST(Definitions, SeriesRemindersAreOffsetsInFileOrder) {
  const auto loaded = parse(series_with(R"("reminders": ["P1D", "PT15M", "PT0S"])"));
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  EXPECT_THAT(loaded.definitions->communities[0].series[0].reminders,
              ElementsAre(Seconds{86400}, Seconds{900}, Seconds{0}));
}

TEST(Definitions, SeriesRemindersRoundTripThroughToJson) {
  const auto first = parse(series_with(R"("categories": ["a"], "reminders": ["PT15M", "PT24H"])"));
  ASSERT_TRUE(first.ok()) << ::testing::PrintToString(messages(first));
  const auto written = to_json(*first.definitions);
  // Written as libical writes durations, after "categories".
  EXPECT_EQ(written["communities"][0]["series"][0].dump(),
            R"({"id":"mm","title":"Mentoring Monday","start":"2026-09-14T16:00","duration":"PT1H",)"
            R"("categories":["a"],"reminders":["PT15M","P1D"]})");
  const auto second = parse_definitions(written.dump(2), "written.json", data_dir().string());
  ASSERT_TRUE(second.ok()) << ::testing::PrintToString(messages(second));
  EXPECT_EQ(second.definitions->communities, first.definitions->communities);
  // Without reminders, the key is omitted.
  const auto none = parse(with_series(kSeries));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(to_json(*none.definitions)["communities"][0]["series"][0].contains("reminders"));
}

TEST(Definitions, SeriesRemindersErrorsNameTheElement) {
  EXPECT_THAT(only_error(series_with(R"("reminders": ["PT15M", "15 minutes"])")),
              AllOf(HasSubstr("/communities/0/series/0/reminders/1: \"15 minutes\" is not an RFC 5545 duration"),
                    HasSubstr("\"PT15M\"")));
  EXPECT_THAT(only_error(series_with(R"("reminders": ["-PT15M"])")),
              AllOf(HasSubstr("/communities/0/series/0/reminders/0: "), HasSubstr("is negative")));
  EXPECT_THAT(only_error(series_with(R"("reminders": ["PT15M", "PT900S"])")),
              AllOf(HasSubstr("/communities/0/series/0/reminders/1: "), HasSubstr("listed twice")));
  EXPECT_THAT(only_error(series_with(R"("reminders": "PT15M")")),
              AllOf(HasSubstr("/communities/0/series/0/reminders: "), HasSubstr("expected an array")));
  EXPECT_THAT(only_error(series_with(R"("reminders": [15])")),
              HasSubstr("/communities/0/series/0/reminders/0: "));
  EXPECT_THAT(only_error(series_with(R"("remiders": ["PT15M"])")), HasSubstr("did you mean \"reminders\"?"));
}
// A series' own choice of an online meeting on calendar-API targets (issue 12):
// true/false kept as written, absent left to the target, anything else one error at
// its JSON path.
TEST(Definitions, SeriesOnlineMeetingRoundTripsAndIsABoolean) {
  const auto asks = parse(series_with(R"("join_url": "https://meet.example/mm", "online_meeting": true)"));
  ASSERT_TRUE(asks.ok()) << ::testing::PrintToString(messages(asks));
  EXPECT_EQ(asks.definitions->communities[0].series[0].online_meeting, true);
  const auto written = to_json(*asks.definitions);
  EXPECT_EQ(written["communities"][0]["series"][0]["online_meeting"], true);
  const auto again = parse_definitions(written.dump(2), "written.json", data_dir().string());
  ASSERT_TRUE(again.ok()) << ::testing::PrintToString(messages(again));
  EXPECT_EQ(again.definitions->communities, asks.definitions->communities);
  const auto refuses = parse(series_with(R"("online_meeting": false)"));
  ASSERT_TRUE(refuses.ok());
  EXPECT_EQ(refuses.definitions->communities[0].series[0].online_meeting, false);
  EXPECT_EQ(to_json(*refuses.definitions)["communities"][0]["series"][0]["online_meeting"], false);
  const auto silent = parse(with_series(kSeries));
  ASSERT_TRUE(silent.ok());
  EXPECT_FALSE(silent.definitions->communities[0].series[0].online_meeting.has_value());
  EXPECT_FALSE(to_json(*silent.definitions)["communities"][0]["series"][0].contains("online_meeting"));
  EXPECT_THAT(only_error(series_with(R"("online_meeting": "yes")")),
              AllOf(HasSubstr("defs.json: /communities/0/series/0/online_meeting: "), HasSubstr("expected true or false"),
                    HasSubstr("\"yes\"")));
  EXPECT_THAT(only_error(series_with(R"("online_meeting": 1)")),
              HasSubstr("/communities/0/series/0/online_meeting: expected true or false"));
  EXPECT_THAT(only_error(series_with(R"("online_meting": true)")), HasSubstr("did you mean \"online_meeting\"?"));
}

// --- hostile input (issue 7) -------------------------------------------------------
// Each test here replays one of the reproducers of issue 7 ("Hostile input") and says
// what went wrong before.

// Nested arrays n deep under the key "a", then "b": 1.
std::string nested(std::size_t n) {
  return "{\"a\":" + std::string(n, '[') + std::string(n, ']') + ",\"b\":1}";
}

// Issue 7: a 200 KB file of nested arrays, 100,000 deep, killed `check`, `expand` and
// `import` with SIGSEGV (the parse callback and the walk that numbered every node
// recursed without bound). Nesting beyond 64 is now refused before parsing, at the line
// and column of the bracket that goes deeper.
TEST(Definitions, NestingHundredThousandDeepIsRefusedBeforeParsing) {
  const auto loaded = parse(nested(100000));
  ASSERT_EQ(loaded.diagnostics.size(), 1u) << ::testing::PrintToString(messages(loaded));
  EXPECT_EQ(loaded.diagnostics[0].to_string(),
            "error: defs.json:1:69: arrays and objects nest more than 64 deep here; the definitions "
            "format needs 5");
}

// Issue 7: 60 KB nested 30,000 deep took 2 GB, because the JSON pointer of every node was
// stored while parsing (quadratic in the depth). Refused the same way; pointers are now
// built only for the value at fault (the next test).
TEST(Definitions, NestingThirtyThousandDeepIsRefusedToo) {
  EXPECT_THAT(only_error(nested(30000)), HasSubstr("defs.json:1:69: arrays and objects nest more than 64"));
}

TEST(Definitions, NestingUpToTheLimitIsParsedAndReportedAtItsPath) {
  // 64 levels in all: the top-level object and 63 arrays.
  const auto loaded = parse(nested(63));
  EXPECT_THAT(messages(loaded), ElementsAre(HasSubstr("defs.json: /a: unknown key \"a\""),
                                            HasSubstr("defs.json: /b: unknown key \"b\"")));
  // Brackets inside strings and comments do not count.
  const auto quiet = parse("{ /* [[[[ */ \"calendars\": {\"x\": {\"closures\": [{\"name\": \"" +
                           std::string(100, '[') + "\", \"date\": \"2026-12-24\"}]}}} // [[[[");
  EXPECT_TRUE(quiet.ok()) << ::testing::PrintToString(messages(quiet));
}

// Diagnostics still come in document order (object keys in file order, arrays by index),
// now found from each diagnostic's own pointer instead of a map of every node's.
TEST(Definitions, DiagnosticsComeInDocumentOrderWithoutNumberingEveryNode) {
  const auto loaded = parse(R"({"overrides": [{"series": "zz", "occurrence": "2026-09-14T16:00"}],
      "communities": [{"id": "c", "name": "C", "timezone": "UTC", "series": [
         {"id": "mm", "title": "", "start": "2026-09-14T16:00", "duration": "PT1H", "x~/y": 1}]}],
      "zz": 1, "calendars": {"a/b": {"closures": [{"name": "N", "date": "2026-02-30"}]}}})");
  EXPECT_THAT(messages(loaded),
              ElementsAre(HasSubstr("/overrides/0/series: unknown series \"zz\""),
                          HasSubstr("/communities/0/series/0/title: must not be empty"),
                          HasSubstr("/communities/0/series/0/x~0~1y: unknown key"),
                          HasSubstr("defs.json: /zz: unknown key \"zz\""),
                          HasSubstr("/calendars/a~1b/closures/0/date: \"2026-02-30\"")));
}

// Issue 7: 40,000 closures took 9 s, because each closure added copied the calendar with
// every earlier one. The loader now adds them all at once (HolidayCalendar::
// with_closures), and the index keeps them as ranges (holiday_calendar_test).
TEST(Definitions, FortyThousandClosuresAreAddedAtOnce) {
  std::string closures;
  for (int i = 0; i < 40000; ++i) {
    const int day = i % 28 + 1, month = (i / 28) % 12 + 1, year = 2000 + i / (28 * 12);
    char date[16];
    std::snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
    closures += std::string(i ? "," : "") + "{\"name\": \"Closed " + std::to_string(i) + "\", \"date\": \"" + date + "\"}";
  }
  const auto loaded = parse(R"({"calendars": {"school": {"closures": [)" + closures + "]}}}");
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(messages(loaded));
  EXPECT_EQ(loaded.definitions->calendars[0].closures.size(), 40000u);
  EXPECT_EQ(loaded.definitions->calendars[0].calendar.closures().size(), 40000u);
  EXPECT_EQ(loaded.definitions->calendars[0].calendar.closures()[39999].name, "Closed 39999");
}

// Issue 7: 10,000 unknown series references among 10,000 series took 40 s: every one got
// a "did you mean" by edit distance against every series id. Now only the first 25 get
// one (and each looks at no more than 2,000 candidates); every reference is still reported.
TEST(Definitions, DidYouMeanIsComputedForTheFirstUnknownNamesOnly) {
  std::string series, overrides;
  for (int i = 0; i < 10000; ++i) {
    series += std::string(i ? "," : "") + R"({"id": "series-)" + std::to_string(i) +
              R"(", "title": "T", "start": "2026-09-14T16:00", "duration": "PT1H"})";
    overrides += std::string(i ? "," : "") + R"({"series": "serie-)" + std::to_string(i) +
                 R"(", "occurrence": "2026-09-14T16:00"})";
  }
  const auto loaded = parse(R"({"communities": [{"id": "c", "name": "C", "timezone": "UTC", "series": [)" +
                            series + "]}], \"overrides\": [" + overrides + "]}");
  ASSERT_EQ(loaded.diagnostics.size(), 10000u);
  std::size_t suggested = 0;
  for (const auto& d : loaded.diagnostics) suggested += d.message.find("did you mean") != std::string::npos;
  EXPECT_EQ(suggested, 25u);
  EXPECT_THAT(loaded.diagnostics[0].message, HasSubstr("unknown series \"serie-0\"; did you mean \"series-0\"?"));
  EXPECT_EQ(loaded.diagnostics[9999].message, "unknown series \"serie-9999\"");
}

// Issue 7: a 1 MB zone name took 37 s (edit distances against every zone name). A name
// longer than 64 characters gets no suggestion, and the message quotes 80 characters.
TEST(Definitions, MegabyteZoneNameGetsNoSuggestionAndAShortMessage) {
  const std::string zone = "America/" + std::string(1 << 20, 'Y');
  const std::string e = only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": ")" + zone +
                                   R"(", "series": []}]})");
  EXPECT_THAT(e, AllOf(HasSubstr("text may be at most 10000"), Not(HasSubstr("did you mean"))));
  EXPECT_LT(e.size(), 300u);
  const std::string long_zone = "America/" + std::string(200, 'Y');
  const std::string e2 = only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": ")" + long_zone +
                                    R"(", "series": []}]})");
  EXPECT_THAT(e2, AllOf(HasSubstr("unknown time zone \"America/YYY"), HasSubstr("…"), Not(HasSubstr("did you mean"))));
  EXPECT_LT(e2.size(), 300u);
}

// Issue 7: "localtime" was accepted as a time zone (whatever this machine is set to), like
// the tz folder's other files that are not zones of the IANA database.
TEST(Definitions, TimeZonesAreIanaNamesOnly) {
  for (const char* name : {"localtime", "posixrules", "Factory", "posix/America/New_York",
                           "right/UTC", "zone.tab", "../../etc/passwd"}) {
    EXPECT_THAT(only_error(R"({"communities": [{"id": "a", "name": "A", "timezone": ")" + std::string(name) +
                           R"(", "series": []}]})"),
                HasSubstr("/communities/0/timezone: unknown time zone \"" + std::string(name) + "\""))
        << name;
  }
  for (const char* name : {"America/New_York", "US/Eastern", "UTC", "Etc/GMT", "Europe/London"}) {
    EXPECT_TRUE(parse(R"({"communities": [{"id": "a", "name": "A", "timezone": ")" + std::string(name) +
                      R"(", "series": []}]})").ok())
        << name;
  }
}

// Issue 7: "P10000W" ended in 2082 (libical's seconds wrapped at 2^32),
// "PT9223372036854775807S" was accepted, "P99999999999999999999D" was reported as
// negative. Durations are now summed in 64-bit arithmetic up to 366 days, and the rest is
// refused naming the field.
TEST(Definitions, DurationsBeyondAYearAreRefusedNeverWrapped) {
  for (const char* d : {"P10000W", "PT9223372036854775807S", "P99999999999999999999D", "P367D", "P53W",
                        "PT8785H", "P366DT1S"}) {
    EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00", "duration": ")" +
                                       std::string(d) + "\"}")),
                AllOf(HasSubstr("/communities/0/series/0/duration: \"" + std::string(d) + "\""),
                      HasSubstr("longer than P366D (366 days)")))
        << d;
  }
  EXPECT_THAT(only_error(series_with(R"("reminders": ["P400D"])")),
              AllOf(HasSubstr("/communities/0/series/0/reminders/0: \"P400D\""), HasSubstr("366 days")));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "duration": "P10000W"}])")),
              AllOf(HasSubstr("/overrides/0/duration: \"P10000W\""), HasSubstr("366 days")));
  EXPECT_TRUE(parse(series_with(R"("reminders": ["P366D", "P52W"])")).ok());
}

// Issue 7: a start with seconds ("2026-09-14T16:00:30") was accepted, and the seconds
// leaked into occurrence_id ("2026-09-14T16:00:30"), which is documented as
// YYYY-MM-DDTHH:MM. Starts are whole minutes: ":00" is accepted (the same minute, and the
// id stays "2026-09-14T16:00"); other seconds are refused in start, add, except,
// occurrence and move_to.
TEST(Definitions, StartsAreWholeMinutes) {
  const std::string seconds = "sessions start on a whole minute: write it without seconds";
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00:30", "duration": "PT1H"})")),
              AllOf(HasSubstr("/communities/0/series/0/start: \"2026-09-14T16:00:30\""), HasSubstr(seconds)));
  EXPECT_THAT(only_error(series_with(R"("add": ["2026-09-15T16:00:01"])")), HasSubstr("/add/0: "));
  EXPECT_THAT(only_error(series_with(R"("except": ["2026-09-15T16:00:59"])")), HasSubstr("/except/0: "));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00:30"}])")),
              AllOf(HasSubstr("/overrides/0/occurrence: "), HasSubstr(seconds)));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "move_to": "2026-09-15T16:00:30"}])")),
              AllOf(HasSubstr("/overrides/0/move_to: "), HasSubstr(seconds)));
  const auto ok = parse(with_series(R"({"id": "mm", "title": "T", "start": "2026-09-14T16:00:00", "duration": "PT1H"})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(format_local_minute(ok.definitions->communities[0].series[0].start), "2026-09-14T16:00");
}

// Years: convene supports 1900..2200 (convene/limits.h); the rest is refused, naming the
// field, instead of computing with year 1 or 9999.
TEST(Definitions, YearsOutsideTheSupportedRangeAreRefused) {
  EXPECT_THAT(only_error(with_series(R"({"id": "mm", "title": "T", "start": "0001-01-01T16:00", "duration": "PT1H"})")),
              AllOf(HasSubstr("/communities/0/series/0/start: \"0001-01-01T16:00\""),
                    HasSubstr("the year 1 is out of range: convene supports the years 1900 to 2200")));
  EXPECT_THAT(only_error(with_calendar(R"({"closures": [{"name": "Long", "from": "2026-01-01", "to": "9999-12-31"}]})")),
              AllOf(HasSubstr("/calendars/school/closures/0/to: \"9999-12-31\""), HasSubstr("1900 to 2200")));
  EXPECT_THAT(only_error(with_calendar(R"({"rules": [{"name": "X", "month": 1, "day": 1, "since": 1871}]})")),
              HasSubstr("/calendars/school/rules/0/since: year 1871 is out of range 1900..2200"));
}

// Issue 7: an 8 MB RRULE gave a 16 MB error (the rule quoted whole, twice). Text longer
// than 10,000 bytes is refused at once, and a rule that is merely long is quoted to 80
// characters.
TEST(Definitions, HugeRuleGivesAShortMessage) {
  const std::string huge = "FREQ=WEEKLY;BYDAY=" + std::string(8 << 20, 'X');
  const std::string e = only_error(series_with("\"rrule\": \"" + huge + "\""));
  EXPECT_THAT(e, AllOf(HasSubstr("/communities/0/series/0/rrule: \"FREQ=WEEKLY;BYDAY=XXX"),
                       HasSubstr("…"), HasSubstr("text may be at most 10000")));
  EXPECT_LT(e.size(), 300u);
  const std::string long_rule = "FREQ=WEEKLY;BYDAY=" + std::string(9000, 'X');
  const std::string e2 = only_error(series_with("\"rrule\": \"" + long_rule + "\""));
  EXPECT_THAT(e2, HasSubstr("/communities/0/series/0/rrule: "));
  EXPECT_LT(e2.size(), 600u) << e2.substr(0, 600);
}

// Issue 7: control bytes and invalid UTF-8 from the input went straight to stderr. A
// string holding a control character is refused (quoted with the byte escaped), an
// unknown key's path shows escaped, and a syntax error quotes what it read escaped.
TEST(Definitions, ControlCharactersAndInvalidUtf8NeverReachTheMessageAsTheyAre) {
  const std::string e = only_error(series_with(R"("location": "Room\u001b[2J 5")"));
  EXPECT_THAT(e, AllOf(HasSubstr("/communities/0/series/0/location: \"Room\\u001b[2J 5\""),
                       HasSubstr("control character")));
  EXPECT_EQ(e.find('\x1b'), std::string::npos);
  const std::string key = only_error(R"({"cal\u001bendars": {}})");
  EXPECT_THAT(key, HasSubstr("/cal\\u001bendars: unknown key \"cal\\u001bendars\""));
  EXPECT_EQ(key.find('\x1b'), std::string::npos);
  const std::string utf8 = only_error("{\"calendars\": \"\xff\xfe\"}");
  EXPECT_THAT(utf8, HasSubstr("defs.json:1:"));
  EXPECT_EQ(utf8.find('\xff'), std::string::npos) << utf8;
  // An unterminated megabyte string: the parser's "last read" is quoted to 80 characters.
  const std::string open = only_error("{\"calendars\": \"" + std::string(1 << 20, 'z'));
  EXPECT_LT(open.size(), 400u);
  // A megabyte unknown key names its place in a line.
  const std::string big_key = only_error("{\"" + std::string(1 << 20, 'k') + "\": 1}");
  EXPECT_LT(big_key.size(), 400u);
}

// Issue 7: a join_url or an organizer email with CR/LF was written into every feed as it
// was. Links must be http(s) links and emails one address, refused at their JSON path;
// text fields keep their line breaks (the feed escapes them: feed_injection_test).
TEST(Definitions, InjectedLinksAndAddressesAreRefusedAtTheirPath) {
  const std::string forge = R"(\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@evil\r\nSUMMARY:Forged)";
  EXPECT_THAT(only_error(series_with(R"("join_url": "https://x)" + forge + "\"")),
              AllOf(HasSubstr("/communities/0/series/0/join_url: \"https://x\\r\\nEND:VEVENT"),
                    HasSubstr("a line break (CR)")));
  EXPECT_THAT(only_error(series_with(R"("organizer": {"name": "Ana", "email": "ana@example.org)" + forge + "\"}")),
              AllOf(HasSubstr("/communities/0/series/0/organizer/email: "), HasSubstr("line break")));
  EXPECT_THAT(only_error(with_series(kSeries, R"x(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "join_url": "javascript:alert(1)"}])x")),
              AllOf(HasSubstr("/overrides/0/join_url: "), HasSubstr("not an absolute http:// or https:// URL")));
  EXPECT_THAT(only_error(with_series(kSeries, R"(, "overrides": [{"series": "mm",
                  "occurrence": "2026-09-14T16:00", "resources": [{"title": "Slides", "url": "https://x)" + forge + R"("}]}])")),
              HasSubstr("/overrides/0/resources/0/url: "));
  EXPECT_THAT(only_error(series_with(R"("categories": ["a,b"])")),
              AllOf(HasSubstr("/communities/0/series/0/categories/0: "), HasSubstr("a comma")));
  const auto text = parse(with_series(R"({"id": "mm", "title": "Power)" + forge + R"(", "start": "2026-09-14T16:00",
                                          "duration": "PT1H", "location": "Room)" + forge + R"("})"));
  ASSERT_TRUE(text.ok()) << ::testing::PrintToString(messages(text));
  EXPECT_EQ(text.definitions->communities[0].series[0].title,
            "Power\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@evil\r\nSUMMARY:Forged");
}

TEST(Definitions, ListsOfManyRemindersOrCategoriesAreRefused) {
  EXPECT_THAT(only_error(series_with(R"("reminders": ["PT1M","PT2M","PT3M","PT4M","PT5M","PT6M","PT7M","PT8M","PT9M","PT10M","PT11M"])")),
              HasSubstr("/communities/0/series/0/reminders: 11 reminders: a series may have at most 10"));
  std::string many;
  for (int i = 0; i < 21; ++i) many += std::string(i ? "," : "") + "\"c" + std::to_string(i) + "\"";
  EXPECT_THAT(only_error(series_with("\"categories\": [" + many + "]")),
              HasSubstr("/communities/0/series/0/categories: 21 entries: at most 20"));
}

// Issue 7: a definitions path that is a FIFO hung, and /dev/zero read until bad_alloc.
// Only regular files are read, within a size limit (16 MiB unless raised).
TEST(Definitions, OnlyRegularFilesAreReadWithinTheLimit) {
  testing::TempDir dir;
  const std::string fifo = (dir / "defs.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(messages(load_definitions(fifo)),
              ElementsAre("error: " + fifo + ": cannot read the definitions file: it is a FIFO (a named pipe), "
                          "not a regular file"));
  EXPECT_THAT(messages(load_definitions("/dev/zero")),
              ElementsAre(HasSubstr("/dev/zero: cannot read the definitions file: it is a character device")));
  EXPECT_THAT(messages(load_definitions("/dev/urandom")), ElementsAre(HasSubstr("a character device")));
  const auto big = dir / "big.json";
  testing::write_file(big, "{\"calendars\": {}}" + std::string(2048, ' '));
  InputLimits small;
  small.max_file_size = 1024;
  EXPECT_THAT(messages(load_definitions(big.string(), small)),
              ElementsAre(HasSubstr("it is larger than the limit of 1 KiB (raise the limit with --max-input-size)")));
  small.max_file_size = 4096;
  EXPECT_TRUE(load_definitions(big.string(), small).ok());
}

// The same for an ICS file the definitions name: a FIFO, /dev/zero and /dev/urandom are
// refused at once (issue 7: /dev/zero read until bad_alloc, /dev/urandom and FIFOs hung).
TEST(Definitions, IcsPathsThatAreNotRegularFilesAreRefused) {
  testing::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "district.ics").string().c_str(), 0600), 0);
  for (const std::string ics : {"district.ics", "/dev/zero", "/dev/urandom"}) {
    const auto loaded = parse_definitions(with_calendar("{\"ics\": \"" + ics + "\"}"), "defs.json", dir.path().string());
    EXPECT_THAT(messages(loaded), ElementsAre(AllOf(HasSubstr("/calendars/school/ics: cannot use the ICS file: "),
                                                    HasSubstr("not a regular file"))))
        << ics;
  }
}

// --- the text helpers -----------------------------------------------------------

TEST(DefinitionsText, EditDistanceCountsTranspositionsAsOne) {
  using definitions_internal::edit_distance;
  EXPECT_EQ(edit_distance("rrul", "rrule"), 1u);
  EXPECT_EQ(edit_distance("on_hloiday", "on_holiday"), 1u);
  EXPECT_EQ(edit_distance("RRULE", "rrule"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(DefinitionsText, NearestNeedsAFewEditsAtMost) {
  using definitions_internal::nearest;
  const std::vector<std::string> keys{"id", "title", "start", "rrule"};
  EXPECT_EQ(nearest("titel", keys), "title");
  EXPECT_EQ(nearest("x", keys), std::nullopt);
  EXPECT_EQ(nearest("colour", keys), std::nullopt);
}

}  // namespace
}  // namespace convene
