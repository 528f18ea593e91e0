// Table tests for every holiday policy (convene/holiday_policy.h).
#include "convene/holiday_policy.h"

#include <set>

#include <gtest/gtest.h>

namespace convene {
namespace {

using date::days;
using namespace date::literals;

LocalDay d(date::year_month_day ymd) { return LocalDay{ymd}; }

// A set of holidays as a predicate.
struct Holidays {
  std::set<LocalDay> days;
  bool operator()(LocalDay day) const { return days.count(day) > 0; }
};

struct PolicyCase {
  const char* name;
  HolidayPolicy policy;
  date::year_month_day day;
  std::vector<date::year_month_day> holidays;
  std::optional<date::year_month_day> expected;
};

std::string describe(const PolicyCase& c) { return c.name; }

class AdjustTable : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(AdjustTable, MovesAsDocumented) {
  const PolicyCase& c = GetParam();
  Holidays h;
  for (auto ymd : c.holidays) h.days.insert(d(ymd));
  auto result = adjust(d(c.day), c.policy, Workweek{}, h);
  if (c.expected) {
    ASSERT_TRUE(result.has_value()) << c.name;
    EXPECT_EQ(format_date(*result), format_date(d(*c.expected))) << c.name;
  } else {
    EXPECT_FALSE(result.has_value()) << c.name << " gave " << format_date(*result);
  }
}

// 2027-01-18 is Martin Luther King, Jr. Day (a Monday).
// 2026-11-26 is Thanksgiving Day (a Thursday); 2026-12-25 Christmas Day (a Friday).
// 2027-04-30 is a Friday, the month's last business day; 2027-05-03 the next Monday.
// 2027-03-01 is a Monday, the month's first business day.
const PolicyCase kCases[] = {
    {"skip always skips", HolidayPolicy::skip, 2027_y / 1 / 18, {2027_y / 1 / 18}, std::nullopt},
    {"keep stays", HolidayPolicy::keep, 2027_y / 1 / 18, {2027_y / 1 / 18}, 2027_y / 1 / 18},
    {"following goes to Tuesday", HolidayPolicy::following, 2027_y / 1 / 18, {2027_y / 1 / 18},
     2027_y / 1 / 19},
    {"following jumps the weekend", HolidayPolicy::following, 2026_y / 12 / 25,
     {2026_y / 12 / 25}, 2026_y / 12 / 28},
    {"following skips consecutive holidays", HolidayPolicy::following, 2026_y / 11 / 26,
     {2026_y / 11 / 26, 2026_y / 11 / 27}, 2026_y / 11 / 30},
    {"preceding goes to Friday", HolidayPolicy::preceding, 2027_y / 1 / 18, {2027_y / 1 / 18},
     2027_y / 1 / 15},
    {"preceding skips consecutive holidays", HolidayPolicy::preceding, 2026_y / 11 / 27,
     {2026_y / 11 / 26, 2026_y / 11 / 27}, 2026_y / 11 / 25},
    {"modified-following stays in the month", HolidayPolicy::modified_following, 2027_y / 1 / 18,
     {2027_y / 1 / 18}, 2027_y / 1 / 19},
    {"modified-following turns back at the month's end", HolidayPolicy::modified_following,
     2027_y / 4 / 30, {2027_y / 4 / 30}, 2027_y / 4 / 29},
    {"modified-preceding stays in the month", HolidayPolicy::modified_preceding, 2027_y / 1 / 18,
     {2027_y / 1 / 18}, 2027_y / 1 / 15},
    {"modified-preceding turns forward at the month's start", HolidayPolicy::modified_preceding,
     2027_y / 3 / 1, {2027_y / 3 / 1}, 2027_y / 3 / 2},
    {"nearest prefers the closer preceding day", HolidayPolicy::nearest, 2027_y / 4 / 16,
     {2027_y / 4 / 16}, 2027_y / 4 / 15},
    {"nearest prefers the closer following day", HolidayPolicy::nearest, 2027_y / 1 / 18,
     {2027_y / 1 / 18}, 2027_y / 1 / 19},
    {"nearest breaks a tie toward following", HolidayPolicy::nearest, 2026_y / 11 / 25,
     {2026_y / 11 / 25}, 2026_y / 11 / 26},
    {"nearest with the day before also a holiday", HolidayPolicy::nearest, 2026_y / 11 / 26,
     {2026_y / 11 / 25, 2026_y / 11 / 26}, 2026_y / 11 / 27},
    {"next-week goes seven days later", HolidayPolicy::next_week, 2027_y / 1 / 18,
     {2027_y / 1 / 18}, 2027_y / 1 / 25},
    {"next-week skips a week that is also a holiday", HolidayPolicy::next_week, 2026_y / 12 / 21,
     {2026_y / 12 / 21, 2026_y / 12 / 28}, 2027_y / 1 / 4},
};

INSTANTIATE_TEST_SUITE_P(HolidayPolicy, AdjustTable, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(HolidayPolicy, FollowingSearchesThirtyOneDays) {
  // Every day of March 2027 a holiday (from Monday 1 March): Thursday 1 April is day 31,
  // still found; with it a holiday too, Friday 2 April (day 32) is beyond the search.
  Holidays h;
  for (int i = 0; i < 31; ++i) h.days.insert(d(2027_y / 3 / 1) + days{i});
  auto found = adjust(d(2027_y / 3 / 1), HolidayPolicy::following, Workweek{}, h);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(format_date(*found), "2027-04-01");
  h.days.insert(d(2027_y / 4 / 1));
  EXPECT_FALSE(adjust(d(2027_y / 3 / 1), HolidayPolicy::following, Workweek{}, h).has_value());
  // The same bound backwards: from Thursday 1 April, preceding over March.
  h.days.erase(d(2027_y / 3 / 1));
  found = adjust(d(2027_y / 4 / 1), HolidayPolicy::preceding, Workweek{}, h);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(format_date(*found), "2027-03-01");
}

TEST(HolidayPolicy, NextWeekGivesUpAfterFourWeeks) {
  Holidays h;
  for (int w = 0; w <= 4; ++w) h.days.insert(d(2027_y / 1 / 4) + date::weeks{w});
  EXPECT_FALSE(adjust(d(2027_y / 1 / 4), HolidayPolicy::next_week, Workweek{}, h).has_value());
  h.days.erase(d(2027_y / 1 / 4) + date::weeks{4});
  auto found = adjust(d(2027_y / 1 / 4), HolidayPolicy::next_week, Workweek{}, h);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(format_date(*found), "2027-02-01");
}

TEST(HolidayPolicy, WorkweekDecidesBusinessDays) {
  // A community meeting Tuesday to Saturday: Monday 18 January preceding is Saturday 16.
  Holidays h{{d(2027_y / 1 / 18)}};
  const auto tue_to_sat =
      Workweek::of({date::Tuesday, date::Wednesday, date::Thursday, date::Friday, date::Saturday});
  auto found = adjust(d(2027_y / 1 / 18), HolidayPolicy::preceding, tue_to_sat, h);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(format_date(*found), "2027-01-16");
  EXPECT_FALSE(tue_to_sat.contains(date::Monday));
  EXPECT_TRUE(Workweek{}.contains(date::Monday));
  EXPECT_FALSE(Workweek{}.contains(date::Sunday));
}

TEST(HolidayPolicy, NamesRoundTrip) {
  for (auto p : {HolidayPolicy::skip, HolidayPolicy::following, HolidayPolicy::preceding,
                 HolidayPolicy::modified_following, HolidayPolicy::modified_preceding,
                 HolidayPolicy::nearest, HolidayPolicy::next_week, HolidayPolicy::keep}) {
    auto parsed = parse_holiday_policy(to_string(p));
    ASSERT_TRUE(parsed.has_value()) << to_string(p);
    EXPECT_EQ(*parsed, p);
    EXPECT_NE(holiday_policy_names().find(to_string(p)), std::string_view::npos);
  }
  EXPECT_FALSE(parse_holiday_policy("modified_following").has_value());
  EXPECT_FALSE(parse_holiday_policy("Following").has_value());
  EXPECT_FALSE(parse_holiday_policy("").has_value());
}

}  // namespace
}  // namespace convene
