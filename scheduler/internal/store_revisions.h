// Revisions in the store: what outputs show of each series and occurrence, and how a
// change moves them, by the rule of convene/change_detector.h (covered spans, one
// fingerprint comparison, revisions that only go up).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "convene/change_detector.h"
#include "convene/store.h"
#include "internal/store_sqlite.h"

namespace convene::store_internal {

// One row of the revisions table.
struct RevisionRow {
  std::uint64_t sequence = 0;
  Instant modified{};
  std::optional<std::uint64_t> audit;
  bool was_live = false;
  std::optional<Fingerprint> fingerprint;
};

// Everything stored about one series' revisions.
struct SeriesRevisions {
  std::optional<RevisionRow> master;
  std::optional<LocalDay> coverage;                // last original day with rows for all
  std::map<LocalTime, RevisionRow> occurrences;    // by original start
  Instant created{};                               // the series' `created`, if it exists
  LastChange last_change;                          // the highest audit id and time of its rows
};

SeriesRevisions read_series_revisions(Connection& db, std::string_view series);
// The series' own row, coverage and created, and only the row of `occurrence` (if
// given): what a point look-up needs.
SeriesRevisions read_series_head(Connection& db, std::string_view series, std::optional<LocalTime> occurrence);
// Every series' revisions at once (one read, for a consistent snapshot).
std::map<std::string, SeriesRevisions, std::less<>> read_all_revisions(Connection& db);

// What outputs show: the series' own revision; an occurrence's row when it is covered
// (the series' when it has none), else the higher of the series' and its row's.
Revision shown_series_revision(const SeriesRevisions& s);
Revision shown_occurrence_revision(const SeriesRevisions& s, LocalTime original);
// The audit id of the revision shown_occurrence_revision() gives.
std::optional<std::uint64_t> shown_occurrence_audit(const SeriesRevisions& s, LocalTime original);

// What a change does to the revisions, computed before anything is written (so an
// engine error, such as a move onto a held start, leaves the store untouched).
struct RevisionPlan {
  struct Row {
    std::string series;
    std::string occurrence;        // "" for the series itself
    RevisionRow value;
    bool raised = false;           // gets this change's audit id and time
    bool reported = false;         // listed among the affected sessions
  };
  std::vector<Row> rows;                                   // only rows that change
  std::map<std::string, std::optional<LocalDay>> coverage;  // nullopt: remove
  std::set<std::string> touched;                           // series with a raised revision
};

// Fingerprints every series whose definitions differ between `before` and `after` over
// its covered span (extended as the rule says, at `at`, around `named_days`) and plans
// the revisions. Throws the engine's Error when `after` does not expand.
RevisionPlan plan_revisions(Connection& db, const Definitions& before, const Definitions& after, Instant at,
                            const std::vector<LocalDay>& named_days);

// Writes the plan as part of change `audit` (inside the caller's write transaction) and
// returns what it affected.
ChangeResult apply_revisions(Connection& db, const RevisionPlan& plan, std::uint64_t audit, Instant at);

}  // namespace convene::store_internal
