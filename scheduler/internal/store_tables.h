// Definitions ↔ the store's tables. The tables hold exactly what a Definitions value
// holds (and the ICS closures of each calendar, as read at import), so that reading
// them back gives what load_definitions() gave for the imported file.
#pragma once

#include <string>
#include <vector>

#include "convene/definitions.h"
#include "internal/store_sqlite.h"

namespace convene::store_internal {

// Reads every table into a Definitions value named `source`; calendars are built as
// the loader builds them (builtin, then rules, then closures, then the ICS closures).
// Problems (a zone the tz database no longer knows, a rule libical rejects) come back as
// diagnostics.
LoadedDefinitions read_definitions(Connection& db, const std::string& source);

// Whether the definitions tables hold anything.
bool definitions_empty(Connection& db);

// The closures of a loaded calendar that came from its ICS file (neither the builtin's
// nor written in the file).
std::vector<Closure> ics_closures(const CalendarDef& calendar);

// Replaces the definitions tables' content by `definitions` (inside the caller's write
// transaction): rows are updated in place by id, so a series keeps its `created`; those
// absent are deleted. `now` is the `created` of new series.
void write_definitions(Connection& db, const Definitions& definitions, Instant now);

// One override: insert or replace (keeping its position, or appending), or delete.
void put_override(Connection& db, const OverrideDef& override_def);
void delete_override(Connection& db, std::string_view series, LocalTime occurrence);

// One series: update its row in place (its community and position stay).
void update_series(Connection& db, const SeriesDef& series);
// A new series in `community`, right after the series `after` (positions after it move).
void insert_series_after(Connection& db, std::string_view community, std::string_view after,
                         const SeriesDef& series, Instant now);

// Reminder offsets as stored: a JSON array of seconds before the start.
std::string offsets_to_text(const std::vector<Seconds>& offsets);
std::vector<Seconds> text_to_offsets(const std::string& text);

// Appends a closure (written in the file's form) to a calendar.
void add_closure(Connection& db, std::string_view calendar, const Closure& closure);
// Removes a calendar's written closures of exactly [from, to].
void remove_closures(Connection& db, std::string_view calendar, LocalDay from, LocalDay to);

}  // namespace convene::store_internal
