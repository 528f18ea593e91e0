// convene/agenda.h: every session of every series in a window, in time order, as one
// viewer sees them (`convene agenda`, later the web's "this week" page).
//
// An agenda is read in the viewer's zone, not the communities': a window of 2027-02-01
// to 2027-02-14 in America/Chicago holds the sessions whose start falls between
// 2027-02-01 00:00 and 2027-02-15 00:00 Chicago time, whatever zone each community
// keeps, and each is shown at its Chicago wall-clock time. A skipped or cancelled
// session has no start: it is placed, and kept or not, by the instant its original
// start would have had (so the viewer sees what did not happen where it would have been).
// Sessions come in order of that instant, then as the engine orders them.
//
// How to use:
//   auto defs = convene::load_definitions("samples/communities-2026-27.json");
//   convene::AgendaQuery q{.from = *convene::parse_date("2027-02-01"),
//                          .to = *convene::parse_date("2027-02-14"),
//                          .zone = convene::find_zone("America/Chicago")};
//   for (const auto& e : convene::agenda(*defs.definitions, q).entries) ...
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "convene/definitions.h"
#include "convene/schedule.h"
#include "convene/time.h"

namespace convene {

// `convene agenda` with no --to shows this many days from --from (today by default).
inline constexpr int kAgendaDefaultDays = 14;

struct AgendaQuery {
  LocalDay from;                       // first day, inclusive, in `zone`
  LocalDay to;                         // last day, inclusive, in `zone`
  const date::time_zone* zone = nullptr;  // the viewer's (required)
  std::optional<std::string> community;   // only this community's series
  std::optional<std::vector<std::string>> series;  // only these series (a member's)
};

struct AgendaEntry {
  Occurrence occurrence;  // points into the definitions given to agenda()
  Instant at;             // its start, or (skipped, cancelled) its original start's instant
};

struct Agenda {
  AgendaQuery query;
  std::vector<AgendaEntry> entries;
};

// The sessions of `definitions` in the query's window. `definitions` must outlive the
// result. Throws what expand() throws.
Agenda agenda(const Definitions& definitions, const AgendaQuery& query);

}  // namespace convene
