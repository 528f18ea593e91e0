// The store's CLI verbs, run as a facilitator runs them: the real convene binary on a
// real SQLite file, with the clock pinned by CONVENE_NOW.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::RunResult;
using testing::TempDir;

struct Cli {
  TempDir dir;
  std::string db = (dir / "convene.db").string();
  std::string defs = (testing::source_dir() / "tests/data/store/definitions.json").string();
  std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-01T09:00:00Z"},
                                         {"CONVENE_DB", ""},
                                         {"CONVENE_BUSY_TIMEOUT_MS", "200"}};

  RunResult run(std::vector<std::string> args) const {
    args.push_back("--db");
    args.push_back(db);
    return testing::run_cli(args, "", env);
  }
  RunResult run_plain(const std::vector<std::string>& args) const { return testing::run_cli(args, "", env); }
  void import() const {
    auto r = run({"import", defs, "--as", "ana"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string exported() const { return run({"export"}).out; }
};

// Each refusal: one clear message, a non-zero exit, nothing on standard output, and the
// store exactly as it was.
void expect_refused(const Cli& cli, const std::vector<std::string>& args, const std::string& message,
                    long lines = 1) {
  const std::string before = cli.exported();
  const std::string history = cli.run({"history"}).out;
  auto r = cli.run(args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("convene: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), lines) << r.err;
  EXPECT_EQ(cli.exported(), before);
  EXPECT_EQ(cli.run({"history"}).out, history);
}

TEST(StoreCli, ImportTwiceSaysNothingChanged) {
  Cli cli;
  auto first = cli.run({"import", cli.defs, "--as", "ana"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("imported"), std::string::npos);
  auto second = cli.run({"import", cli.defs});
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_NE(second.out.find("no changes"), std::string::npos) << second.out;
  const std::string history = cli.run({"history"}).out;
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 2) << history;
}

TEST(StoreCli, ImportExportImportIsLossless) {
  Cli cli;
  cli.import();
  ASSERT_EQ(cli.run({"cancel", "power-hour", "2027-03-03", "--reason", "Testing week"}).exit_code, 0);
  const std::string first = cli.exported();
  testing::write_file(cli.dir / "exported.json", first);
  Cli other;
  ASSERT_EQ(other.run({"import", (cli.dir / "exported.json").string()}).exit_code, 0);
  EXPECT_EQ(other.exported(), first);
  auto again = cli.run({"import", (cli.dir / "exported.json").string()});
  EXPECT_NE(again.out.find("no changes"), std::string::npos) << again.out;
}

// An export is self-contained: imported in another folder, it gives the same season.
// (Bug: it wrote "ics": "district-2026-27.ics", a path relative to the folder of the file
// first imported, and its import elsewhere failed "cannot read the iCalendar file".)
TEST(StoreCli, AnExportImportedFromAnotherFolderGivesTheSameSeason) {
  Cli cli, elsewhere;
  const auto samples = testing::source_dir() / "samples";
  for (const char* name : {"communities-2026-27.json", "district-2026-27.ics"})
    std::filesystem::copy_file(samples / name, cli.dir / name);
  ASSERT_EQ(cli.run({"import", (cli.dir / "communities-2026-27.json").string()}).exit_code, 0);
  const std::string exported = cli.exported();
  const auto calendar = nlohmann::json::parse(exported)["calendars"]["district"];
  EXPECT_FALSE(calendar.contains("ics")) << calendar;
  EXPECT_NE(calendar.dump().find("Professional development day (no students)"), std::string::npos) << calendar;
  testing::write_file(elsewhere.dir / "exported.json", exported);
  auto imported = elsewhere.run({"import", (elsewhere.dir / "exported.json").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"expand", "--from", "2026-08-01", "--to", "2027-07-31"},
        {"preview", "--from", "2026-08-01", "--to", "2027-07-31"}}) {
    const auto here = cli.run(verb), there = elsewhere.run(verb);
    ASSERT_EQ(here.exit_code, 0) << here.err;
    EXPECT_GT(here.out.size(), 1000u);
    EXPECT_EQ(there.out, here.out) << verb[0];
  }
  EXPECT_EQ(elsewhere.exported(), exported);
}

TEST(StoreCli, ExpandPreviewCheckFromTheStoreMatchTheFile) {
  Cli cli;
  cli.import();
  for (const auto& verb : std::vector<std::vector<std::string>>{
           {"expand", "--from", "2026-09-01", "--to", "2027-06-30"},
           {"expand", "--from", "2026-09-01", "--to", "2027-06-30", "--format", "csv"},
           {"preview", "--from", "2026-09-01", "--to", "2027-06-30"},
           {"preview", "--from", "2026-09-01", "--to", "2027-06-30", "--series", "mentoring-monday"}}) {
    auto with_file = verb;
    with_file.insert(with_file.begin() + 1, cli.defs);
    auto from_file = cli.run_plain(with_file);
    auto from_store = cli.run(verb);
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    ASSERT_EQ(from_store.exit_code, 0) << from_store.err;
    EXPECT_EQ(from_store.out, from_file.out) << verb[0];
    EXPECT_FALSE(from_store.out.empty());
  }
  auto check = cli.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "store " + cli.db + ": ok: 2 calendars, 2 communities, 3 series, 1 override\n");
}

// CONVENE_BUSY_TIMEOUT_MS was read with strtol: "5s" waited 5 ms, "abc" not at all, and
// a huge value overflowed. Now it is a whole number of milliseconds from 0 to 600000, or
// one message naming the variable.
TEST(StoreCli, ABusyTimeoutThatIsNotMillisecondsIsRefusedByName) {
  Cli cli;
  cli.import();
  for (const char* bad : {"5s", "abc", "-1", "600001", "99999999999999999999"}) {
    Cli other;
    other.env["CONVENE_BUSY_TIMEOUT_MS"] = bad;
    other.db = cli.db;
    auto r = other.run({"export"});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_NE(r.err.find("convene: error: CONVENE_BUSY_TIMEOUT_MS=\"" + std::string(bad).substr(0, 10)), std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  Cli zero;
  zero.env["CONVENE_BUSY_TIMEOUT_MS"] = "0";
  zero.db = cli.db;
  EXPECT_EQ(zero.run({"export"}).exit_code, 0);
}

TEST(StoreCli, ConveneDbEnvironmentChoosesTheStore) {
  Cli cli;
  cli.env["CONVENE_DB"] = cli.db;
  ASSERT_EQ(cli.run_plain({"import", cli.defs}).exit_code, 0);
  auto r = cli.run_plain({"expand", "--from", "2027-02-01", "--to", "2027-02-28", "--series", "power-hour"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2027-02-03T15:00"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(cli.db));
}

TEST(StoreCli, RescheduleShowsInPreviewWithItsReasonAndHistoryShowsWho) {
  Cli cli;
  cli.import();
  auto r = cli.run({"reschedule", "mentoring-monday", "2027-02-08", "--to", "2027-02-09T16:00", "--reason",
                    "Presenter's request", "--as", "ana"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("moved mentoring-monday 2027-02-08T16:00 to 2027-02-09T16:00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("revision 1"), std::string::npos) << r.out;
  auto preview = cli.run({"preview", "--from", "2027-02-01", "--to", "2027-02-28", "--series", "mentoring-monday"});
  EXPECT_NE(preview.out.find("2027-02-09  Tue  16:00  moved      Presenter's request (from Mon 2027-02-08 16:00)"),
            std::string::npos)
      << preview.out;
  auto history = cli.run({"history", "--series", "mentoring-monday"});
  EXPECT_NE(history.out.find("ana"), std::string::npos);
  EXPECT_NE(history.out.find("reschedule"), std::string::npos);
  EXPECT_NE(history.out.find("Presenter's request"), std::string::npos) << history.out;
  auto json = nlohmann::json::parse(cli.run({"history", "--format", "json"}).out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[1]["actor"], "ana");
  EXPECT_EQ(json[1]["at"], "2027-02-01T09:00:00Z");
  EXPECT_EQ(json[1]["occurrence"], "2027-02-08T16:00");
  EXPECT_EQ(json[1]["after"]["move_to"], "2027-02-09T16:00");
  EXPECT_EQ(json[1]["affected"][0]["revision"], 1);
}

TEST(StoreCli, CancelThenRestore) {
  Cli cli;
  cli.import();
  ASSERT_EQ(cli.run({"cancel", "bh-monthly", "2026-11-19T13:00", "--reason", "Conference"}).exit_code, 0);
  auto preview = cli.run({"preview", "--from", "2026-11-01", "--to", "2026-11-30", "--series", "bh-monthly"});
  EXPECT_NE(preview.out.find("cancelled  Conference"), std::string::npos) << preview.out;
  ASSERT_EQ(cli.run({"restore", "bh-monthly", "2026-11-19T13:00"}).exit_code, 0);
  preview = cli.run({"preview", "--from", "2026-11-01", "--to", "2026-11-30", "--series", "bh-monthly"});
  EXPECT_NE(preview.out.find("scheduled"), std::string::npos) << preview.out;
  auto nothing = cli.run({"restore", "bh-monthly", "2026-11-19T13:00"});
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_NE(nothing.out.find("nothing to restore"), std::string::npos);
  auto revision = cli.run({"revision", "bh-monthly", "2026-11-19"});
  EXPECT_NE(revision.out.find("revision 2"), std::string::npos) << revision.out;
}

TEST(StoreCli, EditOneSessionsDetails) {
  Cli cli;
  cli.import();
  auto r = cli.run({"edit", "mentoring-monday", "2027-04-12", "--title", "Asthma action plans", "--presenter",
                    "Dr. Lee", "--agenda", "Plans, then Q&A", "--resource", "Slides|https://example.org/s.pdf",
                    "--join-url", "https://meet.example.org/special"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto exported = nlohmann::json::parse(cli.exported());
  const auto& o = exported["overrides"].back();
  EXPECT_EQ(o["title"], "Asthma action plans");
  EXPECT_EQ(o["presenter"], "Dr. Lee");
  EXPECT_EQ(o["resources"][0]["url"], "https://example.org/s.pdf");
  auto preview = cli.run({"preview", "--from", "2027-04-01", "--to", "2027-04-30", "--series", "mentoring-monday"});
  EXPECT_NE(preview.out.find("Asthma action plans"), std::string::npos) << preview.out;
}

TEST(StoreCli, SplitFromMarchAtHalfPastThree) {
  Cli cli;
  cli.import();
  auto r = cli.run({"split", "power-hour", "--from", "2027-03-01", "--start", "15:30", "--reason", "New time"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto feb = cli.run({"expand", "--from", "2027-02-22", "--to", "2027-03-12", "--format", "csv"});
  EXPECT_NE(feb.out.find("power-hour,Power Hour,2027-02-24T15:00"), std::string::npos) << feb.out;
  EXPECT_NE(feb.out.find("power-hour-from-2027-03-01,Power Hour,2027-03-03T15:30"), std::string::npos) << feb.out;
  EXPECT_EQ(feb.out.find("power-hour,Power Hour,2027-03-03T15:00"), std::string::npos) << feb.out;
  auto exported = nlohmann::json::parse(cli.exported());
  EXPECT_EQ(exported["communities"][0]["series"][2]["continues"], "power-hour");
}

TEST(StoreCli, SnowDayClosesTheCalendarForEveryObservingSeries) {
  Cli cli;
  cli.import();
  auto r = cli.run({"close", "dc", "2027-03-17", "--name", "Snow day", "--as", "ana"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto preview = cli.run({"preview", "--from", "2027-03-15", "--to", "2027-03-19"});
  EXPECT_NE(preview.out.find("2027-03-17  Wed  15:00  skipped    Snow day (dc): skipped"), std::string::npos)
      << preview.out;
  auto history = cli.run({"history", "--series", "power-hour"});
  EXPECT_NE(history.out.find("closed dc 2027-03-17 (Snow day)"), std::string::npos) << history.out;
  // The snow day that was not: reopen, and the session is back.
  auto reopened = cli.run({"reopen", "dc", "2027-03-17", "--as", "ben", "--reason", "Roads are clear"});
  ASSERT_EQ(reopened.exit_code, 0) << reopened.err;
  preview = cli.run({"preview", "--from", "2027-03-15", "--to", "2027-03-19"});
  EXPECT_NE(preview.out.find("2027-03-17  Wed  15:00  scheduled"), std::string::npos) << preview.out;
  history = cli.run({"history", "--series", "power-hour"});
  EXPECT_NE(history.out.find("reopened dc 2027-03-17 (Snow day)"), std::string::npos) << history.out;
  expect_refused(cli, {"reopen", "dc", "2027-03-17"}, "dc has no closure of exactly 2027-03-17");
}

// Review of the reminders: `--channel sms` and `--channel push` were accepted (and offered
// on the member's page) though nothing ever delivered them, so a member who chose one
// simply got no reminders. Only the channels something delivers are accepted now.
TEST(StoreCli, OnlyChannelsSomethingDeliversAreAccepted) {
  Cli cli;
  cli.import();
  for (const char* channel : {"sms", "push"}) {
    expect_refused(cli, {"member", "add", "rosa", "--email", "rosa@example.org", "--channel", channel},
                   "unknown reminder channel \"" + std::string(channel) + "\" (one of email, webhook, none)");
  }
  ASSERT_EQ(cli.run({"member", "add", "rosa", "--email", "rosa@example.org", "--channel", "none"}).exit_code, 0);
}

TEST(StoreCli, MembersGetPrivateTokensThatRotate) {
  Cli cli;
  cli.import();
  auto added = cli.run({"member", "add", "rosa", "--email", "rosa@example.org", "--name", "Rosa Diaz",
                        "--timezone", "America/Chicago", "--remind", "PT15M", "--remind", "P1D", "--channel", "email"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const auto token = added.out.substr(added.out.rfind(' ') + 1, 43);
  ASSERT_EQ(token.size(), 43u);
  EXPECT_EQ(added.err, "");
  ASSERT_EQ(cli.run({"subscribe", "rosa", "nurses"}).exit_code, 0);
  ASSERT_EQ(cli.run({"subscribe", "rosa", "bh-monthly"}).exit_code, 0);
  auto show = cli.run({"member", "show", "rosa"});
  EXPECT_NE(show.out.find("series: mentoring-monday power-hour bh-monthly"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("PT15M,P1D by email"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find(token), std::string::npos);
  {
    StoreOptions o;
    o.path = cli.db;
    auto store = Store::open(o);
    EXPECT_EQ(store->find_member_by_token(token)->id, "rosa");
  }
  auto rotated = cli.run({"member", "rotate-token", "rosa"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const auto fresh = rotated.out.substr(rotated.out.rfind(' ') + 1, 43);
  StoreOptions o;
  o.path = cli.db;
  auto store = Store::open(o);
  EXPECT_FALSE(store->find_member_by_token(token));
  EXPECT_EQ(store->find_member_by_token(fresh)->id, "rosa");
  EXPECT_EQ(cli.run({"history"}).out.find(token), std::string::npos);
}

// --- bad input: one clear message each, non-zero exit, nothing changed --------------

TEST(StoreCliRefuses, UnknownSeries) {
  Cli cli;
  cli.import();
  expect_refused(cli, {"cancel", "mentoring-mondays", "2027-02-08T16:00"}, "did you mean \"mentoring-monday\"");
}

TEST(StoreCliRefuses, UnknownOccurrenceSuggestingTheNearest) {
  Cli cli;
  cli.import();
  expect_refused(cli, {"cancel", "mentoring-monday", "2027-02-09T16:00"},
                 "has no occurrence at 2027-02-09T16:00 (the nearest are 2027-02-08T16:00 and 2027-03-08T16:00)");
}

TEST(StoreCliRefuses, MoveOntoAnExistingOccurrence) {
  Cli cli;
  cli.import();
  expect_refused(cli, {"reschedule", "power-hour", "2027-03-03T15:00", "--to", "2027-03-10T15:00"},
                 "the series already has a session at that time (the occurrence 2027-03-10T15:00)");
}

TEST(StoreCliRefuses, DateThatDoesNotExist) {
  Cli cli;
  cli.import();
  expect_refused(cli, {"cancel", "power-hour", "2027-02-30T15:00"}, "is not an occurrence id");
  expect_refused(cli, {"reschedule", "power-hour", "2027-03-03T15:00", "--to", "2027-02-29T15:00"},
                 "--to \"2027-02-29T15:00\"");
  expect_refused(cli, {"close", "dc", "2027-13-01", "--name", "Snow day"}, "DATE \"2027-13-01\"");
}

TEST(StoreCliRefuses, StaleExpectedRevision) {
  Cli cli;
  cli.import();
  ASSERT_EQ(cli.run({"cancel", "power-hour", "2027-03-03", "--as", "bob"}).exit_code, 0);
  expect_refused(cli, {"restore", "power-hour", "2027-03-03", "--expect-revision", "0"},
                 "was changed by bob at 2027-02-01T09:00:00Z (now revision 1) since you read it (revision 0)");
}

TEST(StoreCliRefuses, ReadOnlyDatabase) {
  Cli cli;
  cli.import();
  ::chmod(cli.db.c_str(), 0444);
  expect_refused(cli, {"cancel", "power-hour", "2027-03-03"}, "is read-only");
  EXPECT_EQ(cli.run({"export"}).exit_code, 0);
  ::chmod(cli.db.c_str(), 0644);
}

TEST(StoreCliRefuses, LockedDatabase) {
  Cli cli;
  cli.import();
  const std::string before = cli.exported();
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(cli.db.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = cli.run({"cancel", "power-hour", "2027-03-03"});
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("is locked by another process"), std::string::npos) << r.err;
  EXPECT_EQ(cli.exported(), before);
}

TEST(StoreCliRefuses, CorruptFile) {
  Cli cli;
  testing::write_file(cli.db, std::string(4096, '\x5a'));
  auto r = cli.run({"cancel", "power-hour", "2027-03-03"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("is not a convene database"), std::string::npos) << r.err;
  auto expand = cli.run({"expand", "--from", "2027-01-01", "--to", "2027-01-31"});
  EXPECT_NE(expand.exit_code, 0);
  EXPECT_NE(expand.err.find("is not a convene database"), std::string::npos) << expand.err;
  EXPECT_EQ(testing::read_file(cli.db), std::string(4096, '\x5a'));
}

TEST(StoreCliRefuses, NoStoreYet) {
  Cli cli;
  auto r = cli.run({"expand", "--from", "2027-01-01", "--to", "2027-01-31"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no convene store at"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("convene import FILE"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(cli.db));
}

TEST(StoreCliRefuses, ImportOfAFileWithErrorsChangesNothing) {
  Cli cli;
  cli.import();
  testing::write_file(cli.dir / "bad.json",
                      R"({"communities": [{"id": "x", "name": "X", "timezone": "Mars/Olympus", "series": []}]})");
  // The loader's diagnostic (file and JSON path), then the verdict.
  expect_refused(cli, {"import", (cli.dir / "bad.json").string()},
                 "bad.json: /communities/0/timezone: unknown time zone \"Mars/Olympus\"", 2);
  testing::write_file(cli.dir / "bad-override.json",
                      R"({"communities": [{"id": "x", "name": "X", "timezone": "America/New_York", "series": [
                          {"id": "s", "title": "S", "start": "2027-01-04T10:00", "duration": "PT1H", "rrule": "FREQ=WEEKLY"}]}],
                          "overrides": [{"series": "s", "occurrence": "2027-01-05T10:00", "cancel": true}]})");
  expect_refused(cli, {"import", (cli.dir / "bad-override.json").string()},
                 "/overrides/0/occurrence: series \"s\" has no occurrence at 2027-01-05T10:00", 2);
}

}  // namespace
}  // namespace convene
