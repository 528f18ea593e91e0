// Tests of convene/holiday_calendar.h: the built-in calendars against python3-holidays
// and the law, user rules, closures, the day index, and ICS closures.
#include "convene/holiday_calendar.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace convene {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::run_python;
using testing::source_dir;
using testing::TempDir;
using testing::write_file;

LocalDay day(int y, unsigned m, unsigned d) { return LocalDay{date::year{y} / m / d}; }

HolidayCalendar builtin(std::string_view name) {
  auto calendar = HolidayCalendar::builtin(name);
  if (!calendar) throw std::runtime_error("no builtin " + std::string(name));
  return *calendar;
}

int year_of(LocalDay d) { return static_cast<int>(date::year_month_day{d}.year()); }

// The names a calendar lists on `d`, asking for that day's year only.
std::vector<std::string> names_on(const HolidayCalendar& calendar, LocalDay d) {
  std::vector<std::string> names;
  const date::year y{year_of(d)};
  for (const auto& h : calendar.holidays(y, y)) {
    if (h.day == d) names.push_back(h.name);
  }
  return names;
}

// (day, name) pairs, as "YYYY-MM-DD" and name.
using DayNames = std::set<std::pair<std::string, std::string>>;

DayNames as_day_names(const std::vector<Holiday>& holidays) {
  DayNames out;
  for (const auto& h : holidays) out.emplace(format_date(h.day), h.name);
  return out;
}

std::string describe(const DayNames& entries) {
  std::ostringstream out;
  int shown = 0;
  for (const auto& [d, name] : entries) {
    if (++shown > 30) {
      out << "  ... (" << entries.size() << " in all)\n";
      break;
    }
    out << "  " << d << " " << name << "\n";
  }
  return out.str();
}

// --- the built-in calendars against python3-holidays --------------------------------

// What python3-holidays (Debian 0.10.x) lists for the calendar in [from, to], by
// tests/oracles/holidays_oracle.py, with its names mapped to convene's. The mapping is
// exact, name by name; an unknown name fails the test.
DayNames python_holidays(const std::string& calendar, int from, int to) {
  const auto script = (source_dir() / "tests/oracles/holidays_oracle.py").string();
  const auto result = run_python({script, calendar, std::to_string(from), std::to_string(to)});
  EXPECT_EQ(result.exit_code, 0) << "the oracle needs /usr/bin/python3 with python3-holidays\n"
                                 << result.err;
  // python-holidays' name → convene's:
  //   "Thanksgiving": 5 U.S.C. 6103(a) names the holiday "Thanksgiving Day".
  //   "Emancipation Day": in us-dc it is DC Emancipation Day (D.C. Code § 1-612.02),
  //     named so to tell it from other emancipation days.
  //   "... (Observed)": convene writes "(observed)" for every observed day.
  static const std::map<std::string, std::string> kNames{
      {"New Year's Day", "New Year's Day"},
      {"Martin Luther King, Jr. Day", "Martin Luther King, Jr. Day"},
      {"Washington's Birthday", "Washington's Birthday"},
      {"Memorial Day", "Memorial Day"},
      {"Independence Day", "Independence Day"},
      {"Labor Day", "Labor Day"},
      {"Columbus Day", "Columbus Day"},
      {"Veterans Day", "Veterans Day"},
      {"Thanksgiving", "Thanksgiving Day"},
      {"Christmas Day", "Christmas Day"},
      {"Emancipation Day", "DC Emancipation Day"},
      {"Inauguration Day", "Inauguration Day"},
  };
  DayNames out;
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      ADD_FAILURE() << "oracle line without a tab: " << line;
      continue;
    }
    std::string name = line.substr(tab + 1);
    const std::string observed = " (Observed)";
    const bool is_observed =
        name.size() > observed.size() && name.ends_with(observed);
    if (is_observed) name.resize(name.size() - observed.size());
    const auto mapped = kNames.find(name);
    if (mapped == kNames.end()) {
      ADD_FAILURE() << "python-holidays name with no convene counterpart: " << line;
      continue;
    }
    out.emplace(line.substr(0, tab), mapped->second + (is_observed ? " (observed)" : ""));
  }
  EXPECT_GT(out.size(), 700u) << "the oracle printed too little:\n" << result.out << result.err;
  return out;
}

// python3-holidays 0.10.1 (2020) predates Juneteenth National Independence Day (Pub. L.
// 117-17, 17 June 2021; 5 U.S.C. 6103(a)), so the test adds it to the oracle's list:
// 19 June from 2021, a Saturday observed on Friday 18, a Sunday on Monday 20 (6103(b)).
void add_juneteenth(DayNames& expected, int from, int to) {
  for (int y = std::max(from, 2021); y <= to; ++y) {
    const LocalDay d = day(y, 6, 19);
    expected.emplace(format_date(d), "Juneteenth National Independence Day");
    const date::weekday wd{d};
    if (wd == date::Saturday) expected.emplace(format_date(d - date::days{1}), "Juneteenth National Independence Day (observed)");
    if (wd == date::Sunday) expected.emplace(format_date(d + date::days{1}), "Juneteenth National Independence Day (observed)");
  }
}

void expect_same_as_python_holidays(const std::string& calendar_name) {
  constexpr int kFrom = 1990, kTo = 2060;
  DayNames expected = python_holidays(calendar_name, kFrom, kTo);
  add_juneteenth(expected, kFrom, kTo);
  const auto holidays = builtin(calendar_name).holidays(date::year{kFrom}, date::year{kTo});
  const DayNames actual = as_day_names(holidays);
  ASSERT_EQ(actual.size(), holidays.size()) << "one entry per (day, name)";

  DayNames only_convene, only_python;
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::inserter(only_convene, only_convene.end()));
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::inserter(only_python, only_python.end()));
  EXPECT_TRUE(only_convene.empty()) << calendar_name << ": only in convene:\n" << describe(only_convene);
  EXPECT_TRUE(only_python.empty()) << calendar_name << ": only in python-holidays:\n" << describe(only_python);
}

TEST(HolidayCalendar, FederalMatchesPythonHolidays1990To2060) {
  expect_same_as_python_holidays("us-federal");
}

TEST(HolidayCalendar, DcMatchesPythonHolidays1990To2060) {
  expect_same_as_python_holidays("us-dc");
}

// --- the built-in calendars: table of the law's cases --------------------------------

struct LawCase {
  const char* calendar;
  LocalDay day;
  std::vector<std::string> names;  // all the names on that day, sorted
  const char* why;
};

TEST(HolidayCalendar, BuiltinCasesOfTheLaw) {
  const std::vector<LawCase> cases{
      {"us-federal", day(2026, 7, 3), {"Independence Day (observed)"}, "4 July 2026 is a Saturday"},
      {"us-federal", day(2026, 7, 4), {"Independence Day"}, "the holiday itself still counts"},
      {"us-federal", day(2026, 7, 6), {}, "no Monday for a Saturday holiday"},
      {"us-federal", day(2027, 12, 31), {"New Year's Day (observed)"},
       "1 January 2028 is a Saturday: observed in 2027"},
      {"us-federal", day(2028, 1, 1), {"New Year's Day"}, ""},
      {"us-federal", day(2027, 12, 24), {"Christmas Day (observed)"}, "25 December 2027 is a Saturday"},
      {"us-federal", day(2022, 12, 26), {"Christmas Day (observed)"}, "25 December 2022 is a Sunday"},
      {"us-federal", day(2023, 1, 2), {"New Year's Day (observed)"}, "1 January 2023 is a Sunday"},
      {"us-federal", day(2020, 6, 19), {}, "Juneteenth is a holiday from 2021"},
      {"us-federal", day(2021, 6, 18), {"Juneteenth National Independence Day (observed)"},
       "19 June 2021 is a Saturday"},
      {"us-federal", day(2021, 6, 19), {"Juneteenth National Independence Day"}, ""},
      {"us-federal", day(2027, 1, 18), {"Martin Luther King, Jr. Day"}, "third Monday of January"},
      {"us-federal", day(2027, 2, 15), {"Washington's Birthday"}, "third Monday of February"},
      {"us-federal", day(2027, 5, 31), {"Memorial Day"}, "last Monday of May"},
      {"us-federal", day(2026, 9, 7), {"Labor Day"}, "first Monday of September"},
      {"us-federal", day(2026, 10, 12), {"Columbus Day"}, "second Monday of October"},
      {"us-federal", day(2026, 11, 11), {"Veterans Day"}, "a Wednesday"},
      {"us-federal", day(2026, 11, 26), {"Thanksgiving Day"}, "fourth Thursday of November"},
      {"us-federal", day(2027, 4, 16), {}, "DC Emancipation Day is not federal"},
      {"us-federal", day(2013, 1, 20), {}, "Inauguration Day is DC only"},
      {"us-dc", day(2027, 4, 16), {"DC Emancipation Day"}, "a Friday: no observance"},
      {"us-dc", day(2004, 4, 16), {}, "DC Emancipation Day is a holiday from 2005"},
      {"us-dc", day(2005, 4, 15), {"DC Emancipation Day (observed)"}, "16 April 2005 is a Saturday"},
      {"us-dc", day(2023, 4, 17), {"DC Emancipation Day (observed)"}, "16 April 2023 is a Sunday"},
      {"us-dc", day(2029, 1, 20), {"Inauguration Day"}, "a Saturday"},
      {"us-dc", day(2029, 1, 19), {},
       "Inauguration Day on a Saturday has no Friday instead (5 U.S.C. 6103(c); OPM memo "
       "2000-16, 51 Comp. Gen. 586)"},
      {"us-dc", day(2013, 1, 20), {"Inauguration Day"}, "a Sunday"},
      {"us-dc", day(2013, 1, 21), {"Inauguration Day (observed)", "Martin Luther King, Jr. Day"},
       "6103(c): a Sunday's Inauguration Day moves to Monday, here MLK Day: both entries"},
      {"us-dc", day(2025, 1, 20), {"Inauguration Day", "Martin Luther King, Jr. Day"},
       "Inauguration Day on MLK Day"},
      {"us-dc", day(2026, 1, 20), {}, "not an inauguration year"},
      {"us-dc", day(1961, 1, 20), {}, "Inauguration Day is a holiday from 1965"},
      {"us-dc", day(1965, 1, 20), {"Inauguration Day"}, ""},
      {"us-dc", day(2026, 7, 3), {"Independence Day (observed)"}, "us-dc includes us-federal"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(names_on(builtin(c.calendar), c.day), c.names)
        << c.calendar << " " << format_date(c.day) << ": " << c.why;
  }
}

TEST(HolidayCalendar, NewYearsObservanceListedInThePreviousYear) {
  const auto federal = builtin("us-federal");
  const auto in_2027 = as_day_names(federal.holidays(date::year{2027}, date::year{2027}));
  EXPECT_TRUE(in_2027.count({"2027-12-31", "New Year's Day (observed)"}));
  const auto in_2028 = as_day_names(federal.holidays(date::year{2028}, date::year{2028}));
  EXPECT_TRUE(in_2028.count({"2028-01-01", "New Year's Day"}));
  for (const auto& [d, name] : in_2028) EXPECT_EQ(d.substr(0, 4), "2028") << d << " " << name;
}

TEST(HolidayCalendar, FederalYearHasElevenHolidaysAndObservedDays) {
  const auto federal = builtin("us-federal");
  EXPECT_EQ(as_day_names(federal.holidays(date::year{2020}, date::year{2020})).size(), 10u + 1u)
      << "2020: ten holidays, Independence Day (Saturday) observed on Friday 3 July";
  const auto y2027 = federal.holidays(date::year{2027}, date::year{2027});
  // 11 holidays; observed: Juneteenth (Sat 19 June → 18), Independence Day (Sun → Mon 5 July),
  // Christmas (Sat → Fri 24), New Year's Day 2028 (Sat → Fri 31 December 2027).
  EXPECT_EQ(y2027.size(), 15u);
  for (const auto& h : y2027) EXPECT_EQ(h.calendar, "us-federal");
}

TEST(HolidayCalendar, HolidaysSortedByDayThenName) {
  const auto dc = builtin("us-dc");
  const auto all = dc.holidays(date::year{2000}, date::year{2030});
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 1; i < all.size(); ++i) {
    const bool ordered = all[i - 1].day < all[i].day ||
                         (all[i - 1].day == all[i].day && all[i - 1].name < all[i].name);
    EXPECT_TRUE(ordered) << format_date(all[i].day) << " " << all[i].name;
  }
  EXPECT_THAT(dc.holidays(date::year{2030}, date::year{2029}), IsEmpty());
}

TEST(HolidayCalendar, BuiltinNamesAndIds) {
  EXPECT_THAT(HolidayCalendar::builtin_names(), ElementsAre("us-federal", "us-dc"));
  EXPECT_FALSE(HolidayCalendar::builtin("us-ny").has_value());
  EXPECT_FALSE(HolidayCalendar::builtin("").has_value());
  EXPECT_EQ(builtin("us-dc").id(), "us-dc");
  const auto dc = HolidayCalendar::builtin("us-dc", "dc");
  ASSERT_TRUE(dc.has_value());
  EXPECT_EQ(dc->id(), "dc");
  const auto h = dc->holidays(date::year{2027}, date::year{2027});
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h.front().calendar, "dc");
  EXPECT_EQ(builtin("us-dc").holidays(date::year{2027}, date::year{2027}).front().calendar, "us-dc");
  EXPECT_FALSE(builtin("us-federal").rules().empty());
  EXPECT_THAT(builtin("us-federal").closures(), IsEmpty());
}

// --- user rules -----------------------------------------------------------------------

std::vector<LocalDay> days_of(const HolidayCalendar& calendar, int from, int to) {
  std::vector<LocalDay> out;
  for (const auto& h : calendar.holidays(date::year{from}, date::year{to})) out.push_back(h.day);
  return out;
}

HolidayCalendar with_nth(date::weekday wd, unsigned month, int nth) {
  return HolidayCalendar{"c"}.with_rule(NthWeekdayRule{"Rule", month, wd, nth, {}, {}});
}

TEST(HolidayRule, NthWeekdayOfMonth) {
  struct Case {
    date::weekday wd;
    unsigned month;
    int nth;
    int year;
    std::vector<LocalDay> expected;
  };
  const std::vector<Case> cases{
      {date::Monday, 10, 2, 2026, {day(2026, 10, 12)}},
      {date::Thursday, 11, 4, 2026, {day(2026, 11, 26)}},
      {date::Monday, 5, -1, 2027, {day(2027, 5, 31)}},
      {date::Friday, 1, 5, 2027, {day(2027, 1, 29)}},       // January 2027 has five Fridays
      {date::Friday, 1, -5, 2027, {day(2027, 1, 1)}},       // the fifth from the end is the first
      {date::Monday, 2, 5, 2027, {}},                       // no fifth Monday in February 2027
      {date::Monday, 2, -5, 2027, {}},
      {date::Monday, 2, 5, 2016, {day(2016, 2, 29)}},       // but there is one in February 2016
      {date::Sunday, 3, -2, 2027, {day(2027, 3, 21)}},
      {date::Monday, 2, 0, 2027, {}},                       // nth out of range: nothing
      {date::Monday, 2, 6, 2027, {}},
      {date::Monday, 13, 1, 2027, {}},                      // month out of range: nothing
  };
  for (const auto& c : cases) {
    EXPECT_EQ(days_of(with_nth(c.wd, c.month, c.nth), c.year, c.year), c.expected)
        << "weekday " << c.wd.c_encoding() << " month " << c.month << " nth " << c.nth << " "
        << c.year;
  }
}

TEST(HolidayRule, EasterOffsets) {
  struct Case {
    int offset;
    int year;
    LocalDay expected;
  };
  const std::vector<Case> cases{
      {-2, 2027, day(2027, 3, 26)},   // Good Friday 2027
      {0, 2027, day(2027, 3, 28)},
      {1, 2026, day(2026, 4, 6)},     // Easter Monday 2026
      {-46, 2027, day(2027, 2, 10)},  // Ash Wednesday
      {0, 2024, day(2024, 3, 31)},
      {0, 2025, day(2025, 4, 20)},
      {0, 2038, day(2038, 4, 25)},    // the latest possible
      {0, 2285, day(2285, 3, 22)},    // the earliest possible
      {0, 1818, day(1818, 3, 22)},
      {0, 2000, day(2000, 4, 23)},
      {39, 2027, day(2027, 5, 6)},    // Ascension Day
  };
  for (const auto& c : cases) {
    const auto calendar = HolidayCalendar{"c"}.with_rule(EasterRule{"E", c.offset, {}, {}});
    EXPECT_THAT(days_of(calendar, c.year, c.year), ElementsAre(c.expected))
        << "Easter " << c.offset << " in " << c.year;
  }
}

TEST(HolidayRule, EasterOffsetIntoAnotherYearIsListedInThatYear) {
  // Easter 2026 is 5 April; 300 days later is 30 January 2027.
  const auto calendar = HolidayCalendar{"c"}.with_rule(EasterRule{"Far", 300, 2026, 2026});
  EXPECT_THAT(days_of(calendar, 2026, 2026), IsEmpty());
  EXPECT_THAT(days_of(calendar, 2027, 2027), ElementsAre(day(2027, 1, 30)));
}

TEST(HolidayRule, FixedDateWithAndWithoutObservance) {
  FixedDateRule plain{"Founders' Day", 7, 4, false, {}, {}};
  EXPECT_THAT(days_of(HolidayCalendar{"c"}.with_rule(plain), 2026, 2026), ElementsAre(day(2026, 7, 4)));
  FixedDateRule observed = plain;
  observed.observe_weekend = true;
  const auto calendar = HolidayCalendar{"c"}.with_rule(observed);
  EXPECT_THAT(days_of(calendar, 2026, 2026), ElementsAre(day(2026, 7, 3), day(2026, 7, 4)));
  EXPECT_EQ(names_on(calendar, day(2026, 7, 3)), std::vector<std::string>{"Founders' Day (observed)"});
  EXPECT_THAT(days_of(calendar, 2027, 2027), ElementsAre(day(2027, 7, 4), day(2027, 7, 5)));
  EXPECT_THAT(days_of(calendar, 2029, 2029), ElementsAre(day(2029, 7, 4)));  // a Wednesday
}

TEST(HolidayRule, LeapDayOnlyInLeapYears) {
  const auto calendar = HolidayCalendar{"c"}.with_rule(FixedDateRule{"Leap", 2, 29, false, {}, {}});
  EXPECT_THAT(days_of(calendar, 2025, 2029), ElementsAre(day(2028, 2, 29)));
  const auto never = HolidayCalendar{"c"}.with_rule(FixedDateRule{"Never", 4, 31, true, {}, {}});
  EXPECT_THAT(days_of(never, 2025, 2029), IsEmpty());
}

TEST(HolidayRule, SinceAndUntilAreInclusive) {
  const auto calendar = HolidayCalendar{"c"}
                            .with_rule(FixedDateRule{"Fixed", 3, 3, false, 2026, 2027})
                            .with_rule(NthWeekdayRule{"Nth", 6, date::Monday, 1, 2027, {}})
                            .with_rule(EasterRule{"Easter", 0, {}, 2025});
  EXPECT_THAT(days_of(calendar, 2024, 2028),
              ElementsAre(day(2024, 3, 31), day(2025, 4, 20), day(2026, 3, 3), day(2027, 3, 3),
                          day(2027, 6, 7), day(2028, 6, 5)));
}

TEST(HolidayRule, ObservanceBelongsToTheHolidaysYear) {
  // A New Year's Day from 2028 only: its 31 December 2027 observance is there, none before.
  FixedDateRule rule{"New Year", 1, 1, true, 2028, {}};
  const auto calendar = HolidayCalendar{"c"}.with_rule(rule);
  EXPECT_THAT(days_of(calendar, 2021, 2027), ElementsAre(day(2027, 12, 31)));
  // 31 December 2023 is a Sunday: observed on Monday 1 January 2024, listed in 2024.
  const auto eve = HolidayCalendar{"c"}.with_rule(FixedDateRule{"Eve", 12, 31, true, {}, {}});
  EXPECT_THAT(days_of(eve, 2024, 2024), ElementsAre(day(2024, 1, 1), day(2024, 12, 31)));
}

TEST(HolidayRule, EveryFourYearsFromSince) {
  FixedDateRule rule{"Quadrennial", 1, 20, true, 1965, {}};
  rule.observe_saturday = false;
  rule.every_years = 4;
  const auto calendar = HolidayCalendar{"c"}.with_rule(rule);
  EXPECT_THAT(days_of(calendar, 2024, 2033),
              ElementsAre(day(2025, 1, 20), day(2029, 1, 20), day(2033, 1, 20)));
  EXPECT_THAT(days_of(calendar, 2013, 2013), ElementsAre(day(2013, 1, 20), day(2013, 1, 21)));
}

// --- closures and values ----------------------------------------------------------------

TEST(HolidayCalendar, ClosureRangeGivesOneEntryPerDay) {
  const auto calendar = HolidayCalendar{"school"}.with_closure({"Winter break", day(2026, 12, 21), day(2027, 1, 1)});
  const auto y2026 = calendar.holidays(date::year{2026}, date::year{2026});
  ASSERT_EQ(y2026.size(), 11u);  // 21 to 31 December
  EXPECT_EQ(y2026.front(), (Holiday{day(2026, 12, 21), "Winter break", "school"}));
  EXPECT_EQ(y2026.back(), (Holiday{day(2026, 12, 31), "Winter break", "school"}));
  EXPECT_THAT(days_of(calendar, 2027, 2027), ElementsAre(day(2027, 1, 1)));
  EXPECT_EQ(calendar.holidays(date::year{2026}, date::year{2027}).size(), 12u);
  EXPECT_THAT(days_of(calendar, 2028, 2030), IsEmpty());
}

TEST(HolidayCalendar, ClosuresBesideHolidaysAndDuplicates) {
  const auto calendar = builtin("us-federal")
                            .with_closure({"Winter break", day(2026, 12, 24), day(2026, 12, 26)})
                            .with_closure({"Winter break", day(2026, 12, 26), day(2026, 12, 26)})
                            .with_closure({"Snow day", day(2026, 12, 25), day(2026, 12, 25)});
  EXPECT_THAT(names_on(calendar, day(2026, 12, 25)), ElementsAre("Christmas Day", "Snow day", "Winter break"));
  EXPECT_THAT(names_on(calendar, day(2026, 12, 26)), ElementsAre("Winter break"));
  // A closure that ends before it starts is empty.
  const auto empty = HolidayCalendar{"c"}.with_closure({"Backwards", day(2026, 5, 2), day(2026, 5, 1)});
  EXPECT_THAT(days_of(empty, 2026, 2026), IsEmpty());
}

TEST(HolidayCalendar, WithClosureDoesNotChangeTheOriginal) {
  const auto dc = builtin("us-dc");
  const auto before = dc.holidays(date::year{2027}, date::year{2027});
  const auto copy = dc;
  const auto snowy = dc.with_closure({"Snow day", day(2027, 2, 3), day(2027, 2, 3)});
  EXPECT_EQ(dc.holidays(date::year{2027}, date::year{2027}), before);
  EXPECT_EQ(copy.holidays(date::year{2027}, date::year{2027}), before);
  EXPECT_THAT(dc.closures(), IsEmpty());
  EXPECT_THAT(snowy.closures(), ElementsAre(Closure{"Snow day", day(2027, 2, 3), day(2027, 2, 3)}));
  EXPECT_EQ(snowy.holidays(date::year{2027}, date::year{2027}).size(), before.size() + 1);
  EXPECT_EQ(snowy.id(), "us-dc");
  EXPECT_THAT(names_on(builtin("us-dc"), day(2027, 2, 3)), IsEmpty()) << "the shared built-in is untouched";

  const auto ruled = dc.with_rule(EasterRule{"Good Friday", -2, {}, {}});
  EXPECT_EQ(ruled.rules().size(), dc.rules().size() + 1);
  EXPECT_THAT(names_on(ruled, day(2027, 3, 26)), ElementsAre("Good Friday"));
  EXPECT_THAT(names_on(dc, day(2027, 3, 26)), IsEmpty());
}

TEST(HolidayCalendar, MergedWithListsTheOthersUnderThisId) {
  const auto school = HolidayCalendar{"school"}
                          .with_closure({"Spring break", day(2027, 3, 29), day(2027, 4, 2)})
                          .merged_with(builtin("us-dc"));
  EXPECT_EQ(school.id(), "school");
  EXPECT_EQ(school.rules().size(), builtin("us-dc").rules().size());
  EXPECT_EQ(school.closures().size(), 1u);
  const auto y2027 = school.holidays(date::year{2027}, date::year{2027});
  for (const auto& h : y2027) EXPECT_EQ(h.calendar, "school");
  EXPECT_THAT(names_on(school, day(2027, 4, 16)), ElementsAre("DC Emancipation Day"));
  EXPECT_THAT(names_on(school, day(2027, 3, 31)), ElementsAre("Spring break"));
  EXPECT_THAT(names_on(school, day(2027, 12, 24)), ElementsAre("Christmas Day (observed)"));
}

// --- HolidayIndex -----------------------------------------------------------------------

TEST(HolidayIndex, FindsEachDaysHolidayInItsRange) {
  const auto dc = builtin("us-dc");
  const HolidayIndex index({&dc}, day(2026, 9, 1), day(2027, 6, 30));
  EXPECT_EQ(index.from(), day(2026, 9, 1));
  EXPECT_EQ(index.to(), day(2027, 6, 30));
  // Every day of the range agrees with holidays().
  std::map<LocalDay, std::string> first_names;
  for (const auto& h : dc.holidays(date::year{2026}, date::year{2027})) first_names.emplace(h.day, h.name);
  for (LocalDay d = day(2026, 9, 1); d <= day(2027, 6, 30); d += date::days{1}) {
    const auto found = index.find(d);
    EXPECT_EQ(index.contains(d), found.has_value());
    const auto it = first_names.find(d);
    if (it == first_names.end()) {
      EXPECT_EQ(found, std::nullopt) << format_date(d);
    } else {
      ASSERT_NE(found, std::nullopt) << format_date(d);
      EXPECT_EQ(found->name, it->second);
      EXPECT_EQ(found->day, d);
      EXPECT_EQ(found->calendar, "us-dc");
    }
  }
  ASSERT_NE(index.find(day(2027, 6, 18)), std::nullopt);
  EXPECT_EQ(index.find(day(2027, 6, 18))->name, "Juneteenth National Independence Day (observed)");
}

TEST(HolidayIndex, OutsideTheRangeFindsNothing) {
  const auto federal = builtin("us-federal");
  const HolidayIndex index({&federal}, day(2026, 9, 7), day(2026, 12, 25));
  EXPECT_EQ(index.find(day(2026, 7, 4)), std::nullopt);
  EXPECT_EQ(index.find(day(2027, 1, 1)), std::nullopt);
  EXPECT_EQ(index.find(day(1900, 1, 1)), std::nullopt);
  ASSERT_NE(index.find(day(2026, 9, 7)), std::nullopt) << "the first day is in the range";
  ASSERT_NE(index.find(day(2026, 12, 25)), std::nullopt) << "the last day is in the range";
  EXPECT_EQ(HolidayIndex{}.find(day(2026, 7, 4)), std::nullopt);
  const HolidayIndex backwards({&federal}, day(2026, 12, 31), day(2026, 1, 1));
  EXPECT_EQ(backwards.find(day(2026, 7, 4)), std::nullopt);
}

TEST(HolidayIndex, FirstCalendarGivenWins) {
  const auto dc = builtin("us-dc");
  const auto school = HolidayCalendar{"school"}
                          .with_closure({"Winter break", day(2026, 12, 21), day(2027, 1, 1)})
                          .with_closure({"Spring break", day(2027, 4, 12), day(2027, 4, 16)});
  const HolidayIndex school_first({&school, &dc}, day(2026, 12, 1), day(2027, 4, 30));
  EXPECT_EQ(school_first.find(day(2026, 12, 25))->name, "Winter break");
  EXPECT_EQ(school_first.find(day(2026, 12, 25))->calendar, "school");
  EXPECT_EQ(school_first.find(day(2027, 4, 16))->name, "Spring break");
  EXPECT_EQ(school_first.find(day(2027, 1, 18))->calendar, "us-dc") << "MLK Day: only in us-dc";
  const HolidayIndex dc_first({&dc, &school}, day(2026, 12, 1), day(2027, 4, 30));
  EXPECT_EQ(dc_first.find(day(2026, 12, 25))->name, "Christmas Day");
  EXPECT_EQ(dc_first.find(day(2027, 4, 16))->name, "DC Emancipation Day");
  EXPECT_EQ(dc_first.find(day(2026, 12, 28))->name, "Winter break");
  EXPECT_EQ(dc_first.find(day(2027, 2, 1)), std::nullopt);
}

// Closures overlapping each other and the rules: each day is named by the first calendar
// that lists it, and within a calendar by the first name (holidays() order), exactly as a
// day-by-day index would; spans merge and split where the winner changes.
TEST(HolidayIndex, OverlappingClosuresAgreeWithHolidaysDayByDay) {
  const auto dc = builtin("us-dc");
  const auto school = HolidayCalendar{"school"}.with_closures(
      {{"Winter break", day(2026, 12, 21), day(2027, 1, 1)},
       {"Snow week", day(2026, 12, 28), day(2027, 1, 8)},
       {"Alpha day", day(2026, 12, 31), day(2026, 12, 31)},
       {"Zulu break", day(2026, 12, 1), day(2027, 1, 15)}});
  const HolidayIndex index({&school, &dc}, day(2026, 11, 20), day(2027, 3, 1));
  std::map<LocalDay, Holiday> expected;
  for (const auto* calendar : {&school, &dc})
    for (const auto& h : calendar->holidays(date::year{2026}, date::year{2027})) expected.emplace(h.day, h);
  for (LocalDay d = day(2026, 11, 20); d <= day(2027, 3, 1); d += date::days{1}) {
    const auto it = expected.find(d);
    if (it == expected.end()) {
      EXPECT_EQ(index.find(d), std::nullopt) << format_date(d);
    } else {
      EXPECT_EQ(index.find(d), it->second) << format_date(d);
    }
  }
  EXPECT_EQ(index.find(day(2026, 12, 31))->name, "Alpha day");
  EXPECT_EQ(index.find(day(2027, 1, 5))->name, "Snow week");
  EXPECT_EQ(index.find(day(2027, 1, 15))->name, "Zulu break");
  EXPECT_EQ(index.find(day(2027, 1, 18))->calendar, "us-dc");
}

// Issue 7: 10 closures spanning years 1 to 9999 with a wide `expand` window took 22 s and
// 2.9 GB: the index held one entry per day of every closure. It now holds each closure
// as one range: an index over the two centuries convene supports, of ten closures that
// span them, answers every day from ten entries.
TEST(HolidayIndex, ClosuresOverCenturiesAreRangesNotDays) {
  std::vector<Closure> closures;
  for (int i = 0; i < 10; ++i) closures.push_back({"Closed " + std::to_string(i), day(1900, 1, 1 + i), day(2200, 12, 31)});
  const auto closed = HolidayCalendar{"closed"}.with_closures(closures);
  const HolidayIndex index({&closed}, day(1900, 1, 1), day(2200, 12, 31));
  EXPECT_EQ(index.find(day(1900, 1, 1))->name, "Closed 0");
  EXPECT_EQ(index.find(day(2026, 9, 14))->name, "Closed 0");
  EXPECT_EQ(index.find(day(2200, 12, 31)), (Holiday{day(2200, 12, 31), "Closed 0", "closed"}));
  EXPECT_TRUE(index.contains(day(2150, 6, 1)));
}

// Issue 7: 40,000 closures took 9 s to load, each one copying the calendar with all the
// earlier ones. with_closures() adds them in one copy, and the index sorts them once.
TEST(HolidayCalendar, WithClosuresAddsManyAtOnceInOrder) {
  std::vector<Closure> closures;
  for (int i = 0; i < 40000; ++i) {
    const LocalDay d = day(2000, 1, 1) + date::days{i};
    closures.push_back({"Day " + std::to_string(i), d, d});
  }
  const auto calendar = HolidayCalendar{"many"}.with_closure({"First", day(1999, 1, 1), day(1999, 1, 1)})
                            .with_closures(closures);
  ASSERT_EQ(calendar.closures().size(), 40001u);
  EXPECT_EQ(calendar.closures()[0].name, "First");
  EXPECT_EQ(calendar.closures()[40000].name, "Day 39999");
  const HolidayIndex index({&calendar}, day(1999, 1, 1), day(2110, 1, 1));
  EXPECT_EQ(index.find(day(2000, 1, 1) + date::days{12345})->name, "Day 12345");
  EXPECT_FALSE(index.contains(day(1999, 1, 2)));
}

// --- ICS closures ------------------------------------------------------------------------

std::string data_file(const std::string& name) { return (source_dir() / "tests/data/ics" / name).string(); }

TEST(IcsClosures, ReadsADistrictCalendar) {
  const auto loaded = load_ics_closures(data_file("district-test.ics"));
  ASSERT_EQ(loaded.error, "");
  EXPECT_THAT(loaded.closures,
              ElementsAre(
                  // DTEND is exclusive: 25 to 27 November.
                  Closure{"Thanksgiving break", day(2026, 11, 25), day(2026, 11, 27)},
                  // No DTEND: one day.
                  Closure{"Professional development day (no students)", day(2026, 11, 3), day(2026, 11, 3)},
                  // The timed board meeting and the cancelled snow make-up day are not closures.
                  // First Fridays from November, COUNT=4: 1 January is an EXDATE, 4 December
                  // is replaced by its RECURRENCE-ID instance on 7 December.
                  Closure{"Staff planning day", day(2026, 11, 6), day(2026, 11, 6)},
                  Closure{"Staff planning day", day(2027, 2, 5), day(2027, 2, 5)},
                  Closure{"Staff planning day", day(2026, 12, 7), day(2026, 12, 7)},
                  // DURATION:P12D instead of DTEND.
                  Closure{"Winter break", day(2026, 12, 21), day(2027, 1, 1)},
                  // A SUMMARY folded over two lines.
                  Closure{"Spring break: schools closed for students and staff, offices open",
                          day(2027, 3, 29), day(2027, 4, 2)}));
}

TEST(IcsClosures, RecurringAllDayEventIsBounded) {
  const std::string ics =
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
      "BEGIN:VEVENT\r\nUID:forever@t\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Weekly\r\n"
      "DTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:yearly@t\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Yearly\r\n"
      "DTSTART;VALUE=DATE:20260301\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n"
      "END:VCALENDAR\r\n";
  const auto parsed = parse_ics_closures(ics, "forever.ics");
  ASSERT_EQ(parsed.error, "");
  const auto weekly = std::count_if(parsed.closures.begin(), parsed.closures.end(),
                                    [](const Closure& c) { return c.name == "Weekly"; });
  EXPECT_EQ(weekly, 1000) << "an endless weekly rule stops at 1,000 instances";
  std::vector<LocalDay> yearly;
  for (const auto& c : parsed.closures) {
    if (c.name == "Yearly") yearly.push_back(c.from);
  }
  ASSERT_EQ(yearly.size(), 75u) << "an endless yearly rule stops after 2100";
  EXPECT_EQ(yearly.front(), day(2026, 3, 1));
  EXPECT_EQ(yearly.back(), day(2100, 3, 1));
}

TEST(IcsClosures, TimedOnlyCalendarHasNoClosuresAndNoError) {
  const auto loaded = load_ics_closures(data_file("timed-only.ics"));
  EXPECT_EQ(loaded.error, "");
  EXPECT_THAT(loaded.closures, IsEmpty());
  const auto empty = parse_ics_closures("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "empty.ics");
  EXPECT_EQ(empty.error, "");
  EXPECT_THAT(empty.closures, IsEmpty());
}

TEST(IcsClosures, AcceptsLfLineEndingsAndByteOrderMark) {
  const auto parsed = parse_ics_closures(
      "\xEF\xBB\xBF" "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nSUMMARY:Snow day\n"
      "DTSTART;VALUE=DATE:20270203\nDTEND;VALUE=DATE:20270203\nEND:VEVENT\nEND:VCALENDAR\n",
      "lf.ics");
  ASSERT_EQ(parsed.error, "");
  // DTEND equal to DTSTART, as some exporters write a one-day event: one day.
  EXPECT_THAT(parsed.closures, ElementsAre(Closure{"Snow day", day(2027, 2, 3), day(2027, 2, 3)}));
}

TEST(IcsClosures, SampleDistrictCalendar) {
  const auto loaded = load_ics_closures((source_dir() / "samples/district-2026-27.ics").string());
  ASSERT_EQ(loaded.error, "");
  EXPECT_THAT(loaded.closures,
              ElementsAre(
                  Closure{"Professional development day (no students)", day(2026, 10, 9), day(2026, 10, 9)},
                  Closure{"Election Day: professional development (no students)", day(2026, 11, 3), day(2026, 11, 3)},
                  Closure{"Parent-teacher conferences (no students)", day(2026, 11, 20), day(2026, 11, 20)},
                  Closure{"Thanksgiving break", day(2026, 11, 25), day(2026, 11, 27)},
                  Closure{"Winter break", day(2026, 12, 21), day(2027, 1, 1)},
                  Closure{"Records day: end of first semester (no students)", day(2027, 1, 29), day(2027, 1, 29)},
                  Closure{"Parent-teacher conferences (no students)", day(2027, 2, 12), day(2027, 2, 12)},
                  Closure{"Spring break", day(2027, 3, 29), day(2027, 4, 2)},
                  Closure{"Professional development day (no students)", day(2027, 5, 28), day(2027, 5, 28)}));
}

// Every all-day closure of both test calendars agrees with python3-icalendar and
// python3-recurring-ical-events (tests/oracles/ics_closures_oracle.py).
TEST(IcsClosures, AgreesWithPythonRecurringIcalEvents) {
  for (const std::string path : {data_file("district-test.ics"),
                                 (source_dir() / "samples/district-2026-27.ics").string()}) {
    const auto script = (source_dir() / "tests/oracles/ics_closures_oracle.py").string();
    const auto result = run_python({script, path});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::multiset<std::string> expected;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) expected.insert(line);
    std::multiset<std::string> actual;
    const auto loaded = load_ics_closures(path);
    ASSERT_EQ(loaded.error, "");
    for (const auto& c : loaded.closures) {
      actual.insert(format_date(c.from) + "\t" + format_date(c.to) + "\t" + c.name);
    }
    EXPECT_EQ(actual, expected) << path;
    EXPECT_FALSE(expected.empty());
  }
}

struct BadIcs {
  const char* what;
  std::string content;
  std::vector<std::string> message_parts;
};

TEST(IcsClosures, BadInputGivesAClearMessage) {
  const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n";
  const std::vector<BadIcs> cases{
      {"empty", "", {"bad.ics: empty file: expected an iCalendar file (BEGIN:VCALENDAR)"}},
      {"blank lines", "\r\n  \r\n", {"bad.ics: empty file"}},
      {"an HTML page saved as .ics", "<!DOCTYPE html>\n<html><body>Not found</body></html>\n",
       {"bad.ics: line 1: not an iCalendar file: expected BEGIN:VCALENDAR, found \"<!DOCTYPE html>\""}},
      {"garbage", "hello world\n", {"bad.ics: line 1: not an iCalendar file", "\"hello world\""}},
      {"binary", std::string("BEGIN:VCALENDAR\r\n\0\x01\x02", 20), {"bad.ics: not an iCalendar file: it contains binary data"}},
      {"no END:VCALENDAR", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n",
       {"bad.ics: line 1: BEGIN:VCALENDAR is never ended (no END:VCALENDAR)"}},
      // Issue 7's mutants: libical's parser prints "Encountered END before BEGIN" on
      // stderr itself, so BEGIN and END are matched before it sees the text.
      {"END before BEGIN", "END:VEVENT\r\n" + head + "END:VCALENDAR\r\n",
       {"bad.ics: line 1: not an iCalendar file: expected BEGIN:VCALENDAR, found \"END:VEVENT\""}},
      {"a second END", head + "END:VCALENDAR\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 5: END:VCALENDAR with no component open (BEGIN and END lines do not match)"}},
      {"END of another component", head + "BEGIN:VEVENT\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 6: END:VTODO ends BEGIN:VEVENT of line 4 (BEGIN and END lines do not match)"}},
      {"a garbage line", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20270101\r\nthis is not ical\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 7: not an iCalendar content line", "\"this is not ical\""}},
      {"no DTSTART", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\n"
                            "BEGIN:VEVENT\r\nUID:nostart@t\r\nSUMMARY:Snow day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): no DTSTART (every VEVENT needs one)"}},
      {"no DTSTART, named", head + "BEGIN:VEVENT\r\nUID:nostart@t\r\nSUMMARY:Snow day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event \"Snow day\" (UID nostart@t): no DTSTART"}},
      {"malformed DTSTART", head + "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Break\r\nDTSTART;VALUE=DATE:2026aa01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event \"Break\" (UID a): unreadable DTSTART: ", "2026aa01"}},
      {"impossible DTSTART", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261301\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): invalid DTSTART date 20261301"}},
      {"malformed DTEND", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20261x05\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): unreadable DTEND: ", "20261x05"}},
      {"DTEND before DTSTART", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261205\r\nDTEND;VALUE=DATE:20261201\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): DTEND 20261201 is before DTSTART 20261205"}},
      {"timed DTEND on a date", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261205\r\nDTEND:20261206T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): DTEND \"20261206T100000Z\" is a date-time but DTSTART is a date"}},
      {"malformed RRULE", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261205\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): unreadable RRULE: ", "FREQ=SOMETIMES"}},
      {"negative DURATION", head + "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261205\r\nDURATION:-P1D\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
       {"bad.ics: line 4: event (UID a): negative DURATION \"-P1D\""}},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_ics_closures(c.content, "bad.ics");
    EXPECT_THAT(parsed.closures, IsEmpty()) << c.what;
    for (const auto& part : c.message_parts) EXPECT_THAT(parsed.error, HasSubstr(part)) << c.what;
  }
}

TEST(IcsClosures, UnreadableFilesNameTheFile) {
  const TempDir dir;
  const std::string missing = (dir / "missing.ics").string();
  EXPECT_EQ(load_ics_closures(missing).error,
            missing + ": cannot read the iCalendar file: No such file or directory");
  EXPECT_EQ(load_ics_closures(dir.path().string()).error,
            dir.path().string() + ": cannot read the iCalendar file: it is a directory, not a regular file");
  const std::string garbage = (dir / "garbage.ics").string();
  write_file(garbage, "PK\x03\x04 this is a zip file\n");
  EXPECT_EQ(load_ics_closures(garbage).error,
            garbage + ": line 1: not an iCalendar file: expected BEGIN:VCALENDAR, found \"PK\\u0003\\u0004 this is a zip file\"");
}

}  // namespace
}  // namespace convene

namespace convene {
namespace {

std::string ics_with_events(std::size_t n) {
  std::string text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n";
  for (std::size_t i = 0; i < n; ++i) {
    const LocalDay d = *parse_date("2026-01-01") + date::days{static_cast<int>(i % 3000)};
    const std::string ymd = format_date(d);
    text += "BEGIN:VEVENT\r\nUID:e" + std::to_string(i) + "@test\r\nDTSTART;VALUE=DATE:" + ymd.substr(0, 4) +
            ymd.substr(5, 2) + ymd.substr(8, 2) + "\r\nSUMMARY:Closed " + std::to_string(i) + "\r\nEND:VEVENT\r\n";
  }
  return text + "END:VCALENDAR\r\n";
}

// Issue 7: 20,000 ICS events took 2 s and 50,000 over 10 s. A file holds at most
// max_ics_events events (20,000 by default), refused at the line of the first one too
// many, before libical builds any of them.
TEST(IcsClosures, MoreEventsThanTheCapAreRefusedAtTheFirstOneTooMany) {
  InputLimits limits;
  limits.max_ics_events = 3;
  const auto three = parse_ics_closures(ics_with_events(3), "d.ics", limits);
  EXPECT_EQ(three.error, "");
  EXPECT_EQ(three.closures.size(), 3u);
  const auto four = parse_ics_closures(ics_with_events(4), "d.ics", limits);
  EXPECT_EQ(four.error,
            "d.ics: line 19: more than 3 events (BEGIN:VEVENT); a school calendar has a few hundred: is this the "
            "right file?");
  EXPECT_TRUE(four.closures.empty());
  const auto at_default = parse_ics_closures(ics_with_events(kMaxIcsEvents + 1), "d.ics");
  EXPECT_THAT(at_default.error, HasSubstr("more than 20000 events"));
  const auto within = parse_ics_closures(ics_with_events(kMaxIcsEvents), "d.ics");
  EXPECT_EQ(within.error, "");
  EXPECT_EQ(within.closures.size(), kMaxIcsEvents);
}

// Issue 7: an `ics` path of /dev/zero read until bad_alloc; /dev/urandom and FIFOs hung.
TEST(IcsClosures, OnlyRegularFilesAreReadWithinTheLimit) {
  TempDir dir;
  const std::string fifo = (dir / "d.ics").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_ics_closures(fifo).error,
            fifo + ": cannot read the iCalendar file: it is a FIFO (a named pipe), not a regular file");
  EXPECT_THAT(load_ics_closures("/dev/zero").error, HasSubstr("/dev/zero: cannot read the iCalendar file: it is a character device"));
  EXPECT_THAT(load_ics_closures("/dev/urandom").error, HasSubstr("a character device"));
  EXPECT_THAT(load_ics_closures(dir.path().string()).error, HasSubstr("it is a directory"));
  const std::string big = (dir / "big.ics").string();
  write_file(big, ics_with_events(50));
  InputLimits small;
  small.max_file_size = 512;
  EXPECT_THAT(load_ics_closures(big, small).error, HasSubstr("larger than the limit of 512 bytes"));
  EXPECT_EQ(load_ics_closures(big).error, "");
}

}  // namespace
}  // namespace convene
