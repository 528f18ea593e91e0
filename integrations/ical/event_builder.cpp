// The one event builder: a series as VEVENTs (master, RDATE/EXDATE, RECURRENCE-ID
// overrides), its VTIMEZONEs, ORGANIZER and ATTENDEEs, for feeds, CalDAV objects and iTIP
// messages alike (convene/ical.h). Moved here from the feed renderer, which calls it.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>

#include "convene/validate.h"
#include "ical/builder.h"

namespace convene::ical {

const char* const kFixedTzid = "Etc/GMT";

namespace {

// --- time helpers ---------------------------------------------------------------

LocalDay day_of(LocalTime t) { return date::floor<date::days>(t); }

// Whether the wall time `local` is a gap or overlap in `zone`, or the session
// [start, end) spans a change of UTC offset. Such sessions are written in UTC.
bool at_zone_edge(LocalTime local, Instant start, Instant end, const date::time_zone* zone) {
  if (zone->get_info(local).result != date::local_info::unique) return true;
  return zone->get_info(start).offset != zone->get_info(end).offset;
}

// The instant of the last second of local day `day` in `zone`.
Instant end_of_day(LocalDay day, const date::time_zone* zone) {
  return resolve_local(LocalTime{day + date::days{1}}, zone) - Seconds{1};
}

// --- property helpers -------------------------------------------------------------

int sequence_of(const Revision& r) {
  return r.sequence > std::uint64_t(INT_MAX) ? INT_MAX : int(r.sequence);
}

// SEQUENCE, LAST-MODIFIED from the revision; DTSTAMP too, unless the caller gives the
// time of an iTIP message (RFC 5546: the time the message was made).
void add_revision(icalcomponent* event, const Revision& revision, const EventOptions& options) {
  add(event, icalproperty_new_dtstamp(ical::utc(options.dtstamp ? *options.dtstamp : revision.modified)));
  add(event, icalproperty_new_lastmodified(ical::utc(revision.modified)));
  add(event, icalproperty_new_sequence(sequence_of(revision)));
}

// One VALARM per reminder: the series' own ("reminders" in the definitions) first, then
// the caller's (EventOptions::reminders: a feed's --reminder, a member's preferences) that the series
// does not already have, so an offset named by both rings once.
void add_alarms(icalcomponent* event, const std::vector<Seconds>& own, const std::vector<Seconds>& extra,
                const std::string& title) {
  std::vector<Seconds> reminders = own;
  for (Seconds before : extra)
    if (std::find(reminders.begin(), reminders.end(), before) == reminders.end()) reminders.push_back(before);
  for (Seconds before : reminders) {
    icalcomponent* alarm = icalcomponent_new_valarm();
    add(alarm, icalproperty_new_action(ICAL_ACTION_DISPLAY));
    icaltriggertype trigger;
    trigger.time = icaltime_null_time();
    trigger.duration = icaldurationtype_from_int(-int(before.count()));
    add(alarm, icalproperty_new_trigger(trigger));
    add(alarm, icalproperty_new_description(title.c_str()));
    icalcomponent_add_component(event, alarm);
  }
}


// Start and end of a session: TZID wall times of the community's zone, or of Etc/GMT at a
// zone edge (New York 2027-03-14 02:30 -> DTSTART;TZID=Etc/GMT:20270314T073000).
void add_span(icalcomponent* event, LocalTime local_start, Instant start, Instant end,
              const CommunityDef& community) {
  const date::time_zone* zone = community.zone;
  if (at_zone_edge(local_start, start, end, zone)) {
    add(event, with_tzid(icalproperty_new_dtstart(ical::floating(LocalTime{start.time_since_epoch()})),
                         kFixedTzid));
    add(event, with_tzid(icalproperty_new_dtend(ical::floating(LocalTime{end.time_since_epoch()})),
                         kFixedTzid));
  } else {
    add(event, with_tzid(icalproperty_new_dtstart(ical::floating(local_start)), community.timezone));
    add(event, with_tzid(icalproperty_new_dtend(ical::floating(to_local(end, zone))),
                         community.timezone));
  }
}

}  // namespace

void add_attendees(icalcomponent* event, const EventOptions& options) {
  for (const auto& a : options.attendees) {
    icalproperty* p = icalproperty_new_attendee(("mailto:" + a.email).c_str());
    if (!a.name.empty()) icalproperty_add_parameter(p, icalparameter_new_cn(a.name.c_str()));
    icalproperty_add_parameter(p, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
    icalparameter_partstat partstat = ICAL_PARTSTAT_NEEDSACTION;
    if (!options.itip)
      for (const auto& [email, value] : options.partstat)
        if (email == a.email) {
          const auto kind = icalparameter_string_to_enum(value.c_str());
          if (kind >= ICAL_PARTSTAT_X && kind <= ICAL_PARTSTAT_NONE) partstat = icalparameter_partstat(kind);
        }
    icalproperty_add_parameter(p, icalparameter_new_partstat(partstat));
    icalproperty_add_parameter(p, icalparameter_new_rsvp(ICAL_RSVP_TRUE));
    add(event, p);
  }
}

namespace {

// A property whose value is not TEXT (libical writes URI and CAL-ADDRESS values as they
// are, CR and LF included; a CN parameter cannot hold a line break intact; a category
// with a comma reads as two) is added only when `problem` (convene/validate.h) finds
// nothing wrong with its value; else it is left out, and why is recorded in `dropped`
// when the caller keeps count ("series power-hour 2026-11-11T15:00: URL left out: ...").
bool value_is_safe(std::string_view value, std::optional<std::string> (*problem)(std::string_view),
                   const char* property, const std::string& place, std::vector<std::string>* dropped) {
  auto why = problem(value);
  if (!why) return true;
  if (dropped) dropped->push_back(place + ": " + property + " left out: " + *why);
  return false;
}

// SUMMARY, DESCRIPTION, LOCATION, URL, ORGANIZER, ATTENDEEs, CATEGORIES, STATUS, TRANSP,
// VALARMs: exactly what the change detector's view holds (convene/change_detector.h),
// with the caller's organizer for a series that names none and the attendees invited.
// Text goes through libical's TEXT properties (escaped); URL, ORGANIZER, its CN and
// CATEGORIES are checked first (value_is_safe). `place` names the event in `dropped`.
void add_details(icalcomponent* event, const EventView& view, const EventOptions& options,
                 const std::string& place, std::vector<std::string>* dropped) {
  add(event, icalproperty_new_summary(view.summary.c_str()));
  if (!view.description.empty()) add(event, icalproperty_new_description(view.description.c_str()));
  if (view.location) add(event, icalproperty_new_location(view.location->c_str()));
  if (view.url && value_is_safe(*view.url, url_problem, "URL", place, dropped))
    add(event, icalproperty_new_url(view.url->c_str()));
  const auto& organizer = view.organizer ? view.organizer : options.organizer;
  if (organizer && value_is_safe(organizer->email, email_problem, "ORGANIZER", place, dropped)) {
    icalproperty* p = icalproperty_new_organizer(("mailto:" + organizer->email).c_str());
    if (!organizer->name.empty() &&
        value_is_safe(organizer->name, display_name_problem, "ORGANIZER's CN", place, dropped))
      icalproperty_add_parameter(p, icalparameter_new_cn(organizer->name.c_str()));
    add(event, p);
  }
  add_attendees(event, options);
  for (const auto& category : view.categories)
    if (value_is_safe(category, category_problem, "CATEGORIES", place, dropped))
      add(event, icalproperty_new_categories(category.c_str()));
  add(event, icalproperty_new_status(view.takes_place ? ICAL_STATUS_CONFIRMED : ICAL_STATUS_CANCELLED));
  // A session that does not take place blocks no time (Outlook shows it as free).
  if (!view.takes_place) add(event, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
  if (view.status) add(event, x_property("X-CONVENE-STATUS", *view.status));
  // An invitation carries no alarm: the attendee's calendar sets its own.
  if (view.takes_place && !options.itip) add_alarms(event, view.reminders, options.reminders, view.alarm_text);
}

std::string compact_local(LocalTime t) {
  const std::string s = format_local_minute(t);  // 2026-09-14T16:00
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2) + "T" + s.substr(11, 2) + s.substr(14, 2);
}

// --- VTIMEZONE ----------------------------------------------------------------------

void add_observance(icalcomponent* vtimezone, const date::sys_info& period, Seconds offset_from,
                    Instant begins) {
  icalcomponent* obs = period.save != std::chrono::minutes{0} ? icalcomponent_new_xdaylight()
                                                               : icalcomponent_new_xstandard();
  // DTSTART: the transition, as a wall time in the offset before it (RFC 5545 §3.6.5).
  add(obs, icalproperty_new_dtstart(ical::floating(LocalTime{begins.time_since_epoch() + offset_from})));
  add(obs, icalproperty_new_tzoffsetfrom(int(offset_from.count())));
  add(obs, icalproperty_new_tzoffsetto(int(period.offset.count())));
  if (!period.abbrev.empty()) add(obs, icalproperty_new_tzname(period.abbrev.c_str()));
  icalcomponent_add_component(vtimezone, obs);
}

// Whether DTSTART is itself an instance of its rule (RFC 5545 makes it the first instance
// either way; ical.js and libical drop it when the rule does not produce it, so then it
// is repeated as an RDATE). Checks BYMONTH, BYMONTHDAY, BYDAY (with ordinals in a month
// for MONTHLY, or YEARLY with BYMONTH), BYHOUR, BYMINUTE, BYSECOND; rules with BYSETPOS,
// BYYEARDAY or BYWEEKNO are taken to match.
bool dtstart_matches_rule(const RecurrenceRule& rule, LocalTime start) {
  if (!rule.by_set_pos.empty() || !rule.by_year_day.empty() || !rule.by_week_no.empty()) return true;
  const LocalDay day = day_of(start);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> hms{start - day};
  auto has = [](const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  if (!rule.by_month.empty() && !has(rule.by_month, int(unsigned(ymd.month())))) return false;
  if (!rule.by_hour.empty() && !has(rule.by_hour, int(hms.hours().count()))) return false;
  if (!rule.by_minute.empty() && !has(rule.by_minute, int(hms.minutes().count()))) return false;
  if (!rule.by_second.empty() && !has(rule.by_second, int(hms.seconds().count()))) return false;
  const int dom = int(unsigned(ymd.day()));
  const int days_in_month = int(unsigned((ymd.year() / ymd.month() / date::last).day()));
  if (!rule.by_month_day.empty() && !has(rule.by_month_day, dom) &&
      !has(rule.by_month_day, dom - days_in_month - 1))
    return false;
  if (!rule.by_day.empty()) {
    const date::weekday wd{day};
    const bool in_month = rule.freq == Frequency::monthly ||
                          (rule.freq == Frequency::yearly && !rule.by_month.empty());
    bool any = false;
    for (const auto& w : rule.by_day) {
      if (w.weekday != wd) continue;
      if (w.nth == 0 || !in_month) {
        any = any || w.nth == 0 || !in_month;
      } else if (w.nth > 0) {
        any = any || (dom - 1) / 7 + 1 == w.nth;
      } else {
        any = any || (days_in_month - dom) / 7 + 1 == -w.nth;
      }
    }
    if (!any) return false;
  }
  return true;
}

// The rule for the master: the series' rule in the form every reader expands alike
// (`portable`, from portable_rule()), ending with UNTIL (UTC) at the end of the plan, or at
// its own end if sooner. COUNT becomes UNTIL too: readers disagree on whether a DTSTART
// the rule does not produce counts (RFC 5545: it does).
icalrecurrencetype master_rule(const SeriesPlan& plan, const RecurrenceRule& portable) {
  icalrecurrencetype rule = icalrecurrencetype_from_string(portable.to_string().c_str());
  const date::time_zone* zone = plan.community->zone;
  Instant until = end_of_day(plan.last_original_day, zone);
  const auto& parsed = plan.series->rrule;
  if (parsed && parsed->count) {
    // The last instance, and the next one the rule would give without COUNT.
    RecurrenceIterator it(*parsed, plan.series->start, zone);
    std::optional<LocalTime> last;
    std::size_t n = 0;
    while (auto t = it.next()) {
      if (day_of(*t) > plan.last_original_day || ++n > 4 * kMaxOccurrencesPerSeries) break;
      last = t;
    }
    if (last && day_of(*last) <= plan.last_original_day) {
      RecurrenceRule open = *parsed;
      open.count.reset();
      RecurrenceIterator after(open, plan.series->start, zone);
      after.seek(*last + Seconds{1});
      // A margin of an hour past the last start covers readers that read a start in a
      // DST gap or overlap with the other offset, short of the next instance.
      Instant own = resolve_local(*last, zone) + std::chrono::hours{1};
      if (auto next = after.next()) own = std::min(own, resolve_local(*next, zone) - Seconds{1});
      until = std::min(until, own);
    }
  } else if (parsed && parsed->until) {
    const auto& u = *parsed->until;
    Instant own = until;
    if (auto* d = std::get_if<LocalDay>(&u)) own = end_of_day(*d, zone);
    else if (auto* l = std::get_if<LocalTime>(&u)) own = resolve_local(*l, zone);
    else own = std::get<Instant>(u);
    until = std::min(until, own);
  }
  rule.count = 0;
  rule.until = ical::utc(until);
  return rule;
}

// A session that does not take place as a cancelled event (the stored form), or not at all
// (an EXDATE): the iTIP REQUEST form never carries STATUS:CANCELLED (RFC 5546 §3.2.2).
bool shown_cancelled(const Occurrence& o, bool was_live, bool expanded, const EventOptions& options) {
  return !options.itip && shown_as_cancelled(o, was_live, expanded);
}

}  // namespace

icalcomponent* make_vtimezone(const date::time_zone* zone, const std::string& tzid, LocalTime from,
                              LocalTime to) {
  icalcomponent* vtz = icalcomponent_new_vtimezone();
  add(vtz, icalproperty_new_tzid(tzid.c_str()));
  // Local to sys with a day of slack either way covers every offset.
  const Instant first{from.time_since_epoch() - date::days{1}};
  const Instant last{to.time_since_epoch() + date::days{1}};
  auto period = zone->get_info(first);
  if (period.begin <= Instant{date::sys_days{date::year{1800} / 1 / 1}}) {
    // No transition before `first` in the database: the period holds since forever.
    add_observance(vtz, period, period.offset, Instant{date::sys_days{date::year{1970} / 1 / 1}});
  } else {
    const auto before = zone->get_info(period.begin - Seconds{1});
    add_observance(vtz, period, before.offset, period.begin);
  }
  while (period.end <= last && period.end < Instant::max()) {
    const auto next = zone->get_info(period.end);
    add_observance(vtz, next, period.offset, period.end);
    period = next;
  }
  return vtz;
}

// The engine's occurrences of one series that the feed shows: the change detector's
// span (render_span), so every one of them has a revision the detector compared.
SeriesPlan plan_series(const Definitions& defs, const CommunityDef& community,
                       const SeriesDef& series, LocalDay horizon) {
  const RenderSpan span = render_span(defs, series, horizon);
  SeriesPlan plan{&community, &series, rendered_occurrences(defs, community, series, span.last), span.last,
                  series.start, series.start};
  const LocalTime last_original{plan.last_original_day + date::days{1}};
  for (const auto& o : plan.occurrences) {
    plan.earliest = std::min(plan.earliest, o.original);
    plan.latest = std::max(plan.latest, o.original);
    if (o.local_start) {
      plan.earliest = std::min(plan.earliest, *o.local_start);
      plan.latest = std::max(plan.latest, *o.local_start + Seconds{86400});
    }
  }
  plan.latest = std::max(plan.latest, last_original + date::days{1});
  for (auto e : series.except) plan.earliest = std::min(plan.earliest, e);
  return plan;
}

void render_recurring(const SeriesPlan& plan, const RevisionSource& revisions,
                      const EventOptions& options, icalcomponent* calendar, std::size_t& events,
                      std::vector<std::string>* dropped) {
  const CommunityDef& community = *plan.community;
  const SeriesDef& series = *plan.series;
  const date::time_zone* zone = community.zone;
  const std::string& tzid = community.timezone;
  const std::string uid = series.id + "@" + options.uid_domain;
  const LocalTime last_original{plan.last_original_day + date::days{1}};

  icalcomponent* master = icalcomponent_new_vevent();
  add(master, icalproperty_new_uid(uid.c_str()));
  add_revision(master, revisions.series(series.id), options);
  add(master, with_tzid(icalproperty_new_dtstart(ical::floating(series.start)), tzid));
  const Instant first_start = resolve_local(series.start, zone);
  if (at_zone_edge(series.start, first_start, first_start + series.duration, zone)) {
    add(master, icalproperty_new_duration(icaldurationtype_from_int(int(series.duration.count()))));
  } else {
    add(master, with_tzid(icalproperty_new_dtend(ical::floating(series.start + series.duration)), tzid));
  }
  // A rule whose expansion the readers dispute is written as its sessions, one RDATE each
  // (docs/recurrence.md#feeds); any other as an RRULE they all read alike.
  const PortableRule form = series.rrule ? portable_rule(*series.rrule, series.start) : PortableRule{};
  if (form.rule) add(master, icalproperty_new_rrule(master_rule(plan, *form.rule)));
  // Without an RRULE, DTSTART is repeated as the first RDATE: RFC 5545 counts it once
  // either way, and ical.js otherwise drops DTSTART from an RDATE-only set.
  std::vector<LocalTime> rdates;
  if ((!form.rule && (!series.add.empty() || series.rrule)) ||
      (form.rule && !dtstart_matches_rule(*form.rule, series.start)))
    rdates.push_back(series.start);
  if (series.rrule && !form.rule) {
    // As many as plan_series() expanded (it refuses more than kMaxOccurrencesPerSeries).
    RecurrenceIterator it(*series.rrule, series.start, zone);
    it.seek(series.start + Seconds{1});
    while (auto t = it.next()) {
      if (*t >= last_original) break;
      rdates.push_back(*t);
    }
  }
  const std::set<LocalTime> from_rule(rdates.begin(), rdates.end());
  for (auto a : series.add)
    if (!from_rule.count(a)) rdates.push_back(a);
  for (auto a : rdates) {
    if (a >= last_original) continue;
    icaldatetimeperiodtype rdate;
    rdate.time = ical::floating(a);
    rdate.period = icalperiodtype_null_period();
    add(master, with_tzid(icalproperty_new_rdate(rdate), tzid));
  }
  // EXDATEs: skipped and cancelled sessions, and `except`, in chronological order.
  std::map<LocalTime, std::string> excluded;
  for (auto e : series.except)
    if (e < last_original) excluded.emplace(e, "except");
  for (const auto& o : plan.occurrences) {
    if (o.live() || shown_cancelled(o, revisions.occurrence(series.id, o.original).was_live, false, options)) continue;
    excluded[o.original] = std::string(to_string(o.status));
  }
  for (const auto& [t, status] : excluded) {
    icalproperty* p = with_tzid(icalproperty_new_exdate(ical::floating(t)), tzid);
    add(master, x_parameter(p, "X-CONVENE-STATUS", status));
  }
  add_details(master, series_view(community, series), options, "series " + series.id, dropped);
  icalcomponent_add_component(calendar, master);
  ++events;

  for (const auto& o : plan.occurrences) {
    const Revision revision = revisions.occurrence(series.id, o.original);
    if (!o.live() && !shown_cancelled(o, revision.was_live, false, options)) continue;
    const EventView view = occurrence_view(o);
    const bool changed = o.status != OccurrenceStatus::scheduled || o.override_def != nullptr ||
                         *view.local_start != o.original;
    if (!changed && !at_zone_edge(*view.local_start, *view.start, *view.end, zone)) continue;
    icalcomponent* event = icalcomponent_new_vevent();
    add(event, icalproperty_new_uid(uid.c_str()));
    add(event, with_tzid(icalproperty_new_recurrenceid(ical::floating(o.original)), tzid));
    add_revision(event, revision, options);
    add_span(event, *view.local_start, *view.start, *view.end, community);
    add_details(event, view, options, "series " + series.id + " " + o.occurrence_id(), dropped);
    icalcomponent_add_component(calendar, event);
    ++events;
  }
}

// A skipped or cancelled session is in an expanded feed only when it is shown as
// cancelled (shown_as_cancelled: a cancellation the community shows, or a session a
// change took away): at its original start, with STATUS:CANCELLED and its revision, so
// its UID is kept and a client that has it learns it is off.
void render_expanded(const SeriesPlan& plan, const RevisionSource& revisions,
                     const EventOptions& options, icalcomponent* calendar, std::size_t& events,
                     std::vector<std::string>* dropped) {
  const SeriesDef& series = *plan.series;
  for (const auto& o : plan.occurrences) {
    const Revision revision = revisions.occurrence(series.id, o.original);
    if (!o.live() && !shown_cancelled(o, revision.was_live, true, options)) continue;
    icalcomponent* event = icalcomponent_new_vevent();
    const std::string uid = series.id + "-" + compact_local(o.original) + "@" + options.uid_domain;
    add(event, icalproperty_new_uid(uid.c_str()));
    add_revision(event, revision, options);
    const EventView view = occurrence_view(o);
    add_span(event, *view.local_start, *view.start, *view.end, *plan.community);
    add_details(event, view, options, "series " + series.id + " " + o.occurrence_id(), dropped);
    icalcomponent_add_component(calendar, event);
    ++events;
  }
}

bool uses_fixed_zone(const SeriesPlan& plan, const RevisionSource& revisions, const EventOptions& options,
                     bool expanded) {
  for (const auto& o : plan.occurrences) {
    if (!o.live() && !shown_cancelled(o, revisions.occurrence(plan.series->id, o.original).was_live, expanded, options))
      continue;
    const EventView view = occurrence_view(o);
    if (at_zone_edge(*view.local_start, *view.start, *view.end, plan.community->zone)) return true;
  }
  return false;
}

LocalDay rule_covers(const SeriesPlan& plan) {
  const SeriesDef& series = *plan.series;
  const PortableRule form = series.rrule ? portable_rule(*series.rrule, series.start) : PortableRule{};
  if (form.rule) {
    const icaltimetype until = master_rule(plan, *form.rule).until;
    const Instant at = Instant{date::sys_days{date::year{until.year} / unsigned(until.month) / unsigned(until.day)}} +
                       std::chrono::hours{until.hour} + std::chrono::minutes{until.minute} + Seconds{until.second};
    return date::floor<date::days>(to_local(at, plan.community->zone));
  }
  // Written as RDATEs: the last session the span holds.
  LocalDay last = date::floor<date::days>(series.start);
  if (series.rrule)
    for (const auto& o : plan.occurrences) last = std::max(last, date::floor<date::days>(o.original));
  for (auto a : series.add)
    if (date::floor<date::days>(a) <= plan.last_original_day) last = std::max(last, date::floor<date::days>(a));
  return last;
}

}  // namespace convene::ical

namespace convene {

namespace {

void add_calendar_header(icalcomponent* cal, const std::string& prodid, const std::string& method) {
  using ical::add;
  add(cal, icalproperty_new_prodid(prodid.c_str()));
  add(cal, icalproperty_new_version("2.0"));
  add(cal, icalproperty_new_calscale("GREGORIAN"));
  if (!method.empty()) add(cal, icalproperty_new_method(icalproperty_string_to_method(method.c_str())));
}

}  // namespace

struct SeriesCalendar::Impl {
  ical::Component calendar;
  EventOptions options;
};

SeriesCalendar::SeriesCalendar(const Definitions& definitions, const CommunityDef& community,
                               const SeriesDef& series, LocalDay horizon, const RevisionSource& revisions,
                               const EventOptions& options, const std::string& method)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  const ical::SeriesPlan plan = ical::plan_series(definitions, community, series, horizon);
  impl_->calendar.reset(icalcomponent_new_vcalendar());
  icalcomponent* cal = impl_->calendar.get();
  add_calendar_header(cal, options.prodid, method);
  icalcomponent_add_component(cal, ical::make_vtimezone(community.zone, community.timezone, plan.earliest, plan.latest));
  if (community.timezone != ical::kFixedTzid && ical::uses_fixed_zone(plan, revisions, options, false)) {
    const LocalTime epoch{date::sys_days{date::year{1970} / 1 / 1}.time_since_epoch()};
    icalcomponent_add_component(cal, ical::make_vtimezone(find_zone(ical::kFixedTzid), ical::kFixedTzid, epoch, epoch));
  }
  std::size_t events = 0;
  ical::render_recurring(plan, revisions, options, cal, events);
}

SeriesCalendar::~SeriesCalendar() = default;

std::string SeriesCalendar::text() const { return ical::to_text(impl_->calendar.get()); }

std::string SeriesCalendar::text_for(const Attendee& attendee) const {
  ical::Component copy{icalcomponent_new_clone(impl_->calendar.get())};
  EventOptions one = impl_->options;
  one.attendees = {attendee};
  for (icalcomponent* e = icalcomponent_get_first_component(copy.get(), ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(copy.get(), ICAL_VEVENT_COMPONENT))
    ical::add_attendees(e, one);
  return ical::to_text(copy.get());
}

std::string series_calendar(const Definitions& definitions, const CommunityDef& community, const SeriesDef& series,
                            LocalDay horizon, const RevisionSource& revisions, const EventOptions& options,
                            const std::string& method) {
  return SeriesCalendar(definitions, community, series, horizon, revisions, options, method).text();
}

LocalDay series_covers(const Definitions& definitions, const CommunityDef& community, const SeriesDef& series,
                       LocalDay horizon) {
  return ical::rule_covers(ical::plan_series(definitions, community, series, horizon));
}

std::string cancel_calendar(const CancelSpec& spec) {
  using ical::add;
  ical::Component calendar{icalcomponent_new_vcalendar()};
  icalcomponent* cal = calendar.get();
  add_calendar_header(cal, spec.prodid, "CANCEL");
  const date::time_zone* zone = spec.timezone.empty() ? nullptr : find_zone(spec.timezone);
  const auto at = spec.recurrence_id ? spec.recurrence_id : spec.start;
  if (zone && at)
    icalcomponent_add_component(cal, ical::make_vtimezone(zone, spec.timezone, *at - date::days{1}, *at + date::days{1}));
  icalcomponent* event = icalcomponent_new_vevent();
  add(event, icalproperty_new_uid(spec.uid.c_str()));
  add(event, icalproperty_new_dtstamp(ical::utc(spec.dtstamp)));
  add(event, icalproperty_new_sequence(spec.sequence > std::uint64_t(INT_MAX) ? INT_MAX : int(spec.sequence)));
  if (zone && spec.recurrence_id)
    add(event, ical::with_tzid(icalproperty_new_recurrenceid(ical::floating(*spec.recurrence_id)), spec.timezone));
  if (zone && spec.start) add(event, ical::with_tzid(icalproperty_new_dtstart(ical::floating(*spec.start)), spec.timezone));
  if (!spec.summary.empty()) add(event, icalproperty_new_summary(spec.summary.c_str()));
  if (!spec.comment.empty()) add(event, icalproperty_new_comment(spec.comment.c_str()));
  icalproperty* organizer = icalproperty_new_organizer(("mailto:" + spec.organizer.email).c_str());
  if (!spec.organizer.name.empty()) icalproperty_add_parameter(organizer, icalparameter_new_cn(spec.organizer.name.c_str()));
  add(event, organizer);
  for (const auto& a : spec.attendees) {
    icalproperty* p = icalproperty_new_attendee(("mailto:" + a.email).c_str());
    if (!a.name.empty()) icalproperty_add_parameter(p, icalparameter_new_cn(a.name.c_str()));
    icalproperty_add_parameter(p, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
    add(event, p);
  }
  add(event, icalproperty_new_status(ICAL_STATUS_CANCELLED));
  icalcomponent_add_component(cal, event);
  return ical::to_text(cal);
}

}  // namespace convene
