// The event builder's component-level interface (private to convene::integrations): what
// the feeds assemble into one VCALENDAR of many series, and what convene/ical.h's
// functions assemble into one series' calendar object or iTIP message.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "convene/change_detector.h"
#include "convene/ical.h"
#include "convene/revision.h"
#include "convene/schedule.h"
#include "internal/ical.h"

namespace convene::ical {

// --- property helpers -----------------------------------------------------------------

inline void add(icalcomponent* c, icalproperty* p) { icalcomponent_add_property(c, p); }

inline icalproperty* with_tzid(icalproperty* p, const std::string& tzid) {
  icalproperty_add_parameter(p, icalparameter_new_tzid(tzid.c_str()));
  return p;
}

inline icalproperty* x_property(const char* name, const std::string& value) {
  icalproperty* p = icalproperty_new_x(value.c_str());
  icalproperty_set_x_name(p, name);
  return p;
}

inline icalproperty* x_parameter(icalproperty* p, const char* name, const std::string& value) {
  icalparameter* param = icalparameter_new_x(value.c_str());
  icalparameter_set_xname(param, name);
  icalproperty_add_parameter(p, param);
  return p;
}

// The TZID of sessions at a zone edge: a zone whose offset is always 0 (its VTIMEZONE is
// in the calendar). Not "...Z" (UTC) values: X-WR-TIMEZONE readers rewrite those as wall
// times of that zone (see render_feed).
extern const char* const kFixedTzid;

// --- one series -------------------------------------------------------------------------

// The engine's occurrences of one series that its events show: the change detector's
// span (render_span), so every one of them has a revision the detector compared.
struct SeriesPlan {
  const CommunityDef* community;
  const SeriesDef* series;
  std::vector<Occurrence> occurrences;  // originals up to last_original_day
  LocalDay last_original_day;
  LocalTime earliest, latest;  // local times the events mention (for VTIMEZONE)
};
SeriesPlan plan_series(const Definitions& defs, const CommunityDef& community, const SeriesDef& series,
                       LocalDay horizon);

// The master VEVENT and its RECURRENCE-ID overrides, added to `calendar`. A URL,
// ORGANIZER (or its CN) or category that convene/validate.h refuses is left out, and why
// is added to `dropped` when given (RenderedFeed::dropped).
void render_recurring(const SeriesPlan& plan, const RevisionSource& revisions, const EventOptions& options,
                      icalcomponent* calendar, std::size_t& events, std::vector<std::string>* dropped = nullptr);
// One VEVENT per session with its own UID (the expanded feeds), `dropped` as above.
void render_expanded(const SeriesPlan& plan, const RevisionSource& revisions, const EventOptions& options,
                     icalcomponent* calendar, std::size_t& events, std::vector<std::string>* dropped = nullptr);

// Whether some event of `plan` is written in kFixedTzid (a session at a zone edge).
bool uses_fixed_zone(const SeriesPlan& plan, const RevisionSource& revisions, const EventOptions& options,
                     bool expanded);

// The last local day the master's rule runs to (its UNTIL in the series' zone); for a
// series without a rule, its last added session's day (or its start's).
LocalDay rule_covers(const SeriesPlan& plan);

// ATTENDEE;CN=...;ROLE=REQ-PARTICIPANT;PARTSTAT=...;RSVP=TRUE:mailto:... per attendee
// of `options` (PARTSTAT from options.partstat in the stored form, else NEEDS-ACTION).
void add_attendees(icalcomponent* event, const EventOptions& options);

// A VTIMEZONE for `zone` under `tzid` covering the local times [from, to].
icalcomponent* make_vtimezone(const date::time_zone* zone, const std::string& tzid, LocalTime from, LocalTime to);

}  // namespace convene::ical
