// Table tests pinning RecurrenceRule / RecurrenceIterator semantics: RFC 5545's own
// examples (§3.8.5.3), DTSTART and COUNT, the three forms of UNTIL, skipped invalid
// dates, BYSETPOS on every frequency, WKST, invalid rules and rules that never match.
// tests/recurrence_differential_test.cpp compares generated rules with dateutil and
// libical; the cases those oracles get wrong are pinned here by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "convene/recurrence.h"
#include "convene/time.h"

namespace convene {
namespace {

const date::time_zone* new_york() { return find_zone("America/New_York"); }

LocalTime at(const char* text) {
  auto t = parse_local_minute(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(LocalTime{});
}

RecurrenceRule rule(const std::string& text) {
  auto parsed = RecurrenceRule::parse(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error();
  return parsed ? *parsed : RecurrenceRule{};
}

// The first `limit` starts (all of them when the rule ends sooner), as "YYYY-MM-DDTHH:MM".
std::vector<std::string> starts(const std::string& text, const char* dtstart, std::size_t limit,
                                const date::time_zone* zone = new_york()) {
  RecurrenceIterator it(rule(text), at(dtstart), zone);
  std::vector<std::string> out;
  while (out.size() < limit) {
    auto t = it.next();
    if (!t) break;
    out.push_back(format_local_minute(*t));
  }
  return out;
}

struct Example {
  const char* what;
  const char* rrule;
  const char* dtstart;
  std::vector<std::string> expected;  // the first ones (or all, when `complete`)
  bool complete = false;
};

// RFC 5545 §3.8.5.3, DTSTART;TZID=America/New_York. Dates only where the RFC's list
// gives dates; the time is DTSTART's throughout.
std::vector<std::string> days(const std::vector<std::string>& dates, const char* time = "T09:00") {
  std::vector<std::string> out;
  for (const auto& d : dates) out.push_back(d + time);
  return out;
}

TEST(RecurrenceIterator, Rfc5545Examples) {
  const std::vector<Example> examples = {
      {"daily for 10 occurrences", "FREQ=DAILY;COUNT=10", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-03", "1997-09-04", "1997-09-05", "1997-09-06", "1997-09-07",
             "1997-09-08", "1997-09-09", "1997-09-10", "1997-09-11"}),
       true},
      {"every 10 days, 5 occurrences", "FREQ=DAILY;INTERVAL=10;COUNT=5", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-12", "1997-09-22", "1997-10-02", "1997-10-12"}), true},
      {"every day in January, for 3 years", "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
       "1998-01-01T09:00",
       days({"1998-01-01", "1998-01-02", "1998-01-03", "1998-01-04", "1998-01-05"})},
      {"weekly for ten occurrences", "FREQ=WEEKLY;COUNT=10", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-09", "1997-09-16", "1997-09-23", "1997-09-30", "1997-10-07",
             "1997-10-14", "1997-10-21", "1997-10-28", "1997-11-04"}),
       true},
      {"every other week", "FREQ=WEEKLY;INTERVAL=2;WKST=SU", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-16", "1997-09-30", "1997-10-14", "1997-10-28"})},
      {"weekly on Tuesday and Thursday for five weeks",
       "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-04", "1997-09-09", "1997-09-11", "1997-09-16", "1997-09-18",
             "1997-09-23", "1997-09-25", "1997-09-30", "1997-10-02"}),
       true},
      {"every other week on Monday, Wednesday and Friday until 24 December 1997",
       "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR", "1997-09-01T09:00",
       days({"1997-09-01", "1997-09-03", "1997-09-05", "1997-09-15", "1997-09-17", "1997-09-19",
             "1997-09-29", "1997-10-01", "1997-10-03", "1997-10-13", "1997-10-15", "1997-10-17",
             "1997-10-27", "1997-10-29", "1997-10-31", "1997-11-10", "1997-11-12", "1997-11-14",
             "1997-11-24", "1997-11-26", "1997-11-28", "1997-12-08", "1997-12-10", "1997-12-12",
             "1997-12-22"}),
       true},
      {"every other week on Tuesday and Thursday, for 8 occurrences",
       "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-04", "1997-09-16", "1997-09-18", "1997-09-30", "1997-10-02",
             "1997-10-14", "1997-10-16"}),
       true},
      {"monthly on the first Friday for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
       "1997-09-05T09:00",
       days({"1997-09-05", "1997-10-03", "1997-11-07", "1997-12-05", "1998-01-02", "1998-02-06",
             "1998-03-06", "1998-04-03", "1998-05-01", "1998-06-05"}),
       true},
      {"monthly on the first Friday until 24 December 1997",
       "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR", "1997-09-05T09:00",
       days({"1997-09-05", "1997-10-03", "1997-11-07", "1997-12-05"}), true},
      {"every other month on the first and last Sunday, 10 occurrences",
       "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU", "1997-09-07T09:00",
       days({"1997-09-07", "1997-09-28", "1997-11-02", "1997-11-30", "1998-01-04", "1998-01-25",
             "1998-03-01", "1998-03-29", "1998-05-03", "1998-05-31"}),
       true},
      {"monthly on the second-to-last Monday for 6 months", "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
       "1997-09-22T09:00",
       days({"1997-09-22", "1997-10-20", "1997-11-17", "1997-12-22", "1998-01-19", "1998-02-16"}),
       true},
      {"monthly on the third-to-last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-3",
       "1997-09-28T09:00",
       days({"1997-09-28", "1997-10-29", "1997-11-28", "1997-12-29", "1998-01-29", "1998-02-26"})},
      {"monthly on the 2nd and 15th for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
       "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-15", "1997-10-02", "1997-10-15", "1997-11-02", "1997-11-15",
             "1997-12-02", "1997-12-15", "1998-01-02", "1998-01-15"}),
       true},
      {"monthly on the first and last day for 10 occurrences",
       "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1", "1997-09-30T09:00",
       days({"1997-09-30", "1997-10-01", "1997-10-31", "1997-11-01", "1997-11-30", "1997-12-01",
             "1997-12-31", "1998-01-01", "1998-01-31", "1998-02-01"}),
       true},
      {"every 18 months on the 10th to 15th, 10 occurrences",
       "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15", "1997-09-10T09:00",
       days({"1997-09-10", "1997-09-11", "1997-09-12", "1997-09-13", "1997-09-14", "1997-09-15",
             "1999-03-10", "1999-03-11", "1999-03-12", "1999-03-13"}),
       true},
      {"every Tuesday, every other month", "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", "1997-09-02T09:00",
       days({"1997-09-02", "1997-09-09", "1997-09-16", "1997-09-23", "1997-09-30", "1997-11-04",
             "1997-11-11", "1997-11-18", "1997-11-25", "1998-01-06"})},
      {"yearly in June and July for 10 occurrences", "FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
       "1997-06-10T09:00",
       days({"1997-06-10", "1997-07-10", "1998-06-10", "1998-07-10", "1999-06-10", "1999-07-10",
             "2000-06-10", "2000-07-10", "2001-06-10", "2001-07-10"}),
       true},
      {"every other year on January, February and March for 10 occurrences",
       "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3", "1997-03-10T09:00",
       days({"1997-03-10", "1999-01-10", "1999-02-10", "1999-03-10", "2001-01-10", "2001-02-10",
             "2001-03-10", "2003-01-10", "2003-02-10", "2003-03-10"}),
       true},
      {"every third year on the 1st, 100th and 200th day for 10 occurrences",
       "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200", "1997-01-01T09:00",
       days({"1997-01-01", "1997-04-10", "1997-07-19", "2000-01-01", "2000-04-09", "2000-07-18",
             "2003-01-01", "2003-04-10", "2003-07-19", "2006-01-01"}),
       true},
      {"every 20th Monday of the year", "FREQ=YEARLY;BYDAY=20MO", "1997-05-19T09:00",
       days({"1997-05-19", "1998-05-18", "1999-05-17"})},
      {"Monday of week number 20", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "1997-05-12T09:00",
       days({"1997-05-12", "1998-05-11", "1999-05-17"})},
      {"every Thursday in March", "FREQ=YEARLY;BYMONTH=3;BYDAY=TH", "1997-03-13T09:00",
       days({"1997-03-13", "1997-03-20", "1997-03-27", "1998-03-05", "1998-03-12", "1998-03-19",
             "1998-03-26", "1999-03-04", "1999-03-11", "1999-03-18", "1999-03-25"})},
      {"every Thursday, but only during June, July and August",
       "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8", "1997-06-05T09:00",
       days({"1997-06-05", "1997-06-12", "1997-06-19", "1997-06-26", "1997-07-03", "1997-07-10",
             "1997-07-17", "1997-07-24", "1997-07-31", "1997-08-07", "1997-08-14", "1997-08-21",
             "1997-08-28", "1998-06-04"})},
      // The RFC excludes DTSTART with an EXDATE; the iterator gives it (the engine
      // applies EXDATE), then every Friday the 13th.
      {"every Friday the 13th", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "1997-09-02T09:00",
       days({"1997-09-02", "1998-02-13", "1998-03-13", "1998-11-13", "1999-08-13", "2000-10-13"})},
      {"the first Saturday that follows the first Sunday of the month",
       "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13", "1997-09-13T09:00",
       days({"1997-09-13", "1997-10-11", "1997-11-08", "1997-12-13", "1998-01-10", "1998-02-07",
             "1998-03-07", "1998-04-11", "1998-05-09", "1998-06-13"})},
      {"U.S. Presidential Election Day",
       "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", "1996-11-05T09:00",
       days({"1996-11-05", "2000-11-07", "2004-11-02"})},
      {"the third instance of Tuesday, Wednesday or Thursday, for the next 3 months",
       "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "1997-09-04T09:00",
       days({"1997-09-04", "1997-10-07", "1997-11-06"}), true},
      {"the second-to-last weekday of the month",
       "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", "1997-09-29T09:00",
       days({"1997-09-29", "1997-10-30", "1997-11-27", "1997-12-30", "1998-01-29", "1998-02-26",
             "1998-03-30"})},
      {"every 3 hours from 09:00 to 17:00 on a specific day",
       "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z", "1997-09-02T09:00",
       {"1997-09-02T09:00", "1997-09-02T12:00", "1997-09-02T15:00"}, true},
      {"every 15 minutes for 6 occurrences", "FREQ=MINUTELY;INTERVAL=15;COUNT=6",
       "1997-09-02T09:00",
       {"1997-09-02T09:00", "1997-09-02T09:15", "1997-09-02T09:30", "1997-09-02T09:45",
        "1997-09-02T10:00", "1997-09-02T10:15"},
       true},
      {"every hour and a half for 4 occurrences", "FREQ=MINUTELY;INTERVAL=90;COUNT=4",
       "1997-09-02T09:00",
       {"1997-09-02T09:00", "1997-09-02T10:30", "1997-09-02T12:00", "1997-09-02T13:30"}, true},
      {"every 20 minutes from 09:00 to 16:40 every day (DAILY)",
       "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40", "1997-09-02T09:00",
       {"1997-09-02T09:00", "1997-09-02T09:20", "1997-09-02T09:40", "1997-09-02T10:00"}},
      {"every 20 minutes from 09:00 to 16:40 every day (MINUTELY)",
       "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16", "1997-09-02T16:00",
       {"1997-09-02T16:00", "1997-09-02T16:20", "1997-09-02T16:40", "1997-09-03T09:00"}},
      {"WKST: every other week on Tuesday and Sunday, weeks from Monday",
       "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "1997-08-05T09:00",
       days({"1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"}), true},
      {"WKST: every other week on Tuesday and Sunday, weeks from Sunday",
       "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "1997-08-05T09:00",
       days({"1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"}), true},
      {"an invalid date (30 February) is skipped", "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5",
       "2007-01-15T09:00", days({"2007-01-15", "2007-01-30", "2007-02-15", "2007-03-15", "2007-03-30"}),
       true},
  };
  for (const auto& e : examples) {
    const std::size_t limit = e.complete ? e.expected.size() + 5 : e.expected.size();
    EXPECT_EQ(starts(e.rrule, e.dtstart, limit), e.expected) << e.what << ": " << e.rrule;
  }
}

TEST(RecurrenceIterator, DailyUntilUtcEndsTheDayBefore) {
  // RFC 5545: "Daily until December 24, 1997": the last is 23 December (113 in all).
  const auto all = starts("FREQ=DAILY;UNTIL=19971224T000000Z", "1997-09-02T09:00", 500);
  ASSERT_EQ(all.size(), 113u);
  EXPECT_EQ(all.back(), "1997-12-23T09:00");
}

TEST(RecurrenceIterator, StartNotMatchingTheRuleIsFirstAndCounted) {
  // Tuesday 1 September is not a second Monday; it is still the first of three.
  EXPECT_EQ(starts("FREQ=MONTHLY;BYDAY=2MO;COUNT=3", "2026-09-01T16:00", 10),
            (std::vector<std::string>{"2026-09-01T16:00", "2026-09-14T16:00", "2026-10-12T16:00"}));
  // COUNT=1 is DTSTART alone.
  EXPECT_EQ(starts("FREQ=WEEKLY;BYDAY=MO;COUNT=1", "2026-09-02T16:00", 10),
            (std::vector<std::string>{"2026-09-02T16:00"}));
  // A start that matches is not given twice.
  EXPECT_EQ(starts("FREQ=WEEKLY;BYDAY=MO;COUNT=2", "2026-09-14T16:00", 10),
            (std::vector<std::string>{"2026-09-14T16:00", "2026-09-21T16:00"}));
}

TEST(RecurrenceIterator, UntilAsDateIncludesTheWholeLocalDay) {
  EXPECT_EQ(starts("FREQ=DAILY;UNTIL=20260916", "2026-09-14T16:00", 10),
            (std::vector<std::string>{"2026-09-14T16:00", "2026-09-15T16:00", "2026-09-16T16:00"}));
  EXPECT_EQ(starts("FREQ=HOURLY;INTERVAL=8;UNTIL=20260914", "2026-09-14T07:00", 10),
            (std::vector<std::string>{"2026-09-14T07:00", "2026-09-14T15:00", "2026-09-14T23:00"}));
}

TEST(RecurrenceIterator, UntilAsLocalDateTimeIsInclusive) {
  EXPECT_EQ(starts("FREQ=DAILY;UNTIL=20260916T160000", "2026-09-14T16:00", 10).size(), 3u);
  EXPECT_EQ(starts("FREQ=DAILY;UNTIL=20260916T155959", "2026-09-14T16:00", 10).size(), 2u);
}

TEST(RecurrenceIterator, UntilInUtcComparesResolvedInstantsAcrossDst) {
  // New York leaves DST on 1 November 2026: 16:00 is 20:00Z before, 21:00Z after.
  const char* start = "2026-10-19T16:00";
  const std::vector<std::string> through_nov_9 = {"2026-10-19T16:00", "2026-10-26T16:00",
                                                  "2026-11-02T16:00", "2026-11-09T16:00"};
  EXPECT_EQ(starts("FREQ=WEEKLY;UNTIL=20261109T210000Z", start, 10), through_nov_9);
  // One second earlier, 9 November (21:00Z) is out, although 16:00 EDT would be in.
  EXPECT_EQ(starts("FREQ=WEEKLY;UNTIL=20261109T205959Z", start, 10),
            std::vector<std::string>(through_nov_9.begin(), through_nov_9.end() - 1));
  // Read as if local (the naive comparison), 20:00Z would let 16:00 on 9 November in.
  EXPECT_EQ(starts("FREQ=WEEKLY;UNTIL=20261109T200000Z", start, 10).size(), 3u);
  // Into DST (8 March 2026): 16:00 EST is 21:00Z, 16:00 EDT 20:00Z.
  EXPECT_EQ(starts("FREQ=WEEKLY;UNTIL=20260309T200000Z", "2026-03-02T16:00", 10),
            (std::vector<std::string>{"2026-03-02T16:00", "2026-03-09T16:00"}));
}

TEST(RecurrenceIterator, MonthDay31SkipsShortMonths) {
  EXPECT_EQ(starts("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4", "2026-01-31T10:00", 10),
            (std::vector<std::string>{"2026-01-31T10:00", "2026-03-31T10:00", "2026-05-31T10:00",
                                      "2026-07-31T10:00"}));
  // A start on the 31st without BYMONTHDAY skips the same months.
  EXPECT_EQ(starts("FREQ=MONTHLY;COUNT=3", "2026-01-31T10:00", 10),
            (std::vector<std::string>{"2026-01-31T10:00", "2026-03-31T10:00", "2026-05-31T10:00"}));
  // BYMONTHDAY=-1 is every month's last day instead.
  EXPECT_EQ(starts("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "2026-01-31T10:00", 10),
            (std::vector<std::string>{"2026-01-31T10:00", "2026-02-28T10:00", "2026-03-31T10:00"}));
}

TEST(RecurrenceIterator, February29YearlyOnlyInLeapYears) {
  EXPECT_EQ(starts("FREQ=YEARLY;COUNT=3", "2024-02-29T12:00", 10),
            (std::vector<std::string>{"2024-02-29T12:00", "2028-02-29T12:00", "2032-02-29T12:00"}));
  // 2100 is not a leap year: from 2096 the next is 2104.
  EXPECT_EQ(starts("FREQ=YEARLY;COUNT=2", "2096-02-29T12:00", 10),
            (std::vector<std::string>{"2096-02-29T12:00", "2104-02-29T12:00"}));
}

TEST(RecurrenceIterator, BySetPosOnWeekly) {
  // The last weekday of each week.
  EXPECT_EQ(starts("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", "2026-09-18T09:00", 10),
            (std::vector<std::string>{"2026-09-18T09:00", "2026-09-25T09:00", "2026-10-02T09:00"}));
  // The set is the whole week from WKST, also in DTSTART's week: the third of Monday,
  // Tuesday and Thursday is that Thursday (dateutil 2.8.2 counts from DTSTART and skips it).
  EXPECT_EQ(starts("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,TH;BYSETPOS=3;COUNT=3", "1999-07-15T00:30", 10),
            (std::vector<std::string>{"1999-07-15T00:30", "1999-07-29T00:30", "1999-08-12T00:30"}));
}

TEST(RecurrenceIterator, BySetPosOnDailyAndHourly) {
  EXPECT_EQ(starts("FREQ=DAILY;BYHOUR=9,12,17;BYSETPOS=-1;COUNT=3", "2026-09-14T17:00", 10),
            (std::vector<std::string>{"2026-09-14T17:00", "2026-09-15T17:00", "2026-09-16T17:00"}));
  EXPECT_EQ(starts("FREQ=DAILY;BYHOUR=9,12,17;BYMINUTE=0,30;BYSETPOS=2,-2;COUNT=4",
                   "2026-09-14T09:30", 10),
            (std::vector<std::string>{"2026-09-14T09:30", "2026-09-14T17:00", "2026-09-15T09:30",
                                      "2026-09-15T17:00"}));
  EXPECT_EQ(starts("FREQ=HOURLY;INTERVAL=3;BYMINUTE=0,30;BYSETPOS=-1;COUNT=3", "2026-01-01T09:30", 10),
            (std::vector<std::string>{"2026-01-01T09:30", "2026-01-01T12:30", "2026-01-01T15:30"}));
}

TEST(RecurrenceIterator, ByWeekNo53FollowsIsoWeeks) {
  // ISO week 53 exists in 2020, 2026 and 2032 (Python's date.isocalendar() agrees):
  // its Sundays are 2021-01-03, 2027-01-03 and 2033-01-02. Sunday 2022-01-02 is in week
  // 52 of 2021 (dateutil 2.8.2 wrongly takes it for week 53; libical takes week 1 of a
  // year after a 52-week year for 53).
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=53;BYDAY=SU;COUNT=4", "2021-01-03T10:00", 10),
            (std::vector<std::string>{"2021-01-03T10:00", "2027-01-03T10:00", "2033-01-02T10:00",
                                      "2038-01-03T10:00"}));
  // Week 1 may start in the previous year: Monday 2025-12-29 is in week 1 of 2026.
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;COUNT=3", "2024-12-30T10:00", 10),
            (std::vector<std::string>{"2024-12-30T10:00", "2025-12-29T10:00", "2027-01-04T10:00"}));
  // Negative, weeks from Tuesday: the last week of 2015 is 22-28 December, that of 2016
  // (53 weeks) 27 December - 2 January 2017, that of 2017 26 December - 1 January 2018.
  EXPECT_EQ(starts("FREQ=YEARLY;WKST=TU;BYWEEKNO=-1;BYDAY=SU;COUNT=3", "2015-12-27T08:00", 10),
            (std::vector<std::string>{"2015-12-27T08:00", "2017-01-01T08:00", "2017-12-31T08:00"}));
}

TEST(RecurrenceIterator, MixedPlainAndOrdinalByDayIsAUnion) {
  // Every Monday and the first Tuesday (dateutil 2.8.2 intersects and gives nothing).
  EXPECT_EQ(starts("FREQ=MONTHLY;BYDAY=MO,1TU;COUNT=6", "2026-09-01T16:00", 10),
            (std::vector<std::string>{"2026-09-01T16:00", "2026-09-07T16:00", "2026-09-14T16:00",
                                      "2026-09-21T16:00", "2026-09-28T16:00", "2026-10-05T16:00"}));
}

TEST(RecurrenceIterator, NonexistentLocalTimesAreGivenAsCivilTimes) {
  const auto all = starts("FREQ=DAILY;COUNT=3", "2027-03-13T02:30", 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1], "2027-03-14T02:30");  // in New York's gap
  EXPECT_EQ(format_rfc3339(resolve_local(at("2027-03-14T02:30"), new_york()), new_york()),
            "2027-03-14T03:30:00-04:00");
}

TEST(RecurrenceIterator, NeverMatchingRulesTerminate) {
  // 30 February: DTSTART alone, after 4800 empty months.
  EXPECT_EQ(starts("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "2026-01-30T10:00", 10),
            (std::vector<std::string>{"2026-01-30T10:00"}));
  EXPECT_EQ(starts("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", "2026-01-30T10:00", 10).size(), 1u);
  EXPECT_EQ(starts("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "2026-01-30T10:00", 10).size(), 1u);
  EXPECT_EQ(starts("FREQ=WEEKLY;BYMONTH=2;BYDAY=MO;BYSETPOS=6", "2026-01-30T10:00", 10).size(), 1u);
  // Hours 16, 18, ... never reach 03:00.
  EXPECT_EQ(starts("FREQ=HOURLY;INTERVAL=2;BYHOUR=3", "2026-01-30T16:00", 10).size(), 1u);
  // Every 168 hours from a Tuesday is never a Monday (stops at the end of 9999).
  EXPECT_EQ(starts("FREQ=HOURLY;INTERVAL=168;BYDAY=MO", "2026-09-15T10:00", 10).size(), 1u);
  // Sparse but real: Monday 29 February (2044, then 2072).
  EXPECT_EQ(starts("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=3", "2016-02-29T10:00", 10),
            (std::vector<std::string>{"2016-02-29T10:00", "2044-02-29T10:00", "2072-02-29T10:00"}));
}

TEST(RecurrenceIterator, SeekSkipsAheadLikeNext) {
  const std::vector<std::pair<const char*, const char*>> rules = {
      {"FREQ=DAILY", "2026-01-01T16:00"},
      {"FREQ=WEEKLY;BYDAY=MO", "2026-09-14T16:00"},
      {"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,TH;BYSETPOS=-1", "2026-09-14T16:00"},
      {"FREQ=MONTHLY;BYDAY=2MO", "2026-09-14T16:00"},
      {"FREQ=MONTHLY;BYMONTHDAY=31", "2026-01-31T16:00"},
      {"FREQ=YEARLY;INTERVAL=3;BYYEARDAY=1,100,-1", "2026-01-01T09:00"},
      {"FREQ=HOURLY;INTERVAL=5;BYDAY=MO,WE", "2026-09-14T16:00"},
      {"FREQ=MINUTELY;INTERVAL=45;BYHOUR=9,10,11", "2026-09-14T09:00"},
      {"FREQ=DAILY;COUNT=40", "2026-09-14T16:00"},
      {"FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20270101", "2026-09-14T16:00"},
  };
  const std::vector<const char*> targets = {"2026-01-01T00:00", "2026-09-14T16:00",
                                            "2026-10-01T00:00", "2026-10-12T16:01",
                                            "2027-03-14T02:30", "2030-06-30T12:00"};
  for (const auto& [text, dtstart] : rules) {
    for (const char* target : targets) {
      const LocalTime from = at(target);
      RecurrenceIterator plain(rule(text), at(dtstart), new_york());
      std::vector<LocalTime> expected;
      while (auto t = plain.next()) {
        if (*t >= from) expected.push_back(*t);
        if (expected.size() == 5 || *t > at("2031-01-01T00:00")) break;
      }
      RecurrenceIterator seeking(rule(text), at(dtstart), new_york());
      seeking.seek(from);
      std::vector<LocalTime> got;
      while (got.size() < expected.size()) {
        auto t = seeking.next();
        if (!t) break;
        got.push_back(*t);
      }
      EXPECT_EQ(got, expected) << text << " seek " << target;
    }
  }
}

TEST(RecurrenceIterator, SeekWithCountStillCountsSkippedInstances) {
  RecurrenceIterator it(rule("FREQ=DAILY;COUNT=10"), at("2026-09-01T16:00"), new_york());
  it.seek(at("2026-09-08T00:00"));
  EXPECT_EQ(it.next(), at("2026-09-08T16:00"));
  EXPECT_EQ(it.next(), at("2026-09-09T16:00"));
  EXPECT_EQ(it.next(), at("2026-09-10T16:00"));
  EXPECT_EQ(it.next(), std::nullopt);
}

TEST(RecurrenceIterator, ExpandBetweenGivesLimitPlusOne) {
  const auto r = rule("FREQ=DAILY");
  const auto some = expand_between(r, at("2026-09-01T16:00"), new_york(), at("2026-09-10T00:00"),
                                   at("2026-09-12T23:59"), 100);
  EXPECT_EQ(some, (std::vector<LocalTime>{at("2026-09-10T16:00"), at("2026-09-11T16:00"),
                                          at("2026-09-12T16:00")}));
  EXPECT_EQ(expand_between(r, at("2026-09-01T16:00"), new_york(), at("2026-09-01T00:00"),
                           at("2027-09-01T00:00"), 5)
                .size(),
            6u);
}

TEST(RecurrenceRule, ParsesEveryPart) {
  const auto r = rule("RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=-1FR,2MO;BYMONTH=1,6;WKST=SU");
  EXPECT_EQ(r.freq, Frequency::monthly);
  EXPECT_EQ(r.interval, 2);
  EXPECT_EQ(r.count, 10);
  // In libical's order (it sorts BYDAY by weekday).
  EXPECT_EQ(r.by_day, (std::vector<WeekdayNum>{{date::Monday, 2}, {date::Friday, -1}}));
  EXPECT_EQ(r.by_month, (std::vector<int>{1, 6}));
  EXPECT_EQ(r.wkst, date::Sunday);
  EXPECT_EQ(rule("FREQ=DAILY;UNTIL=20270101").until, Until{LocalDay{*parse_date("2027-01-01")}});
  EXPECT_EQ(rule("FREQ=DAILY;UNTIL=20270101T120000").until, Until{at("2027-01-01T12:00")});
  EXPECT_EQ(rule("FREQ=DAILY;UNTIL=20270101T120000Z").until,
            Until{Instant{at("2027-01-01T12:00").time_since_epoch()}});
}

TEST(RecurrenceRule, ToStringRoundTrips) {
  for (const char* text :
       {"FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYDAY=3MO,-2FR", "FREQ=DAILY;UNTIL=20270101",
        "FREQ=DAILY;UNTIL=20270101T120000", "FREQ=DAILY;UNTIL=20270101T120000Z",
        "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8",
        "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SU;WKST=SU",
        "FREQ=HOURLY;BYHOUR=9,10;BYMINUTE=0,30;BYSECOND=15;BYYEARDAY=-1,100"}) {
    const auto r = rule(text);
    EXPECT_EQ(rule(r.to_string()), r) << text << " -> " << r.to_string();
  }
  EXPECT_EQ(rule("FREQ=WEEKLY;WKST=SU;BYDAY=TU,TH;INTERVAL=2").to_string(),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU");
}

TEST(RecurrenceRule, InvalidRulesQuoteTheTextAndTheComplaint) {
  struct Bad {
    const char* text;
    const char* says;
  };
  const std::vector<Bad> bad = {
      {"FREQ=WEEKLY;BYDAY=XX", "libical rejects \"BYDAY=XX\" (MALFORMEDDATA"},
      {"FREQ=FORTNIGHTLY", "libical rejects \"FREQ=FORTNIGHTLY\" (MALFORMEDDATA"},
      {"FREQ=DAILY;FOO=BAR", "libical rejects \"FOO=BAR\""},
      {"FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY must be 1..31 or -31..-1, not 0"},
      {"FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY must be 1..31 or -31..-1, not 32"},
      {"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS must be 1..366 or -366..-1, not 0"},
      {"FREQ=DAILY;INTERVAL=0", "INTERVAL must be 1..32767, not 0"},
      {"FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z", "MALFORMEDDATA"},
      {"BYDAY=MO", "FREQ is missing"},
      {"", "it is empty"},
      {"FREQ=DAILY;;COUNT=2", "empty rule part"},
      {"FREQ=DAILY;BYMINUTE=", "has an empty value"},
      {"FREQ=DAILY;BYMINUTE=1,,2", "empty list item"},
      {"FREQ=DAILY;INTERVAL=70000", "INTERVAL must be 1..32767, not 70000"},
      {"FREQ=YEARLY;BYMONTH=13", "BYMONTH must be 1..12, not 13"},
      {"FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO must be 1..53 or -53..-1, not 54"},
      {"FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY must be 1..366 or -366..-1, not 367"},
      {"FREQ=YEARLY;BYMONTH=1;BYSETPOS=367", "BYSETPOS must be 1..366 or -366..-1, not 367"},
      {"FREQ=DAILY;BYSECOND=60", "BYSECOND must be 0..59 (leap second 60 is not supported), not 60"},
      {"FREQ=DAILY;COUNT=2;COUNT=5", "\"COUNT\" is given twice"},
      {"FREQ=WEEKLY;BYDAY=2MO", "only allowed with FREQ=MONTHLY or FREQ=YEARLY"},
      {"FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "must not be combined with BYWEEKNO"},
      {"FREQ=MONTHLY;BYWEEKNO=3", "BYWEEKNO is only allowed with FREQ=YEARLY"},
      {"FREQ=MONTHLY;BYYEARDAY=3", "BYYEARDAY is not allowed with FREQ=MONTHLY"},
      {"FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY is not allowed with FREQ=WEEKLY"},
      {"FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS must be used with another BYxxx"},
      {"FREQ=DAILY;BYMONTH=5L", "leap months"},
      {"FREQ=DAILY;RSCALE=GREGORIAN", "RSCALE"},
  };
  for (const auto& b : bad) {
    const auto parsed = RecurrenceRule::parse(b.text);
    ASSERT_FALSE(parsed) << b.text;
    EXPECT_NE(parsed.error().find(std::string("invalid RRULE \"") + b.text + "\""), std::string::npos)
        << parsed.error();
    EXPECT_NE(parsed.error().find(b.says), std::string::npos) << b.text << ": " << parsed.error();
  }
}

// --- issue 7: numbers in the rule ----------------------------------------------------

std::string parse_error(const std::string& text) {
  const auto parsed = RecurrenceRule::parse(text);
  EXPECT_FALSE(parsed) << text;
  return parsed ? std::string() : parsed.error();
}

// Issue 7: "COUNT=4294967298 gives 2 sessions". libical reads COUNT with atoi() into an
// int, which wrapped 2^32 + 2 to 2, and every BYxxx value into a short (BYMONTHDAY=
// 4294967297 became the 1st, BYDAY=4294967297MO the first Monday); convene took
// libical's numbers. Every number is now read with checked 64-bit arithmetic and
// refused outside its stated range, by name.
TEST(RecurrenceRule, NumbersOutOfRangeAreRefusedByNameNeverWrapped) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"FREQ=DAILY;COUNT=4294967298", "COUNT must be 1..100000, not 4294967298"},
      {"FREQ=DAILY;COUNT=100001", "COUNT must be 1..100000, not 100001"},
      {"FREQ=DAILY;COUNT=0", "COUNT must be 1..100000, not 0"},
      {"FREQ=DAILY;COUNT=-3", "COUNT=\"-3\" is not a whole number"},
      {"FREQ=DAILY;COUNT=5x", "COUNT=\"5x\" is not a whole number"},
      {"FREQ=DAILY;COUNT=1,2", "COUNT takes one number, not a list"},
      {"FREQ=DAILY;COUNT=99999999999999999999999999", "COUNT must be 1..100000, not 99999999999999999999999999"},
      {"FREQ=DAILY;INTERVAL=65537", "INTERVAL must be 1..32767, not 65537"},
      {"FREQ=DAILY;INTERVAL=4294967297", "INTERVAL must be 1..32767, not 4294967297"},
      {"FREQ=MONTHLY;BYMONTHDAY=4294967297", "BYMONTHDAY must be 1..31 or -31..-1, not 4294967297"},
      {"FREQ=MONTHLY;BYMONTHDAY=-4294967297", "BYMONTHDAY must be 1..31 or -31..-1, not -4294967297"},
      {"FREQ=YEARLY;BYYEARDAY=65537", "BYYEARDAY must be 1..366 or -366..-1, not 65537"},
      {"FREQ=YEARLY;BYWEEKNO=65589;BYDAY=MO", "BYWEEKNO must be 1..53 or -53..-1, not 65589"},
      {"FREQ=DAILY;BYHOUR=65545", "BYHOUR must be 0..23, not 65545"},
      {"FREQ=DAILY;BYMINUTE=+5", "BYMINUTE=\"+5\" is not a whole number"},
      {"FREQ=YEARLY;BYMONTH=4294967297", "BYMONTH must be 1..12, not 4294967297"},
      {"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=18446744073709551617", "BYSETPOS must be 1..366 or -366..-1"},
      {"FREQ=YEARLY;BYDAY=4294967297MO", "BYDAY ordinal must be 1..53 or -53..-1, not 4294967297"},
      {"FREQ=MONTHLY;BYDAY=0MO", "BYDAY ordinal must be 1..53 or -53..-1, not 0"},
      {"FREQ=MONTHLY;BYDAY=xMO", "BYDAY=\"xMO\" is not an ordinal and a weekday"},
      // 32 BYMONTHDAY values: libical holds 31 and would drop the last when writing it.
      {"FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
       "28,29,30,31,-1",
       "BYMONTHDAY lists 32 values; at most 31 are supported"},
      // UNTIL: libical reads year 0000 as no UNTIL at all (a rule without end).
      {"FREQ=DAILY;UNTIL=00000101", "UNTIL year must be 1..9999, not 0000"},
      {"FREQ=DAILY;UNTIL=20270230", "UNTIL=\"20270230\" is not a valid date"},
      {"FREQ=DAILY;UNTIL=20271301T000000Z", "is not a valid date"},
      {"FREQ=DAILY;UNTIL=20270101T246000Z", "is not a valid time of day"},
      {"FREQ=DAILY;UNTIL=2027-01-01", "is not a date (YYYYMMDD) or a date-time"},
      {"FREQ=DAILY;UNTIL=123456789T000000Z", "is not a date (YYYYMMDD) or a date-time"},
  };
  for (const auto& [text, says] : cases) {
    const std::string error = parse_error(text);
    EXPECT_NE(error.find(says), std::string::npos) << text << ": " << error;
  }
}

// The ends of each range are accepted and mean what they say.
TEST(RecurrenceRule, NumbersAtTheEndsOfTheirRangesAreAccepted) {
  EXPECT_EQ(rule("FREQ=SECONDLY;COUNT=100000").count, 100000);
  EXPECT_EQ(rule("FREQ=DAILY;INTERVAL=32767").interval, 32767);
  EXPECT_EQ(rule("FREQ=MONTHLY;BYMONTHDAY=-31,31;BYSETPOS=-366,366").by_set_pos,
            (std::vector<int>{-366, 366}));
  EXPECT_EQ(rule("FREQ=YEARLY;BYDAY=-53MO,+53FR").by_day,
            (std::vector<WeekdayNum>{{date::Monday, -53}, {date::Friday, 53}}));
  EXPECT_EQ(rule("FREQ=DAILY;UNTIL=00010101").until, Until{LocalDay{*parse_date("0001-01-01")}});
  EXPECT_EQ(rule("FREQ=DAILY;UNTIL=99991231T235959Z").until,
            Until{Instant{date::sys_days{date::year{9999} / 12 / 31}} + Seconds{86399}});
  // 31 distinct month days (libical's capacity), duplicates of RFC 5545 allowed.
  EXPECT_EQ(rule("FREQ=SECONDLY;BYSECOND=5,4,4;COUNT=3").by_second, (std::vector<int>{5, 4, 4}));
}

// Issue 7: "An 8 MB RRULE gives a 16 MB error; invalid UTF-8 and control bytes from the
// input go straight to stderr." The rule's length is bounded and the message quotes at
// most 80 characters of it, with control and non-ASCII bytes escaped.
TEST(RecurrenceRule, HugeOrBinaryRulesGiveAShortEscapedMessage) {
  const std::string huge = "FREQ=DAILY;BYHOUR=" + std::string(8 << 20, '1');
  const std::string error = parse_error(huge);
  EXPECT_NE(error.find("it is 8388626 characters long (at most 16384)"), std::string::npos) << error.substr(0, 300);
  EXPECT_LT(error.size(), 300u);
  const std::string binary = parse_error("FREQ=DAILY;BYHOUR=1\x1b[31m\xff");
  EXPECT_EQ(binary.find('\x1b'), std::string::npos) << binary;
  EXPECT_EQ(binary.find('\xff'), std::string::npos) << binary;
  EXPECT_NE(binary.find("\\x1b[31m\\xff"), std::string::npos) << binary;
}

// Found by rrule_fuzz (issue 7, docs/fuzzing.md): a NUL inside a rule cut the copy of it
// that libical reads, so "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;<NUL>INTERVAL=6;UNTIL=
// 20170101T000000Z" was accepted as the rule before the NUL: without its INTERVAL and its
// UNTIL, every week 53 to year 2200 instead of three sessions, with exit 0. Every control
// character is now refused, naming where it is, escaped.
TEST(RecurrenceRule, ControlCharactersAreRefusedNeverCutTheRule) {
  const std::string cut = parse_error(std::string("FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;\0INTERVAL=6;UNTIL=20170101T000000Z", 70));
  EXPECT_NE(cut.find("it holds a control character (\"\\x00\") at character 37"), std::string::npos) << cut;
  EXPECT_EQ(cut.find('\0'), std::string::npos) << cut;
  const std::string tab = parse_error("FREQ=DAILY;\tCOUNT=2");
  EXPECT_NE(tab.find("it holds a control character (\"\\x09\") at character 12"), std::string::npos) << tab;
  EXPECT_TRUE(RecurrenceRule::parse("FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;INTERVAL=6;UNTIL=20170101T000000Z"));
}

// No arithmetic of the iteration wraps: INTERVAL times the period, the years around
// 9999, a seek to a distant time. Each ends at the calendar's end (year 9999).
TEST(RecurrenceIterator, LargeIntervalsAndDistantDatesEndAtYear9999) {
  RecurrenceIterator yearly(rule("FREQ=YEARLY;INTERVAL=32767"), at("2026-09-14T16:00"), new_york());
  EXPECT_EQ(yearly.next(), at("2026-09-14T16:00"));
  EXPECT_EQ(yearly.next(), std::nullopt);
  EXPECT_EQ(yearly.end_reason(), RecurrenceIterator::End::horizon);
  // 32767 months are 2730 years and 7 months; 32767 weeks 628 years less 3 days.
  EXPECT_EQ(starts("FREQ=MONTHLY;INTERVAL=32767", "2026-09-14T16:00", 5),
            (std::vector<std::string>{"2026-09-14T16:00", "4757-04-14T16:00", "7487-11-14T16:00"}));
  EXPECT_EQ(starts("FREQ=WEEKLY;INTERVAL=32767", "2026-09-14T16:00", 20).size(), 13u);
  EXPECT_EQ(starts("FREQ=SECONDLY;INTERVAL=32767;COUNT=3", "2026-09-14T16:00", 5),
            (std::vector<std::string>{"2026-09-14T16:00", "2026-09-15T01:06:07", "2026-09-15T10:12:14"}));
  EXPECT_EQ(starts("FREQ=DAILY;UNTIL=99991231T235959Z", "9999-12-29T16:00", 10, nullptr),
            (std::vector<std::string>{"9999-12-29T16:00", "9999-12-30T16:00", "9999-12-31T16:00"}));
  RecurrenceIterator hourly(rule("FREQ=HOURLY"), at("9999-12-31T23:00"), new_york());
  EXPECT_EQ(hourly.next(), at("9999-12-31T23:00"));
  EXPECT_EQ(hourly.next(), std::nullopt);
  EXPECT_EQ(hourly.end_reason(), RecurrenceIterator::End::horizon);
  // A seek far past any calendar (2^62 seconds from 1970) ends the iteration.
  for (const char* text : {"FREQ=YEARLY", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MINUTELY;INTERVAL=7"}) {
    RecurrenceIterator it(rule(text), at("2026-09-14T16:00"), new_york());
    it.seek(LocalTime{Seconds{std::int64_t{1} << 62}});
    EXPECT_EQ(it.next(), std::nullopt) << text;
    EXPECT_EQ(it.end_reason(), RecurrenceIterator::End::horizon) << text;
  }
}

// A rule that can never match again ends after one 400-year Gregorian cycle without an
// instance, whatever its frequency (a finer rule used to scan on to year 9999), and says
// so; COUNT and UNTIL say so too.
TEST(RecurrenceIterator, EndReasonSaysWhyTheRuleEnded) {
  const auto reason = [](const char* text, const char* dtstart) {
    RecurrenceIterator it(rule(text), at(dtstart), new_york());
    int n = 0;
    while (it.next()) ++n;
    return std::make_pair(n, it.end_reason());
  };
  using End = RecurrenceIterator::End;
  for (const char* never : {"FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
                            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;INTERVAL=168;BYDAY=MO",
                            "FREQ=HOURLY;INTERVAL=2;BYHOUR=3", "FREQ=MINUTELY;INTERVAL=10080;BYDAY=MO",
                            "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=SECONDLY;INTERVAL=2;BYSECOND=1",
                            "FREQ=WEEKLY;INTERVAL=2;BYMONTH=2;BYDAY=MO;BYSETPOS=5"}) {
    EXPECT_EQ(reason(never, "2026-09-15T16:00"), std::make_pair(1, std::optional<End>(End::no_match))) << never;
  }
  EXPECT_EQ(reason("FREQ=WEEKLY;COUNT=3", "2026-09-14T16:00"), std::make_pair(3, std::optional<End>(End::count)));
  EXPECT_EQ(reason("FREQ=WEEKLY;UNTIL=20261001", "2026-09-14T16:00"), std::make_pair(3, std::optional<End>(End::until)));
  RecurrenceIterator open(rule("FREQ=DAILY"), at("2026-09-14T16:00"), new_york());
  EXPECT_EQ(open.end_reason(), std::nullopt);
}

// Found by rrule_fuzz (issue 7, docs/fuzzing.md): FREQ=SECONDLY;BYSECOND=4,10,20,30,40,50;
// BYSETPOS=-2,3;INTERVAL=2 can never give an instance (each SECONDLY period holds one
// instant, so there is no 3rd or 2nd-to-last), but its periods were not empty, only their
// selections, so the 400-year bound never saw an empty run it could skip: the iterator
// walked every other second up to year 2200, and `convene check` and `convene expand` hung
// on a 150-byte definitions file. A BYSETPOS none of whose positions a period can hold
// (at most 366 days in a year, 31 in a month, 7 in a week, one from DAILY down, times the
// times of day) now ends the rule at once, as the references do (DTSTART only); a
// position some periods can hold is still honoured. (Before the fix this test ran until
// ctest's timeout.)
TEST(RecurrenceIterator, SetPositionsNoPeriodCanHoldEndTheRuleAtOnce) {
  using End = RecurrenceIterator::End;
  for (const char* never : {"FREQ=SECONDLY;BYSECOND=4,10,20,30,40,50;BYSETPOS=-2,3;INTERVAL=2;COUNT=5",
                            "FREQ=SECONDLY;BYMINUTE=5;BYSETPOS=2", "FREQ=MINUTELY;BYSECOND=1,2;BYSETPOS=3,-3",
                            "FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=-3", "FREQ=DAILY;BYHOUR=9;BYSETPOS=2",
                            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=8", "FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=-32"}) {
    RecurrenceIterator it(rule(never), at("2026-09-15T16:00"), new_york());
    int n = 0;
    while (it.next()) ++n;
    EXPECT_EQ(n, 1) << never;
    EXPECT_EQ(it.end_reason(), std::optional<End>(End::no_match)) << never;
  }
  // Positions some periods can hold: the last of an hour's two times (3 is beyond them),
  // the 31st day of a month (in months that have one).
  EXPECT_EQ(starts("FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=-1,3;COUNT=3", "2026-09-15T16:00", 10),
            (std::vector<std::string>{"2026-09-15T16:00", "2026-09-15T16:30", "2026-09-15T17:30"}));
  EXPECT_EQ(starts("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=31;COUNT=3", "2026-09-15T16:00", 10),
            (std::vector<std::string>{"2026-09-15T16:00", "2026-10-31T16:00", "2026-12-31T16:00"}));
}

// --- issue 14: where the references disagree ------------------------------------------

// Issue 14, first reproducer: RFC 5545 §3.3.10 takes what the rule does not give from
// DTSTART, and RFC 8984 §4.3.3.1 writes it out: BYWEEKNO without BYDAY (or BYMONTHDAY)
// takes DTSTART's weekday. convene gave every day of ISO weeks 1 and 2 (50 instances), as
// python-dateutil does; libical gives the Tuesdays since its PR #455 (issue #438).
TEST(RecurrenceIterator, ByWeekNoWithoutByDayTakesDtstartsWeekday) {
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=1,2;UNTIL=20170101T000000Z", "2013-01-01T00:00", 100),
            (std::vector<std::string>{"2013-01-01T00:00", "2013-01-08T00:00", "2013-12-31T00:00",
                                      "2014-01-07T00:00", "2014-12-30T00:00", "2015-01-06T00:00",
                                      "2016-01-05T00:00", "2016-01-12T00:00"}));
  // From the last weeks: Tuesday 2013-12-24 is in week -1 of 2013, 2014-12-16 in week -2.
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=-1,-2;COUNT=4", "2013-12-24T00:00", 100),
            (std::vector<std::string>{"2013-12-24T00:00", "2014-12-16T00:00", "2014-12-23T00:00",
                                      "2015-12-22T00:00"}));
  // With weeks from Friday: Tuesday 2013-01-08 is in week 2 (week 1 is 4-10 January 2013).
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=1,2;WKST=FR;COUNT=4", "2013-01-08T00:00", 100),
            (std::vector<std::string>{"2013-01-08T00:00", "2013-01-15T00:00", "2014-01-07T00:00",
                                      "2014-01-14T00:00"}));
  // BYMONTH too is no day of the week: BYDAY is still DTSTART's.
  EXPECT_EQ(starts("FREQ=YEARLY;BYMONTH=12;BYWEEKNO=1;COUNT=3", "2024-12-30T09:00", 100),
            (std::vector<std::string>{"2024-12-30T09:00", "2025-12-29T09:00", "2029-12-31T09:00"}));
}

// Issue 14, second reproducer: the start (Saturday 2010-01-02) belongs to ISO week-year
// 2009, so six years later is 2015, which has a week 53 (28 December 2015 to 3 January
// 2016). convene counted calendar years (2010, 2016) and missed 2015-12-29. ical.net #776
// and #657 count week-years, as RFC 8984's "the nth week of the year" reads.
TEST(RecurrenceIterator, YearlyByWeekNoCountsIntervalInWeekYears) {
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;INTERVAL=6;UNTIL=20170101T000000Z",
                   "2010-01-02T00:00", 100),
            (std::vector<std::string>{"2010-01-02T00:00", "2015-12-29T00:00", "2016-01-02T00:00"}));
  // BYSETPOS counts in the week-year's days: the first day of each week 1 (a Monday).
  EXPECT_EQ(starts("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1;COUNT=3",
                   "2025-12-29T09:00", 100),
            (std::vector<std::string>{"2025-12-29T09:00", "2027-01-04T09:00", "2028-01-03T09:00"}));
  // seek() finds the week-year of its target: 2015-12-29 is in week-year 2015.
  RecurrenceIterator it(rule("FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;INTERVAL=6"), at("2010-01-02T00:00"),
                        new_york());
  it.seek(at("2015-12-01T00:00"));
  EXPECT_EQ(it.next(), at("2015-12-29T00:00"));
  EXPECT_EQ(it.next(), at("2016-01-02T00:00"));
  // 2021, 2027, ..., 2087 have 52 weeks; 2093 (from Thursday 1 January) has 53.
  EXPECT_EQ(it.next(), at("2093-12-29T00:00"));
}

// RFC 8984 §4.3.3.1's implicit parts, written out: a YEARLY rule with BYMONTHDAY and no
// BYMONTH is in DTSTART's month (once a year, as Google Calendar shows a birthday written
// FREQ=YEARLY;BYMONTHDAY=14; python-dateutil gives every month's 14th).
TEST(RecurrenceRule, WithImplicitPartsWritesWhatDtstartGives) {
  const LocalTime start = at("2011-08-14T09:00");  // a Sunday
  const auto completed = [&](const char* text) { return rule(text).with_implicit_parts(start).to_string(); };
  EXPECT_EQ(completed("FREQ=WEEKLY"), "FREQ=WEEKLY;BYDAY=SU");
  EXPECT_EQ(completed("FREQ=MONTHLY"), "FREQ=MONTHLY;BYMONTHDAY=14");
  EXPECT_EQ(completed("FREQ=MONTHLY;BYDAY=2MO"), "FREQ=MONTHLY;BYDAY=2MO");
  EXPECT_EQ(completed("FREQ=YEARLY"), "FREQ=YEARLY;BYMONTHDAY=14;BYMONTH=8");
  EXPECT_EQ(completed("FREQ=YEARLY;BYMONTHDAY=14"), "FREQ=YEARLY;BYMONTHDAY=14;BYMONTH=8");
  EXPECT_EQ(completed("FREQ=YEARLY;BYMONTHDAY=13;BYDAY=FR"), "FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=13;BYMONTH=8");
  EXPECT_EQ(completed("FREQ=YEARLY;BYDAY=FR"), "FREQ=YEARLY;BYDAY=FR");
  EXPECT_EQ(completed("FREQ=YEARLY;BYMONTH=3"), "FREQ=YEARLY;BYMONTHDAY=14;BYMONTH=3");
  EXPECT_EQ(completed("FREQ=YEARLY;BYWEEKNO=20"), "FREQ=YEARLY;BYDAY=SU;BYWEEKNO=20");
  EXPECT_EQ(completed("FREQ=YEARLY;BYWEEKNO=20;BYMONTHDAY=14"), "FREQ=YEARLY;BYMONTHDAY=14;BYWEEKNO=20");
  EXPECT_EQ(completed("FREQ=YEARLY;BYYEARDAY=100"), "FREQ=YEARLY;BYYEARDAY=100");
  EXPECT_EQ(completed("FREQ=DAILY;BYMONTH=3"), "FREQ=DAILY;BYMONTH=3");
  EXPECT_EQ(starts("FREQ=YEARLY;BYMONTHDAY=14;COUNT=3", "2011-08-14T09:00", 10),
            (std::vector<std::string>{"2011-08-14T09:00", "2012-08-14T09:00", "2013-08-14T09:00"}));
  // The completed rule gives the same instances as the rule.
  for (const char* text : {"FREQ=YEARLY;BYWEEKNO=1,2,-1", "FREQ=YEARLY;BYMONTHDAY=-1,13;BYDAY=FR",
                           "FREQ=MONTHLY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=2;BYMONTH=1,2"}) {
    std::vector<std::string> a, b;
    RecurrenceIterator plain(rule(text), start, new_york());
    RecurrenceIterator full(rule(text).with_implicit_parts(start), start, new_york());
    for (int i = 0; i < 40; ++i) {
      a.push_back(format_local_minute(plain.next().value_or(LocalTime{})));
      b.push_back(format_local_minute(full.next().value_or(LocalTime{})));
    }
    EXPECT_EQ(a, b) << text;
  }
}

// The form a feed writes: the rule, with the parts readers fill in differently written out,
// or RDATEs where no RRULE is read alike (docs/recurrence.md#feeds).
TEST(RecurrenceRule, PortableRuleWritesDisputedPartsOrGivesUpOnTheRule) {
  const LocalTime start = at("2011-08-14T09:00");  // a Sunday
  const auto form = [&](const char* text) { return portable_rule(rule(text), start); };
  // Agreed by every reader: unchanged.
  for (const char* text : {"FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYDAY=2MO", "FREQ=YEARLY",
                           "FREQ=MONTHLY;BYDAY=TU,WE,TH;BYSETPOS=3", "FREQ=DAILY;COUNT=14",
                           "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"}) {
    const auto f = form(text);
    ASSERT_TRUE(f.rule) << text << ": " << f.why;
    EXPECT_EQ(*f.rule, rule(text)) << text;
  }
  // dateutil expands YEARLY;BYMONTHDAY to every month: BYMONTH is written.
  EXPECT_EQ(form("FREQ=YEARLY;BYMONTHDAY=14").rule->to_string(), "FREQ=YEARLY;BYMONTHDAY=14;BYMONTH=8");
  EXPECT_EQ(form("FREQ=YEARLY;BYMONTHDAY=13;BYDAY=FR").rule->to_string(),
            "FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=13;BYMONTH=8");
  // Disputed: RDATEs, with the section that says why.
  const std::vector<std::pair<const char*, const char*>> disputed = {
      {"FREQ=YEARLY;BYWEEKNO=1,2", "#byweekno-readers"},
      {"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "#byweekno-readers"},
      {"FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=-1", "#bysetpos-readers"},
      {"FREQ=MONTHLY;BYDAY=MO,TU;BYHOUR=9,17;BYSETPOS=1", "#bysetpos-readers"},
      {"FREQ=MONTHLY;BYMONTHDAY=-23,-21,9;BYSETPOS=-2", "#bysetpos-readers"},
      {"FREQ=MONTHLY;BYDAY=MO,1TU", "#mixed-byday"},
      {"FREQ=DAILY;BYMONTHDAY=-1", "#negative-days-readers"},
      {"FREQ=HOURLY;BYYEARDAY=-36", "#negative-days-readers"},
      {"FREQ=HOURLY;INTERVAL=2;BYHOUR=3,9", "#sub-daily-readers"},
      {"FREQ=SECONDLY;INTERVAL=7;BYMINUTE=5", "#sub-daily-readers"},
      {"FREQ=YEARLY;BYMONTHDAY=1,8;BYDAY=22MO", "#yearly-bymonthday-without-bymonth"},
  };
  for (const auto& [text, why] : disputed) {
    const auto f = form(text);
    EXPECT_FALSE(f.rule) << text;
    EXPECT_EQ(f.why.rfind(why, 0), 0u) << text << ": " << f.why;
  }
}

}  // namespace
}  // namespace convene
