// convene/time.h: civil time, absolute time and time zones.
//
// Three ideas, three types (as in Howard Hinnant's date and cctz):
//   - civil (local) time: what a facilitator writes and what a wall clock shows,
//     `LocalTime` (date::local_seconds). It names no instant until a zone is given.
//     An occurrence's original start, its future RECURRENCE-ID, is a LocalTime.
//   - absolute time: an instant, `Instant` (date::sys_seconds, UTC-based).
//   - a time zone, `date::time_zone const*` from the system tz database. It is the
//     only way between the two; no conversion here happens without one.
//
// How to use:
//   auto zone = convene::find_zone("America/New_York");          // nullptr if unknown
//   auto local = convene::parse_local_minute("2027-03-14T02:30"); // optional<LocalTime>
//   convene::Instant at = convene::resolve_local(*local, zone);    // 07:30Z (03:30 EDT)
//   convene::format_rfc3339(at, zone);                             // "2027-03-14T03:30:00-04:00"
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>
#include <date/tz.h>

namespace convene {

using LocalTime = date::local_seconds;
using LocalDay = date::local_days;
using Instant = date::sys_seconds;
using Seconds = std::chrono::seconds;

// The longest zone name (IANA's longest is 32 characters, "America/Argentina/ComodRivadavia").
inline constexpr std::size_t kMaxZoneNameLength = 64;

// The names convene accepts as time zones, sorted: the zones and links of the IANA tz
// database as the system ships it (its tzdata.zi, under $TZDIR or /usr/share/zoneinfo):
// "America/New_York", "Europe/London", "UTC", "US/Eastern". Not the files of that folder
// that are no zone of the database: "localtime" (whatever this machine is set to),
// "posixrules", "Factory" (IANA's "-00" placeholder for an unknown local time), the
// "posix/" and "right/" trees, or the tables (zone.tab).
const std::vector<std::string>& zone_names();

// Looks a zone up by its IANA name (one of zone_names()) in the system tz database;
// nullptr when the name is not one (never throws).
const date::time_zone* find_zone(std::string_view name) noexcept;

// Resolves a local time in `zone` to an instant, by RFC 5545 §3.3.5:
//   - a unique local time is that instant;
//   - an ambiguous one (in a fall-back overlap) is its first occurrence, i.e. the
//     earlier instant, still on daylight time: New York 2026-11-01 01:30 → 05:30Z (EDT);
//   - a nonexistent one (in a spring-forward gap) is interpreted with the UTC offset
//     in force before the gap: New York 2027-03-14 02:30 → 07:30Z, shown as 03:30 EDT;
//     Lord Howe (30-minute shift) 2026-10-04 02:15 → 15:45Z the day before, 02:45 +11.
Instant resolve_local(LocalTime local, const date::time_zone* zone);

// The same rule, with a small cache of the last zone period, for hot loops that
// resolve many nearby times in one zone (an expansion). Not thread-safe; cheap to copy.
class ZoneResolver {
 public:
  explicit ZoneResolver(const date::time_zone* zone) : zone_(zone) {}
  Instant resolve(LocalTime local);
  const date::time_zone* zone() const { return zone_; }

 private:
  const date::time_zone* zone_;
  // The local-time range [begin_, end_) over which offset_ alone resolves.
  LocalTime begin_{LocalTime::max()};
  LocalTime end_{LocalTime::min()};
  Seconds offset_{0};
};

// The wall-clock reading of an instant in a zone.
LocalTime to_local(Instant at, const date::time_zone* zone);

// "YYYY-MM-DDTHH:MM", exactly: a whole minute. ":00" seconds are accepted too (the same
// minute, so an occurrence id stays "YYYY-MM-DDTHH:MM"); any other seconds are refused,
// as are a "Z" or an offset. nullopt when malformed or when the date does not exist
// (2027-02-30). Any four-digit year parses: where input enters (the definitions, the
// CLI), local_time_problem() also holds it to the supported years.
std::optional<LocalTime> parse_local_minute(std::string_view text);
// "YYYY-MM-DD"; nullopt when malformed or when the date does not exist.
std::optional<LocalDay> parse_date(std::string_view text);
// Whether `day` is in the years convene supports, kMinYear..kMaxYear (1900..2200,
// convene/limits.h): every date and start that enters convene is.
bool in_supported_years(LocalDay day);
// An RFC 5545 duration (§3.3.6): "PT1H", "PT90M", "P1D", "P2W", "P1DT2H30M", "-PT15M"
// (letters in either case). Computed in 64-bit arithmetic; nullopt when malformed or
// longer than kMaxDuration (366 days: "P10000W" and "PT9223372036854775807S" are refused,
// never wrapped). Negative durations are returned as such.
std::optional<Seconds> parse_duration(std::string_view text);

// Why a text is not what convene accepts where input enters, for a message (the value
// quoted, the part that is wrong, and the expected form): nullopt when it parses and,
// for dates and starts, its year is in the supported years.
//   local_time_problem("2026-09-14T16:00:30") → "\"2026-09-14T16:00:30\" is not a local
//   date and time: sessions start on a whole minute: write it without seconds; expected ..."
std::optional<std::string> date_problem(std::string_view text);
std::optional<std::string> local_time_problem(std::string_view text);
std::optional<std::string> duration_problem(std::string_view text);

std::string format_local_minute(LocalTime local);  // "2026-09-14T16:00"
std::string format_date(LocalDay day);              // "2026-09-14"
std::string format_duration(Seconds duration);      // "PT1H30M" (libical's form)
// RFC 3339 with the zone's offset at that instant: "2026-09-14T16:00:00-04:00".
std::string format_rfc3339(Instant at, const date::time_zone* zone);
// "Monday 18 January"
std::string format_day_long(LocalDay day);

}  // namespace convene
