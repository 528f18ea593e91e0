// The engine (convene/schedule.h): policies applied to series, overrides, windows, DST.
#include "convene/schedule.h"

#include <gtest/gtest.h>

namespace convene {
namespace {

LocalTime at(const char* text) {
  auto t = parse_local_minute(text);
  EXPECT_TRUE(t.has_value()) << text;
  return *t;
}
LocalDay day(const char* text) { return *parse_date(text); }

// Definitions built in code: one community observing us-dc (and optional closures).
class Builder {
 public:
  explicit Builder(const char* zone = "America/New_York") {
    defs_.source = "test.json";
    CalendarDef dc;
    dc.id = "dc";
    dc.builtin = "us-dc";
    dc.calendar = *HolidayCalendar::builtin("us-dc", "us-dc");
    defs_.calendars.push_back(dc);
    CommunityDef community;
    community.id = "nurses";
    community.name = "School Nurses";
    community.timezone = zone;
    community.zone = find_zone(zone);
    community.observes = {"dc"};
    defs_.communities.push_back(community);
  }
  Builder& closures(std::vector<Closure> closures) {
    CalendarDef school;
    school.id = "school";
    school.closures = closures;
    HolidayCalendar calendar("school");
    for (auto& c : closures) calendar = calendar.with_closure(c);
    school.calendar = calendar;
    defs_.calendars.push_back(school);
    defs_.communities[0].observes.push_back("school");
    return *this;
  }
  Builder& series(const char* id, const char* start, const char* rrule,
                  HolidayPolicy policy = HolidayPolicy::skip, const char* duration = "PT1H") {
    SeriesDef s;
    s.id = id;
    s.title = id;
    s.start = at(start);
    s.duration = *parse_duration(duration);
    if (rrule) {
      s.rrule_text = rrule;
      auto parsed = RecurrenceRule::parse(rrule);
      EXPECT_TRUE(static_cast<bool>(parsed)) << parsed.error();
      s.rrule = *parsed;
    }
    s.on_holiday = policy;
    defs_.communities[0].series.push_back(s);
    return *this;
  }
  SeriesDef& last() { return defs_.communities[0].series.back(); }
  Builder& add(const char* t) {
    last().add.push_back(at(t));
    return *this;
  }
  Builder& except(const char* t) {
    last().except.push_back(at(t));
    return *this;
  }
  Builder& override_def(OverrideDef o) {
    defs_.overrides.push_back(o);
    return *this;
  }
  const Definitions& defs() const { return defs_; }

 private:
  Definitions defs_;
};

std::string rfc3339(const Occurrence& o) {
  return o.start ? format_rfc3339(*o.start, o.community->zone) : "null";
}

const Occurrence* find(const std::vector<Occurrence>& all, const char* original) {
  for (const auto& o : all) {
    if (o.occurrence_id() == original) return &o;
  }
  return nullptr;
}

TEST(Schedule, FollowingMovesMartinLutherKingDayToTuesday) {
  Builder b;
  b.series("mm", "2026-09-21T16:00", "FREQ=MONTHLY;BYDAY=3MO;UNTIL=20270630",
           HolidayPolicy::following);
  auto all = expand(b.defs(), {day("2027-01-01"), day("2027-02-28")});
  ASSERT_EQ(all.size(), 2u);
  const Occurrence& jan = all[0];
  EXPECT_EQ(jan.occurrence_id(), "2027-01-18T16:00");
  EXPECT_EQ(jan.status, OccurrenceStatus::shifted);
  EXPECT_EQ(rfc3339(jan), "2027-01-19T16:00:00-05:00");
  EXPECT_EQ(format_rfc3339(*jan.end, jan.community->zone), "2027-01-19T17:00:00-05:00");
  EXPECT_EQ(jan.reason, "Martin Luther King, Jr. Day (us-dc): moved to the following business day");
  ASSERT_TRUE(jan.holiday.has_value());
  EXPECT_EQ(jan.holiday->calendar, "us-dc");
  // 15 February 2027 is Washington's Birthday.
  EXPECT_EQ(all[1].occurrence_id(), "2027-02-15T16:00");
  EXPECT_EQ(rfc3339(all[1]), "2027-02-16T16:00:00-05:00");
}

TEST(Schedule, SkipIsTheDefaultAndExplainsItself) {
  Builder b;
  b.series("eq", "2026-09-04T15:30", "FREQ=MONTHLY;BYDAY=1FR");
  auto all = expand(b.defs(), {day("2027-01-01"), day("2027-01-31")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status, OccurrenceStatus::skipped);
  EXPECT_FALSE(all[0].start.has_value());
  EXPECT_FALSE(all[0].end.has_value());
  EXPECT_EQ(all[0].reason, "New Year's Day (us-dc): skipped");
}

TEST(Schedule, KeepStaysOnTheHolidayFlagged) {
  Builder b;
  b.series("ph", "2026-09-09T15:00", "FREQ=MONTHLY;BYDAY=2WE", HolidayPolicy::keep);
  auto all = expand(b.defs(), {day("2026-11-01"), day("2026-11-30")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status, OccurrenceStatus::scheduled);
  EXPECT_EQ(rfc3339(all[0]), "2026-11-11T15:00:00-05:00");
  ASSERT_TRUE(all[0].holiday.has_value());
  EXPECT_EQ(all[0].holiday->name, "Veterans Day");
  EXPECT_EQ(all[0].reason, "Veterans Day (us-dc): kept on the holiday");
}

TEST(Schedule, NextWeekSkipsOverABreak) {
  Builder b;
  b.closures({{"Winter break", day("2026-12-21"), day("2027-01-01")}});
  b.series("slc", "2026-12-17T14:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", HolidayPolicy::next_week);
  auto all = expand(b.defs(), {day("2026-12-17"), day("2027-01-31")});
  // 17 Dec, 31 Dec (break) → 7 Jan, 14 Jan, 28 Jan.
  ASSERT_EQ(all.size(), 4u);
  const Occurrence* dec31 = find(all, "2026-12-31T14:00");
  ASSERT_NE(dec31, nullptr);
  EXPECT_EQ(dec31->status, OccurrenceStatus::shifted);
  EXPECT_EQ(rfc3339(*dec31), "2027-01-07T14:00:00-05:00");
  EXPECT_EQ(dec31->reason, "Winter break (school): moved to the same weekday one week later");
}

TEST(Schedule, AShiftOntoAHeldStartIsSkippedNotDoubled) {
  Builder b;
  // Monday and Tuesday sessions; MLK Day's Monday session would move onto Tuesday.
  b.series("mt", "2027-01-11T10:00", "FREQ=WEEKLY;BYDAY=MO,TU", HolidayPolicy::following);
  auto all = expand(b.defs(), {day("2027-01-18"), day("2027-01-19")});
  ASSERT_EQ(all.size(), 2u);
  const Occurrence* monday = find(all, "2027-01-18T10:00");
  ASSERT_NE(monday, nullptr);
  EXPECT_EQ(monday->status, OccurrenceStatus::skipped);
  EXPECT_EQ(monday->reason,
            "Martin Luther King, Jr. Day (us-dc): skipped: Tuesday 19 January at 10:00 already "
            "has a session of this series");
  EXPECT_EQ(find(all, "2027-01-19T10:00")->status, OccurrenceStatus::scheduled);
}

TEST(Schedule, CompetingShiftsGoInChronologicalOrder) {
  Builder b;
  b.closures({{"Conference", day("2027-03-08"), day("2027-03-09")}});
  b.series("mt", "2027-03-01T10:00", "FREQ=WEEKLY;BYDAY=MO,TU", HolidayPolicy::following);
  auto all = expand(b.defs(), {day("2027-03-08"), day("2027-03-10")});
  // Monday 8 and Tuesday 9 both want Wednesday 10: Monday's (earlier) gets it.
  const Occurrence* monday = find(all, "2027-03-08T10:00");
  const Occurrence* tuesday = find(all, "2027-03-09T10:00");
  ASSERT_NE(monday, nullptr);
  ASSERT_NE(tuesday, nullptr);
  EXPECT_EQ(monday->status, OccurrenceStatus::shifted);
  EXPECT_EQ(rfc3339(*monday), "2027-03-10T10:00:00-05:00");
  EXPECT_EQ(tuesday->status, OccurrenceStatus::skipped);
}

TEST(Schedule, ShiftFromBeforeTheWindowIsListedInIt) {
  Builder b;
  b.series("ph", "2026-12-31T15:00", "FREQ=MONTHLY;BYMONTHDAY=-1", HolidayPolicy::following);
  b.closures({{"Winter break", day("2026-12-21"), day("2027-01-01")}});
  // 31 Dec is in the break: following → Monday 4 January, inside a January window.
  auto all = expand(b.defs(), {day("2027-01-01"), day("2027-01-31")});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].occurrence_id(), "2026-12-31T15:00");
  EXPECT_EQ(rfc3339(all[0]), "2027-01-04T15:00:00-05:00");
  EXPECT_EQ(all[1].occurrence_id(), "2027-01-31T15:00");
  // A December window lists it neither as live (its start is in January) nor skipped.
  EXPECT_TRUE(expand(b.defs(), {day("2026-12-01"), day("2026-12-31")}).empty());
}

TEST(Schedule, StartIsFirstEvenWhenTheRuleDoesNotMatchIt) {
  Builder b;
  // A Sunday start for a Monday rule: the start is still the first instance.
  b.series("x", "2026-09-13T16:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=3");
  auto all = expand(b.defs(), {day("2026-09-01"), day("2026-12-31")});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].occurrence_id(), "2026-09-13T16:00");
  EXPECT_EQ(all[1].occurrence_id(), "2026-09-14T16:00");
  EXPECT_EQ(all[2].occurrence_id(), "2026-09-21T16:00");
}

TEST(Schedule, ExceptRemovesAndAddFollowsThePolicy) {
  Builder b;
  b.series("x", "2027-01-04T16:00", "FREQ=WEEKLY;BYDAY=MO;COUNT=4", HolidayPolicy::following)
      .except("2027-01-11T16:00")
      .add("2027-02-15T09:00");  // Washington's Birthday
  auto all = expand(b.defs(), {day("2027-01-01"), day("2027-02-28")});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(find(all, "2027-01-11T16:00"), nullptr);
  const Occurrence* added = find(all, "2027-02-15T09:00");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->status, OccurrenceStatus::shifted);
  EXPECT_EQ(rfc3339(*added), "2027-02-16T09:00:00-05:00");
}

TEST(Schedule, OverridesCancelMoveAndReviveAfterThePolicy) {
  Builder b;
  b.series("mm", "2026-09-21T16:00", "FREQ=MONTHLY;BYDAY=3MO;UNTIL=20270630");
  OverrideDef cancel;
  cancel.series = "mm";
  cancel.occurrence = at("2026-11-16T16:00");
  cancel.cancel = true;
  cancel.reason = "Facilitator ill";
  OverrideDef move;
  move.series = "mm";
  move.occurrence = at("2027-01-18T16:00");  // skipped for MLK Day, revived by the move
  move.move_to = at("2027-01-20T15:30");
  move.duration = Seconds{5400};
  move.title = "Mentoring Monday (on a Wednesday)";
  b.override_def(cancel).override_def(move);
  auto all = expand(b.defs(), {day("2026-11-01"), day("2027-01-31")});
  const Occurrence* nov = find(all, "2026-11-16T16:00");
  ASSERT_NE(nov, nullptr);
  EXPECT_EQ(nov->status, OccurrenceStatus::cancelled);
  EXPECT_EQ(nov->reason, "Facilitator ill");
  EXPECT_FALSE(nov->start.has_value());
  const Occurrence* jan = find(all, "2027-01-18T16:00");
  ASSERT_NE(jan, nullptr);
  EXPECT_EQ(jan->status, OccurrenceStatus::moved);
  EXPECT_EQ(rfc3339(*jan), "2027-01-20T15:30:00-05:00");
  EXPECT_EQ(format_rfc3339(*jan->end, jan->community->zone), "2027-01-20T17:00:00-05:00");
  EXPECT_EQ(jan->title(), "Mentoring Monday (on a Wednesday)");
  EXPECT_EQ(jan->reason, "moved");
  ASSERT_TRUE(jan->holiday.has_value());  // still says why the rule's date was special
}

TEST(Schedule, OverrideOfAMissingOccurrenceNamesIt) {
  Builder b;
  b.series("mm", "2026-09-21T16:00", "FREQ=MONTHLY;BYDAY=3MO");
  OverrideDef o;
  o.series = "mm";
  o.occurrence = at("2026-10-20T16:00");  // a Tuesday: not an occurrence
  o.cancel = true;
  b.override_def(o);
  try {
    expand(b.defs(), {day("2026-09-01"), day("2026-12-31")});
    FAIL() << "expected UnknownOccurrenceError";
  } catch (const UnknownOccurrenceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("test.json: /overrides/0"), std::string::npos) << what;
    EXPECT_NE(what.find("2026-10-20T16:00"), std::string::npos) << what;
    EXPECT_NE(what.find("2026-10-19T16:00"), std::string::npos) << what;  // nearest
  }
  // Far from the window it is still an error: an override is checked wherever it is.
  EXPECT_THROW(expand(b.defs(), {day("2030-01-01"), day("2030-01-31")}), UnknownOccurrenceError);
}

TEST(Schedule, MoveOntoAnotherOccurrenceIsRefused) {
  Builder b;
  b.series("w", "2027-01-05T10:00", "FREQ=WEEKLY;BYDAY=TU,TH");
  OverrideDef o;
  o.series = "w";
  o.occurrence = at("2027-01-05T10:00");
  o.move_to = at("2027-01-07T10:00");
  b.override_def(o);
  EXPECT_THROW(expand(b.defs(), {day("2027-01-01"), day("2027-01-31")}), OverlapError);
  auto findings = validate_schedule(b.defs());
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].severity, Diagnostic::Severity::error);
}

TEST(Schedule, MoveFromFarAwayIntoTheWindowIsListed) {
  Builder b;
  b.series("w", "2026-01-06T10:00", "FREQ=WEEKLY;BYDAY=TU");
  OverrideDef o;
  o.series = "w";
  o.occurrence = at("2026-01-06T10:00");
  o.move_to = at("2027-06-02T10:00");
  b.override_def(o);
  auto all = expand(b.defs(), {day("2027-06-02"), day("2027-06-02")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].occurrence_id(), "2026-01-06T10:00");
  EXPECT_EQ(all[0].status, OccurrenceStatus::moved);
}

TEST(Schedule, SpringForwardGapMeansTheTimeAfterIt) {
  Builder b;
  b.series("d", "2027-03-13T02:30", "FREQ=DAILY;COUNT=3");
  auto all = expand(b.defs(), {day("2027-03-13"), day("2027-03-15")});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(rfc3339(all[0]), "2027-03-13T02:30:00-05:00");
  EXPECT_EQ(rfc3339(all[1]), "2027-03-14T03:30:00-04:00");  // 02:30 does not exist
  EXPECT_EQ(all[1].occurrence_id(), "2027-03-14T02:30");   // identity stays the local time
  EXPECT_EQ(rfc3339(all[2]), "2027-03-15T02:30:00-04:00");
}

TEST(Schedule, FallBackOverlapMeansTheFirstOccurrence) {
  Builder b;
  b.series("d", "2026-11-01T01:30", "FREQ=DAILY;COUNT=1", HolidayPolicy::skip, "PT1H");
  auto all = expand(b.defs(), {day("2026-11-01"), day("2026-11-01")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(rfc3339(all[0]), "2026-11-01T01:30:00-04:00");  // EDT, the first 01:30
  // An exact hour later is 01:30 again, on standard time.
  EXPECT_EQ(format_rfc3339(*all[0].end, all[0].community->zone), "2026-11-01T01:30:00-05:00");
}

TEST(Schedule, DurationIsAddedInAbsoluteTime) {
  Builder b;
  b.series("d", "2026-11-01T00:30", "FREQ=DAILY;COUNT=1", HolidayPolicy::skip, "PT3H");
  auto all = expand(b.defs(), {day("2026-11-01"), day("2026-11-01")});
  ASSERT_EQ(all.size(), 1u);
  // 00:30 EDT + 3 h = 02:30 EST (the clock went back an hour).
  EXPECT_EQ(format_rfc3339(*all[0].end, all[0].community->zone), "2026-11-01T02:30:00-05:00");
}

TEST(Schedule, LordHoweHalfHourShift) {
  Builder b("Australia/Lord_Howe");
  b.series("lh", "2026-10-03T02:15", "FREQ=DAILY;COUNT=3");
  auto all = expand(b.defs(), {day("2026-10-03"), day("2026-10-05")});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(rfc3339(all[0]), "2026-10-03T02:15:00+10:30");
  EXPECT_EQ(rfc3339(all[1]), "2026-10-04T02:45:00+11:00");  // 02:00→02:30 gap
  EXPECT_EQ(format_rfc3339(*all[1].start, find_zone("UTC")), "2026-10-03T15:45:00+00:00");
  EXPECT_EQ(rfc3339(all[2]), "2026-10-05T02:15:00+11:00");
}

TEST(Schedule, TooManyOccurrencesIsAnError) {
  Builder b;
  b.series("m", "2026-01-01T00:00", "FREQ=MINUTELY");
  try {
    expand(b.defs(), {day("2026-01-01"), day("2026-12-31")});
    FAIL() << "expected TooManyOccurrencesError";
  } catch (const TooManyOccurrencesError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 100000"), std::string::npos) << e.what();
  }
  // 69 days of minutes is 99,360: allowed.
  EXPECT_EQ(expand(b.defs(), {day("2026-01-01"), day("2026-03-10")}).size(), 99360u);
}

TEST(Schedule, WindowEndingBeforeItStartsIsAnError) {
  Builder b;
  b.series("x", "2026-09-14T16:00", "FREQ=WEEKLY");
  EXPECT_THROW(expand(b.defs(), {day("2026-10-01"), day("2026-09-01")}), Error);
}

TEST(Schedule, UnknownSeriesFilterIsAnError) {
  Builder b;
  b.series("x", "2026-09-14T16:00", "FREQ=WEEKLY");
  ExpandOptions only;
  only.series = "nope";
  EXPECT_THROW(expand(b.defs(), {day("2026-09-01"), day("2026-10-01")}, only), Error);
}

TEST(Schedule, SortedByStartAcrossSeries) {
  Builder b;
  b.series("late", "2026-09-14T17:00", "FREQ=DAILY;COUNT=2");
  b.series("early", "2026-09-14T09:00", "FREQ=DAILY;COUNT=2");
  auto all = expand(b.defs(), {day("2026-09-14"), day("2026-09-15")});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].series->id, "early");
  EXPECT_EQ(all[1].series->id, "late");
  EXPECT_EQ(all[2].series->id, "early");
  EXPECT_EQ(all[3].series->id, "late");
}

TEST(Schedule, ValidateWarnsOfAMoveOntoAHoliday) {
  Builder b;
  b.series("mm", "2026-09-21T16:00", "FREQ=MONTHLY;BYDAY=3MO");
  OverrideDef o;
  o.series = "mm";
  o.occurrence = at("2026-11-16T16:00");
  o.move_to = at("2026-11-11T16:00");  // Veterans Day
  b.override_def(o);
  auto findings = validate_schedule(b.defs());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Diagnostic::Severity::warning);
  EXPECT_NE(findings[0].message.find("Veterans Day"), std::string::npos) << findings[0].message;
}

TEST(Schedule, ValidateWarnsOfARuleWithNoOccurrence) {
  Builder b;
  b.series("never", "2027-02-01T16:00", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
  auto findings = validate_schedule(b.defs());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, Diagnostic::Severity::warning);
  EXPECT_NE(findings[0].where.find("/communities/0/series/0/rrule"), std::string::npos);
}

}  // namespace
}  // namespace convene
