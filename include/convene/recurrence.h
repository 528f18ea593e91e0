// convene/recurrence.h: RFC 5545 recurrence rules and their expansion.
//
// A rule is read from its RRULE text by libical (icalrecurrencetype_from_string), so
// a rule means to convene what it means to every calendar client, except its numbers,
// which convene reads itself with checked 64-bit arithmetic against the ranges below
// (libical wraps them: "COUNT=4294967298" would be COUNT=2). The iteration is our
// own, over civil-day arithmetic (date's year_month_day / sys_days), because libical's
// iterator is slow, emits nonexistent local times and limits BYSETPOS.
//
// Where RFC 5545's prose leaves room, the iteration follows RFC 8984 (JSCalendar)
// §4.3.3.1, which writes the expansion out as an algorithm; docs/recurrence.md lists
// every case where convene knowingly differs from python-dateutil, libical or ical.js,
// with the reason.
//
// Iteration happens in civil (local) time: a weekly rule at 16:00 stays at 16:00
// across DST. Instants come later, by resolve_local() in the series' zone. The one
// place the zone matters here is an UNTIL given in UTC ("...Z"), which bounds the
// resolved instants.
//
// How to use:
//   auto rule = convene::RecurrenceRule::parse("FREQ=MONTHLY;BYDAY=2MO");
//   if (!rule) { puts(rule.error().c_str()); }
//   convene::RecurrenceIterator it(*rule, *convene::parse_local_minute("2026-09-14T16:00"), zone);
//   while (auto t = it.next()) { ... }   // 2026-09-14T16:00, 2026-10-12T16:00, ...
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "convene/time.h"

namespace convene {

enum class Frequency { secondly, minutely, hourly, daily, weekly, monthly, yearly };

// The ranges RecurrenceRule::parse accepts (each refused value gets a message naming its
// part: "COUNT must be 1..100000, not 4294967298"). BYxxx values are RFC 5545's ranges
// (BYMONTHDAY 1..31 or -31..-1, ...; BYSECOND 0..59: no leap second); these are ours:
//   COUNT: at most the occurrences convene expands for a series (schedule.h's
//     kMaxOccurrencesPerSeries);
//   INTERVAL: what libical, which writes the rule into feeds, holds (a short);
//   UNTIL: a year of the Gregorian calendar that the engine iterates (0001..9999; no
//     rule produces an instance after 9999-12-31, as in python-dateutil).
inline constexpr int kMaxRuleCount = 100000;
inline constexpr int kMaxRuleInterval = 32767;
inline constexpr int kFirstRuleYear = 1;
inline constexpr int kLastRuleYear = 9999;

// A BYDAY entry: a weekday, with an ordinal for MONTHLY/YEARLY rules
// (2MO = second Monday, -1FR = last Friday; 0 = every such weekday).
struct WeekdayNum {
  date::weekday weekday;
  int nth = 0;
  friend bool operator==(const WeekdayNum&, const WeekdayNum&) = default;
};

// UNTIL, in one of the three forms RFC 5545 allows:
//   a DATE (inclusive local day), a local DATE-TIME, or a UTC DATE-TIME ("...Z").
using Until = std::variant<LocalDay, LocalTime, Instant>;

// A parsed RRULE. A plain value: copy it, compare it, print it.
struct RecurrenceRule {
  Frequency freq = Frequency::daily;
  int interval = 1;
  std::optional<int> count;
  std::optional<Until> until;
  std::vector<int> by_second, by_minute, by_hour;
  std::vector<WeekdayNum> by_day;
  std::vector<int> by_month_day;  // 1..31, -31..-1
  std::vector<int> by_year_day;   // 1..366, -366..-1
  std::vector<int> by_week_no;    // 1..53, -53..-1
  std::vector<int> by_month;      // 1..12
  std::vector<int> by_set_pos;    // 1..366, -366..-1
  date::weekday wkst = date::Monday;

  // Parses an RRULE value ("FREQ=WEEKLY;BYDAY=MO"; a leading "RRULE:" is accepted).
  // On failure the error message quotes the text and libical's complaint.
  class Parsed;
  static Parsed parse(std::string_view text);

  // The RRULE value as libical writes it.
  std::string to_string() const;

  // The rule with the day-level parts it leaves to DTSTART written out, by RFC 8984
  // §4.3.3.1 (RFC 5545 §3.3.10: "Information, not contained in the rule, necessary to
  // determine the various recurrence instance start time and dates are derived from
  // the Start Time"). The rule and its completed form give the same instances:
  //   WEEKLY without BYDAY: BYDAY = DTSTART's weekday;
  //   MONTHLY without BYDAY and BYMONTHDAY: BYMONTHDAY = DTSTART's day;
  //   YEARLY without BYYEARDAY:
  //     - without BYMONTH and BYWEEKNO, when there is BYMONTHDAY or no BYDAY:
  //       BYMONTH = DTSTART's month (FREQ=YEARLY;BYMONTHDAY=14 from 14 August is every
  //       14 August, as Google Calendar shows it; python-dateutil gives every 14th);
  //     - without BYMONTHDAY, BYWEEKNO and BYDAY: BYMONTHDAY = DTSTART's day;
  //     - with BYWEEKNO, without BYMONTHDAY and BYDAY: BYDAY = DTSTART's weekday
  //       (FREQ=YEARLY;BYWEEKNO=1,2 from Tuesday 2013-01-01 is the Tuesdays of ISO weeks
  //       1 and 2, as libical since its PR #455; python-dateutil gives every day).
  // An ordinal BYDAY of a YEARLY rule still counts in the year when the BYMONTH written
  // here came from DTSTART (RFC 5545 scopes it to the month only when the rule has
  // BYMONTH), so for such rules (ordinal BYDAY and BYMONTHDAY, no BYMONTH) the completed
  // rule is not the same rule: portable_rule() gives no RRULE for them.
  // Time parts (BYHOUR, BYMINUTE, BYSECOND) are left as they are: DTSTART's time of day
  // fills them in the iteration, as every reader agrees.
  RecurrenceRule with_implicit_parts(LocalTime dtstart) const;

  friend bool operator==(const RecurrenceRule&, const RecurrenceRule&) = default;
};

class RecurrenceRule::Parsed {
 public:
  Parsed(RecurrenceRule rule) : value_(std::move(rule)) {}  // NOLINT: implicit by design
  static Parsed failure(std::string message) {
    Parsed p{RecurrenceRule{}};
    p.error_ = std::move(message);
    p.ok_ = false;
    return p;
  }
  explicit operator bool() const { return ok_; }
  const RecurrenceRule& operator*() const { return value_; }
  const RecurrenceRule* operator->() const { return &value_; }
  const std::string& error() const { return error_; }

 private:
  RecurrenceRule value_;
  std::string error_;
  bool ok_ = true;
};

// How a feed writes a series' rule so that the readers that matter, python-dateutil (and
// recurring-ical-events), libical 3.0 (Evolution, ...) and ical.js 2.2 (Thunderbird),
// expand it to the instances convene gives:
//   - `rule`: the rule itself, with the parts those readers would fill in differently
//     from DTSTART written out (BYMONTH for a YEARLY rule with BYMONTHDAY and no BYMONTH,
//     which dateutil expands to every month);
//   - no `rule`: no RRULE is read alike by all of them (`why` names the section of
//     docs/recurrence.md); the feed writes each instance as an RDATE instead.
// Such rules are those whose expansion the readers dispute: any BYWEEKNO (ical.js ignores
// it; dateutil and libical misread weeks 52, 53 and negative weeks); BYSETPOS outside
// MONTHLY and YEARLY, over several times a day, or over negative month days (libical,
// ical.js); a BYDAY list that mixes plain weekdays and ordinals (dateutil intersects
// them); a negative BYMONTHDAY below MONTHLY or BYYEARDAY below DAILY (libical); BYHOUR,
// BYMINUTE or BYSECOND at a finer rule's own unit, or coarser with an INTERVAL (libical,
// ical.js leave the INTERVAL grid); a YEARLY rule with ordinal BYDAY and BYMONTHDAY but no
// BYMONTH (a written BYMONTH would scope the ordinals to the month).
struct PortableRule {
  std::optional<RecurrenceRule> rule;
  std::string why;  // when there is no rule: "#anchor" of docs/recurrence.md and a sentence
};
PortableRule portable_rule(const RecurrenceRule& rule, LocalTime dtstart);

// Produces the local starts of a recurrence in chronological order.
//
// RFC 5545 semantics, exactly:
//   - DTSTART is always the first instance, even when it does not match the rule,
//     and COUNT counts it;
//   - a BYxxx value that names a day the period lacks (BYMONTHDAY=31 in April,
//     the 29th of February in 2027) produces nothing for that period; a rule whose
//     DTSTART is on the 31st with no BYMONTHDAY skips short months the same way;
//   - BYSETPOS applies to every frequency (libical only allows MONTHLY/YEARLY);
//   - the parts the rule leaves to DTSTART are RecurrenceRule::with_implicit_parts';
//   - a YEARLY rule with BYWEEKNO counts INTERVAL in week-numbering years (ISO 8601
//     with WKST as the first day of the week), starting from DTSTART's: from Saturday
//     2010-01-02 (in week 53 of 2009), FREQ=YEARLY;INTERVAL=6;BYWEEKNO=53;BYDAY=TU,SA
//     gives 2015-12-29 and 2016-01-02 (week 53 of 2015) next, and BYSETPOS counts in
//     the week-year's days;
//   - iteration ends at the end of year kLastRuleYear, and, for a rule that can never
//     match again, as soon as a whole 400-year Gregorian cycle has passed without an
//     instance (FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30 stops after 4800 empty months, a
//     fraction of a millisecond): end_reason() says which;
//   - UNTIL bounds inclusively: a DATE by the local day, a local DATE-TIME by local
//     time, a UTC DATE-TIME by the instant resolve_local() gives in `zone`.
// Nonexistent local times (DST gaps) are produced as the civil times they are;
// resolve_local() gives their instant.
class RecurrenceIterator {
 public:
  RecurrenceIterator(const RecurrenceRule& rule, LocalTime dtstart, const date::time_zone* zone);
  ~RecurrenceIterator();
  RecurrenceIterator(RecurrenceIterator&&) noexcept;
  RecurrenceIterator& operator=(RecurrenceIterator&&) noexcept;

  // The next local start, or nullopt when the rule is exhausted (COUNT, UNTIL, or
  // no further match possible, e.g. BYMONTHDAY=30 with BYMONTH=2).
  std::optional<LocalTime> next();

  // Skips ahead: the next start returned is the first that is >= `from`. Cheaper
  // than calling next() repeatedly, except that a rule with COUNT must still count
  // the instances before `from`.
  void seek(LocalTime from);

  // Why next() returned nullopt, once it has.
  enum class End {
    count,     // COUNT instances were given
    until,     // the next instance would be after UNTIL
    no_match,  // no instance is possible any more (a 400-year cycle passed without one)
    horizon,   // the end of year kLastRuleYear
  };
  std::optional<End> end_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: every start of the rule (with DTSTART first) that lies in
// [from, to] inclusive, at most `limit` + 1 of them (so the caller can tell that
// there were more than `limit`).
std::vector<LocalTime> expand_between(const RecurrenceRule& rule, LocalTime dtstart,
                                      const date::time_zone* zone, LocalTime from, LocalTime to,
                                      std::size_t limit);

}  // namespace convene
