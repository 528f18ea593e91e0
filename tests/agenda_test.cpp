// convene/agenda.h: the sessions of every series in the viewer's zone and window.
#include "convene/agenda.h"

#include <gtest/gtest.h>

namespace convene {
namespace {

// A community in New York meeting Mondays at 16:00 (skipped on DC holidays) and one in
// Tokyo meeting Tuesdays at 09:00: the same instant as Monday 16:00 in Los Angeles.
Definitions two_communities() {
  auto loaded = parse_definitions(R"({
    "calendars": {"dc": {"builtin": "us-dc"}},
    "communities": [
      {"id": "nurses", "name": "School Nurses", "timezone": "America/New_York", "observes": ["dc"],
       "series": [{"id": "mentoring", "title": "Mentoring Monday", "start": "2027-01-04T16:00",
                   "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=MO", "on_holiday": "skip"}]},
      {"id": "tokyo", "name": "Tokyo Circle", "timezone": "Asia/Tokyo",
       "series": [{"id": "circle", "title": "Circle", "start": "2027-01-05T09:00",
                   "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=TU"}]}
    ]})",
                                  "agenda.json", ".");
  EXPECT_TRUE(loaded.ok());
  return *loaded.definitions;
}

AgendaQuery query(const char* from, const char* to, const char* zone) {
  return {*parse_date(from), *parse_date(to), find_zone(zone), std::nullopt, std::nullopt};
}

std::vector<std::string> ids(const Agenda& a) {
  std::vector<std::string> out;
  for (const auto& e : a.entries) out.push_back(e.occurrence.series->id + " " + e.occurrence.occurrence_id());
  return out;
}

TEST(Agenda, EachViewerSeesSessionsOnTheirOwnDays) {
  const Definitions defs = two_communities();
  // Los Angeles, Monday 1 February: New York's 16:00 (13:00 here) and Tokyo's Tuesday
  // 09:00 (16:00 here, still Monday).
  EXPECT_EQ(ids(agenda(defs, query("2027-02-01", "2027-02-01", "America/Los_Angeles"))),
            (std::vector<std::string>{"mentoring 2027-02-01T16:00", "circle 2027-02-02T09:00"}));
  // Tokyo, Monday 1 February: nothing (New York's Monday is Tuesday 06:00 here).
  EXPECT_TRUE(agenda(defs, query("2027-02-01", "2027-02-01", "Asia/Tokyo")).entries.empty());
  // Tokyo, Tuesday 2 February: both, New York's first.
  const Agenda tokyo = agenda(defs, query("2027-02-02", "2027-02-02", "Asia/Tokyo"));
  EXPECT_EQ(ids(tokyo), (std::vector<std::string>{"mentoring 2027-02-01T16:00", "circle 2027-02-02T09:00"}));
  EXPECT_EQ(format_rfc3339(tokyo.entries[0].at, find_zone("Asia/Tokyo")), "2027-02-02T06:00:00+09:00");
}

TEST(Agenda, ASkippedSessionIsPlacedWhereItWouldHaveBeen) {
  const Definitions defs = two_communities();
  // Monday 15 February in New York: Washington's Birthday skips Mentoring Monday; Tokyo's
  // Tuesday 09:00 is 19:00 here.
  const Agenda a = agenda(defs, query("2027-02-15", "2027-02-15", "America/New_York"));
  ASSERT_EQ(a.entries.size(), 2u);
  EXPECT_EQ(a.entries[1].occurrence.series->id, "circle");
  EXPECT_EQ(a.entries[0].occurrence.status, OccurrenceStatus::skipped);
  EXPECT_NE(a.entries[0].occurrence.reason.find("Washington's Birthday"), std::string::npos);
  EXPECT_EQ(format_rfc3339(a.entries[0].at, find_zone("UTC")), "2027-02-15T21:00:00+00:00");
}

TEST(Agenda, InTimeOrderAcrossCommunities) {
  const Definitions defs = two_communities();
  const Agenda a = agenda(defs, query("2027-02-01", "2027-02-14", "UTC"));
  ASSERT_EQ(a.entries.size(), 4u);
  for (std::size_t i = 1; i < a.entries.size(); ++i) EXPECT_LE(a.entries[i - 1].at, a.entries[i].at);
  // Monday 21:00Z in New York, then Tuesday 00:00Z in Tokyo.
  EXPECT_EQ(ids(a), (std::vector<std::string>{"mentoring 2027-02-01T16:00", "circle 2027-02-02T09:00",
                                              "mentoring 2027-02-08T16:00", "circle 2027-02-09T09:00"}));
}

TEST(Agenda, FiltersByCommunityAndSeries) {
  const Definitions defs = two_communities();
  AgendaQuery q = query("2027-02-01", "2027-02-14", "UTC");
  q.community = "tokyo";
  EXPECT_EQ(ids(agenda(defs, q)), (std::vector<std::string>{"circle 2027-02-02T09:00", "circle 2027-02-09T09:00"}));
  q.community.reset();
  q.series = std::vector<std::string>{"mentoring"};
  EXPECT_EQ(ids(agenda(defs, q)),
            (std::vector<std::string>{"mentoring 2027-02-01T16:00", "mentoring 2027-02-08T16:00"}));
  q.series = std::vector<std::string>{};
  EXPECT_TRUE(agenda(defs, q).entries.empty());
}

TEST(Agenda, RefusesAReversedWindowOrNoZone) {
  const Definitions defs = two_communities();
  EXPECT_THROW(agenda(defs, query("2027-02-14", "2027-02-01", "UTC")), Error);
  AgendaQuery q = query("2027-02-01", "2027-02-14", "UTC");
  q.zone = nullptr;
  EXPECT_THROW(agenda(defs, q), Error);
}

}  // namespace
}  // namespace convene
