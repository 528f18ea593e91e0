// A series' VCALENDAR read into what calendar APIs take (invite/internal/cloud_event.h).
#include "invite/internal/cloud_event.h"

#include <algorithm>
#include <cstring>

#include "internal/ical.h"

namespace convene::cloud {

namespace {

LocalTime local_of(const icaltimetype& t) {
  const auto day = date::local_days{date::year{t.year} / unsigned(t.month) / unsigned(t.day)};
  return day + std::chrono::hours(t.hour) + std::chrono::minutes(t.minute) + Seconds(t.second);
}

std::string text_of(icalcomponent* e, icalproperty_kind kind) {
  icalproperty* p = icalcomponent_get_first_property(e, kind);
  if (!p) return "";
  const char* v = icalproperty_get_value_as_string(p);
  // get_value_as_string escapes TEXT (\, \; \n): read the value itself.
  if (kind == ICAL_SUMMARY_PROPERTY) v = icalproperty_get_summary(p);
  if (kind == ICAL_DESCRIPTION_PROPERTY) v = icalproperty_get_description(p);
  if (kind == ICAL_LOCATION_PROPERTY) v = icalproperty_get_location(p);
  return v ? v : "";
}

std::string tzid_of(icalproperty* p) {
  icalparameter* tz = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : nullptr;
  return tz && icalparameter_get_tzid(tz) ? icalparameter_get_tzid(tz) : "UTC";
}

// One property as its unfolded content line, without the line break.
std::string line_of(icalproperty* p) {
  char* raw = icalproperty_as_ical_string_r(p);
  std::string s = raw ? raw : "";
  free(raw);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') continue;
    if (s[i] == '\n') {
      if (i + 1 < s.size() && (s[i + 1] == ' ' || s[i + 1] == '\t')) ++i;  // a fold
      continue;
    }
    out += s[i];
  }
  return out;
}

bool read_event(icalcomponent* e, CloudEvent& out, std::string& error) {
  icalproperty* dtstart = icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY);
  if (!dtstart) {
    error = "an event has no DTSTART";
    return false;
  }
  out.timezone = tzid_of(dtstart);
  const date::time_zone* zone = find_zone(out.timezone);
  if (!zone) {
    error = "an event's zone \"" + out.timezone + "\" is not in the tz database";
    return false;
  }
  out.start = local_of(icalproperty_get_dtstart(dtstart));
  out.start_utc = resolve_local(out.start, zone);
  if (icalproperty* dtend = icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY)) {
    out.end = local_of(icalproperty_get_dtend(dtend));
    out.end_utc = resolve_local(out.end, find_zone(tzid_of(dtend)) ? find_zone(tzid_of(dtend)) : zone);
  } else if (icalproperty* d = icalcomponent_get_first_property(e, ICAL_DURATION_PROPERTY)) {
    out.end_utc = out.start_utc + Seconds(icaldurationtype_as_int(icalproperty_get_duration(d)));
    out.end = to_local(out.end_utc, zone);
  } else {
    out.end_utc = out.start_utc;
    out.end = out.start;
  }
  out.summary = text_of(e, ICAL_SUMMARY_PROPERTY);
  out.description = text_of(e, ICAL_DESCRIPTION_PROPERTY);
  out.location = text_of(e, ICAL_LOCATION_PROPERTY);
  if (icalproperty* st = icalcomponent_get_first_property(e, ICAL_STATUS_PROPERTY))
    out.cancelled = icalproperty_get_status(st) == ICAL_STATUS_CANCELLED;
  if (icalproperty* rid = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY)) {
    out.recurrence_id = local_of(icalproperty_get_recurrenceid(rid));
    const date::time_zone* rz = find_zone(tzid_of(rid));
    out.original_utc = resolve_local(*out.recurrence_id, rz ? rz : zone);
  }
  return true;
}

void read_dates(icalproperty* p, std::vector<LocalTime>& out) {
  const auto kind = icalproperty_isa(p);
  if (kind == ICAL_EXDATE_PROPERTY) {
    out.push_back(local_of(icalproperty_get_exdate(p)));
  } else {
    const icaldatetimeperiodtype v = icalproperty_get_rdate(p);
    out.push_back(local_of(v.time));
  }
}

}  // namespace

const CloudEvent* CloudSeries::override_at(LocalTime original) const {
  for (const auto& o : overrides)
    if (o.recurrence_id == original) return &o;
  return nullptr;
}

CloudEvent CloudSeries::plain_instance(LocalTime original) const {
  CloudEvent e = master;
  const date::time_zone* zone = find_zone(master.timezone);
  e.recurrence_id = original;
  e.start = original;
  e.start_utc = resolve_local(original, zone);
  e.end_utc = e.start_utc + (master.end_utc - master.start_utc);
  e.end = to_local(e.end_utc, zone);
  e.original_utc = e.start_utc;
  e.cancelled = false;
  return e;
}

std::optional<CloudSeries> read_cloud_series(const std::string& ics, std::string& error) {
  ical::Component cal{icalparser_parse_string(ics.c_str())};
  if (!cal) {
    error = "the series' calendar cannot be read";
    return std::nullopt;
  }
  CloudSeries s;
  bool master = false;
  for (icalcomponent* e = icalcomponent_get_first_component(cal.get(), ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(cal.get(), ICAL_VEVENT_COMPONENT)) {
    CloudEvent ev;
    if (!read_event(e, ev, error)) return std::nullopt;
    if (ev.recurrence_id) {
      s.overrides.push_back(std::move(ev));
      continue;
    }
    if (master) {
      error = "the series' calendar has two masters";
      return std::nullopt;
    }
    master = true;
    s.master = std::move(ev);
    if (const char* uid = icalcomponent_get_uid(e)) s.uid = uid;
    for (icalproperty* p = icalcomponent_get_first_property(e, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(e, ICAL_ANY_PROPERTY)) {
      const auto kind = icalproperty_isa(p);
      if (kind == ICAL_RRULE_PROPERTY) {
        s.recurrence.push_back(line_of(p));
        s.rrule = s.recurrence.back().substr(s.recurrence.back().find(':') + 1);
      } else if (kind == ICAL_RDATE_PROPERTY || kind == ICAL_EXDATE_PROPERTY) {
        // Written again in the master's zone, without the builder's X- parameters.
        auto& dates = kind == ICAL_RDATE_PROPERTY ? s.rdates : s.exdates;
        read_dates(p, dates);
        s.recurrence.push_back(std::string(kind == ICAL_RDATE_PROPERTY ? "RDATE" : "EXDATE") +
                               ";TZID=" + s.master.timezone + ":" + date::format("%Y%m%dT%H%M%S", dates.back()));
      } else if (kind == ICAL_ATTENDEE_PROPERTY) {
        std::string value = icalproperty_get_attendee(p) ? icalproperty_get_attendee(p) : "";
        if (value.size() > 7 && strncasecmp(value.c_str(), "mailto:", 7) == 0) value.erase(0, 7);
        icalparameter* cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
        s.attendees.push_back({value, cn && icalparameter_get_cn(cn) ? icalparameter_get_cn(cn) : ""});
      }
    }
  }
  if (!master) {
    error = "the series' calendar has no master event";
    return std::nullopt;
  }
  std::sort(s.overrides.begin(), s.overrides.end(),
            [](const CloudEvent& a, const CloudEvent& b) { return *a.recurrence_id < *b.recurrence_id; });
  return s;
}

std::string utc_basic(Instant at) { return date::format("%Y%m%dT%H%M%SZ", at); }
std::string local_iso(LocalTime local) { return date::format("%Y-%m-%dT%H:%M:%S", local); }

}  // namespace convene::cloud
