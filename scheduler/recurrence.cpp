// Recurrence rules: parsing by libical, iteration of our own.
//
// The iterator follows python-dateutil's rrule._iter: the rule's time line is cut
// into periods of its frequency (a year, a month, a week from WKST, a day, an hour,
// a minute, a second), INTERVAL periods apart from DTSTART's. For each period it
// takes the period's days that pass every day-level BYxxx part (BYMONTH, BYWEEKNO,
// BYYEARDAY, BYMONTHDAY, BYDAY, read from a mask built once per year), crosses them
// with the sorted time set (BYHOUR x BYMINUTE x BYSECOND, DTSTART's where a part is
// absent), and, with BYSETPOS, keeps the named positions of that sorted set. That is
// RFC 5545's expand/limit table (§3.3.10): a BYxxx part finer than the frequency
// expands the period (all its matching days or times), one at least as coarse limits
// it (the period's own day or hour must match).
//
// Defaults from DTSTART, as RFC 5545 says and as dateutil does: without BYWEEKNO,
// BYYEARDAY, BYMONTHDAY and BYDAY, a YEARLY rule takes DTSTART's month (unless
// BYMONTH) and day of month, a MONTHLY rule DTSTART's day of month, a WEEKLY rule
// DTSTART's weekday. A day that does not exist in a period (the 31st in April, the
// 29th of February in 2027) is simply not among the period's days: it is skipped.
#include "convene/recurrence.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include <libical/ical.h>

#include "internal/recurrence_calendar.h"

namespace convene {

namespace {

using namespace recurrence_internal;

constexpr std::int64_t kSecondsPerDay = 86400;

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

// libical's error handling is process-wide state; parse under one lock, with the
// errors that icalrecurrencetype_from_string may raise made non-fatal (no abort, no
// message on stderr) for the duration.
std::mutex& ical_mutex() {
  static std::mutex mutex;
  return mutex;
}

class NonFatalIcalErrors {
 public:
  NonFatalIcalErrors() {
    for (std::size_t i = 0; i < kErrors.size(); ++i) {
      saved_[i] = icalerror_get_error_state(kErrors[i]);
      icalerror_set_error_state(kErrors[i], ICAL_ERROR_NONFATAL);
    }
    icalerror_clear_errno();
  }
  ~NonFatalIcalErrors() {
    for (std::size_t i = 0; i < kErrors.size(); ++i)
      icalerror_set_error_state(kErrors[i], saved_[i]);
    icalerror_clear_errno();
  }
  NonFatalIcalErrors(const NonFatalIcalErrors&) = delete;
  NonFatalIcalErrors& operator=(const NonFatalIcalErrors&) = delete;

 private:
  static constexpr std::array<icalerrorenum, 4> kErrors = {
      ICAL_MALFORMEDDATA_ERROR, ICAL_BADARG_ERROR, ICAL_USAGE_ERROR, ICAL_NEWFAILED_ERROR};
  std::array<icalerrorstate, 4> saved_{};
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = text.find(sep, begin);
    parts.push_back(text.substr(begin, end == std::string_view::npos ? text.npos : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return parts;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Problems libical lets through silently: an empty rule part (";;" makes libical drop
// the part after it: "FREQ=DAILY;;COUNT=2" would lose its COUNT), a part without a
// value ("BYMINUTE=" is read as no BYMINUTE), an empty list item ("1,,2").
std::optional<std::string> lexical_problem(std::string_view body) {
  if (body.empty()) return "it is empty (expected at least FREQ=...)";
  auto parts = split(body, ';');
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();  // a trailing ';'
  for (const auto part : parts) {
    if (part.empty()) return std::string("it has an empty rule part (\";;\")");
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return "rule part " + quoted(part) + " has no \"=value\"";
    if (eq == 0) return "rule part " + quoted(part) + " has no name";
    const auto value = part.substr(eq + 1);
    if (value.empty()) return "rule part " + quoted(part) + " has an empty value";
    for (const auto item : split(value, ',')) {
      if (item.empty()) return "rule part " + quoted(part) + " has an empty list item";
    }
  }
  return std::nullopt;
}

// The value of NAME=value in the rule text, if present.
std::optional<std::string_view> part_value(std::string_view body, std::string_view name) {
  for (const auto part : split(body, ';')) {
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && iequals(part.substr(0, eq), name))
      return part.substr(eq + 1);
  }
  return std::nullopt;
}

// libical parses `text`; true when it accepts it without complaint.
bool libical_accepts(const std::string& text) {
  icalerror_clear_errno();
  icalrecurrencetype r = icalrecurrencetype_from_string(text.c_str());
  const bool ok = icalerrno == ICAL_NO_ERROR && r.freq != ICAL_NO_RECURRENCE;
  if (r.rscale) std::free(r.rscale);
  icalerror_clear_errno();
  return ok;
}

// The first rule part libical rejects on its own (beside the rule's FREQ), to point at it.
std::optional<std::string_view> offending_part(std::string_view body) {
  std::string freq = "FREQ=DAILY";
  for (const auto part : split(body, ';')) {
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && iequals(part.substr(0, eq), "FREQ")) {
      if (!libical_accepts(std::string(part))) return part;
      freq = std::string(part);
    }
  }
  for (const auto part : split(body, ';')) {
    const auto eq = part.find('=');
    if (eq == std::string_view::npos || iequals(part.substr(0, eq), "FREQ")) continue;
    if (!libical_accepts(freq + ";" + std::string(part))) return part;
  }
  return std::nullopt;
}

template <std::size_t N>
std::vector<int> read_array(const short (&values)[N]) {
  std::vector<int> out;
  for (std::size_t i = 0; i < N && values[i] != ICAL_RECURRENCE_ARRAY_MAX; ++i)
    out.push_back(values[i]);
  return out;
}

template <std::size_t N>
void write_array(short (&dest)[N], const std::vector<int>& values) {
  std::size_t i = 0;
  for (; i < values.size() && i < N; ++i) dest[i] = static_cast<short>(values[i]);
  if (i < N) dest[i] = ICAL_RECURRENCE_ARRAY_MAX;
}

// date's weekday (Sunday = 0) from libical's (Sunday = 1) and back.
date::weekday from_ical_weekday(icalrecurrencetype_weekday w) {
  return date::weekday{static_cast<unsigned>(static_cast<int>(w) - 1)};
}
icalrecurrencetype_weekday to_ical_weekday(date::weekday w) {
  return static_cast<icalrecurrencetype_weekday>(w.c_encoding() + 1);
}

const char* frequency_name(Frequency f) {
  switch (f) {
    case Frequency::secondly: return "SECONDLY";
    case Frequency::minutely: return "MINUTELY";
    case Frequency::hourly: return "HOURLY";
    case Frequency::daily: return "DAILY";
    case Frequency::weekly: return "WEEKLY";
    case Frequency::monthly: return "MONTHLY";
    case Frequency::yearly: return "YEARLY";
  }
  return "?";
}

// Range checks for a list part: every value in [lo, hi], and not 0 when `signed_`.
std::optional<std::string> check_range(const char* name, const std::vector<int>& values, int lo,
                                       int hi, bool signed_, const char* valid) {
  for (const int v : values) {
    const bool ok = signed_ ? (v != 0 && v >= -hi && v <= hi) : (v >= lo && v <= hi);
    if (!ok) return std::string(name) + "=" + std::to_string(v) + " is out of range (" + valid + ")";
  }
  return std::nullopt;
}

// The checks RFC 5545 makes that libical 3.0.16 does not (or not all of).
std::optional<std::string> semantic_problem(const RecurrenceRule& r) {
  if (r.interval < 1) return "INTERVAL must be at least 1";
  if (r.count && *r.count < 1) return "COUNT must be at least 1";
  if (r.count && r.until) return std::string("COUNT and UNTIL must not both be given");
  if (auto p = check_range("BYSECOND", r.by_second, 0, 59, false,
                           "0 to 59; leap second 60 is not supported"))
    return p;
  if (auto p = check_range("BYMINUTE", r.by_minute, 0, 59, false, "0 to 59")) return p;
  if (auto p = check_range("BYHOUR", r.by_hour, 0, 23, false, "0 to 23")) return p;
  if (auto p = check_range("BYMONTHDAY", r.by_month_day, 1, 31, true, "1 to 31 or -31 to -1"))
    return p;
  if (auto p = check_range("BYYEARDAY", r.by_year_day, 1, 366, true, "1 to 366 or -366 to -1"))
    return p;
  if (auto p = check_range("BYWEEKNO", r.by_week_no, 1, 53, true, "1 to 53 or -53 to -1"))
    return p;
  if (auto p = check_range("BYMONTH", r.by_month, 1, 12, false, "1 to 12")) return p;
  if (auto p = check_range("BYSETPOS", r.by_set_pos, 1, 366, true, "1 to 366 or -366 to -1"))
    return p;
  const bool monthly_or_yearly = r.freq == Frequency::monthly || r.freq == Frequency::yearly;
  for (const auto& wd : r.by_day) {
    if (wd.nth == 0) continue;
    if (wd.nth < -53 || wd.nth > 53)
      return "BYDAY ordinal " + std::to_string(wd.nth) + " is out of range (1 to 53 or -53 to -1)";
    if (!monthly_or_yearly)
      return std::string("BYDAY with an ordinal (such as 2MO) is only allowed with FREQ=MONTHLY "
                         "or FREQ=YEARLY, not FREQ=") +
             frequency_name(r.freq);
    if (r.freq == Frequency::yearly && !r.by_week_no.empty())
      return std::string("BYDAY with an ordinal must not be combined with BYWEEKNO");
  }
  if (!r.by_week_no.empty() && r.freq != Frequency::yearly)
    return std::string("BYWEEKNO is only allowed with FREQ=YEARLY, not FREQ=") +
           frequency_name(r.freq);
  if (!r.by_year_day.empty() &&
      (r.freq == Frequency::daily || r.freq == Frequency::weekly || r.freq == Frequency::monthly))
    return std::string("BYYEARDAY is not allowed with FREQ=") + frequency_name(r.freq);
  if (!r.by_month_day.empty() && r.freq == Frequency::weekly)
    return std::string("BYMONTHDAY is not allowed with FREQ=WEEKLY");
  if (!r.by_set_pos.empty() && r.by_second.empty() && r.by_minute.empty() && r.by_hour.empty() &&
      r.by_day.empty() && r.by_month_day.empty() && r.by_year_day.empty() &&
      r.by_week_no.empty() && r.by_month.empty())
    return std::string("BYSETPOS must be used with another BYxxx rule part");
  return std::nullopt;
}

icaltimetype until_to_ical(const Until& until) {
  icaltimetype t = icaltime_null_time();
  if (const auto* day = std::get_if<LocalDay>(&until)) {
    const date::year_month_day ymd{*day};
    t.year = static_cast<int>(ymd.year());
    t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
    t.is_date = 1;
    return t;
  }
  std::int64_t secs = 0;
  if (const auto* local = std::get_if<LocalTime>(&until)) {
    secs = local->time_since_epoch().count();
  } else {
    secs = std::get<Instant>(until).time_since_epoch().count();
    t.zone = icaltimezone_get_utc_timezone();
  }
  const std::int64_t days = floor_div(secs, kSecondsPerDay);
  const std::int64_t tod = secs - days * kSecondsPerDay;
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(tod / 3600);
  t.minute = static_cast<int>(tod / 60 % 60);
  t.second = static_cast<int>(tod % 60);
  return t;
}

}  // namespace

RecurrenceRule::Parsed RecurrenceRule::parse(std::string_view text) {
  std::string_view body = text;
  if (body.size() >= 6 && iequals(body.substr(0, 6), "RRULE:")) body.remove_prefix(6);
  const auto fail = [&](const std::string& why) {
    return Parsed::failure("invalid RRULE " + quoted(text) + ": " + why);
  };
  if (auto problem = lexical_problem(body)) return fail(*problem);
  for (const char* unsupported : {"RSCALE", "SKIP"}) {
    if (part_value(body, unsupported))
      return fail(std::string(unsupported) + " (RFC 7529 calendar scales) is not supported");
  }

  const std::string copy(body);
  std::lock_guard lock(ical_mutex());
  NonFatalIcalErrors guard;
  icalrecurrencetype r = icalrecurrencetype_from_string(copy.c_str());
  const icalerrorenum err = icalerrno;
  if (r.rscale) {
    std::free(r.rscale);
    r.rscale = nullptr;
  }
  if (err != ICAL_NO_ERROR || r.freq == ICAL_NO_RECURRENCE) {
    if (err == ICAL_NO_ERROR && !part_value(body, "FREQ")) return fail("FREQ is missing");
    std::string why = "libical rejects it";
    if (auto part = offending_part(body)) why = "libical rejects " + std::string(*part);
    why += " (";
    why += icalerror_strerror(err == ICAL_NO_ERROR ? ICAL_MALFORMEDDATA_ERROR : err);
    why += ")";
    return fail(why);
  }

  RecurrenceRule rule;
  rule.freq = static_cast<Frequency>(static_cast<int>(r.freq));
  // libical stores INTERVAL in a short: INTERVAL=70000 would silently become 4464.
  if (auto iv = part_value(body, "INTERVAL")) {
    long long value = 0;
    const auto res = std::from_chars(iv->data(), iv->data() + iv->size(), value);
    if (res.ec != std::errc{} || res.ptr != iv->data() + iv->size() || value != r.interval)
      return fail("INTERVAL=" + std::string(*iv) + " is out of range (1 to 32767)");
  }
  rule.interval = r.interval;
  if (r.count > 0) rule.count = r.count;
  if (!icaltime_is_null_time(r.until)) {
    const icaltimetype u = r.until;
    const date::year_month_day ymd{date::year{u.year}, date::month{static_cast<unsigned>(u.month)},
                                   date::day{static_cast<unsigned>(u.day)}};
    if (!ymd.ok()) return fail("UNTIL is not a valid date");
    if (u.is_date) {
      rule.until = LocalDay{ymd};
    } else {
      const Seconds tod{u.hour * 3600 + u.minute * 60 + u.second};
      if (icaltime_is_utc(u)) {
        rule.until = Instant{date::sys_days{ymd}} + tod;
      } else {
        rule.until = LocalTime{LocalDay{ymd}} + tod;
      }
    }
  }
  rule.by_second = read_array(r.by_second);
  rule.by_minute = read_array(r.by_minute);
  rule.by_hour = read_array(r.by_hour);
  for (const int encoded : read_array(r.by_day)) {
    const auto s = static_cast<short>(encoded);
    rule.by_day.push_back(WeekdayNum{from_ical_weekday(icalrecurrencetype_day_day_of_week(s)),
                                     icalrecurrencetype_day_position(s)});
  }
  rule.by_month_day = read_array(r.by_month_day);
  rule.by_year_day = read_array(r.by_year_day);
  rule.by_week_no = read_array(r.by_week_no);
  for (const int encoded : read_array(r.by_month)) {
    if (icalrecurrencetype_month_is_leap(static_cast<short>(encoded)))
      return fail("leap months (BYMONTH=" + std::to_string(icalrecurrencetype_month_month(
                                                static_cast<short>(encoded))) +
                  "L, RFC 7529) are not supported");
    rule.by_month.push_back(icalrecurrencetype_month_month(static_cast<short>(encoded)));
  }
  rule.by_set_pos = read_array(r.by_set_pos);
  rule.wkst = from_ical_weekday(r.week_start);
  if (auto problem = semantic_problem(rule)) return fail(*problem);
  return rule;
}

std::string RecurrenceRule::to_string() const {
  icalrecurrencetype r;
  icalrecurrencetype_clear(&r);
  r.freq = static_cast<icalrecurrencetype_frequency>(static_cast<int>(freq));
  r.interval = static_cast<short>(interval);
  r.count = count.value_or(0);
  if (until) r.until = until_to_ical(*until);
  r.week_start = to_ical_weekday(wkst);
  write_array(r.by_second, by_second);
  write_array(r.by_minute, by_minute);
  write_array(r.by_hour, by_hour);
  std::vector<int> days;
  for (const auto& wd : by_day) {
    const int base = static_cast<int>(to_ical_weekday(wd.weekday));
    days.push_back(wd.nth < 0 ? -(8 * -wd.nth + base) : 8 * wd.nth + base);
  }
  write_array(r.by_day, days);
  write_array(r.by_month_day, by_month_day);
  write_array(r.by_year_day, by_year_day);
  write_array(r.by_week_no, by_week_no);
  write_array(r.by_month, by_month);
  write_array(r.by_set_pos, by_set_pos);
  std::lock_guard lock(ical_mutex());
  char* text = icalrecurrencetype_as_string_r(&r);
  std::string out = text ? text : "";
  std::free(text);
  return out;
}

// ---------------------------------------------------------------------------
// Iteration
// ---------------------------------------------------------------------------

struct RecurrenceIterator::Impl {
  // A year's days that pass every day-level BYxxx part: ok[i] for day i (0 = 1 January).
  struct YearMask {
    int year = INT_MIN;
    std::int64_t first = 0;
    int len = 0;
    std::array<std::uint8_t, 366> ok{};
  };
  enum class DayFilter { none, weekdays, mask };
  enum class UntilKind { none, day, local, instant };

  // How many consecutive periods without an instance prove that a rule of frequency
  // DAILY or coarser will never produce one again: the Gregorian calendar repeats every
  // 400 years (146097 days, exactly 20871 weeks, 4800 months), so a period's matches
  // depend only on its place in that cycle, and this many consecutive periods have
  // visited every place the rule's INTERVAL can reach. FREQ=MONTHLY;BYMONTH=2;
  // BYMONTHDAY=30 gives up after 4800 months (a fraction of a millisecond). Finer
  // rules stop at the end of year 9999 at the latest (as dateutil's MAXYEAR), skipping
  // whole days, hours or minutes that cannot match.
  static std::int64_t cycle_periods(Frequency f) {
    switch (f) {
      case Frequency::yearly: return 400;
      case Frequency::monthly: return 4800;
      case Frequency::weekly: return 20871;
      case Frequency::daily: return 146097;
      default: return std::numeric_limits<std::int64_t>::max();
    }
  }

  Impl(const RecurrenceRule& rule, LocalTime start, const date::time_zone* zone)
      : freq(rule.freq), interval(rule.interval), resolver(zone) {
    if (rule.interval < 1)
      throw std::invalid_argument("RecurrenceIterator: INTERVAL must be at least 1 (rule " +
                                  rule.to_string() + ")");
    dtstart = start.time_since_epoch().count();
    if (rule.count) count = *rule.count;
    if (rule.until) set_until(*rule.until);
    wkst = static_cast<int>(rule.wkst.c_encoding());
    last_day = day_number(9999, 12, 31);

    const std::int64_t start_day = floor_div(dtstart, kSecondsPerDay);
    const std::int64_t tod = dtstart - start_day * kSecondsPerDay;
    const date::year_month_day ymd{date::sys_days{date::days{start_day}}};
    const int sy = static_cast<int>(ymd.year());
    const int sm = static_cast<int>(static_cast<unsigned>(ymd.month()));
    const int sd = static_cast<int>(static_cast<unsigned>(ymd.day()));

    // Day-level parts.
    for (const int m : rule.by_month)
      if (m >= 1 && m <= 12) month_bits |= static_cast<std::uint16_t>(1u << m);
    bool any_month_part = !rule.by_month.empty();
    has_byday = !rule.by_day.empty();
    for (const auto& wd : rule.by_day) {
      const int w = static_cast<int>(wd.weekday.c_encoding() % 7);
      // An ordinal only means something in a month or a year (RFC 5545); elsewhere it
      // is read as the plain weekday, as dateutil does (parse() rejects such rules).
      if (wd.nth == 0 || freq < Frequency::monthly) {
        weekday_bits |= static_cast<std::uint8_t>(1u << w);
      } else {
        nth.emplace_back(w, wd.nth);
      }
    }
    for (const int d : rule.by_month_day) {
      if (d >= 1 && d <= 31) mday_pos.set(d);
      if (d <= -1 && d >= -31) mday_neg.set(-d);
    }
    has_mday = !rule.by_month_day.empty();
    for (const int d : rule.by_year_day) {
      if (d >= 1 && d <= 366) yday_pos.set(d);
      if (d <= -1 && d >= -366) yday_neg.set(-d);
    }
    has_yday = !rule.by_year_day.empty();
    for (const int w : rule.by_week_no) {
      if (w >= 1 && w <= 53) weekno_pos.set(w);
      if (w <= -1 && w >= -53) weekno_neg.set(-w);
    }
    has_weekno = !rule.by_week_no.empty();
    if (!has_weekno && !has_yday && !has_mday && !has_byday) {
      if (freq == Frequency::yearly) {
        if (!any_month_part) {
          month_bits = static_cast<std::uint16_t>(1u << sm);
          any_month_part = true;
        }
        mday_pos.set(sd);
        has_mday = true;
      } else if (freq == Frequency::monthly) {
        mday_pos.set(sd);
        has_mday = true;
      } else if (freq == Frequency::weekly) {
        weekday_bits = static_cast<std::uint8_t>(1u << weekday_of(start_day));
        has_byday = true;
      }
    }
    if (any_month_part && month_bits == 0) never = true;  // only invalid months given
    if (!any_month_part && !has_byday && !has_mday && !has_yday && !has_weekno) {
      day_filter = DayFilter::none;
    } else if (!any_month_part && has_byday && nth.empty() && !has_mday && !has_yday &&
               !has_weekno) {
      day_filter = DayFilter::weekdays;
      for (int j = 0; j < 7; ++j)
        if (weekday_bits >> ((wkst + j) % 7) & 1) week_offsets[week_offset_count++] = j;
    } else {
      day_filter = DayFilter::mask;
    }

    // Time-level parts.
    const auto valid = [](const std::vector<int>& values, int hi, int fallback) {
      std::vector<int> out;
      for (const int v : values)
        if (v >= 0 && v <= hi) out.push_back(v);
      if (values.empty()) out.push_back(fallback);
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    };
    const int sh = static_cast<int>(tod / 3600), smin = static_cast<int>(tod / 60 % 60),
              ssec = static_cast<int>(tod % 60);
    const auto hours = valid(rule.by_hour, 23, sh);
    const auto minutes = valid(rule.by_minute, 59, smin);
    const auto seconds = valid(rule.by_second, 59, ssec);
    const auto limit = [](const std::vector<int>& values, auto& bits, bool& has) {
      has = !values.empty();
      for (const int v : values)
        if (v >= 0 && v < static_cast<int>(bits.size())) bits.set(v);
    };
    switch (freq) {
      case Frequency::yearly:
      case Frequency::monthly:
      case Frequency::weekly:
      case Frequency::daily:
        for (const int h : hours)
          for (const int m : minutes)
            for (const int s : seconds) offsets.push_back(h * 3600 + m * 60 + s);
        break;
      case Frequency::hourly:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        for (const int m : minutes)
          for (const int s : seconds) offsets.push_back(m * 60 + s);
        unit = 3600;
        break;
      case Frequency::minutely:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        limit(rule.by_minute, minute_limit, has_minute_limit);
        for (const int s : seconds) offsets.push_back(s);
        unit = 60;
        break;
      case Frequency::secondly:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        limit(rule.by_minute, minute_limit, has_minute_limit);
        limit(rule.by_second, second_limit, has_second_limit);
        offsets.push_back(0);
        unit = 1;
        break;
    }
    std::sort(offsets.begin(), offsets.end());  // already sorted; kept for clarity
    if (offsets.empty()) never = true;
    noffsets = static_cast<std::int64_t>(offsets.size());
    for (const int p : rule.by_set_pos)
      if (p != 0) setpos.push_back(p);
    std::sort(setpos.begin(), setpos.end());
    setpos.erase(std::unique(setpos.begin(), setpos.end()), setpos.end());
    selected.reserve(setpos.size());

    // The period grid.
    switch (freq) {
      case Frequency::yearly: origin = sy; break;
      case Frequency::monthly: origin = static_cast<std::int64_t>(sy) * 12 + (sm - 1); break;
      case Frequency::weekly:
        origin = start_day - floor_mod(weekday_of(start_day) - wkst, 7);
        break;
      case Frequency::daily: origin = start_day; break;
      default:
        origin = floor_div(dtstart, unit) * unit;
        step = unit * interval;
        if (!sub_daily_reachable()) never = true;
        break;
    }
    max_empty_run = cycle_periods(freq);
    if (never) exhausted = true;
  }

  void set_until(const Until& until) {
    if (const auto* day = std::get_if<LocalDay>(&until)) {
      until_kind = UntilKind::day;
      // Inclusive local day: every time before the next midnight.
      until_local = (day->time_since_epoch().count() + 1) * kSecondsPerDay - 1;
    } else if (const auto* local = std::get_if<LocalTime>(&until)) {
      until_kind = UntilKind::local;
      until_local = local->time_since_epoch().count();
    } else {
      until_kind = UntilKind::instant;
      until_instant = std::get<Instant>(until);
    }
  }

  bool beyond_until(std::int64_t t) {
    switch (until_kind) {
      case UntilKind::none: return false;
      case UntilKind::day:
      case UntilKind::local: return t > until_local;
      case UntilKind::instant: {
        const LocalTime local{Seconds{t}};
        // Without a zone a UTC UNTIL is read against the local times as if they were UTC.
        const Instant at = resolver.zone() ? resolver.resolve(local)
                                           : Instant{local.time_since_epoch()};
        return at > until_instant;
      }
    }
    return false;
  }

  // Whether some time of day on the grid of a sub-daily rule passes its BYHOUR,
  // BYMINUTE and BYSECOND limits. The grid's times of day, over all days, are those
  // congruent to the origin modulo gcd(step, 86400). FREQ=HOURLY;INTERVAL=2;BYHOUR=3
  // from 16:00 never matches (dateutil raises "Invalid rrule byxxx generates an empty
  // set"); such a rule gives DTSTART only.
  bool sub_daily_reachable() const {
    const std::int64_t g = std::gcd(step, kSecondsPerDay);
    const std::int64_t phase = floor_mod(origin, g);
    for (std::int64_t t = phase; t < kSecondsPerDay; t += g) {
      if (time_passes(t)) return true;
    }
    return false;
  }

  // `tod` is a period start (seconds into the day).
  bool time_passes(std::int64_t tod) const {
    if (has_hour_limit && !hour_limit[static_cast<std::size_t>(tod / 3600)]) return false;
    if (has_minute_limit && !minute_limit[static_cast<std::size_t>(tod / 60 % 60)]) return false;
    if (has_second_limit && !second_limit[static_cast<std::size_t>(tod % 60)]) return false;
    return true;
  }

  const YearMask& year_mask(int year) {
    if (masks[0].year == year) return masks[0];
    if (masks[1].year == year) return masks[1];
    YearMask& m = masks[next_mask];
    next_mask ^= 1;
    build_mask(m, year);
    return m;
  }

  void build_mask(YearMask& m, int y) {
    m.year = y;
    m.first = day_number(y, 1, 1);
    m.len = year_length(y);
    const int len = m.len;
    const int wd0 = weekday_of(m.first);
    auto& ok = m.ok;
    std::fill(ok.begin(), ok.begin() + len, std::uint8_t{1});
    std::array<int, 13> month_start{};
    for (int mo = 1, idx = 0; mo <= 12; ++mo) {
      month_start[mo - 1] = idx;
      const int ml = month_length(y, mo);
      if (month_bits && !(month_bits >> mo & 1)) {
        std::fill(ok.begin() + idx, ok.begin() + idx + ml, std::uint8_t{0});
      } else if (has_mday) {
        for (int d = 1; d <= ml; ++d)
          if (!mday_pos[d] && !mday_neg[ml - d + 1]) ok[idx + d - 1] = 0;
      }
      idx += ml;
    }
    month_start[12] = len;
    if (has_yday) {
      for (int i = 0; i < len; ++i)
        if (!yday_pos[i + 1] && !yday_neg[len - i]) ok[i] = 0;
    }
    if (has_weekno) {
      // Each day has the week number of its own week-year: 29 December 2025 (a Monday)
      // is in week 1 of 2026 with WKST=MO; 1 January 2027 (a Friday) in week 53 of 2026.
      const std::int64_t w1p = week_one_start(y - 1, wkst), w1 = week_one_start(y, wkst),
                         w1n = week_one_start(y + 1, wkst), w1nn = week_one_start(y + 2, wkst);
      for (int i = 0; i < len; ++i) {
        const std::int64_t d = m.first + i;
        std::int64_t wn = 0, weeks = 0;
        if (d < w1) {
          wn = (d - w1p) / 7 + 1, weeks = (w1 - w1p) / 7;
        } else if (d >= w1n) {
          wn = (d - w1n) / 7 + 1, weeks = (w1nn - w1n) / 7;
        } else {
          wn = (d - w1) / 7 + 1, weeks = (w1n - w1) / 7;
        }
        if (!weekno_pos[static_cast<std::size_t>(wn)] &&
            !weekno_neg[static_cast<std::size_t>(weeks - wn + 1)])
          ok[i] = 0;
      }
    }
    if (has_byday) {
      // BYDAY is a union: every listed plain weekday, plus each ordinal weekday of its
      // month (MONTHLY; YEARLY with BYMONTH) or year (YEARLY).
      std::array<std::uint8_t, 366> day_ok{};
      if (weekday_bits) {
        for (int i = 0; i < len; ++i) day_ok[i] = weekday_bits >> ((wd0 + i) % 7) & 1;
      }
      const auto mark = [&](int a, int b) {  // range [a, b] of day indices
        for (const auto& [w, n] : nth) {
          int i = 0;
          if (n > 0) {
            i = a + (n - 1) * 7 + static_cast<int>(floor_mod(w - (wd0 + a) % 7, 7));
          } else {
            i = b + (n + 1) * 7 - static_cast<int>(floor_mod((wd0 + b) % 7 - w, 7));
          }
          if (i >= a && i <= b) day_ok[i] = 1;
        }
      };
      if (!nth.empty()) {
        if (freq == Frequency::monthly || (freq == Frequency::yearly && month_bits)) {
          for (int mo = 1; mo <= 12; ++mo)
            if (!month_bits || (month_bits >> mo & 1))
              mark(month_start[mo - 1], month_start[mo] - 1);
        } else {
          mark(0, len - 1);
        }
      }
      for (int i = 0; i < len; ++i) ok[i] &= day_ok[i];
    }
  }

  bool day_ok(std::int64_t day) {
    switch (day_filter) {
      case DayFilter::none: return true;
      case DayFilter::weekdays: return weekday_bits >> weekday_of(day) & 1;
      case DayFilter::mask: break;
    }
    const YearMask* m = current_mask;
    if (!m || day < m->first || day >= m->first + m->len) {
      const date::year_month_day ymd{date::sys_days{date::days{day}}};
      m = current_mask = &year_mask(static_cast<int>(ymd.year()));
    }
    return m->ok[static_cast<std::size_t>(day - m->first)];
  }

  void push_day(std::int64_t day) { bases[nbases++] = day * kSecondsPerDay; }

  // Loads period `k` into the buffer (possibly empty) and moves `k` on.
  void load_period() {
    nbases = 0;
    std::int64_t next_k = k + 1;
    switch (freq) {
      case Frequency::yearly: {
        const std::int64_t y = origin + k * interval;
        if (y > 9999) return stop();
        const YearMask& m = year_mask(static_cast<int>(y));
        for (int i = 0; i < m.len; ++i)
          if (m.ok[i]) push_day(m.first + i);
        break;
      }
      case Frequency::monthly: {
        const std::int64_t ms = origin + k * interval;
        const std::int64_t y = floor_div(ms, 12);
        const int mo = static_cast<int>(ms - y * 12) + 1;
        if (y > 9999) return stop();
        const YearMask& m = year_mask(static_cast<int>(y));
        const std::int64_t first = day_number(static_cast<int>(y), mo, 1);
        const int ml = month_length(static_cast<int>(y), mo);
        const std::int64_t base = first - m.first;
        for (int d = 0; d < ml; ++d)
          if (m.ok[static_cast<std::size_t>(base + d)]) push_day(first + d);
        break;
      }
      case Frequency::weekly: {
        const std::int64_t w = origin + k * 7 * interval;
        if (w > last_day) return stop();
        if (day_filter == DayFilter::weekdays) {
          for (int j = 0; j < week_offset_count; ++j) push_day(w + week_offsets[j]);
        } else {
          for (int j = 0; j < 7; ++j)
            if (day_ok(w + j)) push_day(w + j);
        }
        break;
      }
      case Frequency::daily: {
        const std::int64_t d = origin + k * interval;
        if (d > last_day) return stop();
        if (day_ok(d)) push_day(d);
        break;
      }
      default: {
        const std::int64_t p = origin + k * step;
        const std::int64_t day = floor_div(p, kSecondsPerDay);
        if (day > last_day) return stop();
        std::int64_t boundary = 0;  // where the failing part may pass again
        if (!day_ok(day)) {
          boundary = (day + 1) * kSecondsPerDay;
        } else {
          const std::int64_t tod = p - day * kSecondsPerDay;
          if (has_hour_limit && !hour_limit[static_cast<std::size_t>(tod / 3600)]) {
            boundary = p - tod % 3600 + 3600;
          } else if (has_minute_limit && !minute_limit[static_cast<std::size_t>(tod / 60 % 60)]) {
            boundary = p - tod % 60 + 60;
          } else if (has_second_limit && !second_limit[static_cast<std::size_t>(tod % 60)]) {
            boundary = p + 1;
          } else {
            bases[nbases++] = p;
          }
        }
        if (nbases == 0) {
          const std::int64_t jump = floor_div(boundary - origin + step - 1, step);
          next_k = std::max(next_k, jump);
        }
        break;
      }
    }
    k = next_k;
    begin_cursor();
    if (cursor == cursor_end) {
      if (++empty_run >= max_empty_run) stop();
    } else {
      empty_run = 0;
    }
  }

  void stop() {
    exhausted = true;
    nbases = 0;
    cursor = cursor_end = 0;
  }

  void begin_cursor() {
    cursor = 0;
    if (setpos.empty()) {
      cursor_end = nbases * noffsets;
      day_index = 0;
      time_index = 0;
      return;
    }
    // BYSETPOS: positions in the period's sorted set of days x times.
    selected.clear();
    const std::int64_t n = nbases * noffsets;
    for (const int p : setpos) {
      const std::int64_t idx = p > 0 ? p - 1 : n + p;
      if (idx >= 0 && idx < n) selected.push_back(idx);
    }
    std::sort(selected.begin(), selected.end());
    selected.erase(std::unique(selected.begin(), selected.end()), selected.end());
    cursor_end = static_cast<std::int64_t>(selected.size());
  }

  // The next instance of the rule itself after DTSTART and at or after `floor`.
  std::optional<std::int64_t> next_raw() {
    for (;;) {
      while (cursor < cursor_end) {
        std::int64_t t = 0;
        if (setpos.empty()) {
          t = bases[day_index] + offsets[static_cast<std::size_t>(time_index)];
          if (++time_index == noffsets) {
            time_index = 0;
            ++day_index;
          }
        } else {
          const std::int64_t idx = selected[static_cast<std::size_t>(cursor)];
          t = bases[idx / noffsets] + offsets[static_cast<std::size_t>(idx % noffsets)];
        }
        ++cursor;
        if (t > dtstart && t >= floor) return t;
      }
      if (exhausted) return std::nullopt;
      load_period();
    }
  }

  // The index of the period that holds local time `t` (or that would, for a rule
  // whose periods do not cover every time).
  std::int64_t period_of(std::int64_t t) const {
    const std::int64_t day = floor_div(t, kSecondsPerDay);
    switch (freq) {
      case Frequency::yearly: {
        const date::year_month_day ymd{date::sys_days{date::days{day}}};
        return floor_div(static_cast<int>(ymd.year()) - origin, interval);
      }
      case Frequency::monthly: {
        const date::year_month_day ymd{date::sys_days{date::days{day}}};
        const std::int64_t ms = static_cast<std::int64_t>(static_cast<int>(ymd.year())) * 12 +
                                static_cast<unsigned>(ymd.month()) - 1;
        return floor_div(ms - origin, interval);
      }
      case Frequency::weekly: return floor_div(day - origin, 7 * interval);
      case Frequency::daily: return floor_div(day - origin, interval);
      default: return floor_div(t - origin, step);
    }
  }

  std::optional<LocalTime> next() {
    if (finished) return std::nullopt;
    if (dtstart_pending) {
      dtstart_pending = false;
      ++emitted;
      return LocalTime{Seconds{dtstart}};
    }
    if (count && emitted >= *count) return finish();
    const std::optional<std::int64_t> t = take_next();
    if (!t || beyond_until(*t)) return finish();
    ++emitted;
    return LocalTime{Seconds{*t}};
  }

  // The instance held back by seek(), else the next from the rule.
  std::optional<std::int64_t> take_next() {
    if (!lookahead) return next_raw();
    const auto t = lookahead;
    lookahead.reset();
    return t;
  }

  std::optional<LocalTime> finish() {
    finished = true;
    return std::nullopt;
  }

  void seek(std::int64_t from) {
    if (finished) return;
    if (dtstart_pending) {
      if (dtstart >= from) return;
      dtstart_pending = false;
      ++emitted;
    }
    if (lookahead && *lookahead >= from) return;
    if (count) {
      // Every instance before `from` still counts towards COUNT.
      for (;;) {
        if (emitted >= *count) return static_cast<void>(finish());
        const std::optional<std::int64_t> t = take_next();
        if (!t || beyond_until(*t)) return static_cast<void>(finish());
        if (*t >= from) {
          lookahead = t;
          return;
        }
        ++emitted;
      }
    }
    lookahead.reset();
    floor = std::max(floor, from);
    const std::int64_t target = period_of(from);
    if (target > k && !exhausted) {
      k = target;
      nbases = 0;
      cursor = cursor_end = 0;
      empty_run = 0;
    }
  }

  // --- the rule ---
  Frequency freq;
  std::int64_t interval;
  std::optional<std::int64_t> count;
  UntilKind until_kind = UntilKind::none;
  std::int64_t until_local = 0;
  Instant until_instant{};
  ZoneResolver resolver;
  int wkst = 1;
  std::int64_t last_day = 0;
  bool never = false;

  DayFilter day_filter = DayFilter::none;
  std::uint16_t month_bits = 0;
  bool has_byday = false;
  std::uint8_t weekday_bits = 0;
  std::vector<std::pair<int, int>> nth;
  bool has_mday = false;
  std::bitset<32> mday_pos, mday_neg;
  bool has_yday = false;
  std::bitset<367> yday_pos, yday_neg;
  bool has_weekno = false;
  std::bitset<54> weekno_pos, weekno_neg;
  std::array<int, 7> week_offsets{};
  int week_offset_count = 0;

  std::vector<std::int32_t> offsets;  // seconds from a base: of the day, hour or minute
  std::int64_t noffsets = 0;
  bool has_hour_limit = false, has_minute_limit = false, has_second_limit = false;
  std::bitset<24> hour_limit;
  std::bitset<60> minute_limit, second_limit;
  std::vector<int> setpos;

  std::int64_t origin = 0;  // year, month serial, week start day, day, or period start
  std::int64_t unit = kSecondsPerDay, step = 0;
  std::int64_t max_empty_run = 0;

  // --- the state ---
  std::int64_t dtstart = 0;
  bool dtstart_pending = true;
  std::int64_t emitted = 0;
  bool exhausted = false;
  bool finished = false;
  std::int64_t floor = std::numeric_limits<std::int64_t>::min();
  std::optional<std::int64_t> lookahead;
  std::int64_t k = 0;
  std::int64_t empty_run = 0;

  std::array<std::int64_t, 372> bases{};  // local seconds of the period's days (or its start)
  std::int64_t nbases = 0;
  std::vector<std::int64_t> selected;
  std::int64_t cursor = 0, cursor_end = 0, day_index = 0, time_index = 0;

  std::array<YearMask, 2> masks;
  int next_mask = 0;
  const YearMask* current_mask = nullptr;
};

RecurrenceIterator::RecurrenceIterator(const RecurrenceRule& rule, LocalTime dtstart,
                                       const date::time_zone* zone)
    : impl_(std::make_unique<Impl>(rule, dtstart, zone)) {}
RecurrenceIterator::~RecurrenceIterator() = default;
RecurrenceIterator::RecurrenceIterator(RecurrenceIterator&&) noexcept = default;
RecurrenceIterator& RecurrenceIterator::operator=(RecurrenceIterator&&) noexcept = default;

std::optional<LocalTime> RecurrenceIterator::next() { return impl_->next(); }

void RecurrenceIterator::seek(LocalTime from) { impl_->seek(from.time_since_epoch().count()); }

std::vector<LocalTime> expand_between(const RecurrenceRule& rule, LocalTime dtstart,
                                      const date::time_zone* zone, LocalTime from, LocalTime to,
                                      std::size_t limit) {
  std::vector<LocalTime> out;
  RecurrenceIterator it(rule, dtstart, zone);
  it.seek(from);
  while (out.size() <= limit) {
    const auto t = it.next();
    if (!t || *t > to) break;
    out.push_back(*t);
  }
  return out;
}

}  // namespace convene
