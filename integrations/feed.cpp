#include "convene/feed.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>

#include "ical/builder.h"

namespace convene {

namespace {

using ical::add;
using ical::Component;
using ical::kFixedTzid;
using ical::make_vtimezone;
using ical::x_property;

}  // namespace

std::vector<std::pair<const CommunityDef*, const SeriesDef*>> select_series(
    const Definitions& definitions, const FeedSelection& selection) {
  std::vector<std::pair<const CommunityDef*, const SeriesDef*>> out;
  std::set<std::string_view> wanted(selection.series.begin(), selection.series.end());
  if (selection.kind == FeedSelection::Kind::series) {
    // The series and every series that continues it (convene split), transitively.
    wanted.insert(selection.id);
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& community : definitions.communities)
        for (const auto& series : community.series)
          if (series.continues && wanted.count(*series.continues) && wanted.insert(series.id).second) grew = true;
    }
  }
  for (const auto& community : definitions.communities) {
    for (const auto& series : community.series) {
      bool take = false;
      switch (selection.kind) {
        case FeedSelection::Kind::all: take = true; break;
        case FeedSelection::Kind::community: take = community.id == selection.id; break;
        case FeedSelection::Kind::series:
        case FeedSelection::Kind::list: take = wanted.count(series.id) > 0; break;
      }
      if (take) out.emplace_back(&community, &series);
    }
  }
  return out;
}

RenderedFeed render_feed(const Definitions& definitions, const FeedSelection& selection,
                         LocalDay horizon, const RevisionSource& revisions,
                         const FeedOptions& options) {
  RenderedFeed result;
  const auto selected = select_series(definitions, selection);
  if (selected.empty() && selection.kind != FeedSelection::Kind::all &&
      selection.kind != FeedSelection::Kind::list) {
    result.error = std::string(selection.kind == FeedSelection::Kind::community ? "community"
                                                                                : "series") +
                   " \"" + selection.id + "\" is not in " + definitions.source;
    return result;
  }
  std::vector<ical::SeriesPlan> plans;
  plans.reserve(selected.size());
  try {
    for (const auto& [community, series] : selected)
      plans.push_back(ical::plan_series(definitions, *community, *series, horizon));
  } catch (const Error& e) {
    result.error = e.what();
    return result;
  }

  Component calendar{icalcomponent_new_vcalendar()};
  icalcomponent* cal = calendar.get();
  add(cal, icalproperty_new_prodid(options.prodid.c_str()));
  add(cal, icalproperty_new_version("2.0"));
  add(cal, icalproperty_new_calscale("GREGORIAN"));
  add(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
  if (!options.name.empty()) {
    add(cal, icalproperty_new_name(options.name.c_str()));
    add(cal, x_property("X-WR-CALNAME", options.name));
  }
  if (!options.description.empty()) add(cal, x_property("X-WR-CALDESC", options.description));
  // X-WR-TIMEZONE, the zone of the first series (UTC for a feed with none), in every feed.
  // Readers that honour it (Google's convention; python's x-wr-timezone, which
  // recurring-ical-events applies) rewrite every UTC ("...Z") and floating DTSTART,
  // DTEND, RDATE, EXDATE and RECURRENCE-ID as a wall time of that zone. That keeps the
  // instant, but recurring-ical-events 2.0 then re-localises each start from its wall
  // time with pytz's default is_dst=False, so a UTC start in the first hour of a
  // fall-back overlap (New York 2026-11-01 05:30Z = 01:30 EDT) became 01:30 EST, an hour
  // late; a Berlin or Lord Howe session in UTC can land in New York's overlap just the
  // same. So the feed writes no event time in UTC: wall times carry the community's
  // TZID, and sessions at a zone edge (gap, overlap, offset change) carry TZID=Etc/GMT,
  // a zone with offset 0 whose VTIMEZONE the feed includes. Zoned (TZID) values are
  // outside the X-WR-TIMEZONE convention, so every reader reads the same instants,
  // with or without it (RRULE UNTIL stays UTC, as RFC 5545 requires; no reader
  // rewrites it).
  add(cal, x_property("X-WR-TIMEZONE", selected.empty() ? std::string("UTC") : selected.front().first->timezone));
  {
    icalproperty* p = icalproperty_new_refreshinterval(
        icaldurationtype_from_int(int(options.refresh_interval.count())));
    icalproperty_add_parameter(p, icalparameter_new_value(ICAL_VALUE_DURATION));
    add(cal, p);
    add(cal, x_property("X-PUBLISHED-TTL", format_duration(options.refresh_interval)));
  }

  // One VTIMEZONE per zone, spanning every local time any of its series mentions.
  std::map<std::string, std::pair<LocalTime, LocalTime>> spans;
  std::vector<std::string> zone_order;
  for (const auto& plan : plans) {
    auto [it, inserted] = spans.emplace(plan.community->timezone,
                                        std::make_pair(plan.earliest, plan.latest));
    if (inserted) {
      zone_order.push_back(plan.community->timezone);
    } else {
      it->second.first = std::min(it->second.first, plan.earliest);
      it->second.second = std::max(it->second.second, plan.latest);
    }
  }
  for (const auto& tzid : zone_order) {
    const auto* zone = find_zone(tzid);
    icalcomponent_add_component(
        cal, make_vtimezone(zone, tzid, spans[tzid].first, spans[tzid].second));
  }
  // Etc/GMT, when a session at a zone edge uses it (and no community already named it).
  // The events are built by the one event builder (convene/ical.h), as invitations are.
  EventOptions event_options;
  event_options.uid_domain = options.uid_domain;
  event_options.reminders = options.reminders;
  bool fixed_used = false;
  for (const auto& plan : plans) fixed_used = fixed_used || ical::uses_fixed_zone(plan, revisions, event_options, options.expanded);
  if (fixed_used && !spans.count(kFixedTzid)) {
    const LocalTime epoch{date::sys_days{date::year{1970} / 1 / 1}.time_since_epoch()};
    icalcomponent_add_component(cal, make_vtimezone(find_zone(kFixedTzid), kFixedTzid, epoch, epoch));
  }

  for (const auto& plan : plans) {
    if (options.expanded) {
      ical::render_expanded(plan, revisions, event_options, cal, result.events, &result.dropped);
    } else {
      ical::render_recurring(plan, revisions, event_options, cal, result.events, &result.dropped);
    }
  }
  result.ics = ical::to_text(cal);
  return result;
}

std::string vtimezone_text(const date::time_zone* zone, LocalTime from, LocalTime to) {
  Component vtz{make_vtimezone(zone, zone->name(), from, to)};
  return ical::to_text(vtz.get());
}

}  // namespace convene
