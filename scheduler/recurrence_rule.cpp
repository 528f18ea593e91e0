// Recurrence rules as values: reading an RRULE (RecurrenceRule::parse), writing it
// (to_string), and the parts a rule leaves to DTSTART (with_implicit_parts).
//
// The rule text goes through two readers. Our own reads every number in it (COUNT,
// INTERVAL, the BYxxx lists, BYDAY ordinals, UNTIL's digits) with 64-bit checked
// arithmetic against the ranges stated in recurrence.h, because libical 3.0.16 reads
// them with atoi() into int and short: "COUNT=4294967298" becomes COUNT=2,
// "BYMONTHDAY=4294967297" BYMONTHDAY=1, "UNTIL=00000101" no UNTIL at all. libical
// then reads the rule as every calendar client does (FREQ, WKST, BYDAY's weekdays) and
// rejects what it does not know, so a rule convene accepts is one libical writes back
// unchanged (to_string).
#include "convene/recurrence.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <mutex>

#include <libical/ical.h>

#include "convene/schedule.h"
#include "internal/recurrence_calendar.h"

namespace convene {

namespace {

using namespace recurrence_internal;

constexpr std::int64_t kSecondsPerDay = 86400;

static_assert(kMaxRuleCount == kMaxOccurrencesPerSeries,
              "COUNT's range is the occurrences convene expands for a series");

// The longest RRULE accepted: far above any real rule (all 366 BYYEARDAY values, both
// signs, with BYSETPOS, fit in 8 KiB), so a multi-megabyte value is refused at once.
constexpr std::size_t kMaxRuleLength = 16384;

// Error messages quote at most this much of a value, with "…" after.
constexpr std::size_t kMaxQuoted = 80;

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

// `text` in double quotes, at most kMaxQuoted characters of it (then "…"), with control
// characters, quotes, backslashes and bytes outside ASCII written as \xNN: an RRULE is
// ASCII, and a message must not carry the input's bytes to a terminal or a log as is.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  const std::size_t shown = std::min(text.size(), kMaxQuoted);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static const char* const kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "\xe2\x80\xa6";  // …
  return out + "\"";
}

// Problems libical lets through silently: an empty rule part (";;" makes libical drop
// the part after it: "FREQ=DAILY;;COUNT=2" would lose its COUNT), a part without a
// value ("BYMINUTE=" is read as no BYMINUTE), an empty list item ("1,,2"), a part given
// twice (RFC 5545 §3.3.10: each "MUST NOT occur more than once").
std::optional<std::string> lexical_problem(std::string_view body) {
  if (body.empty()) return "it is empty (expected at least FREQ=...)";
  if (body.size() > kMaxRuleLength)
    return "it is " + std::to_string(body.size()) + " characters long (at most " +
           std::to_string(kMaxRuleLength) + ")";
  // A rule is printable text: a control character has no place in it, and a NUL cut the
  // copy libical reads (found by rrule_fuzz: "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;\0
  // INTERVAL=6;UNTIL=20170101T000000Z" was accepted as the rule before the NUL).
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c < 0x20 || c == 0x7f)
      return "it holds a control character (" + quoted(body.substr(i, 1)) + ") at character " + std::to_string(i + 1);
  }
  auto parts = split(body, ';');
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();  // a trailing ';'
  std::vector<std::string_view> names;
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
    const auto name = part.substr(0, eq);
    for (const auto seen : names)
      if (iequals(seen, name)) return quoted(name) + " is given twice (each rule part at most once)";
    names.push_back(name);
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

// --- numbers ------------------------------------------------------------------------

// An integer "[+|-]digits". nullopt when it is not one; a value beyond ±10^18 (which
// no range admits) is returned as that bound, so it is reported as out of range and
// never wraps.
std::optional<std::int64_t> read_integer(std::string_view text, bool signed_ = true) {
  bool negative = false;
  if (signed_ && !text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t kCap = 1'000'000'000'000'000'000;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // At most 10^17 before the step, so at most 10^18 + 9 after it: no overflow (the
    // sanitizer build found "value < kCap" letting 999999999999999999 * 10 overflow).
    value = value <= kCap / 10 ? value * 10 + (c - '0') : kCap;
  }
  value = std::min(value, kCap);
  return negative ? -value : value;
}

// A numeric rule part and its range: [lo, hi], or with `signed_` ±[lo, hi] (RFC 5545's
// "-31 to -1" forms). `most` is the longest list libical holds for it.
struct NumericPart {
  const char* name;
  std::int64_t lo, hi;
  bool signed_;
  std::size_t most;  // 1 for COUNT and INTERVAL (not lists)
  const char* note;  // said after the range, or ""
};

constexpr std::array<NumericPart, 10> kNumericParts = {{
    {"COUNT", 1, kMaxRuleCount, false, 1, ""},
    {"INTERVAL", 1, kMaxRuleInterval, false, 1, ""},
    {"BYSECOND", 0, 59, false, ICAL_BY_SECOND_SIZE - 1, " (leap second 60 is not supported)"},
    {"BYMINUTE", 0, 59, false, ICAL_BY_MINUTE_SIZE - 1, ""},
    {"BYHOUR", 0, 23, false, ICAL_BY_HOUR_SIZE - 1, ""},
    {"BYMONTHDAY", 1, 31, true, ICAL_BY_MONTHDAY_SIZE - 1, ""},
    {"BYYEARDAY", 1, 366, true, ICAL_BY_YEARDAY_SIZE - 1, ""},
    {"BYWEEKNO", 1, 53, true, ICAL_BY_WEEKNO_SIZE - 1, ""},
    {"BYMONTH", 1, 12, false, ICAL_BY_MONTH_SIZE - 1, ""},
    {"BYSETPOS", 1, 366, true, ICAL_BY_SETPOS_SIZE - 1, ""},
}};

std::string range_text(const NumericPart& p) {
  std::string r = std::to_string(p.lo) + ".." + std::to_string(p.hi);
  if (p.signed_) r += " or -" + std::to_string(p.hi) + "..-" + std::to_string(p.lo);
  return r;
}

bool in_range(const NumericPart& p, std::int64_t v) {
  if (p.signed_ && v < 0) return -v >= p.lo && -v <= p.hi;
  return v >= p.lo && v <= p.hi;
}

// The numbers of every numeric part present, checked: "COUNT must be 1..100000, not
// 4294967298". A BYMONTH value with RFC 7529's "L" (leap month) is refused by name.
struct Numbers {
  std::array<std::vector<int>, kNumericParts.size()> values;
};

std::optional<std::string> read_numbers(std::string_view body, Numbers& out) {
  for (std::size_t i = 0; i < kNumericParts.size(); ++i) {
    const NumericPart& p = kNumericParts[i];
    const auto value = part_value(body, p.name);
    if (!value) continue;
    const auto items = split(*value, ',');
    if (p.most == 1 && items.size() > 1)
      return std::string(p.name) + " takes one number, not a list (" + quoted(*value) + ")";
    if (items.size() > p.most)
      return std::string(p.name) + " lists " + std::to_string(items.size()) +
             " values; at most " + std::to_string(p.most) + " are supported";
    for (const auto item : items) {
      if (std::string_view(p.name) == "BYMONTH" && !item.empty() &&
          (item.back() == 'L' || item.back() == 'l'))
        return "leap months (BYMONTH=" + std::string(item) + ", RFC 7529) are not supported";
      const auto v = read_integer(item, p.signed_);  // RFC 5545: signs only where negatives exist
      if (!v) return std::string(p.name) + "=" + quoted(item) + " is not a whole number";
      if (!in_range(p, *v))
        return std::string(p.name) + " must be " + range_text(p) + p.note + ", not " +
               std::string(item.substr(0, kMaxQuoted));
      out.values[i].push_back(static_cast<int>(*v));
    }
  }
  return std::nullopt;
}

const std::vector<int>& numbers_of(const Numbers& n, std::string_view name) {
  for (std::size_t i = 0; i < kNumericParts.size(); ++i)
    if (name == kNumericParts[i].name) return n.values[i];
  static const std::vector<int> kNone;
  return kNone;
}

// BYDAY's ordinals ("-1FR", "+2MO", "20MO"): each in ±1..53. The weekday itself is
// libical's to read.
std::optional<std::string> check_byday_ordinals(std::string_view body) {
  const auto value = part_value(body, "BYDAY");
  if (!value) return std::nullopt;
  for (const auto item : split(*value, ',')) {
    if (item.size() <= 2) continue;  // "MO": no ordinal
    const auto ordinal = item.substr(0, item.size() - 2);
    const auto v = read_integer(ordinal);
    if (!v) return "BYDAY=" + quoted(item) + " is not an ordinal and a weekday (such as 2MO or -1FR)";
    if (*v == 0 || *v > 53 || *v < -53)
      return "BYDAY ordinal must be 1..53 or -53..-1, not " + std::string(ordinal.substr(0, kMaxQuoted));
  }
  return std::nullopt;
}

// UNTIL's form, strictly: YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ, a real date in
// the years convene supports (kFirstRuleYear..kLastRuleYear) at a time of day up to
// 23:59:59. libical reads looser forms (and year 0000 as no UNTIL at all).
std::optional<std::string> check_until(std::string_view body) {
  const auto value = part_value(body, "UNTIL");
  if (!value) return std::nullopt;
  const auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string_view v = *value;
  const bool form = (v.size() == 8 && digits(v)) ||
                    ((v.size() == 15 || (v.size() == 16 && (v[15] == 'Z' || v[15] == 'z'))) &&
                     digits(v.substr(0, 8)) && (v[8] == 'T' || v[8] == 't') && digits(v.substr(9, 6)));
  if (!form)
    return "UNTIL=" + quoted(v) + " is not a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, with Z for UTC)";
  const int year = std::stoi(std::string(v.substr(0, 4)));
  if (year < kFirstRuleYear || year > kLastRuleYear)
    return "UNTIL year must be " + std::to_string(kFirstRuleYear) + ".." +
           std::to_string(kLastRuleYear) + ", not " + std::string(v.substr(0, 4));
  const date::year_month_day ymd{date::year{year},
                                 date::month{static_cast<unsigned>(std::stoi(std::string(v.substr(4, 2))))},
                                 date::day{static_cast<unsigned>(std::stoi(std::string(v.substr(6, 2))))}};
  if (!ymd.ok()) return "UNTIL=" + quoted(v) + " is not a valid date";
  if (v.size() > 8) {
    const int h = std::stoi(std::string(v.substr(9, 2))), m = std::stoi(std::string(v.substr(11, 2))),
              s = std::stoi(std::string(v.substr(13, 2)));
    if (h > 23 || m > 59 || s > 59)
      return "UNTIL=" + quoted(v) + " is not a valid time of day (00:00:00 to 23:59:59)";
  }
  return std::nullopt;
}

// --- libical ------------------------------------------------------------------------

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

// The combinations RFC 5545 §3.3.10 forbids that libical 3.0.16 lets through.
std::optional<std::string> semantic_problem(const RecurrenceRule& r) {
  if (r.count && r.until) return std::string("COUNT and UNTIL must not both be given");
  const bool monthly_or_yearly = r.freq == Frequency::monthly || r.freq == Frequency::yearly;
  for (const auto& wd : r.by_day) {
    if (wd.nth == 0) continue;
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

std::optional<Until> until_from_ical(const icaltimetype& u) {
  const date::year_month_day ymd{date::year{u.year}, date::month{static_cast<unsigned>(u.month)},
                                 date::day{static_cast<unsigned>(u.day)}};
  if (!ymd.ok()) return std::nullopt;
  if (u.is_date) return Until{LocalDay{ymd}};
  const Seconds tod{u.hour * 3600 + u.minute * 60 + u.second};
  if (icaltime_is_utc(u)) return Until{Instant{date::sys_days{ymd}} + tod};
  return Until{LocalTime{LocalDay{ymd}} + tod};
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
  Numbers numbers;
  if (auto problem = read_numbers(body, numbers)) return fail(*problem);
  if (auto problem = check_byday_ordinals(body)) return fail(*problem);
  if (auto problem = check_until(body)) return fail(*problem);

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
    if (auto part = offending_part(body)) why = "libical rejects " + quoted(*part);
    why += " (";
    why += icalerror_strerror(err == ICAL_NO_ERROR ? ICAL_MALFORMEDDATA_ERROR : err);
    why += ")";
    return fail(why);
  }

  RecurrenceRule rule;
  rule.freq = static_cast<Frequency>(static_cast<int>(r.freq));
  // The numbers are ours (checked above); libical's may have wrapped.
  if (const auto& v = numbers_of(numbers, "INTERVAL"); !v.empty()) rule.interval = v[0];
  if (const auto& v = numbers_of(numbers, "COUNT"); !v.empty()) rule.count = v[0];
  if (!icaltime_is_null_time(r.until)) {
    auto until = until_from_ical(r.until);
    if (!until) return fail("UNTIL is not a valid date");
    rule.until = *until;
  }
  rule.by_second = numbers_of(numbers, "BYSECOND");
  rule.by_minute = numbers_of(numbers, "BYMINUTE");
  rule.by_hour = numbers_of(numbers, "BYHOUR");
  for (const int encoded : read_array(r.by_day)) {
    const auto s = static_cast<short>(encoded);
    rule.by_day.push_back(WeekdayNum{from_ical_weekday(icalrecurrencetype_day_day_of_week(s)),
                                     icalrecurrencetype_day_position(s)});
  }
  rule.by_month_day = numbers_of(numbers, "BYMONTHDAY");
  rule.by_year_day = numbers_of(numbers, "BYYEARDAY");
  rule.by_week_no = numbers_of(numbers, "BYWEEKNO");
  rule.by_month = numbers_of(numbers, "BYMONTH");
  rule.by_set_pos = numbers_of(numbers, "BYSETPOS");
  rule.wkst = from_ical_weekday(r.week_start);
  if (auto problem = semantic_problem(rule)) return fail(*problem);
  return rule;
}

RecurrenceRule RecurrenceRule::with_implicit_parts(LocalTime dtstart) const {
  RecurrenceRule r = *this;
  const LocalDay day = date::floor<date::days>(dtstart);
  const date::year_month_day ymd{day};
  const WeekdayNum weekday{date::weekday{day}, 0};
  const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  const int month_day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  switch (freq) {
    case Frequency::weekly:
      if (r.by_day.empty()) r.by_day.push_back(weekday);
      break;
    case Frequency::monthly:
      if (r.by_day.empty() && r.by_month_day.empty()) r.by_month_day.push_back(month_day);
      break;
    case Frequency::yearly:
      if (!r.by_year_day.empty()) break;
      if (r.by_month.empty() && r.by_week_no.empty() &&
          (!r.by_month_day.empty() || r.by_day.empty()))
        r.by_month.push_back(month);
      if (r.by_month_day.empty() && r.by_week_no.empty() && r.by_day.empty())
        r.by_month_day.push_back(month_day);
      if (!r.by_week_no.empty() && r.by_month_day.empty() && r.by_day.empty())
        r.by_day.push_back(weekday);
      break;
    default: break;
  }
  return r;
}

PortableRule portable_rule(const RecurrenceRule& rule, LocalTime dtstart) {
  const auto rdates = [](const char* why) { return PortableRule{std::nullopt, why}; };
  const auto has_negative = [](const std::vector<int>& v) {
    return std::any_of(v.begin(), v.end(), [](int x) { return x < 0; });
  };
  bool ordinal = false, plain = false;
  for (const auto& wd : rule.by_day) (wd.nth == 0 ? plain : ordinal) = true;
  if (!rule.by_week_no.empty())
    return rdates("#byweekno-readers: ical.js 2.2 ignores BYWEEKNO; dateutil and libical misread "
                  "weeks 52, 53 and negative weeks and count INTERVAL in calendar years");
  if (!rule.by_set_pos.empty()) {
    if (rule.freq != Frequency::monthly && rule.freq != Frequency::yearly)
      return rdates("#bysetpos-readers: libical ignores BYSETPOS outside MONTHLY and YEARLY");
    if (rule.by_hour.size() > 1 || rule.by_minute.size() > 1 || rule.by_second.size() > 1)
      return rdates("#bysetpos-readers: libical applies BYSETPOS to the days only");
    if (has_negative(rule.by_month_day))
      return rdates("#bysetpos-readers: libical applies BYSETPOS to negative month days unsorted");
  }
  if (ordinal && plain)
    return rdates("#mixed-byday: dateutil intersects plain and ordinal BYDAY");
  if (has_negative(rule.by_month_day) && rule.freq < Frequency::monthly)
    return rdates("#negative-days-readers: libical misreads a negative BYMONTHDAY below MONTHLY "
                  "(ical.js 2.2 fails on it)");
  if (has_negative(rule.by_year_day) && rule.freq < Frequency::daily)
    return rdates("#negative-days-readers: libical skips negative BYYEARDAY below DAILY");
  const bool own_unit_part = (rule.freq == Frequency::hourly && !rule.by_hour.empty()) ||
                             (rule.freq == Frequency::minutely && !rule.by_minute.empty()) ||
                             (rule.freq == Frequency::secondly && !rule.by_second.empty());
  const bool coarser_part_with_interval =
      rule.interval > 1 && ((rule.freq == Frequency::minutely && !rule.by_hour.empty()) ||
                            (rule.freq == Frequency::secondly &&
                             (!rule.by_hour.empty() || !rule.by_minute.empty())));
  if (own_unit_part || coarser_part_with_interval)
    return rdates("#sub-daily-readers: libical leaves the INTERVAL grid of a finer rule");
  if (rule.freq == Frequency::yearly && ordinal && !rule.by_month_day.empty() &&
      rule.by_month.empty() && rule.by_year_day.empty())
    return rdates("#yearly-bymonthday-without-bymonth: ordinals count in the year, which a "
                  "written BYMONTH would change");
  // The disputed implicit parts, written out; the others are left as they are (every
  // reader takes them from DTSTART alike).
  RecurrenceRule out = rule;
  const RecurrenceRule full = rule.with_implicit_parts(dtstart);
  if (rule.freq == Frequency::yearly && rule.by_month.empty() && !rule.by_month_day.empty())
    out.by_month = full.by_month;
  return PortableRule{out, {}};
}

std::string RecurrenceRule::to_string() const {
  icalrecurrencetype r;
  icalrecurrencetype_clear(&r);
  r.freq = static_cast<icalrecurrencetype_frequency>(static_cast<int>(freq));
  r.interval = static_cast<short>(std::clamp<int>(interval, 1, kMaxRuleInterval));
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

}  // namespace convene
