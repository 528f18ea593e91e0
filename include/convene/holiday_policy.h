// convene/holiday_policy.h: what happens to a session that falls on a holiday.
//
// A facilitator picks one policy per series ("on_holiday" in the definitions). The
// policy applies to an occurrence whose local start date is a holiday of any calendar
// the series observes; the time of day is always kept. A business day is a day of the
// community's workweek (Monday to Friday unless it says otherwise) that is not a holiday.
// Modelled on QuantLib's BusinessDayConvention and Calendar::adjust.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "convene/time.h"

namespace convene {

enum class HolidayPolicy {
  // The session does not take place.
  skip,
  // Moves to the next business day.
  following,
  // Moves to the previous business day.
  preceding,
  // Moves to the next business day, unless that is in another month: then the previous one.
  modified_following,
  // Moves to the previous business day, unless that is in another month: then the next one.
  modified_preceding,
  // Moves to the nearer of the next and previous business days; a tie goes to the next.
  nearest,
  // Moves to the same weekday 1 to 4 weeks later: the first of them that is not a holiday.
  next_week,
  // Stays where it is, flagged with the holiday.
  keep,
};

// "skip", "following", "preceding", "modified-following", "modified-preceding",
// "nearest", "next-week", "keep".
std::string_view to_string(HolidayPolicy policy);
std::optional<HolidayPolicy> parse_holiday_policy(std::string_view text);
// Every policy's name, in declaration order (for messages: "expected one of ...").
std::string_view holiday_policy_names();

// The days of the week on which a community meets, Monday to Friday by default.
class Workweek {
 public:
  Workweek() : mask_(0b0111110) {}  // bit = weekday.c_encoding(): Sunday is 0
  static Workweek of(std::initializer_list<date::weekday> days);
  Workweek with(date::weekday day) const;
  bool contains(date::weekday day) const { return (mask_ >> day.c_encoding()) & 1u; }
  bool empty() const { return mask_ == 0; }
  friend bool operator==(const Workweek&, const Workweek&) = default;

 private:
  explicit Workweek(std::uint8_t mask) : mask_(mask) {}
  std::uint8_t mask_;
};

// The longest a following/preceding search looks for a business day, and the most
// weeks next-week looks ahead. Past them the session is skipped.
inline constexpr int kMaxBusinessDaySearch = 31;
inline constexpr int kMaxNextWeekSearch = 4;

// Where a session on holiday `day` goes under `policy`: the new day (the same day for
// `keep`), or nullopt when it is skipped (`skip`, or no business day within
// kMaxBusinessDaySearch days, or no free week within kMaxNextWeekSearch weeks).
// `is_holiday` answers for any day. Example: us-dc, Monday 2027-01-18 (Martin Luther
// King, Jr. Day), following → Tuesday 2027-01-19.
std::optional<LocalDay> adjust(LocalDay day, HolidayPolicy policy, Workweek workweek,
                               const std::function<bool(LocalDay)>& is_holiday);

}  // namespace convene
