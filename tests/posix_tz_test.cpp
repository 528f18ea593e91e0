// POSIX TZ strings, the rule of a zone after its TZif file's last transition
// (scheduler/internal/posix_tz.h).
#include "internal/posix_tz.h"

#include <gtest/gtest.h>

namespace convene::time_internal {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Instant utc(const char* text) {
  return Instant{parse_local_minute(text)->time_since_epoch()};
}

TEST(PosixTz, ParsesNewYork) {
  auto tz = PosixTz::parse("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(tz.has_value());
  EXPECT_EQ(tz->std_offset, -hours{5});
  EXPECT_EQ(*tz->dst_offset, -hours{4});
  EXPECT_EQ(format_date(tz->start.day_in(2040)), "2040-03-11");  // second Sunday
  EXPECT_EQ(format_date(tz->end.day_in(2040)), "2040-11-04");    // first Sunday
  // 2040-03-11 02:00 EST is 07:00Z; 2040-11-04 02:00 EDT is 06:00Z.
  EXPECT_EQ(tz->offset_at(utc("2040-03-11T06:59")), -hours{5});
  EXPECT_EQ(tz->offset_at(utc("2040-03-11T07:00")), -hours{4});
  EXPECT_EQ(tz->offset_at(utc("2040-11-04T05:59")), -hours{4});
  EXPECT_EQ(tz->offset_at(utc("2040-11-04T06:00")), -hours{5});
}

TEST(PosixTz, SouthernHemisphereAndHalfHours) {
  // Lord Howe: +10:30, daylight +11 from the first Sunday of October to the first of April.
  auto tz = PosixTz::parse("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  ASSERT_TRUE(tz.has_value());
  EXPECT_EQ(tz->std_offset, hours{10} + minutes{30});
  EXPECT_EQ(*tz->dst_offset, hours{11});
  EXPECT_EQ(tz->offset_at(utc("2045-01-15T00:00")), hours{11});
  EXPECT_EQ(tz->offset_at(utc("2045-07-15T00:00")), hours{10} + minutes{30});
}

TEST(PosixTz, NegativeAndLateTransitionTimes) {
  // Santiago: daylight from the first Sunday on or after 2 September at 24:00 (the
  // clock says "M9.1.6/24": Saturday 24:00), to April's "M4.1.6/24".
  auto tz = PosixTz::parse("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  ASSERT_TRUE(tz.has_value());
  EXPECT_EQ(tz->start.time, hours{24});
  EXPECT_EQ(tz->offset_at(utc("2050-01-15T12:00")), -hours{3});
  EXPECT_EQ(tz->offset_at(utc("2050-06-15T12:00")), -hours{4});
}

TEST(PosixTz, JulianDays) {
  auto tz = PosixTz::parse("XXX3YYY,J60/2,300");
  ASSERT_TRUE(tz.has_value());
  EXPECT_EQ(format_date(tz->start.day_in(2040)), "2040-03-01");  // J60 skips 29 February
  EXPECT_EQ(format_date(tz->end.day_in(2040)), "2040-10-27");    // zero-based, leap counted
}

TEST(PosixTz, WithoutDaylightTime) {
  auto tz = PosixTz::parse("JST-9");
  ASSERT_TRUE(tz.has_value());
  EXPECT_FALSE(tz->dst_offset.has_value());
  EXPECT_EQ(tz->offset_at(utc("2050-07-01T00:00")), hours{9});
}

TEST(PosixTz, RejectsMalformed) {
  for (const char* bad : {"", "E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
                          "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J5",
                          "<EST5", "EST5EDT,M3.2.0,M11.1.0,x"}) {
    EXPECT_FALSE(PosixTz::parse(bad).has_value()) << bad;
  }
}

TEST(TzifFooter, IsTheTextBetweenTheLastNewlines) {
  EXPECT_EQ(tzif_footer(std::string("TZif2...\nEST5EDT,M3.2.0,M11.1.0\n")), "EST5EDT,M3.2.0,M11.1.0");
  EXPECT_EQ(tzif_footer("TZif1 no footer"), "");
  EXPECT_EQ(tzif_footer(std::string("TZif2...\n\n")), "");
}

}  // namespace
}  // namespace convene::time_internal
