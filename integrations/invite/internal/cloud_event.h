// A series as calendar APIs take it, read from the one event builder's VCALENDAR
// (convene/ical.h), so a Google or Graph event can never disagree with the feed: the
// master's times, text and recurrence lines, and each RECURRENCE-ID override.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "convene/ical.h"
#include "convene/time.h"

namespace convene::cloud {

struct CloudEvent {
  std::string summary, description, location;
  std::string timezone;              // the TZID (IANA)
  LocalTime start{}, end{};          // wall times in `timezone`
  Instant start_utc{}, end_utc{};
  bool cancelled = false;
  std::optional<LocalTime> recurrence_id;  // an override: its original start
  Instant original_utc{};                  // an override: the original start, as an instant
};

struct CloudSeries {
  std::string uid;
  CloudEvent master;
  // "RRULE:FREQ=WEEKLY;..." , "EXDATE;TZID=America/New_York:20261123T160000", "RDATE;..."
  std::vector<std::string> recurrence;
  std::optional<std::string> rrule;        // the RRULE's value alone
  std::vector<LocalTime> rdates, exdates;  // wall times in the master's zone
  std::vector<CloudEvent> overrides;       // by original start
  std::vector<Attendee> attendees;

  const CloudEvent* override_at(LocalTime original) const;
  // The instance at `original` as the rule alone makes it (the master's text and length).
  CloudEvent plain_instance(LocalTime original) const;
};

// Reads `ics` (series_calendar's stored form); nullopt with `error` when it is not one series.
std::optional<CloudSeries> read_cloud_series(const std::string& ics, std::string& error);

// "20260914T200000Z"
std::string utc_basic(Instant at);
// "2026-09-14T16:00:00" (a wall time, no offset)
std::string local_iso(LocalTime local);

}  // namespace convene::cloud
