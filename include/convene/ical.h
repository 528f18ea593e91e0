// convene/ical.h: the one event builder, for feeds and invitations alike.
//
// A series becomes the same events wherever it goes, so an invitation and a feed can
// never disagree about a session:
//   - a master VEVENT: UID "<series>@<uid_domain>", DTSTART;TZID= the first start, DTEND
//     (or DURATION at a zone edge), the RRULE capped with UNTIL at the end of the span,
//     RDATEs, EXDATEs, SEQUENCE/DTSTAMP/LAST-MODIFIED from the series' revision;
//   - a RECURRENCE-ID override per shifted, moved or edited session, and per session
//     shown as cancelled (STATUS:CANCELLED, "Cancelled: Title (reason)"), with the
//     occurrence's revision; its DESCRIPTION opens with why ("Moved from Monday 18
//     January: Martin Luther King, Jr. Day");
//   - a VTIMEZONE per TZID, generated from the tz database over the span it covers;
//   - ORGANIZER (the series', else the one the caller gives) and ATTENDEEs when asked.
// What each event shows is the change detector's EventView (convene/change_detector.h),
// so what decides a revision and what is rendered are the same fields. The span is the
// detector's render_span(): the sessions feeds show are the sessions invitations carry.
//
// Two forms:
//   - the stored form (feeds, CalDAV objects): as above;
//   - the iTIP REQUEST form (RFC 5546 §3.2.2, EventOptions::itip): a session that does
//     not take place is an EXDATE of the master (a REQUEST may not carry
//     STATUS:CANCELLED: libical's icalrestriction_check refuses it), no VALARM (the
//     attendee's client chooses its own alarms), every component with ORGANIZER and the
//     attendees (RSVP=TRUE, PARTSTAT=NEEDS-ACTION), and DTSTAMP the message's time.
// A CANCEL (RFC 5546 §3.2.5) names one session (RECURRENCE-ID) or the whole series.
//
// How to use:
//   convene::EventOptions options;
//   options.itip = true;
//   options.attendees = {{"rosa@example.org", "Rosa Díaz"}};
//   options.organizer = convene::Person{"School Nurse CoP", "cop@example.org"};
//   auto request = convene::series_calendar(defs, community, series, horizon, revisions,
//                                           options, "REQUEST");
//   auto cancel = convene::cancel_calendar({...});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convene/definitions.h"
#include "convene/revision.h"
#include "convene/time.h"

namespace convene {

struct Attendee {
  std::string email;
  std::string name;  // CN (empty: none)
  friend bool operator==(const Attendee&, const Attendee&) = default;
};

struct EventOptions {
  std::string uid_domain = "convene";
  std::string prodid = "-//convene//convene 0.1//EN";
  // VALARMs a feed adds for its readers, beside the series' own (EventView::reminders).
  std::vector<Seconds> reminders;
  // The iTIP REQUEST form (see above).
  bool itip = false;
  // The ORGANIZER of a series that names none (an invitation must have one).
  std::optional<Person> organizer;
  // ATTENDEE on the master and every override. In the iTIP form with RSVP=TRUE,
  // PARTSTAT=NEEDS-ACTION; in the stored form the PARTSTAT in `partstat` when the caller
  // keeps one (a reply the CalDAV server recorded), else NEEDS-ACTION.
  std::vector<Attendee> attendees;
  std::vector<std::pair<std::string, std::string>> partstat;  // email -> PARTSTAT
  // iTIP: DTSTAMP of every component (the message's creation); else revisions decide.
  std::optional<Instant> dtstamp;
};

// The series `series` of `community` as one VCALENDAR (VERSION, PRODID, METHOD when
// `method` is not empty, its VTIMEZONEs, the master and its overrides), up to `horizon`.
// Throws what the engine throws (convene::Error).
std::string series_calendar(const Definitions& definitions, const CommunityDef& community,
                            const SeriesDef& series, LocalDay horizon, const RevisionSource& revisions,
                            const EventOptions& options, const std::string& method = "");

// One series' calendar rendered once for many recipients (an invitation to each member):
// the same events, with one more ATTENDEE (in the options' form) on each per recipient.
class SeriesCalendar {
 public:
  SeriesCalendar(const Definitions& definitions, const CommunityDef& community, const SeriesDef& series,
                 LocalDay horizon, const RevisionSource& revisions, const EventOptions& options,
                 const std::string& method = "");
  ~SeriesCalendar();
  SeriesCalendar(const SeriesCalendar&) = delete;
  SeriesCalendar& operator=(const SeriesCalendar&) = delete;
  // The calendar's text with `attendee` added to every event (and no other than the
  // options' own).
  std::string text_for(const Attendee& attendee) const;
  std::string text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The last day the master's rule runs to in what series_calendar renders for `horizon`
// (UNTIL, in the series' zone): what an invitation must be updated for when the horizon
// moves on an open-ended series.
LocalDay series_covers(const Definitions& definitions, const CommunityDef& community, const SeriesDef& series,
                       LocalDay horizon);

// A CANCEL: of one session (`recurrence_id` set: RECURRENCE-ID;TZID=) or of the series.
struct CancelSpec {
  std::string uid;
  std::optional<LocalTime> recurrence_id;
  std::string timezone;             // the TZID of RECURRENCE-ID and DTSTART
  std::optional<LocalTime> start;   // DTSTART (the session's original start); optional for a series
  std::uint64_t sequence = 0;
  Instant dtstamp{};
  std::string summary;              // "Mentoring Monday"
  std::string comment;              // why, when known ("Snow day")
  Person organizer;
  std::vector<Attendee> attendees;
  std::string prodid = "-//convene//convene 0.1//EN";
};
std::string cancel_calendar(const CancelSpec& spec);

}  // namespace convene
