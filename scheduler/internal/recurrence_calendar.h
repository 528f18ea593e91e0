// internal/recurrence_calendar.h: civil-day arithmetic for the recurrence iterator.
//
// Days are counted as date's sys_days (days since 1970-01-01) in plain int64
// arithmetic; these helpers are the few calendar facts the iterator needs, written so
// that a hot loop does not convert to year_month_day for every day it looks at.
#pragma once

#include <cstdint>

#include <date/date.h>

namespace convene::recurrence_internal {

// 0 = Sunday ... 6 = Saturday (date's c_encoding) of a day counted from 1970-01-01,
// which was a Thursday.
constexpr int weekday_of(std::int64_t day) {
  const std::int64_t w = (day + 4) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

constexpr bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr int year_length(int y) { return is_leap(y) ? 366 : 365; }
constexpr int month_length(int y, int m) {
  constexpr int kLengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kLengths[m - 1];
}

// The day number of y-m-d (m in 1..12, d in 1..31, not checked).
inline std::int64_t day_number(int y, int m, int d) {
  return date::sys_days{date::year{y} / date::month{static_cast<unsigned>(m)} /
                        date::day{static_cast<unsigned>(d)}}
      .time_since_epoch()
      .count();
}

// Floor division and modulo, for negative numerators too.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

// The first day of week 1 of `year` for weeks starting on `wkst` (0 = Sunday): week 1
// is the first week with at least four days in the year (RFC 5545 BYWEEKNO, ISO 8601
// when wkst is Monday), i.e. the week that holds 4 January.
inline std::int64_t week_one_start(int year, int wkst) {
  const std::int64_t jan4 = day_number(year, 1, 4);
  return jan4 - floor_mod(weekday_of(jan4) - wkst, 7);
}

// The week-numbering year that `day` belongs to, for weeks starting on `wkst`: Saturday
// 2010-01-02 is in week 53 of 2009, Monday 2025-12-29 in week 1 of 2026 (WKST=MO).
inline int week_year_of(std::int64_t day, int calendar_year, int wkst) {
  if (day < week_one_start(calendar_year, wkst)) return calendar_year - 1;
  if (day >= week_one_start(calendar_year + 1, wkst)) return calendar_year + 1;
  return calendar_year;
}

}  // namespace convene::recurrence_internal
