#include "convene/change_warnings.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace convene {
namespace {

using Key = std::pair<std::string, LocalTime>;  // (series, occurrence id)

// The holidays of the calendars a series observes (its community's, then its own).
class HolidayLookup {
 public:
  explicit HolidayLookup(const Definitions& defs) : defs_(defs) {}

  const Holiday* on(const CommunityDef& community, const SeriesDef& series, LocalDay day) {
    const date::year year = date::year_month_day{day}.year();
    std::set<std::string> seen;
    for (const auto* ids : {&community.observes, &series.observes}) {
      for (const auto& id : *ids) {
        if (!seen.insert(id).second) continue;
        const CalendarDef* calendar = defs_.find_calendar(id);
        if (!calendar) continue;
        auto& list = cache_[{id, int(year)}];
        if (list.empty()) list = calendar->calendar.holidays(year, year);
        for (const auto& h : list)
          if (h.day == day) return &h;
      }
    }
    return nullptr;
  }

 private:
  const Definitions& defs_;
  std::map<std::pair<std::string, int>, std::vector<Holiday>> cache_;
};

std::string name_of(const Occurrence& o) { return o.series->id + " " + o.occurrence_id(); }

std::string where(const Occurrence& o) {
  return format_local_minute(*o.local_start) + " " + o.community->timezone;
}

}  // namespace

std::vector<ChangeWarning> change_warnings(const Definitions& before, const Definitions& after,
                                           const std::vector<std::string>& series, Instant now, Window window) {
  const std::set<std::string> changed(series.begin(), series.end());
  std::map<Key, Instant> old_starts;
  for (const auto& o : expand(before, window)) {
    if (o.start && changed.count(o.series->id)) old_starts[{o.series->id, o.original}] = *o.start;
  }
  const auto sessions = expand(after, window);
  // The live sessions by start, and the longest of them: the sessions that may overlap
  // one are those starting within that much before it, found by binary search.
  std::vector<const Occurrence*> live;
  Seconds longest{0};
  for (const auto& o : sessions) {
    if (!o.live()) continue;
    live.push_back(&o);
    longest = std::max(longest, Seconds{*o.end - *o.start});
  }
  std::stable_sort(live.begin(), live.end(), [](const Occurrence* a, const Occurrence* b) { return *a->start < *b->start; });
  HolidayLookup holidays(after);
  std::vector<ChangeWarning> out;
  for (const auto& o : sessions) {
    if (!o.live() || !changed.count(o.series->id)) continue;
    const auto old = old_starts.find({o.series->id, o.original});
    if (old != old_starts.end() && old->second == *o.start) continue;  // not moved by the change
    auto warn = [&](ChangeWarning::Kind kind, const std::string& message) {
      out.push_back({kind, o.series->id, o.original, *o.local_start, message});
    };
    const LocalDay day = date::floor<date::days>(*o.local_start);
    if (const Holiday* h = holidays.on(*o.community, *o.series, day)) {
      warn(ChangeWarning::Kind::holiday,
           name_of(o) + " now falls on " + h->name + " (" + h->calendar + "), " + format_date(day));
    }
    if (*o.start < now) {
      warn(ChangeWarning::Kind::past, name_of(o) + " now starts in the past, at " + where(o));
    }
    auto it = std::lower_bound(live.begin(), live.end(), *o.start - longest,
                               [](const Occurrence* a, Instant t) { return *a->start < t; });
    for (; it != live.end() && *(*it)->start < *o.end; ++it) {
      const Occurrence& other = **it;
      if (&other == &o || other.community != o.community || !(*o.start < *other.end)) continue;
      const bool same = other.series == o.series;
      warn(ChangeWarning::Kind::overlap,
           name_of(o) + " now overlaps " + (same ? "another session of the series" : "\"" + other.title() + "\"") +
               " (" + name_of(other) + ", " + where(other) + ")");
      break;
    }
  }
  return out;
}

}  // namespace convene
