// The store as a library: import/export, revisions, operations, audit, members,
// schema migrations and refusals, on real SQLite files with a simulated clock.
#include "convene/store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "convene/schedule.h"
#include "internal/store_crypto.h"
#include "internal/store_schema.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}
LocalTime lt(const char* text) { return *parse_local_minute(text); }

Definitions fixture() {
  auto loaded = load_definitions((testing::source_dir() / "tests/data/store/definitions.json").string());
  EXPECT_TRUE(loaded.ok());
  return *loaded.definitions;
}

struct Fixture {
  TempDir dir;
  SimulatedClock clock{at("2027-02-01T09:00:00Z")};
  std::string path = (dir / "convene.db").string();
  std::unique_ptr<Store> open() {
    StoreOptions o;
    o.path = path;
    o.clock = &clock;
    return Store::open(o);
  }
};

ChangeContext as(const char* actor, const char* reason = nullptr) {
  ChangeContext c;
  c.actor = actor;
  if (reason) c.reason = reason;
  return c;
}

std::string sql_one(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(s, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

StoreError::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no StoreError";
  return StoreError::Kind::io;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no error)";
}

const Occurrence* find(const std::vector<Occurrence>& all, const std::string& series, LocalTime original) {
  for (const auto& o : all)
    if (o.series->id == series && o.original == original) return &o;
  return nullptr;
}

TEST(StoreCrypto, Sha256MatchesFipsVectors) {
  using store_internal::sha256;
  using store_internal::to_hex;
  auto hex = [](std::string_view s) {
    auto d = sha256(s);
    return to_hex(d.data(), d.size());
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(StoreCrypto, TokensAre256BitBase64Url) {
  EXPECT_EQ(store_internal::base64url("\xfb\xff"), "-_8");
  const auto a = store_internal::new_token(), b = store_internal::new_token();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(Store, OpenCreatesCurrentSchemaWithWal) {
  Fixture f;
  auto store = f.open();
  EXPECT_EQ(store->schema_version(), Store::kSchemaVersion);
  EXPECT_TRUE(store->empty());
  EXPECT_EQ(sql_one(f.path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(sql_one(f.path, "PRAGMA user_version"), std::to_string(Store::kSchemaVersion));
}

TEST(Store, ImportThenLoadGivesTheFileDefinitions) {
  Fixture f;
  auto store = f.open();
  const Definitions defs = fixture();
  auto r = store->import_definitions(defs, as("ana"));
  EXPECT_TRUE(r.changed);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.definitions->source, "store " + f.path);
  EXPECT_EQ(to_json(*loaded.definitions), to_json(defs));
  const Window season{*parse_date("2026-09-01"), *parse_date("2027-06-30")};
  const auto a = expand(defs, season), b = expand(*loaded.definitions, season);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].original, b[i].original);
    EXPECT_EQ(a[i].start, b[i].start);
    EXPECT_EQ(a[i].status, b[i].status);
    EXPECT_EQ(a[i].reason, b[i].reason);
  }
}

TEST(Store, ImportingTheSameDefinitionsAgainChangesNothing) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const auto version = store->data_version();
  auto again = store->import_definitions(fixture(), as("ana"));
  EXPECT_FALSE(again.changed);
  EXPECT_NE(again.summary.find("no changes"), std::string::npos);
  EXPECT_EQ(store->data_version(), version);
  EXPECT_EQ(store->history().size(), 1u);
}

TEST(Store, ReimportOfAnEditedFileUpdatesInPlaceAndKeepsIdentity) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const Revision created = store->series_revision("bh-monthly");
  f.clock.advance(std::chrono::hours{24});
  Definitions edited = fixture();
  edited.communities[1].series[0].title = "Behavioral Health Community of Practice";
  auto r = store->import_definitions(edited, as("ana"));
  ASSERT_TRUE(r.changed);
  const Revision after = store->series_revision("bh-monthly");
  EXPECT_GT(after.sequence, created.sequence);
  EXPECT_EQ(after.modified, at("2027-02-02T09:00:00Z"));
  EXPECT_EQ(sql_one(f.path, "SELECT created FROM series WHERE id = 'bh-monthly'"),
            std::to_string(at("2027-02-01T09:00:00Z").time_since_epoch().count()));
  // Every session in the window changed title, so each has a new revision.
  EXPECT_EQ(store->occurrence_revision("bh-monthly", lt("2027-03-18T13:00")).sequence, 1u);
  EXPECT_EQ(store->occurrence_revision("power-hour", lt("2027-03-03T15:00")).sequence, 0u);
  EXPECT_EQ(to_json(*store->load().definitions), to_json(edited));
}

TEST(Store, ExportImportExportIsLossless) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  store->cancel("power-hour", lt("2027-03-03T15:00"), as("ana", "Testing week"));
  const auto exported = store->export_json().dump(2);
  testing::write_file(f.dir / "exported.json", exported);
  auto reloaded = load_definitions((f.dir / "exported.json").string());
  ASSERT_TRUE(reloaded.ok());
  StoreOptions o;
  o.path = (f.dir / "second.db").string();
  o.clock = &f.clock;
  auto second = Store::open(o);
  second->import_definitions(*reloaded.definitions, as("ana"));
  EXPECT_EQ(second->export_json().dump(2), exported);
  EXPECT_FALSE(store->import_definitions(*reloaded.definitions, as("ana")).changed);
}

TEST(Store, RescheduleMovesTheSessionRecordsAuditAndRevision) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  f.clock.advance(std::chrono::minutes{5});
  auto r = store->reschedule("mentoring-monday", lt("2027-02-08T16:00"), lt("2027-02-09T16:00"),
                             Seconds{5400}, as("ana", "Snow forecast"));
  ASSERT_TRUE(r.changed);
  ASSERT_EQ(r.affected.size(), 1u);
  EXPECT_EQ(r.affected[0], (AffectedOccurrence{"mentoring-monday", lt("2027-02-08T16:00"), 1}));
  const Revision rev = store->occurrence_revision("mentoring-monday", lt("2027-02-08T16:00"));
  EXPECT_EQ(rev.sequence, 1u);
  EXPECT_EQ(rev.modified, at("2027-02-01T09:05:00Z"));
  auto defs = store->load();
  const auto all = expand(*defs.definitions, {*parse_date("2027-02-01"), *parse_date("2027-02-28")});
  const Occurrence* o = find(all, "mentoring-monday", lt("2027-02-08T16:00"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, OccurrenceStatus::moved);
  EXPECT_EQ(o->reason, "Snow forecast");
  EXPECT_EQ(*o->end - *o->start, Seconds{5400});
  auto history = store->history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].actor, "ana");
  EXPECT_EQ(history[1].action, "reschedule");
  EXPECT_EQ(history[1].reason, "Snow forecast");
  EXPECT_EQ(history[1].at, at("2027-02-01T09:05:00Z"));
  EXPECT_EQ(history[1].before, "null");
  EXPECT_EQ(nlohmann::json::parse(history[1].after)["move_to"], "2027-02-09T16:00");
  EXPECT_EQ(history[1].affected.size(), 1u);
}

TEST(Store, RevisionsOnlyIncrease) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const LocalTime t = lt("2027-04-07T15:00");
  std::uint64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    store->cancel("power-hour", t, as("ana"));
    const auto a = store->occurrence_revision("power-hour", t).sequence;
    EXPECT_GT(a, last);
    store->restore("power-hour", t, as("ana"));
    const auto b = store->occurrence_revision("power-hour", t).sequence;
    EXPECT_GT(b, a);
    last = b;
  }
  // Removing the series and importing it again continues its numbers.
  Definitions without = fixture();
  without.communities[0].series.pop_back();
  store->import_definitions(without, as("ana"));
  const auto removed = store->series_revision("power-hour").sequence;
  store->import_definitions(fixture(), as("ana"));
  EXPECT_GT(store->series_revision("power-hour").sequence, removed);
}

TEST(Store, RevisionSourceReadsThroughTheStore) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  store->cancel("power-hour", lt("2027-04-07T15:00"), as("ana"));
  RevisionSource source = store->revisions();
  EXPECT_EQ(source.occurrence("power-hour", lt("2027-04-07T15:00")).sequence, 1u);
  // It took place before the cancel: feeds keep it, as cancelled.
  EXPECT_TRUE(source.occurrence("power-hour", lt("2027-04-07T15:00")).was_live);
  EXPECT_EQ(source.occurrence("power-hour", lt("2027-04-14T15:00")).sequence, 0u);
  // The cancelled session is shown as a cancelled override (the community shows
  // cancellations), not as an EXDATE of the master: what the master shows is unchanged.
  EXPECT_EQ(source.series("power-hour").sequence, 0u);
  EXPECT_EQ(source.series("bh-monthly").sequence, 0u);
  EXPECT_EQ(source.series("bh-monthly").modified, at("2027-02-01T09:00:00Z"));
  // The series' last change moved, and the snapshot reads the same.
  EXPECT_GT(source.last_change("power-hour").id, source.last_change("bh-monthly").id);
  const StoreSnapshot snap = store->snapshot();
  ASSERT_TRUE(snap.definitions.ok());
  EXPECT_EQ(snap.revisions.occurrence("power-hour", lt("2027-04-07T15:00")),
            source.occurrence("power-hour", lt("2027-04-07T15:00")));
  EXPECT_EQ(snap.revisions.series("power-hour"), source.series("power-hour"));
  EXPECT_EQ(snap.revisions.last_change("power-hour"), source.last_change("power-hour"));
  EXPECT_EQ(snap.data_version, store->data_version());
}

TEST(Store, DataVersionIncreasesWithEveryChange) {
  Fixture f;
  auto store = f.open();
  const auto v0 = store->data_version();
  store->import_definitions(fixture(), as("ana"));
  const auto v1 = store->data_version();
  store->cancel("power-hour", lt("2027-04-07T15:00"), as("ana"));
  const auto v2 = store->data_version();
  MemberSpec m;
  m.id = "ana";
  m.email = "ana@example.org";
  store->add_member(m, as("ana"));
  EXPECT_LT(v0, v1);
  EXPECT_LT(v1, v2);
  EXPECT_LT(v2, store->data_version());
}

TEST(Store, MoveOntoAnExistingOccurrenceIsRefusedAndNothingStored) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const auto version = store->data_version();
  const auto message = message_of([&] {
    store->reschedule("power-hour", lt("2027-03-03T15:00"), lt("2027-03-10T15:00"), std::nullopt, as("ana"));
  });
  EXPECT_NE(message.find("2027-03-10T15:00"), std::string::npos) << message;
  EXPECT_NE(message.find("already has a session"), std::string::npos) << message;
  EXPECT_EQ(kind_of([&] {
              store->reschedule("power-hour", lt("2027-03-03T15:00"), lt("2027-03-10T15:00"), std::nullopt,
                                as("ana"));
            }),
            StoreError::Kind::overlap);
  EXPECT_EQ(store->data_version(), version);
  EXPECT_EQ(store->history().size(), 1u);
}

TEST(Store, UnknownSeriesAndOccurrenceAreRefusedWithSuggestions) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const auto series = message_of([&] { store->cancel("power-hr", lt("2027-03-03T15:00"), as("ana")); });
  EXPECT_NE(series.find("did you mean \"power-hour\""), std::string::npos) << series;
  const auto occurrence = message_of([&] { store->cancel("power-hour", lt("2027-03-04T15:00"), as("ana")); });
  EXPECT_NE(occurrence.find("has no occurrence at 2027-03-04T15:00"), std::string::npos) << occurrence;
  EXPECT_NE(occurrence.find("2027-03-03T15:00 and 2027-03-10T15:00"), std::string::npos) << occurrence;
  EXPECT_EQ(kind_of([&] { store->cancel("power-hour", lt("2027-03-04T15:00"), as("ana")); }),
            StoreError::Kind::invalid);
  EXPECT_EQ(store->history().size(), 1u);
}

TEST(Store, StaleExpectedRevisionIsAConflict) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  store->cancel("power-hour", lt("2027-04-07T15:00"), as("bob"));
  ChangeContext stale = as("ana");
  stale.expect_revision = 0;
  const auto message = message_of([&] { store->restore("power-hour", lt("2027-04-07T15:00"), stale); });
  EXPECT_NE(message.find("was changed by bob at 2027-02-01T09:00:00Z"), std::string::npos) << message;
  EXPECT_EQ(kind_of([&] { store->restore("power-hour", lt("2027-04-07T15:00"), stale); }),
            StoreError::Kind::conflict);
  stale.expect_revision = 1;
  EXPECT_TRUE(store->restore("power-hour", lt("2027-04-07T15:00"), stale).changed);
}

TEST(Store, EditChangesOneSessionsDetails) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  OccurrenceEdit e;
  e.title = "Asthma action plans";
  e.presenter = "Dr. Lee";
  e.agenda = "1. Plans 2. Q&A";
  e.resources = std::vector<Resource>{{"Slides", "https://example.org/slides.pdf"}};
  ASSERT_TRUE(store->edit("mentoring-monday", lt("2027-04-12T16:00"), e, as("ana")).changed);
  EXPECT_FALSE(store->edit("mentoring-monday", lt("2027-04-12T16:00"), e, as("ana")).changed);
  auto defs = *store->load().definitions;
  const auto all = expand(defs, {*parse_date("2027-04-01"), *parse_date("2027-04-30")});
  const Occurrence* o = find(all, "mentoring-monday", lt("2027-04-12T16:00"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->title(), "Asthma action plans");
  EXPECT_EQ(o->override_def->presenter, "Dr. Lee");
  EXPECT_EQ(o->override_def->resources.size(), 1u);
  OccurrenceEdit clear;
  clear.title = "";
  store->edit("mentoring-monday", lt("2027-04-12T16:00"), clear, as("ana"));
  defs = *store->load().definitions;
  EXPECT_FALSE(defs.overrides.back().title.has_value());
}

TEST(Store, CloseAddsAClosureEveryObservingSeriesFollows) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  Closure snow{"Snow day", *parse_date("2027-03-17"), *parse_date("2027-03-18")};
  auto r = store->close("dc", snow, as("ana", "Snow emergency"));
  ASSERT_TRUE(r.changed);
  // power-hour (Wed 17th) is skipped; bh-monthly (Thu 18th, third Thursday) skipped too.
  std::set<std::string> series;
  for (const auto& a : r.affected) series.insert(a.series);
  EXPECT_EQ(series, (std::set<std::string>{"bh-monthly", "power-hour"}));
  auto defs = *store->load().definitions;
  const auto all = expand(defs, {*parse_date("2027-03-01"), *parse_date("2027-03-31")});
  const Occurrence* o = find(all, "power-hour", lt("2027-03-17T15:00"));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, OccurrenceStatus::skipped);
  EXPECT_NE(o->reason.find("Snow day"), std::string::npos);
  EXPECT_FALSE(store->close("dc", snow, as("ana")).changed);
  EXPECT_EQ(kind_of([&] { store->close("dcc", snow, as("ana")); }), StoreError::Kind::invalid);
  EXPECT_EQ(store->history(HistoryQuery{std::string("power-hour"), std::nullopt}).back().action, "close");
}

TEST(Store, ReopenRemovesTheClosureAndTheSessionsReturn) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  const Window march{*parse_date("2027-03-01"), *parse_date("2027-03-31")};
  const auto original = expand(*store->load().definitions, march);
  Closure snow{"Snow day", *parse_date("2027-03-17"), *parse_date("2027-03-18")};
  store->close("dc", snow, as("ana", "Snow emergency"));
  const auto closed_revision = store->occurrence_revision("power-hour", lt("2027-03-17T15:00"));
  // Only the exact range written can be reopened; the message lists what there is.
  const auto message = message_of([&] {
    store->reopen("dc", *parse_date("2027-03-17"), *parse_date("2027-03-17"), as("ben"));
  });
  EXPECT_NE(message.find("no closure of exactly 2027-03-17"), std::string::npos) << message;
  EXPECT_NE(message.find("2027-03-17 to 2027-03-18 (Snow day)"), std::string::npos) << message;
  auto r = store->reopen("dc", snow.from, snow.to, as("ben", "The roads are clear"));
  ASSERT_TRUE(r.changed);
  std::set<std::string> series;
  for (const auto& a : r.affected) series.insert(a.series);
  EXPECT_EQ(series, (std::set<std::string>{"bh-monthly", "power-hour"}));
  // The season is as before the closure, and the sessions that moved twice are at a new
  // revision (SEQUENCE only increases).
  const auto reopened = expand(*store->load().definitions, march);
  ASSERT_EQ(reopened.size(), original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(reopened[i].original, original[i].original);
    EXPECT_EQ(reopened[i].status, original[i].status);
    EXPECT_EQ(reopened[i].start, original[i].start);
  }
  EXPECT_GT(store->occurrence_revision("power-hour", lt("2027-03-17T15:00")).sequence,
            closed_revision.sequence);
  const auto last = store->history().back();
  EXPECT_EQ(last.action, "reopen");
  EXPECT_EQ(last.actor, "ben");
  EXPECT_EQ(kind_of([&] { store->reopen("dc", snow.from, snow.to, as("ben")); }), StoreError::Kind::invalid);
  EXPECT_EQ(kind_of([&] { store->reopen("dcc", snow.from, snow.to, as("ben")); }), StoreError::Kind::invalid);
}

TEST(Store, SplitEndsTheSeriesAndContinuesItWithARelatedIdentity) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  store->cancel("power-hour", lt("2027-02-24T15:00"), as("ana"));
  store->cancel("power-hour", lt("2027-03-10T15:00"), as("ana"));
  SplitSpec spec;
  spec.from = *parse_date("2027-03-01");
  spec.time_of_day = Seconds{15 * 3600 + 30 * 60};
  auto r = store->split("power-hour", spec, as("ana", "New time from March"));
  ASSERT_TRUE(r.changed);
  auto defs = *store->load().definitions;
  auto [c, next] = defs.find_series("power-hour-from-2027-03-01");
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->continues, "power-hour");
  EXPECT_EQ(next->start, lt("2027-03-03T15:30"));
  const auto all = expand(defs, {*parse_date("2027-02-01"), *parse_date("2027-03-31")});
  // Before the split: untouched, cancel included.
  EXPECT_EQ(find(all, "power-hour", lt("2027-02-24T15:00"))->status, OccurrenceStatus::cancelled);
  EXPECT_EQ(find(all, "power-hour", lt("2027-03-03T15:00")), nullptr);
  EXPECT_NE(find(all, "power-hour-from-2027-03-01", lt("2027-03-03T15:30")), nullptr);
  // The cancel at 15:00 on 10 March has no occurrence in the new series (15:30): dropped.
  const auto record = store->history().back();
  EXPECT_EQ(record.action, "split");
  EXPECT_NE(record.after.find("dropped_overrides"), std::string::npos);
  EXPECT_GT(store->occurrence_revision("power-hour", lt("2027-03-03T15:00")).sequence, 0u);
  EXPECT_EQ(kind_of([&] { store->split("power-hour", spec, as("ana")); }), StoreError::Kind::invalid);
}

TEST(Store, OlderSchemaIsMigratedOnOpen) {
  Fixture f;
  {
    store_internal::Connection db(f.path, true, false, 1000);
    store_internal::migrate(db, 1);
    db.exec(
        "INSERT INTO calendars VALUES ('dc', 0, 'us-dc', NULL);"
        "INSERT INTO communities VALUES ('nurses', 0, 'Nurses', NULL, 'America/New_York', '[\"dc\"]', 62);"
        "INSERT INTO series (id, community, position, title, start, duration, rrule, on_holiday, created) "
        "VALUES ('mm', 'nurses', 0, 'Mentoring Monday', '2026-09-14T16:00', 3600, 'FREQ=MONTHLY;BYDAY=2MO', "
        "'following', 0);");
  }
  EXPECT_EQ(sql_one(f.path, "PRAGMA user_version"), "1");
  auto store = f.open();
  EXPECT_EQ(store->schema_version(), Store::kSchemaVersion);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.definitions->communities[0].series[0].title, "Mentoring Monday");
  MemberSpec m;
  m.id = "ana";
  m.email = "ana@example.org";
  EXPECT_NO_THROW(store->add_member(m, as("ana")));
}

TEST(Store, NewerSchemaIsRefusedAndLeftUntouched) {
  Fixture f;
  {
    auto store = f.open();
    store->import_definitions(fixture(), as("ana"));
  }
  {
    store_internal::Connection db(f.path, false, false, 1000);
    db.exec("PRAGMA user_version = 99");
  }
  const std::string before = testing::read_file(f.path);
  const auto message = message_of([&] { f.open(); });
  EXPECT_NE(message.find("schema version 99, newer than this convene knows"), std::string::npos) << message;
  EXPECT_EQ(kind_of([&] { f.open(); }), StoreError::Kind::newer_schema);
  EXPECT_EQ(testing::read_file(f.path), before);
}

TEST(Store, CorruptAndForeignFilesAreRefused) {
  Fixture f;
  testing::write_file(f.path, "this is not a database, it is a shopping list\n");
  EXPECT_EQ(kind_of([&] { f.open(); }), StoreError::Kind::corrupt);
  EXPECT_EQ(testing::read_file(f.path), "this is not a database, it is a shopping list\n");
  const std::string other = (f.dir / "other.db").string();
  {
    store_internal::Connection db(other, true, false, 1000);
    db.exec("CREATE TABLE recipes (name TEXT)");
  }
  StoreOptions o;
  o.path = other;
  EXPECT_NE(message_of([&] { Store::open(o); }).find("not a convene store"), std::string::npos);
}

TEST(Store, MissingFileIsNotCreatedWhenCreateIsOff) {
  Fixture f;
  StoreOptions o;
  o.path = f.path;
  o.create = false;
  EXPECT_EQ(kind_of([&] { Store::open(o); }), StoreError::Kind::not_found);
  EXPECT_FALSE(std::filesystem::exists(f.path));
}

TEST(Store, ReadOnlyFileServesReadsAndRefusesChanges) {
  Fixture f;
  {
    auto store = f.open();
    store->import_definitions(fixture(), as("ana"));
  }
  ::chmod(f.path.c_str(), 0444);
  auto store = f.open();
  EXPECT_TRUE(store->read_only());
  EXPECT_TRUE(store->load().ok());
  EXPECT_EQ(kind_of([&] { store->cancel("power-hour", lt("2027-03-03T15:00"), as("ana")); }),
            StoreError::Kind::read_only);
  ::chmod(f.path.c_str(), 0644);
}

TEST(StoreMembers, TokensFindTheirMemberAndRotationRevokes) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  MemberSpec spec;
  spec.id = "rosa";
  spec.name = "Rosa Diaz";
  spec.email = "rosa@example.org";
  spec.timezone = "America/Chicago";
  spec.reminders = {{Seconds{900}, Seconds{86400}}, "none"};
  const auto issued = store->add_member(spec, as("ana"));
  EXPECT_EQ(issued.token.size(), 43u);
  auto found = store->find_member_by_token(issued.token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, "rosa");
  EXPECT_EQ(found->timezone, "America/Chicago");
  EXPECT_NE(found->zone, nullptr);
  EXPECT_EQ(found->reminders.offsets, (std::vector<Seconds>{Seconds{900}, Seconds{86400}}));
  EXPECT_EQ(found->reminders.channel, "none");
  // A token one character off (regression: this test once appended "A", which was the
  // token itself whenever its last character was already "A", one run in 64).
  std::string off_by_one = issued.token;
  off_by_one.back() = off_by_one.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(store->find_member_by_token(off_by_one));
  EXPECT_FALSE(store->find_member_by_token(""));
  // Only a hash is stored.
  EXPECT_EQ(sql_one(f.path, "SELECT count(*) FROM member_tokens WHERE instr(hash, '" + issued.token + "') > 0"), "0");
  EXPECT_EQ(sql_one(f.path, "SELECT length(hash) FROM member_tokens"), "32");
  const auto rotated = store->rotate_token("rosa", as("ana"));
  EXPECT_NE(rotated.token, issued.token);
  EXPECT_FALSE(store->find_member_by_token(issued.token));
  EXPECT_EQ(store->find_member_by_token(rotated.token)->id, "rosa");
  store->remove_member("rosa", as("ana"));
  EXPECT_FALSE(store->find_member_by_token(rotated.token));
}

TEST(StoreMembers, SubscriptionsDirectAndThroughACommunity) {
  Fixture f;
  auto store = f.open();
  store->import_definitions(fixture(), as("ana"));
  MemberSpec spec;
  spec.id = "rosa";
  spec.email = "rosa@example.org";
  store->add_member(spec, as("ana"));
  EXPECT_TRUE(store->subscribe("rosa", {Subscription::Kind::series, "bh-monthly"}, as("ana")));
  EXPECT_TRUE(store->subscribe("rosa", {Subscription::Kind::community, "nurses"}, as("ana")));
  EXPECT_FALSE(store->subscribe("rosa", {Subscription::Kind::community, "nurses"}, as("ana")));
  EXPECT_EQ(store->subscribed_series("rosa"),
            (std::vector<std::string>{"mentoring-monday", "power-hour", "bh-monthly"}));
  EXPECT_EQ(kind_of([&] { store->subscribe("rosa", {Subscription::Kind::series, "nope"}, as("ana")); }),
            StoreError::Kind::invalid);
  EXPECT_EQ(kind_of([&] { store->subscribe("nobody", {Subscription::Kind::series, "bh-monthly"}, as("ana")); }),
            StoreError::Kind::invalid);
  EXPECT_TRUE(store->unsubscribe("rosa", {Subscription::Kind::community, "nurses"}, as("ana")));
  EXPECT_EQ(store->subscribed_series("rosa"), (std::vector<std::string>{"bh-monthly"}));
}

TEST(StoreMembers, BadDetailsAreRefused) {
  Fixture f;
  auto store = f.open();
  MemberSpec spec;
  spec.id = "rosa";
  spec.email = "rosa@example.org";
  spec.timezone = "America/New_Yrok";
  EXPECT_NE(message_of([&] { store->add_member(spec, as("ana")); }).find("America/New_York"), std::string::npos);
  spec.timezone.reset();
  spec.reminders.channel = "pigeon";
  EXPECT_EQ(kind_of([&] { store->add_member(spec, as("ana")); }), StoreError::Kind::invalid);
  spec.reminders.channel = "email";
  spec.email = "not-an-address";
  EXPECT_EQ(kind_of([&] { store->add_member(spec, as("ana")); }), StoreError::Kind::invalid);
  EXPECT_TRUE(store->members().empty());
}

}  // namespace
}  // namespace convene
