// POSIX TZ strings ("EST5EDT,M3.2.0,M11.1.0"): the rule a zone follows after the last
// transition its TZif file lists.
//
// Debian's tz database files list transitions up to 2037 and end with such a footer
// (RFC 8536 §3.3) for every year after. Howard Hinnant's date library, built on the OS
// tz database, ignores the footer, so by itself it would put New York on standard time
// for every summer after 2037. time.cpp reads the footer with this parser and uses it
// past the last listed transition, as zoneinfo (Python) and glibc do.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "convene/time.h"

namespace convene::time_internal {

// One "start" or "end" of daylight time: Mm.w.d, Jn or n, at a local time of day.
struct PosixTransition {
  enum class Kind { month_week_day, julian_no_leap, zero_based } kind = Kind::month_week_day;
  int month = 0, week = 0, weekday = 0;  // Mm.w.d: week 5 means the last
  int day = 0;                           // Jn: 1..365 (29 February never counted); n: 0..365
  Seconds time{7200};                    // local time of day, may be negative or > 24 h
  // The local day of this transition in `year`.
  LocalDay day_in(int year) const;
};

struct PosixTz {
  Seconds std_offset{0};                 // east of UTC: New York is -5 h
  std::optional<Seconds> dst_offset;     // none: no daylight time
  PosixTransition start, end;

  // Parses a POSIX TZ string; nullopt when malformed.
  static std::optional<PosixTz> parse(std::string_view text);
  // The UTC offset at an instant.
  Seconds offset_at(Instant at) const;
};

// The footer of a TZif file's content (the text between its last two newlines), or an
// empty string when there is none (a version 1 file).
std::string tzif_footer(std::string_view tzif);

}  // namespace convene::time_internal
