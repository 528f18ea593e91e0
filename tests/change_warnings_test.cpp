// convene/change_warnings.h: the changes the store accepts that a facilitator should hear
// about (a session moved onto a holiday, into the past, onto another session), and
// silence for everything the change did not move.
//
// The story: `convene reschedule` accepted without a word a move onto Washington's
// Birthday, into 2025, and to 30 minutes after another session of the same series.
#include "convene/change_warnings.h"

#include <gtest/gtest.h>

namespace convene {
namespace {

const char* kCommunity = R"({
  "calendars": {"dc": {"builtin": "us-dc"}},
  "communities": [{"id": "nurses", "name": "School Nurses", "timezone": "America/New_York", "observes": ["dc"],
    "series": [
      {"id": "power-hour", "title": "Power Hour", "start": "2026-09-09T15:00", "duration": "PT1H",
       "rrule": "FREQ=WEEKLY;BYDAY=WE"},
      {"id": "mentoring", "title": "Mentoring Monday", "start": "2026-09-14T16:00", "duration": "PT1H",
       "rrule": "FREQ=MONTHLY;BYDAY=2MO", "on_holiday": "following"}
      SERIES_EXTRA
    ]}],
  "overrides": [OVERRIDES]
})";

Definitions defs(const std::string& overrides = "", const std::string& series_extra = "") {
  std::string text = kCommunity;
  text.replace(text.find("SERIES_EXTRA"), 12, series_extra);
  text.replace(text.find("OVERRIDES"), 9, overrides);
  auto loaded = parse_definitions(text, "warnings.json", ".");
  EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].to_string());
  return *loaded.definitions;
}

std::string move(const char* from, const char* to) {
  return std::string(R"({"series": "power-hour", "occurrence": ")") + from + R"(", "move_to": ")" + to + R"("})";
}

const Instant kNow = resolve_local(*parse_local_minute("2027-02-01T09:00"), find_zone("UTC"));
const Window kWindow{*parse_date("2024-12-01"), *parse_date("2028-01-31")};

std::vector<ChangeWarning> after_move(const char* to) {
  return change_warnings(defs(), defs(move("2027-02-10T15:00", to)), {"power-hour"}, kNow, kWindow);
}

TEST(ChangeWarnings, AMoveOntoAHoliday) {
  const auto w = after_move("2027-02-15T15:00");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::holiday);
  EXPECT_EQ(w[0].series, "power-hour");
  EXPECT_EQ(format_local_minute(w[0].occurrence), "2027-02-10T15:00");
  EXPECT_EQ(w[0].message, "power-hour 2027-02-10T15:00 now falls on Washington's Birthday (dc), 2027-02-15");
}

TEST(ChangeWarnings, AMoveIntoThePast) {
  const auto w = after_move("2025-02-12T15:00");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::past);
  EXPECT_EQ(w[0].message, "power-hour 2027-02-10T15:00 now starts in the past, at 2025-02-12T15:00 America/New_York");
}

TEST(ChangeWarnings, AMoveOntoAnotherSessionOfTheSeries) {
  const auto w = after_move("2027-02-17T15:30");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::overlap);
  EXPECT_EQ(w[0].message,
            "power-hour 2027-02-10T15:00 now overlaps another session of the series (power-hour 2027-02-17T15:00, "
            "2027-02-17T15:00 America/New_York)");
}

TEST(ChangeWarnings, AMoveOntoAnotherSeriesOfTheCommunity) {
  const auto w = after_move("2027-02-08T16:30");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::overlap);
  EXPECT_NE(w[0].message.find("overlaps \"Mentoring Monday\" (mentoring 2027-02-08T16:00"), std::string::npos)
      << w[0].message;
}

TEST(ChangeWarnings, SeveralAtOnce) {
  // Martin Luther King, Jr. Day 2025: a holiday, and in the past.
  const auto w = after_move("2025-01-20T15:00");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::holiday);
  EXPECT_EQ(w[1].kind, ChangeWarning::Kind::past);
}

TEST(ChangeWarnings, SilentForAnOrdinaryMoveAndForWhatDidNotMove) {
  EXPECT_TRUE(after_move("2027-02-11T15:00").empty());
  // The series has sessions in the past (September 2026) and mentoring shifts off
  // holidays by its policy: none of that is the change's doing.
  EXPECT_TRUE(change_warnings(defs(), defs(), {"power-hour", "mentoring"}, kNow, kWindow).empty());
}

TEST(ChangeWarnings, ASplitsNewSeriesIsCheckedSessionBySession) {
  // "power-hour" ends before March; its continuation meets at 15:30 for 90 minutes, seven
  // times, into a Wednesday talk at 16:30 on 7 and 14 April.
  const std::string talk = R"(, {"id": "talk", "title": "Wednesday Talk", "start": "2027-04-07T16:30",
      "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=WE;COUNT=2"})";
  Definitions before = defs("", talk);
  std::string split_series = talk + R"(, {"id": "power-hour-from-2027-03-01", "title": "Power Hour",
      "start": "2027-03-03T15:30", "duration": "PT90M", "rrule": "FREQ=WEEKLY;BYDAY=WE;COUNT=7",
      "continues": "power-hour"})";
  std::string text = kCommunity;
  text.replace(text.find("SERIES_EXTRA"), 12, split_series);
  text.replace(text.find("OVERRIDES"), 9, "");
  const std::string old_rule = "\"FREQ=WEEKLY;BYDAY=WE\"}";
  text.replace(text.find(old_rule), old_rule.size(), "\"FREQ=WEEKLY;BYDAY=WE;UNTIL=20270301T045959Z\"}");
  auto after = parse_definitions(text, "split.json", ".");
  ASSERT_TRUE(after.ok()) << after.diagnostics[0].to_string();
  const auto w = change_warnings(before, *after.definitions, {"power-hour", "power-hour-from-2027-03-01"}, kNow, kWindow);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].series, "power-hour-from-2027-03-01");
  EXPECT_EQ(format_local_minute(w[0].occurrence), "2027-04-07T15:30");
  EXPECT_EQ(w[0].kind, ChangeWarning::Kind::overlap);
  EXPECT_EQ(format_local_minute(w[1].occurrence), "2027-04-14T15:30");
}

}  // namespace
}  // namespace convene
