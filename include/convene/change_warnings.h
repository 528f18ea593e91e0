// convene/change_warnings.h: what a facilitator should hear about a change that the
// store accepts.
//
// The store refuses what is invalid (a move onto a start the series already holds, a
// date that does not exist). Some changes are valid and still likely mistakes: a session
// moved onto Washington's Birthday, into last year, or to 30 minutes after another
// session of the same series or community. change_warnings() finds them by comparing the
// definitions before and after the change: every live session of the changed series
// whose start is new (or differs from before) is checked, and gives a warning when
//   - holiday:  its local date is a holiday or closure of a calendar the series observes
//               (its community's or its own), whatever the policy did to the others;
//   - past:     it starts before `now`;
//   - overlap:  it overlaps [start, end) another live session of the same series or of
//               another series of the same community.
// The sessions looked at are those in `window` (the caller names it; the CLI uses
// kChangeWarningWindow around the change). Warnings never stop a change: `convene
// reschedule` and `split` print them on standard error ("convene: warning: ...") and exit 0.
//
// A pure function of the two definitions and the clock's now.
//
// How to use:
//   auto before = store->load();  ... make the change ...  auto after = store->load();
//   for (const auto& w : convene::change_warnings(*before.definitions, *after.definitions,
//                                                 {"power-hour"}, clock.now(), window))
//     std::cerr << "convene: warning: " << w.message << "\n";
#pragma once

#include <string>
#include <vector>

#include "convene/definitions.h"
#include "convene/schedule.h"
#include "convene/time.h"

namespace convene {

// How far the CLI looks for changed sessions: from kChangeWarningWindow.before ahead of
// the earliest date a change touches to kChangeWarningWindow.after beyond now.
struct ChangeWarningWindow {
  date::days before;
  date::days after;
};
inline constexpr ChangeWarningWindow kChangeWarningWindow{date::days{31}, date::days{2 * 366}};

struct ChangeWarning {
  enum class Kind { holiday, past, overlap };
  Kind kind = Kind::holiday;
  std::string series;   // the session's series
  LocalTime occurrence; // its occurrence id (original start)
  LocalTime start;      // its new local start, in its community's zone
  // One sentence: "power-hour 2027-02-15T15:00 now falls on Washington's Birthday (us-dc)".
  std::string message;
};

// The warnings for a change to `series` (ids as in `after`; for a split, the old series
// and the new one). Each session gives at most one warning of each kind, in time order.
std::vector<ChangeWarning> change_warnings(const Definitions& before, const Definitions& after,
                                           const std::vector<std::string>& series, Instant now,
                                           Window window);

}  // namespace convene
