// convene/schedule.h: the engine. Definitions in, occurrences out.
//
// For each series the engine
//   1. expands its rule (DTSTART first; plus `add`, minus `except`) in local time;
//   2. applies the series' holiday policy to each occurrence whose local start date
//      is a holiday of a calendar it observes (community's and its own), keeping the
//      time of day. Occurrences that are not shifted hold their starts first; then the
//      shifted ones, in chronological order, take their new starts, and one whose new
//      start another occurrence of the series already holds is skipped, not doubled;
//   3. applies the overrides: `cancel` cancels, `move_to` moves (and revives a skipped
//      occurrence), title/description/... edit;
//   4. resolves local starts to instants in the community's zone (resolve_local) and
//      adds the exact duration in absolute time.
// An occurrence's identity is (series id, original local start): it never changes
// when the occurrence is shifted or moved, and it is the future RECURRENCE-ID.
//
// How to use:
//   auto loaded = convene::load_definitions("samples/communities.json");
//   auto occurrences = convene::expand(*loaded.definitions,
//                                      {*convene::parse_date("2026-09-01"),
//                                       *convene::parse_date("2027-06-30")});
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convene/definitions.h"
#include "convene/time.h"

namespace convene {

// Violated contracts inside the engine throw this one small hierarchy; the CLI prints
// what() and exits non-zero. Messages name the series, the occurrence and the input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// An override names an occurrence the series does not have.
class UnknownOccurrenceError : public Error {
 public:
  using Error::Error;
};
// An override moves an occurrence onto a start another occurrence of the series holds.
class OverlapError : public Error {
 public:
  using Error::Error;
};
// A rule produces more than kMaxOccurrencesPerSeries occurrences in the window.
class TooManyOccurrencesError : public Error {
 public:
  using Error::Error;
};

inline constexpr std::size_t kMaxOccurrencesPerSeries = 100000;

enum class OccurrenceStatus {
  scheduled,  // takes place at its rule's start (possibly on a holiday, under `keep`)
  shifted,    // moved by the holiday policy
  moved,      // moved by an override (a facilitator)
  skipped,    // removed by the holiday policy
  cancelled,  // cancelled by an override
};
std::string_view to_string(OccurrenceStatus status);

struct Occurrence {
  const CommunityDef* community = nullptr;
  const SeriesDef* series = nullptr;
  LocalTime original;                    // identity: (series->id, original)
  OccurrenceStatus status = OccurrenceStatus::scheduled;
  std::optional<LocalTime> local_start;  // set unless skipped or cancelled
  std::optional<Instant> start;          // set unless skipped or cancelled
  std::optional<Instant> end;
  std::optional<Holiday> holiday;        // the holiday on the original date, if any
  std::string reason;                    // empty when nothing happened to it
  const OverrideDef* override_def = nullptr;  // the override applied, if any

  bool live() const { return start.has_value(); }
  // The override's title if it has one, else the series'.
  const std::string& title() const;
  // "2026-09-14T16:00": the occurrence id in JSON/CSV output.
  std::string occurrence_id() const { return format_local_minute(original); }
};

// An inclusive window of local dates, read in each series' zone: a live occurrence is
// in it when its final local start date is; a skipped or cancelled one when its
// original start date is.
struct Window {
  LocalDay from;
  LocalDay to;
};

struct ExpandOptions {
  std::optional<std::string> series;     // only this series
  std::optional<std::string> community;  // only this community's series
};

// Every occurrence in the window, sorted by effective start instant (the original
// start's instant for skipped and cancelled ones), then by community and series order.
// Throws UnknownOccurrenceError, TooManyOccurrencesError.
std::vector<Occurrence> expand(const Definitions& definitions, Window window,
                               const ExpandOptions& options = {});

// What `convene check` reports beyond the loader: warnings that do not stop a schedule
// (a move onto a holiday, a rule with no occurrence after its start, an `except` that
// matches nothing) and errors (an override naming an occurrence the series does not
// have, a move onto a start the series already holds).
std::vector<Diagnostic> validate_schedule(const Definitions& definitions);

}  // namespace convene
