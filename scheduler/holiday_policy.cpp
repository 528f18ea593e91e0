#include "convene/holiday_policy.h"

#include <array>

namespace convene {

namespace {

struct PolicyName {
  HolidayPolicy policy;
  std::string_view name;
};

constexpr std::array<PolicyName, 8> kPolicyNames{{
    {HolidayPolicy::skip, "skip"},
    {HolidayPolicy::following, "following"},
    {HolidayPolicy::preceding, "preceding"},
    {HolidayPolicy::modified_following, "modified-following"},
    {HolidayPolicy::modified_preceding, "modified-preceding"},
    {HolidayPolicy::nearest, "nearest"},
    {HolidayPolicy::next_week, "next-week"},
    {HolidayPolicy::keep, "keep"},
}};

// The first business day in direction `step` (+1 or -1) from `day`, excluding `day`
// itself, within kMaxBusinessDaySearch days.
std::optional<LocalDay> business_day(LocalDay day, int step, Workweek workweek,
                                     const std::function<bool(LocalDay)>& is_holiday) {
  for (int i = 1; i <= kMaxBusinessDaySearch; ++i) {
    const LocalDay candidate = day + date::days{step * i};
    if (workweek.contains(date::weekday{candidate}) && !is_holiday(candidate)) return candidate;
  }
  return std::nullopt;
}

bool same_month(LocalDay a, LocalDay b) {
  const date::year_month_day x{a}, y{b};
  return x.year() == y.year() && x.month() == y.month();
}

}  // namespace

std::string_view to_string(HolidayPolicy policy) {
  for (const auto& entry : kPolicyNames) {
    if (entry.policy == policy) return entry.name;
  }
  return "skip";
}

std::optional<HolidayPolicy> parse_holiday_policy(std::string_view text) {
  for (const auto& entry : kPolicyNames) {
    if (entry.name == text) return entry.policy;
  }
  return std::nullopt;
}

std::string_view holiday_policy_names() {
  return "skip, following, preceding, modified-following, modified-preceding, nearest, "
         "next-week, keep";
}

Workweek Workweek::of(std::initializer_list<date::weekday> days) {
  Workweek w{std::uint8_t{0}};
  for (auto d : days) w = w.with(d);
  return w;
}

Workweek Workweek::with(date::weekday day) const {
  return Workweek{static_cast<std::uint8_t>(mask_ | (1u << day.c_encoding()))};
}

std::optional<LocalDay> adjust(LocalDay day, HolidayPolicy policy, Workweek workweek,
                               const std::function<bool(LocalDay)>& is_holiday) {
  switch (policy) {
    case HolidayPolicy::skip:
      return std::nullopt;
    case HolidayPolicy::keep:
      return day;
    case HolidayPolicy::following:
      return business_day(day, +1, workweek, is_holiday);
    case HolidayPolicy::preceding:
      return business_day(day, -1, workweek, is_holiday);
    case HolidayPolicy::modified_following: {
      // Following, unless that leaves the month (or finds nothing): then preceding.
      auto next = business_day(day, +1, workweek, is_holiday);
      if (next && same_month(*next, day)) return next;
      return business_day(day, -1, workweek, is_holiday);
    }
    case HolidayPolicy::modified_preceding: {
      // Preceding, unless that leaves the month (or finds nothing): then following.
      auto previous = business_day(day, -1, workweek, is_holiday);
      if (previous && same_month(*previous, day)) return previous;
      return business_day(day, +1, workweek, is_holiday);
    }
    case HolidayPolicy::nearest: {
      auto next = business_day(day, +1, workweek, is_holiday);
      auto previous = business_day(day, -1, workweek, is_holiday);
      if (!next) return previous;
      if (!previous) return next;
      return (*next - day) <= (day - *previous) ? next : previous;
    }
    case HolidayPolicy::next_week:
      for (int week = 1; week <= kMaxNextWeekSearch; ++week) {
        const LocalDay candidate = day + date::weeks{week};
        if (!is_holiday(candidate)) return candidate;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace convene
