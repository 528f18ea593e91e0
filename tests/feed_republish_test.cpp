// Re-publishing after a change: what a subscribed calendar client needs to update itself
// and nothing else.
//
// With the real CLI on a store (convene import of the 2026-27 samples, CONVENE_NOW pinning
// the store's clock, CONVENE_TODAY the feeds' horizon), every feed is published, then
// each change a facilitator makes (reschedule, cancel, a snow-day closure) is made and
// everything re-published. After each change:
//   - every feed file is still there, and every UID of every feed is kept;
//   - SEQUENCE rises on exactly the touched events: the master of each series whose
//     revision the store raised, the RECURRENCE-ID override (or expanded event) of each
//     occurrence the change affected (convene history's "affected"), and no other; it
//     is the store's revision, and never goes down;
//   - every other VEVENT is byte-identical, and any VEVENT whose bytes changed has a
//     higher SEQUENCE (a new EXDATE in a master, say, raises the master's);
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
#include "test_support.h"

namespace fs = std::filesystem;
using namespace convene::testing;

namespace {

// One VEVENT of a feed: its bytes (BEGIN:VEVENT to END:VEVENT, VALARMs included).
struct Event {
  std::string uid;
  std::string recurrence_id;  // the unfolded RECURRENCE-ID line, or empty for a master
  std::uint64_t sequence = 0;
  std::string bytes;
};

// Feed file (relative path) -> its events by "UID \t RECURRENCE-ID".
using Events = std::map<std::string, Event>;
using Published = std::map<std::string, std::string>;  // relative path -> bytes

std::string unfold(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\r\n ") == 0 || text.compare(i, 3, "\r\n\t") == 0) {
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

// The top-level VEVENTs of a feed, by key.
Events events_of(const std::string& feed, const std::string& file) {
  Events out;
  std::size_t pos = 0;
  while ((pos = feed.find("BEGIN:VEVENT\r\n", pos)) != std::string::npos) {
    const std::size_t end = feed.find("END:VEVENT\r\n", pos);
    EXPECT_NE(end, std::string::npos) << file;
    if (end == std::string::npos) break;
    Event e;
    e.bytes = feed.substr(pos, end + 12 - pos);
    std::istringstream lines(unfold(e.bytes));
    std::string line;
    int depth = 0;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("BEGIN:", 0) == 0) ++depth;
      if (line.rfind("END:", 0) == 0) --depth;
      if (depth != 1) continue;  // not inside a VALARM
      if (line.rfind("UID:", 0) == 0) e.uid = line.substr(4);
      if (line.rfind("RECURRENCE-ID", 0) == 0) e.recurrence_id = line;
      if (line.rfind("SEQUENCE:", 0) == 0) e.sequence = std::stoull(line.substr(9));
    }
    const std::string key = e.uid + "\t" + e.recurrence_id;
    EXPECT_EQ(out.count(key), 0u) << file << ": two VEVENTs " << key;
    out[key] = std::move(e);
    pos = end;
  }
  return out;
}

// "RECURRENCE-ID;TZID=America/New_York:20270113T150000" -> 2027-01-13T15:00.
std::string occurrence_of_recurrence_id(const std::string& line) {
  const std::string v = line.substr(line.rfind(':') + 1);
  return v.substr(0, 4) + "-" + v.substr(4, 2) + "-" + v.substr(6, 2) + "T" + v.substr(9, 2) + ":" + v.substr(11, 2);
}

// What an event is, as the store names it: {series, ""} for a master, {series,
// "YYYY-MM-DDTHH:MM"} for an occurrence's override or expanded event.
std::pair<std::string, std::string> identity(const Event& e, bool expanded) {
  std::string uid = e.uid.substr(0, e.uid.rfind('@'));
  if (expanded) {
    // "<series>-YYYYMMDDTHHMM"
    const std::string when = uid.substr(uid.rfind('-') + 1);
    return {uid.substr(0, uid.rfind('-')), when.substr(0, 4) + "-" + when.substr(4, 2) + "-" + when.substr(6, 2) +
                                               "T" + when.substr(9, 2) + ":" + when.substr(11, 2)};
  }
  if (e.recurrence_id.empty()) return {uid, ""};
  return {uid, occurrence_of_recurrence_id(e.recurrence_id)};
}

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
    Published files;
    for (const auto& entry : fs::recursive_directory_iterator(out))
      if (entry.is_regular_file()) files[fs::relative(entry.path(), out).string()] = read_file(entry.path());
    return files;
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
    std::set<std::string> touched_series;
    for (const auto& [id, seq] : series_after) {
      EXPECT_GE(seq, series_before.at(id)) << id;
      if (seq > series_before.at(id)) touched_series.insert(id);
    }
    for (const auto& [occurrence, seq] : affected)
      EXPECT_TRUE(touched_series.count(occurrence.first))
          << occurrence.first << " " << occurrence.second << " changed but its series' revision did not";

    const Published after = publish();
    EXPECT_EQ(after.size(), before.size());
    std::size_t touched = 0, raised_masters = 0;
    std::set<std::pair<std::string, std::string>> seen_affected;
    for (const auto& [file, text] : before) {
      if (file.size() < 4 || file.substr(file.size() - 4) != ".ics") continue;
      SCOPED_TRACE(file);
      auto it = after.find(file);
      if (it == after.end()) {
        ADD_FAILURE() << "feed file gone after the change";
        continue;
      }
      const bool expanded = file.find("expanded/") != std::string::npos;
      const Events old_events = events_of(text, file), new_events = events_of(it->second, file);
      // Every UID kept.
      std::set<std::string> old_uids, new_uids;
      for (const auto& [key, e] : old_events) old_uids.insert(e.uid);
      for (const auto& [key, e] : new_events) new_uids.insert(e.uid);
      for (const auto& uid : old_uids) EXPECT_TRUE(new_uids.count(uid)) << "UID dropped: " << uid;
      // An event gone (an override of a session now cancelled): its master must say so.
      for (const auto& [key, e] : old_events) {
        if (new_events.count(key)) continue;
        const auto id = identity(e, expanded);
        EXPECT_TRUE(affected.count(id)) << "event removed although the change did not affect it: " << key;
        EXPECT_TRUE(touched_series.count(id.first)) << "event removed without its master's SEQUENCE raised: " << key;
      }
      for (const auto& [key, e] : new_events) {
        const auto id = identity(e, expanded);
        const bool should_touch = id.second.empty() ? touched_series.count(id.first) > 0 : affected.count(id) > 0;
        const std::uint64_t store_seq =
            id.second.empty() ? series_after.at(id.first) : (affected.count(id) ? affected.at(id) : e.sequence);
        if (should_touch) {
          EXPECT_EQ(e.sequence, store_seq) << key << ": SEQUENCE is not the store's revision";
          if (!id.second.empty()) seen_affected.insert(id);
        }
        auto old = old_events.find(key);
        if (old == old_events.end()) {
          // A new override (a session now moved): a touched occurrence, above the revision 0
          // a client could have seen for it.
          EXPECT_TRUE(should_touch) << "new event for an occurrence the change did not affect: " << key;
          EXPECT_GT(e.sequence, 0u) << key;
          ++touched;
          continue;
        }
        EXPECT_GE(e.sequence, old->second.sequence) << key << ": SEQUENCE went down";
        if (should_touch) {
          ++touched;
          if (id.second.empty()) ++raised_masters;
          EXPECT_GT(e.sequence, old->second.sequence) << key << ": touched but SEQUENCE not raised";
        } else {
          EXPECT_EQ(e.bytes, old->second.bytes) << key << ": not touched by the change, but not byte-identical";
          EXPECT_EQ(e.sequence, old->second.sequence) << key << ": not touched, but SEQUENCE changed";
        }
        if (e.bytes != old->second.bytes)
          EXPECT_GT(e.sequence, old->second.sequence) << key << ": bytes changed without a higher SEQUENCE:\n"
                                                       << old->second.bytes << "\n---\n" << e.bytes;
      }
    }
    EXPECT_GT(touched, 0u);
    EXPECT_GT(raised_masters, 0u);
    // Each affected occurrence that is live appears, touched, in some feed (or is an
    // EXDATE of its raised master).
    if (touched_events) *touched_events = touched;
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

TEST_F(FeedRepublish, CancelAddsAnExdateAndRaisesTheMaster) {
  const Published before = publish();
  const Published after = change_and_check({"cancel", "slc-biweekly", "2026-10-22T14:00"}, before);
  const auto events = events_of(after.at("feeds/series/slc-biweekly.ics"), "slc-biweekly");
  const auto& master = events.at("slc-biweekly@convene\t");
  EXPECT_NE(unfold(master.bytes).find("EXDATE;TZID=America/New_York;X-CONVENE-STATUS=cancelled:20261022T140000"),
            std::string::npos);
  // In the expanded feed the session keeps its UID, now cancelled, without its reminder.
  const auto expanded = events_of(after.at("feeds/expanded/series/slc-biweekly.ics"), "expanded slc-biweekly");
  const auto& session = expanded.at("slc-biweekly-20261022T1400@convene\t");
  EXPECT_EQ(session.sequence, 1u);
  EXPECT_NE(session.bytes.find("STATUS:CANCELLED\r\n"), std::string::npos);
  EXPECT_NE(session.bytes.find("DTSTART;TZID=America/New_York:20261022T140000\r\n"), std::string::npos);
  EXPECT_EQ(session.bytes.find("BEGIN:VALARM"), std::string::npos);
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
  feeds = change_and_check({"close", "us-dc", "2026-11-19", "--name", "Snow day"}, feeds);
  feeds = change_and_check({"reschedule", "dc-cop-monthly", "2027-03-19T10:00", "--to", "2027-03-18T10:00"}, feeds);
}

}  // namespace
