// The engine's verbs of the CLI (check, preview, expand), run as a user runs them:
// every bad input gives one clear message on standard error, a non-zero exit and
// nothing on standard output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace convene {
namespace {

using testing::run_cli;
using testing::RunResult;
using testing::TempDir;
using testing::write_file;

// A small valid definitions file; `patch` replaces a marked fragment to break it.
std::string definitions(const std::string& series_extra = "",
                        const std::string& calendars = R"("us-dc": {"builtin": "us-dc"})",
                        const std::string& timezone = "America/New_York",
                        const std::string& start = "2026-09-21T16:00",
                        const std::string& duration = "PT1H",
                        const std::string& rrule = "FREQ=MONTHLY;BYDAY=3MO") {
  return R"({
  // comments are allowed
  "calendars": { )" + calendars + R"( },
  "communities": [{
    "id": "nurses", "name": "School Nurses", "timezone": ")" + timezone + R"(",
    "observes": ["us-dc"],
    "series": [{
      "id": "mentoring-monday", "title": "Mentoring Monday",
      "start": ")" + start + R"(", "duration": ")" + duration + R"(",
      "rrule": ")" + rrule + R"(", "on_holiday": "following")" + series_extra + R"(
    }]
  }]
})";
}

// Runs `convene VERB FILE ARGS...` on `content`.
RunResult run_on(const std::string& content, std::vector<std::string> args,
                 const std::string& name = "defs.json") {
  TempDir dir;
  write_file(dir / name, content);
  args.insert(args.begin() + 1, (dir / name).string());
  return run_cli(args);
}

// One clear message: non-zero exit, nothing on stdout, no stack trace, and the message
// contains every one of `needles`.
void expect_clear_error(const RunResult& r, const std::vector<std::string>& needles) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 128) << "killed by a signal";
  EXPECT_EQ(r.out, "") << "standard output must stay empty";
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("what():"), std::string::npos) << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing \"" << n << "\" in:\n" << r.err;
}

const std::vector<std::string> kExpand = {"expand", "--from", "2026-09-01", "--to", "2027-06-30"};

TEST(CliEngine, ExpandPrintsTheDocumentedFields) {
  auto r = run_on(definitions(), kExpand);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto array = nlohmann::json::parse(r.out);
  ASSERT_EQ(array.size(), 10u);
  const auto& jan = array[4];
  EXPECT_EQ(jan["community"], "nurses");
  EXPECT_EQ(jan["series"], "mentoring-monday");
  EXPECT_EQ(jan["title"], "Mentoring Monday");
  EXPECT_EQ(jan["occurrence_id"], "2027-01-18T16:00");
  EXPECT_EQ(jan["start"], "2027-01-19T16:00:00-05:00");
  EXPECT_EQ(jan["end"], "2027-01-19T17:00:00-05:00");
  EXPECT_EQ(jan["timezone"], "America/New_York");
  EXPECT_EQ(jan["status"], "shifted");
  EXPECT_EQ(jan["reason"], "Martin Luther King, Jr. Day (us-dc): moved to the following business day");
  EXPECT_EQ(jan["holiday"]["name"], "Martin Luther King, Jr. Day");
  EXPECT_EQ(jan["holiday"]["calendar"], "us-dc");
  EXPECT_TRUE(array[0]["reason"].is_null());
  EXPECT_TRUE(array[0]["holiday"].is_null());
}

TEST(CliEngine, ExpandAsCsv) {
  auto r = run_on(definitions(), {"expand", "--from", "2027-01-01", "--to", "2027-01-31", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "community,series,title,occurrence_id,start,end,local_start,timezone,status,reason,"
            "holiday,holiday_calendar\r\n"
            "nurses,mentoring-monday,Mentoring Monday,2027-01-18T16:00,2027-01-19T16:00:00-05:00,"
            "2027-01-19T17:00:00-05:00,2027-01-19T16:00,America/New_York,shifted,"
            "\"Martin Luther King, Jr. Day (us-dc): moved to the following business day\","
            "\"Martin Luther King, Jr. Day\",us-dc\r\n");
}

TEST(CliEngine, SkippedAndCancelledHaveNullStarts) {
  std::string text = definitions();
  text.replace(text.find("\"following\""), 11, "\"skip\"");
  auto r = run_on(text, {"expand", "--from", "2027-01-01", "--to", "2027-01-31"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto array = nlohmann::json::parse(r.out);
  ASSERT_EQ(array.size(), 1u);
  EXPECT_EQ(array[0]["status"], "skipped");
  EXPECT_TRUE(array[0]["start"].is_null());
  EXPECT_TRUE(array[0]["end"].is_null());
}

TEST(CliEngine, CheckSaysOk) {
  auto r = run_on(definitions(), {"check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok: 1 calendar, 1 community, 1 series, 0 overrides"), std::string::npos) << r.out;
}

TEST(CliEngine, CheckWarnsButSucceeds) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_York",
                              "2027-02-01T16:00", "PT1H", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
                  {"check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/communities/0/series/0/rrule"), std::string::npos) << r.err;
}

TEST(CliEngine, MalformedJsonNamesLineAndColumn) {
  std::string text = definitions();
  text.insert(text.find("\"communities\""), "\"oops\" ");
  auto r = run_on(text, {"check"});
  expect_clear_error(r, {"defs.json:4:", "syntax error"});
}

TEST(CliEngine, UnknownKeySuggestsTheNearest) {
  auto r = run_on(definitions(R"(, "rrul": "FREQ=DAILY")"), {"check"});
  expect_clear_error(r, {"defs.json", "/communities/0/series/0/rrul", "rrule"});
}

TEST(CliEngine, InvalidRruleShowsItAndWhy) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_York",
                              "2026-09-21T16:00", "PT1H", "FREQ=MONTHY;BYDAY=3MO"),
                  kExpand);
  expect_clear_error(r, {"/communities/0/series/0/rrule", "FREQ=MONTHY;BYDAY=3MO"});
}

TEST(CliEngine, UnknownTimeZone) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_Yrok"), kExpand);
  expect_clear_error(r, {"/communities/0/timezone", "America/New_Yrok"});
}

TEST(CliEngine, ImpossibleDate) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_York",
                              "2027-02-30T16:00"),
                  kExpand);
  expect_clear_error(r, {"/communities/0/series/0/start", "2027-02-30T16:00"});
}

TEST(CliEngine, NonPositiveDuration) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_York",
                              "2026-09-21T16:00", "PT0S"),
                  kExpand);
  expect_clear_error(r, {"/communities/0/series/0/duration"});
}

TEST(CliEngine, UnknownCalendarId) {
  auto r = run_on(definitions(R"(, "observes": ["district"])"), kExpand);
  expect_clear_error(r, {"/communities/0/series/0/observes/0", "district"});
}

TEST(CliEngine, MissingIcsFile) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"}, "district": {"ics": "nowhere.ics"})"),
                  kExpand);
  expect_clear_error(r, {"/calendars/district/ics", "nowhere.ics"});
}

TEST(CliEngine, UnparsableIcsFile) {
  TempDir dir;
  write_file(dir / "district.ics", "this is not iCalendar\n");
  write_file(dir / "defs.json",
             definitions("", R"("us-dc": {"builtin": "us-dc"}, "district": {"ics": "district.ics"})"));
  auto r = run_cli({"expand", (dir / "defs.json").string(), "--from", "2026-09-01", "--to", "2027-06-30"});
  expect_clear_error(r, {"district.ics"});
}

TEST(CliEngine, WindowEndingBeforeItStarts) {
  auto r = run_on(definitions(), {"expand", "--from", "2027-06-30", "--to", "2026-09-01"});
  expect_clear_error(r, {"--to 2026-09-01 is before --from 2027-06-30"});
}

TEST(CliEngine, WindowDateThatDoesNotExist) {
  auto r = run_on(definitions(), {"expand", "--from", "2027-02-29", "--to", "2027-06-30"});
  expect_clear_error(r, {"--from", "2027-02-29"});
}

TEST(CliEngine, TooManyOccurrences) {
  auto r = run_on(definitions("", R"("us-dc": {"builtin": "us-dc"})", "America/New_York",
                              "2026-09-01T00:00", "PT1M", "FREQ=MINUTELY"),
                  kExpand);
  expect_clear_error(r, {"mentoring-monday", "more than 100000"});
}

TEST(CliEngine, MissingDefinitionsFile) {
  auto r = run_cli({"expand", "/nonexistent/defs.json", "--from", "2026-09-01", "--to", "2027-06-30"});
  expect_clear_error(r, {"/nonexistent/defs.json"});
}

TEST(CliEngine, OverrideOfAMissingOccurrence) {
  std::string text = definitions();
  text.insert(text.rfind('}'), R"(, "overrides": [{"series": "mentoring-monday", "occurrence": "2026-10-20T16:00", "cancel": true}])");
  auto r = run_on(text, kExpand);
  expect_clear_error(r, {"/overrides/0", "2026-10-20T16:00", "2026-10-19T16:00"});
  r = run_on(text, {"check"});
  expect_clear_error(r, {"/overrides/0", "2026-10-20T16:00"});
}

TEST(CliEngine, PreviewExplainsEveryShift) {
  auto r = run_on(definitions(), {"preview", "--from", "2027-01-01", "--to", "2027-02-28"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2027-01-19  Tue  16:00  shifted    Martin Luther King, Jr. Day (us-dc): "
                       "moved to the following business day (from Mon 2027-01-18 16:00)"),
            std::string::npos)
      << r.out;
}

TEST(CliEngine, PreviewDefaultsToTheNextTwelveMonths) {
  TempDir dir;
  write_file(dir / "defs.json", definitions());
  auto r = run_cli({"preview", (dir / "defs.json").string()}, "", {{"CONVENE_TODAY", "2027-01-01"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Season 2027-01-01 to 2027-12-31"), std::string::npos) << r.out;
}

TEST(CliEngine, UsageErrorsDoNotCrash) {
  auto r = run_cli({"expand"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  r = run_cli({"frobnicate"});
  EXPECT_NE(r.exit_code, 0);
  r = run_cli({"expand", "x.json", "--from", "2026-09-01", "--to", "2026-09-02", "--format", "xml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace convene
