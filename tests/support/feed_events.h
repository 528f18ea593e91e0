// Reading published feeds event by event, and comparing two publications the way a
// subscribed calendar client sees them: what changed, and whether SEQUENCE and DTSTAMP
// say so. Header-only; used by the feed tests that re-publish after a change.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "test_support.h"

namespace convene::testing::feeds {

// One top-level VEVENT of a feed: its bytes (BEGIN:VEVENT to END:VEVENT, VALARMs
// included) and what identifies and versions it.
struct Event {
  std::string uid;
  std::string recurrence_id;  // the unfolded RECURRENCE-ID line, or empty for a master
  std::uint64_t sequence = 0;
  std::string dtstamp;        // "20260901T120000Z"
  std::string status;         // STATUS value
  std::string summary;
  std::string bytes;
  std::string content;        // the unfolded lines without DTSTAMP, LAST-MODIFIED, SEQUENCE
};

// Feed file (relative path) -> its events by "UID \t RECURRENCE-ID".
using Events = std::map<std::string, Event>;
using Published = std::map<std::string, std::string>;  // relative path -> bytes
// What the store calls an event: {series, ""} for a master, {series, "YYYY-MM-DDTHH:MM"}
// for an occurrence's override or expanded event.
using Identity = std::pair<std::string, std::string>;

inline std::string unfold(const std::string& text) {
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

inline Events events_of(const std::string& feed, const std::string& file) {
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
      const bool top = depth == 1;
      if (line.rfind("END:", 0) == 0) --depth;
      const bool versioning = top && (line.rfind("DTSTAMP:", 0) == 0 || line.rfind("LAST-MODIFIED:", 0) == 0 ||
                                      line.rfind("SEQUENCE:", 0) == 0);
      if (!versioning) e.content += line + "\n";
      if (!top) continue;  // inside a VALARM
      if (line.rfind("UID:", 0) == 0) e.uid = line.substr(4);
      if (line.rfind("RECURRENCE-ID", 0) == 0) e.recurrence_id = line;
      if (line.rfind("SEQUENCE:", 0) == 0) e.sequence = std::stoull(line.substr(9));
      if (line.rfind("DTSTAMP:", 0) == 0) e.dtstamp = line.substr(8);
      if (line.rfind("STATUS:", 0) == 0) e.status = line.substr(7);
      if (line.rfind("SUMMARY:", 0) == 0) e.summary = line.substr(8);
    }
    const std::string key = e.uid + "\t" + e.recurrence_id;
    EXPECT_EQ(out.count(key), 0u) << file << ": two VEVENTs " << key;
    out[key] = std::move(e);
    pos = end;
  }
  return out;
}

// "RECURRENCE-ID;TZID=America/New_York:20270113T150000" -> "2027-01-13T15:00".
inline std::string occurrence_of_recurrence_id(const std::string& line) {
  const std::string v = line.substr(line.rfind(':') + 1);
  return v.substr(0, 4) + "-" + v.substr(4, 2) + "-" + v.substr(6, 2) + "T" + v.substr(9, 2) + ":" + v.substr(11, 2);
}

inline Identity identity(const Event& e, bool expanded) {
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

inline bool is_expanded(const std::string& file) { return file.find("expanded/") != std::string::npos; }

inline Published read_tree(const std::filesystem::path& dir) {
  Published files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file())
      files[std::filesystem::relative(entry.path(), dir).string()] = read_file(entry.path());
  return files;
}

// What changed between two publications.
struct Comparison {
  std::set<Identity> changed;       // events (masters and occurrences) whose content changed, or new
  std::set<Identity> gone;          // events no longer there
  std::map<Identity, std::uint64_t> sequence;  // the new SEQUENCE of each changed one
  std::size_t changed_events = 0;   // counted per feed file
  std::size_t unchanged_events = 0;
};

// Compares event by event, in every .ics file of both: an event whose content changed
// (or that is new) has a higher SEQUENCE (new: above 0) and a later DTSTAMP; every other
// event is byte-identical. With `keep_uids`, every UID of a file is still in it.
inline Comparison compare(const Published& before, const Published& after, bool keep_uids = true) {
  Comparison out;
  for (const auto& [file, text] : before) {
    if (file.size() < 4 || file.substr(file.size() - 4) != ".ics") continue;
    SCOPED_TRACE(file);
    auto it = after.find(file);
    if (it == after.end()) {
      ADD_FAILURE() << "feed file gone after the change";
      continue;
    }
    const bool expanded = is_expanded(file);
    const Events old_events = events_of(text, file), new_events = events_of(it->second, file);
    if (keep_uids) {
      std::set<std::string> uids;
      for (const auto& [key, e] : new_events) uids.insert(e.uid);
      for (const auto& [key, e] : old_events) EXPECT_TRUE(uids.count(e.uid)) << "UID dropped: " << e.uid;
    }
    for (const auto& [key, e] : old_events)
      if (!new_events.count(key)) out.gone.insert(identity(e, expanded));
    for (const auto& [key, e] : new_events) {
      const Identity id = identity(e, expanded);
      auto old = old_events.find(key);
      if (old == old_events.end()) {
        EXPECT_GT(e.sequence, 0u) << key << ": a new event for an existing occurrence at SEQUENCE 0";
        out.changed.insert(id);
        out.sequence[id] = e.sequence;
        ++out.changed_events;
        continue;
      }
      EXPECT_GE(e.sequence, old->second.sequence) << key << ": SEQUENCE went down";
      if (e.content != old->second.content) {
        EXPECT_GT(e.sequence, old->second.sequence) << key << ": changed without a higher SEQUENCE:\n"
                                                    << old->second.content << "---\n" << e.content;
        EXPECT_GT(e.dtstamp, old->second.dtstamp) << key << ": changed without a later DTSTAMP";
        out.changed.insert(id);
        out.sequence[id] = e.sequence;
        ++out.changed_events;
      } else {
        EXPECT_EQ(e.bytes, old->second.bytes) << key << ": unchanged, but not byte-identical (SEQUENCE "
                                              << old->second.sequence << " -> " << e.sequence << ")";
        ++out.unchanged_events;
      }
    }
  }
  return out;
}

}  // namespace convene::testing::feeds
