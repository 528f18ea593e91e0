// Importing a file again never silently reverts a facilitator's change (issue 8: after
// reschedule, cancel and edit, `convene import communities-2026-27.json` said "0 added,
// 0 updated, 0 removed" and reverted all three sessions).
//
// On real SQLite files with a simulated clock: after each change made with the CLI
// verbs' operations, re-importing the same file keeps it and says so; a file that now
// says something else about the same thing is refused with each conflict listed (who,
// when, what the file says) and nothing written; --prefer file and --prefer store each
// choose their side; a file change elsewhere merges with the CLI change.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <regex>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;
using Json = nlohmann::ordered_json;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }
LocalDay day(const char* text) { return *parse_date(text); }

ChangeContext as(const char* actor, const char* reason = nullptr) {
  ChangeContext c;
  c.actor = actor;
  if (reason) c.reason = reason;
  return c;
}

const char* const kFile = R"({
  "calendars": {
    "dc": { "builtin": "us-dc" },
    "school": { "closures": [{ "name": "Winter break", "from": "2026-12-21", "to": "2027-01-01" },
                             { "name": "Staff day", "date": "2027-03-12" }] }
  },
  "communities": [{
    "id": "nurses", "name": "School Nurse CoP", "timezone": "America/New_York", "observes": ["dc", "school"],
    "series": [
      { "id": "mentoring-monday", "title": "Mentoring Monday", "start": "2026-09-14T16:00", "duration": "PT1H",
        "rrule": "FREQ=MONTHLY;BYDAY=2MO", "on_holiday": "following" },
      { "id": "power-hour", "title": "Power Hour", "start": "2026-09-09T15:00", "duration": "PT1H",
        "rrule": "FREQ=WEEKLY;BYDAY=WE" },
      { "id": "friday-forum", "title": "Friday Forum", "start": "2026-09-11T12:00", "duration": "PT1H",
        "rrule": "FREQ=WEEKLY;BYDAY=FR", "on_holiday": "skip" }
    ]
  }],
  "overrides": [
    { "series": "mentoring-monday", "occurrence": "2027-03-08T16:00", "move_to": "2027-03-09T16:00",
      "reason": "Presenter's request" }
  ]
})";

struct Fixture {
  TempDir dir;
  SimulatedClock clock{at("2026-09-01T12:00:00Z")};
  std::string path = (dir / "convene.db").string();
  std::unique_ptr<Store> store;

  Fixture() {
    store = Store::open({.path = path, .clock = &clock});
    auto r = import(kFile);
    EXPECT_TRUE(r.changed);
  }
  Definitions defs(const std::string& text) {
    testing::write_file(dir / "communities.json", text);
    auto loaded = load_definitions((dir / "communities.json").string());
    EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].to_string());
    return loaded.ok() ? *loaded.definitions : Definitions{};
  }
  ChangeResult import(const std::string& text, ImportPreference prefer = ImportPreference::refuse) {
    clock.advance(Seconds{60});
    return store->import_definitions(defs(text), as("ana"), {.prefer = prefer});
  }
  Json exported() const { return store->export_json(); }
  std::size_t history() const { return store->history().size(); }
};

// The file with `from` replaced by `to` (once; the test fails if it is not there).
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// One change made with a CLI verb's operation, and a file that contradicts it.
struct VerbRow {
  const char* name;
  std::function<ChangeResult(Store&)> verb;
  const char* label;        // how the summary and the conflict name it
  // The file, now saying something else about the same thing; empty for a closure: a
  // closure is one day range with a name, so a file's other range is another closure.
  std::string contradicting;
};

std::vector<VerbRow> verb_rows() {
  return {
      {"reschedule",
       [](Store& s) {
         return s.reschedule("power-hour", lt("2027-02-10T15:00"), lt("2027-02-11T16:00"), std::nullopt,
                             as("bob", "Presenter's request"));
       },
       "power-hour 2027-02-10T15:00",
       edited(kFile, R"("overrides": [)",
              R"("overrides": [ { "series": "power-hour", "occurrence": "2027-02-10T15:00", "move_to": "2027-02-12T15:00" },)")},
      {"cancel", [](Store& s) { return s.cancel("power-hour", lt("2026-11-18T15:00"), as("bob", "Staff development day")); },
       "power-hour 2026-11-18T15:00",
       edited(kFile, R"("overrides": [)",
              R"("overrides": [ { "series": "power-hour", "occurrence": "2026-11-18T15:00", "move_to": "2026-11-19T15:00" },)")},
      {"restore", [](Store& s) { return s.restore("mentoring-monday", lt("2027-03-08T16:00"), as("bob")); },
       "mentoring-monday 2027-03-08T16:00", edited(kFile, R"("move_to": "2027-03-09T16:00")", R"("move_to": "2027-03-10T16:00")")},
      {"edit",
       [](Store& s) {
         OccurrenceEdit e;
         e.title = "Asthma action plans";
         e.presenter = "Dr. Lee";
         return s.edit("mentoring-monday", lt("2027-04-12T16:00"), e, as("bob"));
       },
       "mentoring-monday 2027-04-12T16:00",
       edited(kFile, R"("overrides": [)",
              R"("overrides": [ { "series": "mentoring-monday", "occurrence": "2027-04-12T16:00", "title": "Diabetes care" },)")},
      {"split",
       [](Store& s) {
         SplitSpec spec;
         spec.from = day("2027-03-01");
         spec.time_of_day = Seconds{15 * 3600 + 30 * 60};
         return s.split("power-hour", spec, as("bob", "New time from March"));
       },
       "series power-hour", edited(kFile, R"("rrule": "FREQ=WEEKLY;BYDAY=WE")", R"("rrule": "FREQ=WEEKLY;BYDAY=TH")")},
      {"close", [](Store& s) { return s.close("school", Closure{"Snow day", day("2027-02-05"), day("2027-02-05")}, as("bob")); },
       "school 2027-02-05 (Snow day)", ""},
      {"reopen", [](Store& s) { return s.reopen("school", day("2027-03-12"), day("2027-03-12"), as("bob")); },
       "school 2027-03-12 (Staff day)", ""},
  };
}

TEST(StoreImport, ReimportingTheSameFileAfterEachVerbRevertsNothingAndSaysSo) {
  for (const auto& row : verb_rows()) {
    SCOPED_TRACE(row.name);
    Fixture f;
    const ChangeResult change = row.verb(*f.store);
    ASSERT_TRUE(change.changed) << change.summary;
    const Json before = f.exported();
    const auto history = f.history();
    const ChangeResult again = f.import(kFile);
    EXPECT_FALSE(again.changed) << again.summary;
    EXPECT_NE(again.summary.find("kept"), std::string::npos) << again.summary;
    EXPECT_NE(again.summary.find(row.label), std::string::npos) << again.summary;
    EXPECT_EQ(f.exported(), before);
    EXPECT_EQ(f.history(), history);
    // And again: still nothing.
    EXPECT_FALSE(f.import(kFile).changed);
    EXPECT_EQ(f.exported(), before);
  }
}

TEST(StoreImport, AFileContradictingAVerbIsRefusedListingWhoWhenAndWhatTheFileSays) {
  for (const auto& row : verb_rows()) {
    if (row.contradicting.empty()) continue;
    SCOPED_TRACE(row.name);
    Fixture f;
    ASSERT_TRUE(row.verb(*f.store).changed);
    const Json before = f.exported();
    const auto history = f.history();
    const auto data_version = f.store->data_version();
    try {
      f.import(row.contradicting);
      ADD_FAILURE() << "imported";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
      const std::string m = e.what();
      EXPECT_NE(m.find(std::string("\n  ") + row.label + ": "), std::string::npos) << m;
      EXPECT_NE(m.find(std::string(row.name) + " by bob at 2026-09-01T12:0"), std::string::npos) << m;
      EXPECT_NE(m.find("; the file now says "), std::string::npos) << m;
      EXPECT_NE(m.find("--prefer file"), std::string::npos) << m;
      EXPECT_NE(m.find("--prefer store"), std::string::npos) << m;
      EXPECT_NE(m.find("nothing was changed"), std::string::npos) << m;
    }
    EXPECT_EQ(f.exported(), before);
    EXPECT_EQ(f.history(), history);
    EXPECT_EQ(f.store->data_version(), data_version);
  }
}

TEST(StoreImport, PreferFileTakesTheFilesVersionAndPreferStoreKeepsTheChange) {
  for (const auto& row : verb_rows()) {
    if (row.contradicting.empty()) continue;
    SCOPED_TRACE(row.name);
    // The file's side: the store ends as a fresh store that imported that file would.
    Fixture f;
    ASSERT_TRUE(row.verb(*f.store).changed);
    const Json kept = f.exported();
    const ChangeResult taken = f.import(row.contradicting, ImportPreference::file);
    EXPECT_TRUE(taken.changed) << taken.summary;
    TempDir fresh;
    auto other = Store::open({.path = (fresh / "convene.db").string(), .clock = &f.clock});
    other->import_definitions(f.defs(row.contradicting), as("ana"));
    if (std::string(row.name) != "split") {
      EXPECT_EQ(f.exported(), other->export_json());
    } else {
      // The continuation the split added stays (the file says nothing about it).
      EXPECT_EQ(f.exported()["communities"][0]["series"][1], other->export_json()["communities"][0]["series"][1]);
    }
    // The store's side: the change stays, and the file's other edits (none here) apply.
    Fixture g;
    ASSERT_TRUE(row.verb(*g.store).changed);
    const Json before = g.exported();
    const ChangeResult kept_result = g.import(row.contradicting, ImportPreference::store);
    EXPECT_NE(kept_result.summary.find(row.label), std::string::npos) << kept_result.summary;
    EXPECT_EQ(g.exported(), before);
    // Once the file was imported, importing it again is quiet: nothing to refuse.
    EXPECT_FALSE(g.import(row.contradicting).changed);
    EXPECT_EQ(g.exported(), before);
  }
}

// A file that removes a series the CLI changed sessions of is refused, saying so; with
// --prefer file the series goes with those changes. (Bug: the refusal said "import it
// with --prefer file", and --prefer file was refused the same way: the CLI's overrides
// were kept under a series the file removes.)
TEST(StoreImport, PreferFileRemovesASeriesWithTheChangesMadeToItsSessions) {
  const std::string without_power_hour =
      edited(kFile, R"(
      { "id": "power-hour", "title": "Power Hour", "start": "2026-09-09T15:00", "duration": "PT1H",
        "rrule": "FREQ=WEEKLY;BYDAY=WE" },)",
             "");
  Fixture f;
  ASSERT_TRUE(f.store->cancel("power-hour", lt("2026-11-18T15:00"), as("bob", "Staff development day")).changed);
  const Json before = f.exported();
  try {
    f.import(without_power_hour);
    ADD_FAILURE() << "the import was not refused";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
    EXPECT_NE(std::string(e.what()).find("an override of power-hour 2026-11-18T15:00 kept from the store, but the "
                                         "file removes the series"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(f.exported(), before);
  const ChangeResult taken = f.import(without_power_hour, ImportPreference::file);
  EXPECT_TRUE(taken.changed);
  EXPECT_EQ(taken.summary.find("kept"), std::string::npos) << taken.summary;
  TempDir fresh;
  auto other = Store::open({.path = (fresh / "convene.db").string(), .clock = &f.clock});
  other->import_definitions(f.defs(without_power_hour), as("ana"));
  EXPECT_EQ(f.exported(), other->export_json());
}

// A file change to another member of the same session, or to another session, merges
// with the change made with the CLI; the summary counts every session that changed.
TEST(StoreImport, AFileChangeElsewhereMergesWithTheCliChangeAndCountsEverySession) {
  Fixture f;
  OccurrenceEdit e;
  e.title = "Asthma action plans";
  ASSERT_TRUE(f.store->edit("mentoring-monday", lt("2027-03-08T16:00"), e, as("bob")).changed);
  // The file moves the same session elsewhere and gives Power Hour a location.
  std::string text = edited(kFile, R"("move_to": "2027-03-09T16:00")", R"("move_to": "2027-03-10T16:00")");
  text = edited(text, R"("title": "Power Hour",)", R"("title": "Power Hour", "location": "Room 101",)");
  const ChangeResult r = f.import(text);
  ASSERT_TRUE(r.changed) << r.summary;
  const Json after = f.exported();
  bool found = false;
  for (const auto& o : after["overrides"]) {
    if (o["occurrence"] != "2027-03-08T16:00") continue;
    found = true;
    EXPECT_EQ(o["title"], "Asthma action plans");
    EXPECT_EQ(o["move_to"], "2027-03-10T16:00");
  }
  EXPECT_TRUE(found) << after.dump();
  EXPECT_EQ(after["communities"][0]["series"][1]["location"], "Room 101");
  // Every Power Hour session shows the location: each changed, and the summary says how many.
  std::size_t power_hour = 0;
  for (const auto& a : r.affected) power_hour += a.series == "power-hour";
  EXPECT_GT(power_hour, 100u);
  EXPECT_NE(r.summary.find(std::to_string(r.affected.size()) + " sessions changed"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("kept 1 change made with the CLI (mentoring-monday 2027-03-08T16:00)"), std::string::npos)
      << r.summary;
}

// A store from before schema 5 has no record of what the last imported file said: a
// session changed with the CLI since the last import (by the audit trail) whose value
// the file contradicts is refused, never silently reverted; the rest imports.
TEST(StoreImport, AStoreWithoutABaseRefusesToRevertWhatTheCliChanged) {
  Fixture f;
  ASSERT_TRUE(f.store->cancel("power-hour", lt("2026-11-18T15:00"), as("bob")).changed);
  f.store.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(f.path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM import_base", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  f.store = Store::open({.path = f.path, .clock = &f.clock});
  const Json before = f.exported();
  try {
    f.import(kFile);
    ADD_FAILURE() << "the cancel was reverted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
    EXPECT_NE(std::string(e.what()).find("power-hour 2026-11-18T15:00: cancel by bob"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.exported(), before);
  f.import(kFile, ImportPreference::store);
  EXPECT_EQ(f.exported(), before);
  // Now the store has a base: the same file again is quiet.
  EXPECT_FALSE(f.import(kFile).changed);
}

TEST(StoreImport, ARehearsedImportWritesNothing) {
  Fixture f;
  const Json before = f.exported();
  const auto history = f.history();
  ChangeContext c = as("ana");
  c.dry_run = true;
  const ChangeResult r =
      f.store->import_definitions(f.defs(edited(kFile, R"("title": "Power Hour")", R"("title": "Power Hour!")")), c);
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.audit_id, 0u);
  EXPECT_GT(r.affected.size(), 100u);
  EXPECT_EQ(f.exported(), before);
  EXPECT_EQ(f.history(), history);
}

}  // namespace
}  // namespace convene
