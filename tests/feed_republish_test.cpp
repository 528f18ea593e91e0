// Re-publishing after a change: what a subscribed calendar client needs to update itself
// and nothing else.
//
// With the real CLI on a store (convene import of the 2026-27 samples, CONVENE_NOW pinning
// the store's clock, CONVENE_TODAY the feeds' horizon), every feed is published, then
// each change a facilitator makes (reschedule, cancel, a snow-day closure) is made and
// everything re-published. After each change, event by event in every feed:
//   - every feed file is still there, and every UID of every feed is kept;
//   - an event whose content changed (or that is new) has a higher SEQUENCE and a later
//     DTSTAMP, and that SEQUENCE is the store's revision: of its series for a master, of
//     its occurrence (convene history's "affected") for an override or expanded event;
//   - every other event is byte-identical (no SEQUENCE raised for nothing);
// and re-publishing without a change writes byte-identical files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "convene/time.h"
#include "feed_events.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace convene::testing;
using namespace convene::testing::feeds;

namespace {

class FeedRepublish : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = store_cli({"import", (source_dir() / "samples" / "communities-2026-27.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // A store verb at the next pinned minute (each change gets its own DTSTAMP).
  RunResult store_cli(std::vector<std::string> args) {
    args.push_back("--db");
    args.push_back(db_.string());
    char now[32];
    std::snprintf(now, sizeof now, "2026-09-01T12:%02d:00Z", minute_++);
    return run_cli(args, "", {{"CONVENE_NOW", now}});
  }

  Published publish() {
    const fs::path out = dir_ / ("published-" + std::to_string(publications_++));
    auto r = run_cli({"publish", "--store", db_.string(), "--out", out.string(), "--reminder", "PT15M"}, "",
                     {{"CONVENE_TODAY", "2026-09-01"}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_tree(out);
  }

  std::map<std::string, std::uint64_t> series_revisions() {
    auto store = convene::Store::open({.path = db_.string(), .clock = nullptr, .create = false});
    std::map<std::string, std::uint64_t> out;
    auto loaded = store->load();
    EXPECT_TRUE(loaded.ok());
    for (const auto& c : loaded.definitions->communities)
      for (const auto& s : c.series) out[s.id] = store->series_revision(s.id).sequence;
    return out;
  }

  // The occurrences the last change affected, with their new revision (convene history).
  std::map<std::pair<std::string, std::string>, std::uint64_t> last_affected() {
    auto r = run_cli({"history", "--db", db_.string(), "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto records = nlohmann::json::parse(r.out);
    std::map<std::pair<std::string, std::string>, std::uint64_t> out;
    if (records.empty()) return out;
    // The most recent record: the highest id.
    const nlohmann::json* last = &records[0];
    for (const auto& rec : records)
      if (rec["id"].get<std::uint64_t>() > (*last)["id"].get<std::uint64_t>()) last = &rec;
    for (const auto& a : (*last)["affected"]) out[{a["series"], a["occurrence"]}] = a["revision"];
    return out;
  }

  // Makes `change` and checks the re-published feeds against `before`; returns them.
  Published change_and_check(const std::vector<std::string>& change, const Published& before,
                             std::size_t* touched_events = nullptr) {
    const auto series_before = series_revisions();
    auto r = store_cli(change);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto series_after = series_revisions();
    const auto affected = last_affected();
    EXPECT_FALSE(affected.empty()) << "the change affected no session: " << r.out;
    for (const auto& [id, seq] : series_after) EXPECT_GE(seq, series_before.at(id)) << id;

    const Published after = publish();
    EXPECT_EQ(after.size(), before.size());
    const Comparison diff = compare(before, after);
    for (const auto& id : diff.changed) {
      if (id.second.empty()) {
        EXPECT_GT(series_after.at(id.first), series_before.at(id.first))
            << id.first << ": its master changed but the store did not raise the series' revision";
        EXPECT_EQ(diff.sequence.at(id), series_after.at(id.first)) << id.first << ": SEQUENCE is not the store's";
      } else {
        auto it = affected.find(id);
        EXPECT_NE(it, affected.end()) << id.first << " " << id.second << ": its event changed, but the store "
                                      << "did not list it among the affected sessions";
        if (it != affected.end()) EXPECT_EQ(diff.sequence.at(id), it->second) << id.first << " " << id.second;
      }
    }
    for (const auto& id : diff.gone)
      EXPECT_TRUE(affected.count(id)) << "event removed although the change did not affect it: " << id.first << " "
                                      << id.second;
    // Every affected occurrence shows its change in some feed (its expanded event or
    // override), unless it takes place in none (a session that was never published).
    std::size_t shown = 0;
    for (const auto& [id, seq] : affected) shown += diff.changed.count(id) + diff.gone.count(id);
    EXPECT_GT(shown, 0u);
    EXPECT_GT(diff.changed_events, 0u);
    if (touched_events) *touched_events = diff.changed_events;
    // Re-publishing without a change: the same bytes.
    const Published again = publish();
    EXPECT_TRUE(again == after) << "re-publishing without a change changed the bytes";
    return after;
  }

  TempDir dir_;
  fs::path db_ = dir_ / "convene.db";
  int minute_ = 0;
  int publications_ = 0;
};

TEST_F(FeedRepublish, WithoutAChangeTheBytesAreIdentical) {
  const Published first = publish();
  ASSERT_EQ(first.size(), 23u);  // 22 feeds and index.html
  const Published second = publish();
  EXPECT_TRUE(first == second);
}

TEST_F(FeedRepublish, RescheduleRaisesOnlyTheMovedSession) {
  const Published before = publish();
  const Published after =
      change_and_check({"reschedule", "power-hour", "2027-01-13T15:00", "--to", "2027-01-14T15:00"}, before);
  // The new override names the session by its original start, at revision 1 or more.
  const auto events = events_of(after.at("feeds/series/power-hour.ics"), "power-hour");
  auto it = events.find("power-hour@convene\tRECURRENCE-ID;TZID=America/New_York:20270113T150000");
  ASSERT_NE(it, events.end());
  EXPECT_NE(it->second.bytes.find("DTSTART;TZID=America/New_York:20270114T150000"), std::string::npos);
}

// A cancelled session stays in members' calendars, as cancelled, with its reason: a
// RECURRENCE-ID override (not an EXDATE, so the master keeps its bytes) and, in the
// expanded feed, its own event with STATUS:CANCELLED and no reminder.
TEST_F(FeedRepublish, CancelShowsTheSessionAsCancelledWithItsReason) {
  const Published before = publish();
  const Published after =
      change_and_check({"cancel", "slc-biweekly", "2026-10-22T14:00", "--reason", "Staff development day"}, before);
  const auto events = events_of(after.at("feeds/series/slc-biweekly.ics"), "slc-biweekly");
  const auto& master = events.at("slc-biweekly@convene\t");
  EXPECT_EQ(unfold(master.bytes).find("20261022T140000"), std::string::npos) << master.bytes;
  EXPECT_EQ(master.bytes, events_of(before.at("feeds/series/slc-biweekly.ics"), "before").at("slc-biweekly@convene\t").bytes);
  const auto& session = events.at("slc-biweekly@convene\tRECURRENCE-ID;TZID=America/New_York:20261022T140000");
  EXPECT_EQ(session.status, "CANCELLED");
  EXPECT_EQ(session.summary.rfind("Cancelled: ", 0), 0u) << session.summary;
  EXPECT_NE(session.summary.find("(Staff development day)"), std::string::npos) << session.summary;
  EXPECT_NE(session.bytes.find("DTSTART;TZID=America/New_York:20261022T140000\r\n"), std::string::npos);
  EXPECT_NE(session.bytes.find("TRANSP:TRANSPARENT\r\n"), std::string::npos);
  EXPECT_EQ(session.bytes.find("BEGIN:VALARM"), std::string::npos);
  EXPECT_EQ(session.sequence, 1u);
  // In the expanded feed the session keeps its UID, now cancelled, without its reminder.
  const auto expanded = events_of(after.at("feeds/expanded/series/slc-biweekly.ics"), "expanded slc-biweekly");
  const auto& event = expanded.at("slc-biweekly-20261022T1400@convene\t");
  EXPECT_EQ(event.sequence, 1u);
  EXPECT_EQ(event.status, "CANCELLED");
  EXPECT_NE(event.bytes.find("DTSTART;TZID=America/New_York:20261022T140000\r\n"), std::string::npos);
  EXPECT_EQ(event.bytes.find("BEGIN:VALARM"), std::string::npos);
}

TEST_F(FeedRepublish, SnowDayClosureRaisesEveryShiftedSession) {
  const Published before = publish();
  std::size_t touched = 0;
  change_and_check({"close", "us-dc", "2027-02-10", "--to", "2027-02-11", "--name", "Snow day"}, before, &touched);
  EXPECT_GE(touched, 2u);
}

TEST_F(FeedRepublish, ChangesOneAfterAnotherKeepEveryUid) {
  Published feeds = publish();
  feeds = change_and_check({"reschedule", "mentoring-monday", "2026-10-19T16:00", "--to", "2026-10-20T16:00"}, feeds);
  feeds = change_and_check({"cancel", "mentoring-monday", "2026-10-19T16:00"}, feeds);
  feeds = change_and_check({"close", "us-dc", "2026-11-20", "--name", "Snow day"}, feeds);
  feeds = change_and_check({"reschedule", "dc-cop-monthly", "2027-03-19T10:00", "--to", "2027-03-18T10:00"}, feeds);
}

}  // namespace
