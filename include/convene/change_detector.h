// convene/change_detector.h: what changed, decided once for every output.
//
// Every output shows a series in two parts: the series as a whole (the master event of a
// recurring feed: title, description, location, join link, organizer, presenter,
// categories, duration, reminders, first start, rule, added and excepted sessions, the
// sessions left out) and each of its occurrences (an override or expanded event, an
// invitation: status, start, end, every override field, why it moved, the holiday). The
// change detector turns what they show into fingerprints, one per series and one per
// occurrence. A change raises the revision (iCalendar SEQUENCE) of exactly the series and
// occurrences whose fingerprint it changed; nothing else decides that. The feed catalog
// asks the same detector whether a feed must be rendered again.
//
// The span. Outputs show a series from its first session to the feed horizon (the end
// of the month two years from now) plus a margin (sessions shifted in from just past
// it): render_span(). The same function says which occurrences the feeds render and
// which ones the detector compares, so no output ever shows an occurrence the detector
// did not look at.
//
// The rule for revisions (the store keeps it; tests/feed_revisions_test.cpp checks it):
//   1. Each series has a covered span, from its first session to `coverage`: every
//      occurrence in it has its own revision (sequence, modified, was_live) and
//      fingerprint in the store, changed or not. An occurrence beyond the covered span
//      has the series' revision.
//   2. A change first extends the covered span of each series it touches to at least
//      the render span at the change's time (and around the days it names, up to
//      kMaxCoverageAhead past the horizon). The newly covered occurrences keep the
//      revision they had (the series'), so nothing anyone has seen moves.
//   3. It then fingerprints every covered occurrence and the series before and after,
//      and raises by one the revision of each whose fingerprint differs (an occurrence
//      that appears or disappears differs too). The series' fingerprint also holds
//      everything that can change what lies beyond the covered span (the series'
//      definition, its calendars' rules and their closures and the overrides near or
//      past its end: definition_fingerprint() from `coverage - kCoverageSlack`), so a
//      change there raises the series' revision, which those occurrences show.
//   4. Revisions only ever go up: a revision is raised or copied, never set lower, and
//      a covered span never shrinks.
// The cost of a change is linear in the covered occurrences of the series it touches
// (about what a feed of those series renders), never in the store's history.
//
// How to use:
//   auto span = convene::render_span(defs, series, convene::feed_horizon(now));
//   auto occurrences = convene::rendered_occurrences(defs, community, series, span.last);
//   auto f = convene::fingerprint_series(defs, community, series, span.last, was_live);
//   if (f.occurrences.at(original) != stored) ...  // this session changed
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "convene/definitions.h"
#include "convene/schedule.h"
#include "convene/time.h"

namespace convene {

// Sessions moved by a policy or an override from up to this many days past the
// horizon are included (policies move by at most kMaxBusinessDaySearch days or 4
// weeks; a series whose overrides move further gets a wider margin).
inline constexpr int kFeedMargin = 40;

// The last day a feed rendered at `now` covers: the last day of the month two years
// after now's month (so a feed's bytes change at most once a month by the clock alone).
LocalDay feed_horizon(Instant now);

// What lies this close to the end of a covered span counts as "beyond" it (rule 3): a
// policy or a move may carry a session across the end.
inline constexpr int kCoverageSlack = 120;
// A change to a session extends the covered span to the session plus twice the slack,
// but never further than this many years past the horizon (a move to 2090 does not
// make every later change expand 60 years; past there, rule 3 applies).
inline constexpr int kMaxCoverageAhead = 5;

// The originals a feed shows of a series: its first session's day (or first added
// session's) to `last` inclusive; `margin` is how far sessions may move (kFeedMargin,
// or more when an override moves one further).
struct RenderSpan {
  LocalDay first;
  LocalDay last;
  date::days margin;
};
RenderSpan render_span(const Definitions& definitions, const SeriesDef& series, LocalDay horizon);

// The occurrences of `series` whose original start day is at most `last`, in the
// engine's order (by start). Throws what expand() throws.
std::vector<Occurrence> rendered_occurrences(const Definitions& definitions,
                                             const CommunityDef& community,
                                             const SeriesDef& series, LocalDay last);

// How an output shows an occurrence that does not take place (skipped or cancelled):
// as a cancelled event (STATUS:CANCELLED, "Cancelled: Title (reason)") or not at all
// (an EXDATE of the master, no expanded event). `was_live`: the store recorded the
// occurrence taking place at some revision (members' calendars may hold it).
//   - recurring feeds: a cancelled event when the community shows cancellations and the
//     session was cancelled, or a change took it away (was_live); else an EXDATE;
//   - expanded feeds: the same, and also, when the community hides cancellations, for a
//     session a change took away (was_live), so a client holding its UID learns it is off.
bool shown_as_cancelled(const Occurrence& occurrence, bool was_live, bool expanded);

// What calendar outputs (feeds, expanded feeds, invitations) show of one event: the
// text and details of a series' master event, or of one occurrence's event (a
// RECURRENCE-ID override, an expanded event, an invitation's instance). Renderers write
// exactly these fields, and the fingerprints hash exactly these fields (and the times),
// so what is shown and what decides a revision cannot disagree.
struct EventView {
  // "Mentoring Monday"; for a session that does not take place "Cancelled: Mentoring
  // Monday (Staff development day)".
  std::string summary;
  // Why it moved ("Moved from Monday 18 January: Martin Luther King, Jr. Day") or why it
  // does not take place ("Cancelled: Snow day"), then the description, presenter,
  // agenda, resources and join link; empty: none.
  std::string description;
  std::optional<std::string> location;
  std::optional<std::string> url;       // the join link
  std::optional<Person> organizer;
  std::vector<std::string> categories;
  // false: STATUS:CANCELLED, TRANSP:TRANSPARENT and no alarms.
  bool takes_place = true;
  // The engine's status of an occurrence (X-CONVENE-STATUS: "shifted", ...); none for a master.
  std::optional<std::string> status;
  // The series' own alarms, before the start (outputs add their readers' own), and their
  // text (the session's title); none when it does not take place.
  std::vector<Seconds> reminders;
  std::string alarm_text;
  // An occurrence's time as shown: its start and end, or, when it does not take place,
  // its original start for its duration; a wall time of `timezone`. Unset for a master.
  std::string timezone;
  std::optional<LocalTime> local_start;
  std::optional<Instant> start, end;
};
EventView series_view(const CommunityDef& community, const SeriesDef& series);
EventView occurrence_view(const Occurrence& occurrence);

using Fingerprint = std::uint64_t;

// What any calendar output shows of one occurrence: its occurrence_view (every field,
// the times included) and, for one that does not take place, whether its community shows
// cancellations (which decides whether it is shown at all).
Fingerprint occurrence_fingerprint(const Occurrence& occurrence);

// Everything that can change any output of `series`: its definition, its community's
// zone, workweek and cancellations, the calendars it observes (builtin, rules, every
// closure including those read from ICS files) and its overrides. With `from`, only
// what can change occurrences on or after that day (closures ending and overrides of
// sessions from or moved to then on; rules and the definitions themselves always).
// Lossless by construction: it hashes the definitions format (to_json), so a field added
// to the definitions later is included without a change here.
Fingerprint definition_fingerprint(const Definitions& definitions, const CommunityDef& community,
                                   const SeriesDef& series,
                                   std::optional<LocalDay> from = std::nullopt);

// A series fingerprinted over its span up to `coverage` (rule 3).
struct SeriesFingerprints {
  Fingerprint series = 0;  // what the master shows, plus definition_fingerprint(from coverage - slack)
  std::map<LocalTime, Fingerprint> occurrences;  // by original start
  std::map<LocalTime, bool> live;                // whether each takes place
};
// `was_live(original)` says which occurrences the store recorded taking place (it
// decides whether one that does not take place is an EXDATE of the master).
SeriesFingerprints fingerprint_series(const Definitions& definitions, const CommunityDef& community,
                                      const SeriesDef& series, LocalDay coverage,
                                      const std::function<bool(LocalTime)>& was_live);

}  // namespace convene
