// What the CLI's verbs print for scripts and people (convene/views.h through the real
// binary): --format json of every verb that prints data, with the fields docs/cli.md
// documents; the agenda in two viewers' zones; member links; the warnings of
// reschedule and split.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "test_support.h"

namespace convene {
namespace {

using json = nlohmann::ordered_json;  // keeps the printed key order
using testing::RunResult;
using testing::TempDir;

struct Store {
  TempDir dir;
  std::string db = (dir / "convene.db").string();
  std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-02-01T09:00:00Z"}, {"CONVENE_TODAY", "2027-02-01"},
                                         {"CONVENE_DB", ""}, {"CONVENE_CONFIG", ""}, {"CONVENE_BASE_URL", ""},
                                         {"TZ", "America/Chicago"}};
  Store() {
    auto r = run({"import", (testing::source_dir() / "tests/data/store/definitions.json").string(), "--as", "ana"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult run(std::vector<std::string> args) const {
    args.insert(args.end(), {"--db", db});
    return testing::run_cli(args, "", env);
  }
  json run_json(std::vector<std::string> args) const {
    args.insert(args.end(), {"--format", "json"});
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return json::parse(r.out);
  }
};

std::vector<std::string> keys(const json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.push_back(it.key());
  return out;
}

const std::vector<std::string> kOccurrenceKeys{"community", "series", "title", "occurrence_id", "start", "end",
                                               "local_start", "timezone", "status", "reason", "holiday"};

TEST(CliOutput, CheckAsJson) {
  Store s;
  auto j = s.run_json({"check"});
  EXPECT_EQ(keys(j), (std::vector<std::string>{"source", "ok", "calendars", "communities", "series", "overrides",
                                               "warnings"}));
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["series"], 3);
  EXPECT_EQ(j["overrides"], 1);
}

TEST(CliOutput, PreviewAsJson) {
  Store s;
  auto j = s.run_json({"preview", "--series", "mentoring-monday", "--from", "2027-01-01", "--to", "2027-03-31"});
  EXPECT_EQ(j["from"], "2027-01-01");
  ASSERT_EQ(j["series"].size(), 1u);
  const auto& series = j["series"][0];
  EXPECT_EQ(keys(series), (std::vector<std::string>{"id", "title", "community", "timezone", "time", "duration",
                                                    "rrule", "on_holiday", "online_meeting", "sessions", "live",
                                                    "occurrences"}));
  EXPECT_TRUE(series["online_meeting"].is_null()) << "the series does not say: null";
  EXPECT_EQ(series["time"], "16:00");
  EXPECT_EQ(series["sessions"], 3);
  EXPECT_EQ(keys(series["occurrences"][0]), kOccurrenceKeys);
  EXPECT_EQ(series["occurrences"][2]["status"], "moved");
}

TEST(CliOutput, HistoryRevisionAndChangesAsJson) {
  Store s;
  auto change = s.run_json({"cancel", "power-hour", "2027-03-03", "--reason", "Testing week", "--as", "bob"});
  EXPECT_EQ(keys(change), (std::vector<std::string>{"dry_run", "changed", "change", "actor", "summary", "affected",
                                                    "series"}));
  EXPECT_EQ(change["dry_run"], false);
  EXPECT_EQ(change["change"], 2);
  EXPECT_EQ(change["actor"], "bob");
  ASSERT_EQ(change["affected"].size(), 1u);
  EXPECT_EQ(change["affected"][0], (json{{"series", "power-hour"}, {"occurrence", "2027-03-03T15:00"}, {"revision", 1}}));

  auto history = s.run_json({"history"});
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(keys(history[1]), (std::vector<std::string>{"id", "at", "actor", "action", "series", "occurrence", "target",
                                                        "summary", "reason", "before", "after", "affected"}));
  EXPECT_EQ(history[1]["reason"], "Testing week");
  EXPECT_EQ(history[1]["at"], "2027-02-01T09:00:00Z");

  auto revision = s.run_json({"revision", "power-hour", "2027-03-03"});
  EXPECT_EQ(revision, (json{{"series", "power-hour"}, {"occurrence", "2027-03-03T15:00"}, {"revision", 1},
                            {"modified", "2027-02-01T09:00:00Z"}}));
  EXPECT_TRUE(s.run_json({"revision", "power-hour"})["occurrence"].is_null());
}

TEST(CliOutput, MembersAsJsonAndTheirLinks) {
  Store s;
  auto added = s.run_json({"member", "add", "rosa", "--email", "rosa@example.org", "--name", "Rosa Diaz", "--timezone",
                           "America/Los_Angeles", "--remind", "PT15M", "--base-url", "https://cop.example.org/"});
  EXPECT_EQ(keys(added), (std::vector<std::string>{"member", "email", "token", "feed_path", "url", "webcal", "dry_run"}));
  const std::string token = added["token"];
  ASSERT_EQ(token.size(), 43u);
  EXPECT_EQ(added["url"], "https://cop.example.org/feeds/members/" + token + ".ics");
  EXPECT_EQ(added["webcal"], "webcal://cop.example.org/feeds/members/" + token + ".ics");
  ASSERT_EQ(s.run({"subscribe", "rosa", "nurses"}).exit_code, 0);

  auto shown = s.run_json({"member", "show", "rosa"});
  EXPECT_EQ(keys(shown), (std::vector<std::string>{"id", "name", "email", "timezone", "reminders", "digest",
                                                   "delivery", "created", "token_issued", "subscriptions", "series"}));
  EXPECT_EQ(shown["digest"], nullptr) << "opt-in";
  EXPECT_EQ(shown["delivery"], "feed");
  EXPECT_EQ(shown["subscriptions"], (json{"community:nurses"}));
  EXPECT_EQ(shown["series"], (json{"mentoring-monday", "power-hour"}));
  EXPECT_EQ(shown["reminders"], (json{{"offsets", {"PT15M"}}, {"channel", "email"}}));
  auto list = s.run_json({"member", "list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], shown);

  // The text form gives the link and the webcal form; without a base URL, the path and how to get the link.
  Store t;
  t.env["CONVENE_BASE_URL"] = "https://env.example.org";
  auto text = t.run({"member", "add", "ben", "--email", "ben@example.org"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("  link: https://env.example.org/feeds/members/"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  webcal: webcal://env.example.org/feeds/members/"), std::string::npos) << text.out;
  t.env["CONVENE_BASE_URL"] = "";
  auto rotated = t.run({"member", "rotate-token", "ben"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("the old link no longer works"), std::string::npos) << rotated.out;
  EXPECT_NE(rotated.out.find("  path: /feeds/members/"), std::string::npos) << rotated.out;
  EXPECT_NE(rotated.out.find("--base-url"), std::string::npos) << rotated.out;
  // A base URL that is not one is refused before anything is written.
  auto bad = t.run({"member", "add", "cy", "--email", "cy@example.org", "--base-url", "cop.example.org"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("is not an absolute http:// or https:// URL"), std::string::npos) << bad.err;
  EXPECT_EQ(t.run({"member", "show", "cy"}).exit_code, 1);
}

TEST(CliOutput, AgendaInTheViewersZone) {
  Store s;
  ASSERT_EQ(s.run({"member", "add", "kai", "--email", "kai@example.org", "--timezone", "Asia/Tokyo"}).exit_code, 0);
  ASSERT_EQ(s.run({"subscribe", "kai", "bh-monthly"}).exit_code, 0);
  // The local zone ($TZ): Chicago. Thursday 18 February, 13:00 in New York is 12:00 here.
  auto chicago = s.run_json({"agenda", "--from", "2027-02-18", "--to", "2027-02-18"});
  EXPECT_EQ(chicago["timezone"], "America/Chicago");
  ASSERT_EQ(chicago["sessions"].size(), 1u);
  EXPECT_EQ(chicago["sessions"][0]["viewer_start"], "2027-02-18T12:00:00-06:00");
  EXPECT_EQ(chicago["sessions"][0]["start"], "2027-02-18T13:00:00-05:00");
  // The member's zone: the same session is on Friday 19 February at 03:00 in Tokyo, and
  // only the series they follow are listed.
  auto tokyo = s.run_json({"agenda", "--member", "kai", "--from", "2027-02-19", "--to", "2027-02-19"});
  EXPECT_EQ(tokyo["timezone"], "Asia/Tokyo");
  ASSERT_EQ(tokyo["sessions"].size(), 1u);
  EXPECT_EQ(tokyo["sessions"][0]["series"], "bh-monthly");
  EXPECT_EQ(tokyo["sessions"][0]["viewer_start"], "2027-02-19T03:00:00+09:00");
  EXPECT_TRUE(s.run_json({"agenda", "--member", "kai", "--from", "2027-02-18", "--to", "2027-02-18"})["sessions"].empty());
  // --timezone over the local zone; the default window is kAgendaDefaultDays (14) days.
  auto utc = s.run_json({"agenda", "--timezone", "UTC"});
  EXPECT_EQ(utc["from"], "2027-02-01");
  EXPECT_EQ(utc["to"], "2027-02-14");
  for (const auto& session : utc["sessions"]) {
    EXPECT_EQ(std::string(session["at"]).substr(19), "+00:00");
    EXPECT_EQ(keys(session).size(), kOccurrenceKeys.size() + 3);
  }
  // The text table, in time order, with status and why.
  auto text = s.run({"agenda", "--from", "2027-02-08", "--to", "2027-02-10", "--community", "nurses"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "Agenda 2027-02-08 to 2027-02-10 · times in America/Chicago\n"
            "  Date        Day  Time         Series            Community  Status     Why\n"
            "  2027-02-08  Mon  15:00–16:00  Mentoring Monday  nurses     scheduled\n"
            "  2027-02-10  Wed  14:00–15:00  Power Hour        nurses     scheduled\n"
            "  2 sessions, 2 taking place\n");
  auto bad_zone = s.run({"agenda", "--timezone", "Mars/Olympus"});
  EXPECT_EQ(bad_zone.exit_code, 1);
  EXPECT_NE(bad_zone.err.find("--timezone \"Mars/Olympus\" is not a time zone"), std::string::npos) << bad_zone.err;
  EXPECT_EQ(s.run({"agenda", "--community", "nurse"}).exit_code, 1);
}

TEST(CliOutput, RescheduleWarnsOnAHolidayThePastAndAnOverlap) {
  struct Case {
    std::string to;
    std::string says;
  };
  const std::vector<Case> cases{
      {"2027-02-15T15:00", "power-hour 2027-02-10T15:00 now falls on Washington's Birthday (dc), 2027-02-15"},
      {"2025-02-12T15:00", "power-hour 2027-02-10T15:00 now starts in the past, at 2025-02-12T15:00 America/New_York"},
      {"2027-02-17T15:30", "power-hour 2027-02-10T15:00 now overlaps another session of the series (power-hour "
                           "2027-02-17T15:00, 2027-02-17T15:00 America/New_York)"},
  };
  for (const auto& c : cases) {
    Store s;
    auto r = s.run({"reschedule", "power-hour", "2027-02-10", "--to", c.to});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("moved power-hour 2027-02-10T15:00 to " + c.to), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "convene: warning: " + c.says +
                         "\nconvene: warning: the move was made; `convene restore power-hour 2027-02-10T15:00` undoes it\n");
  }
  Store quiet;
  auto r = quiet.run({"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-11T15:00"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

// After a move that earns a warning, the command that puts the session back as it was:
// restore when it was at its scheduled time, else its earlier move or its cancel.
TEST(CliOutput, AWarnedMoveSaysHowToUndoIt) {
  Store s;
  // Moves power-hour 2027-02-10 onto Washington's Birthday; the undo command it suggests.
  auto move_onto_holiday = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-15T15:00"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = s.run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string lead = "convene: warning: the move was made; `", tail = "` undoes it\n";
    const auto at = r.err.rfind(lead);
    if (at == std::string::npos || !r.err.ends_with(tail)) return "(none) " + r.err;
    return r.err.substr(at + lead.size(), r.err.size() - at - lead.size() - tail.size());
  };
  struct Case {
    std::vector<std::string> before;
    std::string undo;
  };
  const std::vector<Case> cases{
      {{"reschedule", "power-hour", "2027-02-10", "--to", "2027-02-11T16:00", "--duration", "PT90M"},
       "convene reschedule power-hour 2027-02-10T15:00 --to 2027-02-11T16:00 --duration PT1H30M"},
      {{"cancel", "power-hour", "2027-02-10"}, "convene cancel power-hour 2027-02-10T15:00"},
      {{"restore", "power-hour", "2027-02-10"}, "convene restore power-hour 2027-02-10T15:00"},
  };
  const std::vector<std::string> sessions{"expand", "--series", "power-hour", "--from", "2027-02-01", "--to", "2027-02-28"};
  for (const auto& c : cases) {
    ASSERT_EQ(s.run(c.before).exit_code, 0) << c.before[0];
    const std::string as_it_was = s.run(sessions).out;
    const std::string undo = move_onto_holiday();
    EXPECT_EQ(undo, c.undo);
    ASSERT_EQ(undo.rfind("convene ", 0), 0u) << undo;
    std::vector<std::string> words;
    std::istringstream in(undo.substr(8));
    for (std::string w; in >> w;) words.push_back(w);
    ASSERT_EQ(s.run(words).exit_code, 0) << undo;
    EXPECT_EQ(s.run(sessions).out, as_it_was) << undo << " did not put the session back";
  }
  // Nothing to undo after a rehearsal.
  EXPECT_EQ(move_onto_holiday({"--dry-run"}).rfind("(none) ", 0), 0u);
}

TEST(CliOutput, SplitWarnsWhenTheNewTimeOverlapsTheCommunity) {
  Store s;
  // Mentoring Monday meets at 16:00 on the second Monday (8 March is moved to the 9th);
  // Power Hour moved to Mondays at 15:30 for an hour overlaps it from 12 April on, once a
  // month: five warnings are shown, the rest counted.
  auto r = s.run({"split", "power-hour", "--from", "2027-03-01", "--start", "2027-03-01T15:30", "--rrule",
                  "FREQ=WEEKLY;BYDAY=MO"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("convene: warning: power-hour-from-2027-03-01 2027-04-12T15:30 now overlaps \"Mentoring "
                        "Monday\" (mentoring-monday 2027-04-12T16:00, 2027-04-12T16:00 America/New_York)\n",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 6) << r.err;
  EXPECT_NE(r.err.find("more like these"), std::string::npos) << r.err;
}

// The story: the published subscribe page said "(Source: store ./convene.db)" to the
// public, and the all-communities feed described itself with the store's path.
TEST(CliOutput, PublicPagesNameNoInternalPath) {
  Store s;
  const auto site = s.dir / "site";
  auto r = s.run({"publish", "--out", site.string(), "--base-url", "https://cop.example.org"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* file : {"index.html", "feeds/all.ics", "feeds/expanded/all.ics", "feeds/communities/nurses.ics"}) {
    const std::string text = testing::read_file(site / file);
    EXPECT_EQ(text.find(s.db), std::string::npos) << file;
    EXPECT_EQ(text.find("convene.db"), std::string::npos) << file;
    EXPECT_EQ(text.find("Source:"), std::string::npos) << file;
    EXPECT_EQ(text.find(s.dir.path().string()), std::string::npos) << file;
  }
}

}  // namespace
}  // namespace convene
