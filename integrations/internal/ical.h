// Small RAII and conversion helpers at the libical edge (private to convene::integrations).
//
// libical's icaltimetype carries a date, a time, a zone pointer and flags at once; it is
// built here from convene's LocalTime/Instant and never travels further.
#pragma once

#include <memory>
#include <string>

#include <libical/ical.h>

#include "convene/time.h"

namespace convene::ical {

struct ComponentDeleter {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using Component = std::unique_ptr<icalcomponent, ComponentDeleter>;

// The component as iCalendar text (folded, CRLF), freeing libical's buffer.
inline std::string to_text(icalcomponent* component) {
  char* text = icalcomponent_as_ical_string_r(component);
  std::string out = text ? text : "";
  free(text);
  return out;
}

// A floating (zone-less) DATE-TIME with the wall-clock fields of `local`.
inline icaltimetype floating(LocalTime local) {
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<Seconds> hms{local - day};
  icaltimetype t = icaltime_null_time();
  t.year = int(ymd.year());
  t.month = int(unsigned(ymd.month()));
  t.day = int(unsigned(ymd.day()));
  t.hour = int(hms.hours().count());
  t.minute = int(hms.minutes().count());
  t.second = int(hms.seconds().count());
  t.is_date = 0;
  t.zone = nullptr;
  return t;
}

// A UTC DATE-TIME ("...Z").
inline icaltimetype utc(Instant at) {
  icaltimetype t = floating(LocalTime{at.time_since_epoch()});
  t.zone = icaltimezone_get_utc_timezone();
  return t;
}

}  // namespace convene::ical
