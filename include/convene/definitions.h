// convene/definitions.h: the definitions file, convene's user-facing contract.
//
// One JSON file (with // and /* */ comments allowed) declares holiday calendars,
// communities with their series, and per-occurrence overrides:
//
//   {
//     "calendars": { "dc": { "builtin": "us-dc" },
//                    "school": { "closures": [{"name": "Winter break",
//                                              "from": "2026-12-21", "to": "2027-01-01"}] },
//                    "district": { "ics": "district.ics" } },
//     "communities": [{
//       "id": "nurses", "name": "School Nurse CoP", "timezone": "America/New_York",
//       "observes": ["dc", "school"],
//       "series": [{ "id": "mentoring-monday", "title": "Mentoring Monday",
//                    "start": "2026-09-14T16:00", "duration": "PT1H",
//                    "rrule": "FREQ=MONTHLY;BYDAY=2MO", "on_holiday": "following" }]
//     }],
//     "overrides": [{ "series": "mentoring-monday", "occurrence": "2027-02-08T16:00",
//                     "move_to": "2027-02-09T16:00", "reason": "Presenter's request" }]
//   }
//
// Loading validates everything and reports each problem with the file and the JSON
// path (syntax errors: line and column). The loaded value is plain data: the engine
// (convene/schedule.h) turns it into occurrences. Keys are never renamed; new ones
// may be added. Unknown keys are errors that suggest the nearest known key.
//
// Required keys (everything else is optional):
//   - a community: "id", "name", "timezone" (an IANA name) and "series" (an array, which
//     may be empty);
//   - a series: "id", "title", "start" and "duration";
//   - a calendar rule: "name", and one of {"month", "day", "observed"?},
//     {"month", "weekday", "nth"} or {"easter"}; a closure: "name", and "date" or
//     "from" + "to"; an organizer: "email"; a resource: "title" and "url";
//   - an override: "series" and "occurrence".
// Bounds (convene/limits.h), checked first: the file is a regular file of at most 16 MiB
// (InputLimits), its arrays and objects nest at most 64 deep (reported at the line and
// column of the bracket that goes deeper), and each ICS file holds at most 20,000 events.
// What is checked, each problem reported at its JSON pointer ("/communities/0/series/1/rrule"):
//   - types; ids, names and titles are non-empty strings; community ids are unique, and
//     series ids unique across the file;
//   - every string is text (convene/validate.h: UTF-8, no control character but TAB, LF
//     and CR, at most 10,000 bytes); join_url and resource urls are http(s) links
//     (url_problem), an organizer's email one address (email_problem), a category one
//     label without a comma; a series has at most 10 reminders and 20 categories;
//   - starts (start, add, except, occurrence, move_to) are local "YYYY-MM-DDTHH:MM"
//     exactly (":00" seconds accepted, other seconds refused, no "Z" or offset) that
//     exist (not 2027-02-30); days are "YYYY-MM-DD"; every year is in 1900..2200;
//     durations are RFC 5545 ("PT1H"), positive and at most 366 days;
//   - an RRULE parses (RecurrenceRule::parse; its complaint is shown); a policy is one of
//     holiday_policy_names(); a zone is an IANA name of the tz database (zone_names():
//     "localtime", "posixrules" and "Factory" are not), near names are suggested;
//   - observes lists defined calendars, each once; "continues" and an override's "series"
//     name a series of the file; one override per occurrence, and not both "cancel" and
//     "move_to";
//   - rules: month 1..12, a day the month has (29 February allowed), weekday MO..SU,
//     nth 1..5 or -1..-5, easter -366..366, since <= until (years 1900..2200); closures:
//     to >= from; a builtin
//     is one of HolidayCalendar::builtin_names(); an ICS file (relative to the definitions
//     file's folder) loads (load_ics_closures);
//   - a workweek lists at least one day, each once, as MO..SU;
//   - a community's "cancellations" is "show" (the default: a cancelled session stays
//     in members' calendars as cancelled, with its reason) or "hide" (it is left out);
//   - a series' "reminders" are RFC 5545 durations before each session's start, each
//     zero or positive and listed once: "reminders": ["PT15M", "P1D"] gives every
//     session of the series, in every feed, one VALARM 15 minutes and one a day before
//     (TRIGGER:-PT15M, TRIGGER:-P1D), beside any a feed adds for its readers;
//   - no key appears twice in one object (JSON would keep only the last).
// Every problem is reported, in file order; definitions are returned only when there is none.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "convene/holiday_calendar.h"
#include "convene/holiday_policy.h"
#include "convene/limits.h"
#include "convene/recurrence.h"
#include "convene/time.h"

namespace convene {

struct Person {
  std::string name;
  std::string email;
  friend bool operator==(const Person&, const Person&) = default;
};

// A link shown with a session (slides, a reading, a recording).
struct Resource {
  std::string title;
  std::string url;
  friend bool operator==(const Resource&, const Resource&) = default;
};

struct CalendarDef {
  std::string id;
  std::optional<std::string> builtin;  // "us-federal" | "us-dc"
  std::vector<HolidayRule> rules;
  std::vector<Closure> closures;
  std::optional<std::string> ics;      // as written (relative to the definitions file)
  // The calendar as a value: builtin + rules + closures + the ICS file's closures.
  HolidayCalendar calendar{""};
};

struct SeriesDef {
  std::string id;
  std::string title;
  std::optional<std::string> description;
  LocalTime start;                       // local start of the first occurrence
  Seconds duration{3600};
  std::optional<std::string> rrule_text;  // as written
  std::optional<RecurrenceRule> rrule;    // parsed
  std::vector<LocalTime> add;            // extra occurrences (RDATE)
  std::vector<LocalTime> except;         // removed occurrences (EXDATE)
  HolidayPolicy on_holiday = HolidayPolicy::skip;
  std::vector<std::string> observes;     // extra calendar ids, beyond the community's
  std::optional<std::string> join_url;
  // "online_meeting": true asks calendar-API targets for a meeting of their own (a Google
  // Meet link, a Microsoft Teams meeting) even when the target's switch (--meet,
  // --teams) is off; false: none even when it is on; unset: the target's switch decides
  // (convene/cloud.h: online_meeting_wanted). The series' join_url stays in its text.
  std::optional<bool> online_meeting;
  std::optional<std::string> location;
  std::optional<Person> organizer;
  std::optional<std::string> presenter;
  std::vector<std::string> categories;
  // Reminders before each session's start ("reminders": ["PT15M", "P1D"]), in file
  // order; feeds render one VALARM per offset.
  std::vector<Seconds> reminders;
  // "this and all following" (convene split): the id of the series this one continues.
  std::optional<std::string> continues;
  friend bool operator==(const SeriesDef&, const SeriesDef&) = default;
};

// How outputs show a session that does not take place because it was cancelled (or
// because a later change, such as a snow-day closure, took it away): the community's
// "cancellations" key. See docs/cancellations.md for what each calendar client shows.
enum class Cancellations {
  // "show" (the default): the session stays, at its time, as a cancelled event
  // (STATUS:CANCELLED, "Cancelled: Mentoring Monday (Staff development day)").
  show,
  // "hide": the session is left out (an EXDATE of the recurring event); a session a
  // change took away stays in expanded feeds as cancelled, so clients learn it is off.
  hide,
};
std::string_view to_string(Cancellations cancellations);
std::optional<Cancellations> parse_cancellations(std::string_view text);

struct CommunityDef {
  std::string id;
  std::string name;
  std::string timezone;                  // IANA name as written
  const date::time_zone* zone = nullptr;
  std::vector<std::string> observes;     // calendar ids
  Workweek workweek;
  std::optional<std::string> description;
  Cancellations cancellations = Cancellations::show;
  std::vector<SeriesDef> series;
  friend bool operator==(const CommunityDef&, const CommunityDef&) = default;
};

// A change to one occurrence, applied after the holiday policy.
struct OverrideDef {
  std::string series;
  LocalTime occurrence;                  // the original local start (its identity)
  std::optional<LocalTime> move_to;
  std::optional<Seconds> duration;
  bool cancel = false;
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> join_url;
  std::optional<std::string> location;
  std::optional<std::string> presenter;
  std::optional<std::string> agenda;
  std::vector<Resource> resources;
  std::optional<std::string> reason;
  friend bool operator==(const OverrideDef&, const OverrideDef&) = default;
};

struct Definitions {
  std::string source;                    // the file it was read from (for messages)
  std::vector<CalendarDef> calendars;    // in file order
  std::vector<CommunityDef> communities;
  std::vector<OverrideDef> overrides;

  const CalendarDef* find_calendar(std::string_view id) const;
  // The series and its community, or {nullptr, nullptr}.
  std::pair<const CommunityDef*, const SeriesDef*> find_series(std::string_view id) const;
};

// A problem found in the input. `where` names the file and the JSON path
// ("samples/nurses.json: /communities/0/series/2/rrule") or line and column.
struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string where;
  std::string message;
  // "error: samples/nurses.json: /communities/0/timezone: unknown time zone ..."
  std::string to_string() const;
};

struct LoadedDefinitions {
  std::optional<Definitions> definitions;  // set when there is no error
  std::vector<Diagnostic> diagnostics;     // errors and warnings, in file order
  bool ok() const { return definitions.has_value(); }
};

// Reads and validates a definitions file. ICS paths are relative to its folder. The
// file and each ICS file are read within `limits` (convene/input_file.h): regular files
// only, at most limits.max_file_size bytes each (16 MiB unless raised).
LoadedDefinitions load_definitions(const std::string& path, const InputLimits& limits = {});
// The same from text; `source` names it in messages, `base_dir` resolves ICS paths.
LoadedDefinitions parse_definitions(std::string_view text, const std::string& source,
                                    const std::string& base_dir, const InputLimits& limits = {});
// The same from a JSON document already parsed (a store's copy). Calendars keep the
// document's key order (an nlohmann::json converts, with its keys sorted). Not an
// overload of parse_definitions: a string literal would convert to both.
LoadedDefinitions parse_definitions_json(const nlohmann::ordered_json& document,
                                         const std::string& source, const std::string& base_dir,
                                         const InputLimits& limits = {});

// Writes definitions back in the same format (what `convene export` prints).
// load(write(d)) == d for every loaded d: nothing is lost, nothing renamed.
// Keys come in the format's natural order (id, name, ... series), defaults and empty
// optionals are omitted, durations are written as libical writes them ("PT1H30M"),
// starts as "YYYY-MM-DDTHH:MM". An ordered_json, so dump() keeps that order; it converts
// implicitly to nlohmann::json (whose keys are sorted) where one is wanted.
nlohmann::ordered_json to_json(const Definitions& definitions);

}  // namespace convene
