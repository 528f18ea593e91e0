// convene/feed.h: iCalendar feeds (RFC 5545) that every calendar client reads the same.
//
// A feed is one VCALENDAR over a selection of series (all of them, one community's,
// one series, or the series a member subscribes to). It is built with libical's API,
// never by hand, and is a pure function of (definitions, revisions, options): the
// same state always renders to the same bytes, whatever the time of the request.
//
// What a series becomes (the default, recurring mode):
//   - one master VEVENT: UID "<series>@<uid_domain>" (never changes), DTSTART;TZID=
//     the series' first local start, DTEND;TZID= (DURATION when that first session
//     spans a UTC offset change), the RRULE capped with UNTIL (UTC) at the end of the
//     horizon, an RDATE per added session;
//   - an EXDATE;TZID= per excepted session and per skipped or cancelled one that is not
//     shown as cancelled (with the parameter X-CONVENE-STATUS=skipped|cancelled|except
//     saying which);
//   - a cancelled session (and one a change took away, such as a snow day) is shown,
//     unless its community hides cancellations ("cancellations": "hide"), as a
//     RECURRENCE-ID override at its original time with STATUS:CANCELLED,
//     TRANSP:TRANSPARENT, no VALARM, SUMMARY "Cancelled: Mentoring Monday (Staff
//     development day)" and a DESCRIPTION opening "Cancelled: Staff development day"
//     (shown_as_cancelled() decides; docs/cancellations.md says what each client shows);
//   - a RECURRENCE-ID override VEVENT per shifted, moved or edited session, whose
//     RECURRENCE-ID;TZID= is the original local start (the same form as DTSTART). Its
//     DESCRIPTION opens with why: "Moved from Monday 18 January: Martin Luther King,
//     Jr. Day". X-CONVENE-STATUS names the engine's status (shifted, moved, scheduled).
//   - a session whose local start does not exist or is ambiguous (a DST gap or
//     overlap), or which spans an offset change, also gets an override, with DTSTART and
//     DTEND as wall times of TZID=Etc/GMT (offset 0 at all times): readers differ in how
//     they read such wall times of the community's zone (RFC 5545 §3.3.5 vs each
//     language's own rule), but never in how they read a zone without transitions. This
//     is how readers agree with resolve_local(): New York 2027-03-14 02:30 →
//     DTSTART;TZID=Etc/GMT:20270314T073000. Not UTC ("...Z"): see X-WR-TIMEZONE below.
//   - a VTIMEZONE per TZID, generated from the tz database (date/tz) with one
//     STANDARD/DAYLIGHT observance per real transition in the span of the feed (and one
//     for Etc/GMT when a session uses it).
//
// The horizon. A feed carries every session of a series from its first start to the
// end of the horizon (feed_horizon: the end of the month two years after "now"). The
// RRULE in the master stops there (UNTIL, in UTC), so readers never invent sessions whose
// holidays and overrides the feed does not list. COUNT is rewritten as UNTIL too, because
// readers disagree on whether a DTSTART the rule does not produce counts (RFC 5545: it
// does); such a DTSTART is also repeated as an RDATE (ical.js and libical drop it), as is
// the DTSTART of a series with RDATEs and no RRULE. Sessions shifted from just past the
// horizon into it are included: the master covers originals up to kFeedMargin days past
// the horizon (more when an override moves a session further).
//
// X-WR-TIMEZONE names the zone of the first series (UTC in a feed with none), in every
// feed. Readers that honour it rewrite UTC and floating times as wall times of that zone,
// and python's recurring-ical-events then re-reads such a wall time in a fall-back
// overlap as the later of the two 01:30s; so no event time is written in UTC or floating
// (only RRULE's UNTIL, which RFC 5545 requires in UTC and no reader rewrites).
//
// Revisions: SEQUENCE, DTSTAMP and LAST-MODIFIED of the master come from the series'
// revision; of an override, from that occurrence's revision (both from the change
// detector, through the store).
//
// A series feed (feeds/series/ID.ics, FeedSelection::one_series) shows the series and
// every series that continues it (`continues`, written by convene split), so a split
// keeps its subscribers: the old series ends with UNTIL, each continuation has its own
// UID, and the feed shows the whole season.
//
// Expanded mode: no RRULE; one VEVENT per live session with its own stable UID
// "<series>-<original local start, YYYYMMDDTHHMM>@<uid_domain>", for clients with
// weak recurrence support. Skipped and cancelled sessions are absent, except those
// shown as cancelled (as above), and, whatever the community chose, those a change
// took away (the store recorded them taking place): they stay, at their original start,
// with STATUS:CANCELLED, no VALARM and the raised SEQUENCE, so a re-published feed keeps
// every UID it ever showed and clients learn the session is off.
//
// Re-publishing after a change (convene reschedule, cancel, close) keeps every UID and
// changes exactly the VEVENTs whose revision rose: the master when its series' did (a new
// EXDATE, say), an override or expanded event when its occurrence's did; every other
// VEVENT keeps its bytes (tests/feed_republish_test.cpp).
//
// How to use:
//   auto defs = convene::load_definitions("samples/communities.json").definitions;
//   convene::FeedOptions options;
//   options.name = "School Nurse CoP";
//   auto feed = convene::render_feed(*defs, convene::FeedSelection::community("nurses"),
//                                    convene::feed_horizon(now),
//                                    convene::RevisionSource::unchanged(mtime), options);
//   if (!feed) puts(feed.error.c_str()); else write(feed.ics);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/change_detector.h"
#include "convene/definitions.h"
#include "convene/revision.h"
#include "convene/schedule.h"
#include "convene/time.h"

namespace convene {

// Which series a feed shows.
struct FeedSelection {
  enum class Kind { all, community, series, list };
  Kind kind = Kind::all;
  std::string id;                   // community or series id
  std::vector<std::string> series;  // Kind::list: these series ids (a member's)

  static FeedSelection all() { return {}; }
  static FeedSelection community(std::string id) { return {Kind::community, std::move(id), {}}; }
  static FeedSelection one_series(std::string id) { return {Kind::series, std::move(id), {}}; }
  static FeedSelection list(std::vector<std::string> ids) { return {Kind::list, {}, std::move(ids)}; }
};

struct FeedOptions {
  std::string name;         // NAME and X-WR-CALNAME
  std::string description;  // X-WR-CALDESC (omitted when empty)
  std::string uid_domain = "convene";
  std::string prodid = "-//convene//convene feeds 0.1//EN";
  Seconds refresh_interval{3600};  // REFRESH-INTERVAL and X-PUBLISHED-TTL
  // One VALARM (ACTION:DISPLAY, TRIGGER:-PT15M, DESCRIPTION: the title) per offset before
  // the start: {900s} = 15 minutes before. Added to each series' own "reminders" (the
  // definitions), without repeating an offset the series already has.
  std::vector<Seconds> reminders;
  bool expanded = false;
};

// feed_horizon(now), kFeedMargin and the span a feed renders of each series are the
// change detector's (convene/change_detector.h), so feeds never render an occurrence
// whose revision it did not compare.

struct RenderedFeed {
  std::string ics;    // the VCALENDAR, CRLF line endings, folded by libical
  std::string error;  // set when the selection names nothing, or the engine failed
  std::size_t events = 0;  // VEVENTs rendered
  // Properties left out because their value cannot be written safely, one message each
  // ("series power-hour 2026-11-11T15:00: URL left out: ..."): a link or an address that
  // is not one (a line break in a join_url would forge events in every reader). The
  // definitions loader, the CLI and the store refuse such values where they enter, so
  // this stays empty unless one got past them; the catalog logs it.
  std::vector<std::string> dropped;
  explicit operator bool() const { return error.empty(); }
};

// Renders the feed of `selection` up to `horizon` (inclusive, local dates).
RenderedFeed render_feed(const Definitions& definitions, const FeedSelection& selection,
                         LocalDay horizon, const RevisionSource& revisions,
                         const FeedOptions& options);

// The series a selection names, in definitions order (empty when it names none).
std::vector<std::pair<const CommunityDef*, const SeriesDef*>> select_series(
    const Definitions& definitions, const FeedSelection& selection);

// A VTIMEZONE for `zone` covering the local times [from, to]: every transition of the
// tz database in between, one observance each, plus the one in force at `from`.
// Returned as iCalendar text (BEGIN:VTIMEZONE ... END:VTIMEZONE), for tests.
std::string vtimezone_text(const date::time_zone* zone, LocalTime from, LocalTime to);

}  // namespace convene
