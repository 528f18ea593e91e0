// convene/holiday_calendar.h: holiday calendars, the days on which a community
// does not meet.
//
// A calendar is an immutable value: an id, a set of rules (fixed dates with optional
// weekend observance, nth weekdays of a month, Easter offsets) and closures (single
// days or inclusive ranges: school breaks, snow days, days from a district's ICS
// calendar). Copies share their data; adding a closure makes a new calendar, it never
// changes one that is in use (QuantLib's addHoliday mutates shared state; we don't).
//
// The built-in calendars follow the law:
//   - "us-federal": the 11 federal holidays of 5 U.S.C. 6103 (Juneteenth from 2021).
//     A fixed-date holiday on a Saturday is observed on the Friday before, on a Sunday
//     the Monday after; both the holiday and its observed day are holidays. New Year's
//     Day 2028 (a Saturday) is observed on Friday 31 December 2027.
//   - "us-dc": us-federal plus DC Emancipation Day (16 April, from 2005, same
//     observance) and Inauguration Day (20 January every fourth year from 1965;
//     on a Sunday, observed Monday 21 January).
//
// How to use:
//   auto dc = convene::HolidayCalendar::builtin("us-dc");
//   for (const auto& h : dc->holidays(date::year{2027}, date::year{2027})) ...
//   auto snowy = dc->with_closure({"Snow day", day, day});
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "convene/limits.h"
#include "convene/time.h"

namespace convene {

// One day on which a calendar says there is no session.
struct Holiday {
  LocalDay day;
  std::string name;      // "Independence Day (observed)", "Winter break", "Snow day"
  std::string calendar;  // the id of the calendar that lists it
  friend bool operator==(const Holiday&, const Holiday&) = default;
};

// Rule kinds. `since`/`until` bound the years in which a rule applies (inclusive).
struct FixedDateRule {
  std::string name;
  unsigned month = 1, day = 1;
  bool observe_weekend = false;  // Saturday → Friday before, Sunday → Monday after
  std::optional<int> since, until;
  // With observe_weekend: whether a Saturday is observed on the Friday before. False for
  // Inauguration Day: only a Sunday moves, to Monday (5 U.S.C. 6103(c); OPM: "no authority
  // for an in lieu of holiday when Inauguration Day falls on Saturday", 51 Comp. Gen. 586).
  bool observe_saturday = true;
  // The rule applies in the years since + k * every_years only (Inauguration Day: every 4
  // years from 1965); counted from year 0 when `since` is unset. 1: every year.
  int every_years = 1;
  friend bool operator==(const FixedDateRule&, const FixedDateRule&) = default;
};
struct NthWeekdayRule {
  std::string name;
  unsigned month = 1;
  date::weekday weekday = date::Monday;
  int nth = 1;  // 1..5 from the start of the month, -1..-5 from its end
  std::optional<int> since, until;
  friend bool operator==(const NthWeekdayRule&, const NthWeekdayRule&) = default;
};
struct EasterRule {
  std::string name;
  int offset_days = 0;  // Gregorian (Western) Easter Sunday + offset: -2 is Good Friday
  std::optional<int> since, until;
  friend bool operator==(const EasterRule&, const EasterRule&) = default;
};
using HolidayRule = std::variant<FixedDateRule, NthWeekdayRule, EasterRule>;

// A closure: the inclusive range of days [from, to] (from == to for one day).
struct Closure {
  std::string name;
  LocalDay from, to;
  friend bool operator==(const Closure&, const Closure&) = default;
};

class HolidayCalendar {
 public:
  // An empty calendar with an id, to which rules and closures may be added.
  explicit HolidayCalendar(std::string id);
  // "us-federal" or "us-dc" (named `id` unless another id is given); nullopt otherwise.
  static std::optional<HolidayCalendar> builtin(std::string_view name, std::string id = {});
  static const std::vector<std::string>& builtin_names();

  HolidayCalendar with_rule(HolidayRule rule) const;
  HolidayCalendar with_closure(Closure closure) const;
  // Every closure of `closures` added at once, in their order (one copy of the calendar,
  // however many: 40,000 closures are 40,000 appends, not 40,000 copies).
  HolidayCalendar with_closures(std::vector<Closure> closures) const;
  // Another calendar's rules and closures, listed under this calendar's id.
  HolidayCalendar merged_with(const HolidayCalendar& other) const;

  const std::string& id() const;
  const std::vector<HolidayRule>& rules() const;
  const std::vector<Closure>& closures() const;

  // Rules that can give no date give nothing, silently: 29 February outside leap years,
  // a fifth Monday in a month with four, 31 April, a month outside 1..12, nth 0.
  //
  // Every holiday in the years [from, to], sorted by day, one entry per (day, name):
  // a closure range gives one entry per day (so its size is the number of holiday days;
  // the engine asks HolidayIndex, which keeps closures as ranges); an observed day gives its own entry
  // ("Independence Day (observed)") beside the holiday itself. A rule for the 31 December
  // observance of next year's New Year's Day is included when 31 December is in range.
  std::vector<Holiday> holidays(date::year from, date::year to) const;

 private:
  friend class HolidayIndex;
  struct Data;
  std::shared_ptr<const Data> data_;
};

// Reads the all-day VEVENTs of a published (school or district) iCalendar file as
// closures: SUMMARY is the name, DTSTART the first day, DTEND exclusive (a missing
// DTEND or DURATION means one day). Recurring all-day events are expanded by
// libical. Timed events are not closures and are ignored.
// Details: DURATION counts whole days (P5D, P1W); a DTEND equal to DTSTART is one day.
// RRULE (at most 1,000 instances each, none after 2100), RDATE and EXDATE are honoured;
// an instance replaced by a VEVENT with its UID and RECURRENCE-ID is read from that
// VEVENT. STATUS:CANCELLED events are not closures. A file without all-day events gives
// no closures and no error.
// Bounds (InputLimits, convene/limits.h): the file is read only if it is a regular file
// of at most max_file_size bytes (convene/input_file.h: never a FIFO or /dev/zero), and
// holds at most max_ics_events VEVENTs (20,000 by default); the work is linear in its size.
// On failure, `error` says why, naming the file, and where it can, the line and the
// event's SUMMARY and UID: "district.ics: line 42: event "Snow day" (UID sd@x): no
// DTSTART (every VEVENT needs one)". Failures: an unreadable or missing file, one that
// is not a regular file or is too large, content that is not iCalendar (first line not
// BEGIN:VCALENDAR, unbalanced BEGIN/END, a line that is not a content line), more
// events than allowed, a VEVENT without DTSTART, or an unreadable/impossible DTSTART,
// DTEND, DURATION, RRULE, RDATE, EXDATE or RECURRENCE-ID in an all-day event.
struct IcsClosures {
  std::vector<Closure> closures;
  std::string error;  // empty on success
};
IcsClosures load_ics_closures(const std::string& path, const InputLimits& limits = {});
IcsClosures parse_ics_closures(std::string_view ics_text, const std::string& source_name,
                               const InputLimits& limits = {});

// The holidays of several calendars, indexed over a range of days, for fast look-up
// while expanding. Where several calendars list a day, the first calendar given wins;
// within one calendar, the first in holidays() order (by name: on 21 January 2013, us-dc
// gives "Inauguration Day (observed)" before "Martin Luther King, Jr. Day").
// Built in O(n log n) for n holidays and closures, whatever the range: a closure is one
// range of days, never one entry per day (ten closures over two centuries, indexed over
// two centuries, take ten entries). Look-ups are a binary search.
class HolidayIndex {
 public:
  HolidayIndex() = default;
  HolidayIndex(const std::vector<const HolidayCalendar*>& calendars, LocalDay from, LocalDay to);
  // The holiday on `day` (its name and calendar, and `day`), or nullopt (also for a day
  // outside the indexed range).
  std::optional<Holiday> find(LocalDay day) const;
  // Whether `day` is a holiday: find() without building the answer.
  bool contains(LocalDay day) const;
  LocalDay from() const { return from_; }
  LocalDay to() const { return to_; }

 private:
  // Days [first, last] on which entries_[entry] wins; sorted, disjoint.
  struct Span {
    LocalDay first, last;
    std::uint32_t entry;
  };
  const Span* span_of(LocalDay day) const;

  LocalDay from_{}, to_{};
  std::vector<Holiday> entries_;  // a rule's holiday, or a closure (its first day in range)
  std::vector<Span> spans_;
};

}  // namespace convene
