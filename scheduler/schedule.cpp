#include "convene/schedule.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace convene {

namespace {

// Occurrences up to this many days outside the window are expanded too: a holiday
// policy moves a session by at most kMaxBusinessDaySearch days (or 4 weeks), so one
// from just outside may land inside, or block a shift inside.
constexpr date::days kOriginMargin{kMaxBusinessDaySearch + 9};
// The holiday index must answer for every day a policy may look at from there.
constexpr date::days kIndexMargin{kOriginMargin.count() + kMaxBusinessDaySearch + 7};

std::string holiday_label(const Holiday& holiday) {
  return holiday.name + " (" + holiday.calendar + ")";
}

// The calendars a series observes: its community's, then its own, without repeats.
std::vector<const HolidayCalendar*> observed_calendars(const Definitions& defs,
                                                       const CommunityDef& community,
                                                       const SeriesDef& series) {
  std::vector<const HolidayCalendar*> out;
  std::unordered_set<std::string_view> seen;
  auto add = [&](const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      if (!seen.insert(id).second) continue;
      if (const CalendarDef* def = defs.find_calendar(id)) out.push_back(&def->calendar);
    }
  };
  add(community.observes);
  add(series.observes);
  return out;
}

std::string calendars_key(const std::vector<const HolidayCalendar*>& calendars) {
  std::string key;
  for (const auto* c : calendars) {
    key += c->id();
    key += '\n';
  }
  return key;
}

// Why a policy put an occurrence where it did ("moved to the following business day").
std::string shift_phrase(HolidayPolicy policy, LocalDay from, LocalDay to) {
  const bool later = to > from;
  switch (policy) {
    case HolidayPolicy::following:
      return "moved to the following business day";
    case HolidayPolicy::preceding:
      return "moved to the preceding business day";
    case HolidayPolicy::modified_following:
      return later ? "moved to the following business day"
                   : "moved to the preceding business day (the following one is in another month)";
    case HolidayPolicy::modified_preceding:
      return later ? "moved to the following business day (the preceding one is in another month)"
                   : "moved to the preceding business day";
    case HolidayPolicy::nearest:
      return later ? "moved to the nearest business day (the following one)"
                   : "moved to the nearest business day (the preceding one)";
    case HolidayPolicy::next_week: {
      const auto weeks = (to - from).count() / 7;
      return weeks == 1 ? "moved to the same weekday one week later"
                        : "moved to the same weekday " + std::to_string(weeks) + " weeks later";
    }
    case HolidayPolicy::skip:
    case HolidayPolicy::keep:
      break;
  }
  return "moved";
}

std::string no_target_phrase(HolidayPolicy policy) {
  if (policy == HolidayPolicy::next_week)
    return "skipped: no week within " + std::to_string(kMaxNextWeekSearch) +
           " without a holiday on that weekday";
  return "skipped: no business day within " + std::to_string(kMaxBusinessDaySearch) + " days";
}

std::string override_path(const Definitions& defs, const OverrideDef& o) {
  return defs.source + ": /overrides/" + std::to_string(&o - defs.overrides.data());
}

// Shared state for one expansion: holiday indexes by calendar set, overrides by series.
class Expander {
 public:
  Expander(const Definitions& defs, Window window) : defs_(defs), window_(window) {
    for (const auto& o : defs.overrides) overrides_[o.series].push_back(&o);
  }

  void expand_series(const CommunityDef& community, const SeriesDef& series,
                     std::vector<Occurrence>& out);

  const HolidayIndex& index_for(const std::vector<const HolidayCalendar*>& calendars) {
    auto key = calendars_key(calendars);
    auto it = indexes_.find(key);
    if (it == indexes_.end()) {
      it = indexes_
               .emplace(std::move(key), HolidayIndex(calendars, window_.from - kIndexMargin,
                                                     window_.to + kIndexMargin))
               .first;
    }
    return it->second;
  }

 private:
  const Definitions& defs_;
  Window window_;
  std::unordered_map<std::string, HolidayIndex> indexes_;
  std::unordered_map<std::string_view, std::vector<const OverrideDef*>> overrides_;
};

// Does the series have an occurrence whose original start is `t`? (rule, DTSTART or
// `add`, and not in `except`)
bool has_original(const CommunityDef& community, const SeriesDef& series, LocalTime t) {
  if (std::find(series.except.begin(), series.except.end(), t) != series.except.end())
    return false;
  if (t == series.start) return true;
  if (std::find(series.add.begin(), series.add.end(), t) != series.add.end()) return true;
  if (!series.rrule || t < series.start) return false;
  RecurrenceIterator it(*series.rrule, series.start, community.zone);
  it.seek(t);
  auto next = it.next();
  return next && *next == t;
}

// The originals of a series nearest to `t`, for an error message.
std::string nearest_originals(const CommunityDef& community, const SeriesDef& series,
                              LocalTime t) {
  const auto day = date::floor<date::days>(t);
  std::vector<LocalTime> near;
  if (series.rrule) {
    near = expand_between(*series.rrule, series.start, community.zone,
                          LocalTime{day - date::days{62}}, LocalTime{day + date::days{62}}, 1000);
  } else {
    near.push_back(series.start);
  }
  for (auto a : series.add) near.push_back(a);
  std::sort(near.begin(), near.end());
  auto pos = std::lower_bound(near.begin(), near.end(), t);
  std::string text;
  if (pos != near.begin()) text += format_local_minute(*std::prev(pos));
  if (pos != near.end()) {
    if (!text.empty()) text += " and ";
    text += format_local_minute(*pos);
  }
  return text.empty() ? "" : " (the nearest are " + text + ")";
}

void Expander::expand_series(const CommunityDef& community, const SeriesDef& series,
                             std::vector<Occurrence>& out) {
  const date::time_zone* zone = community.zone;
  const LocalTime range_from{window_.from - kOriginMargin};
  const LocalTime range_to{window_.to + kOriginMargin + date::days{1} - Seconds{1}};
  const LocalTime window_begin{window_.from};
  const LocalTime window_end{window_.to + date::days{1}};  // exclusive

  // 1. Originals: DTSTART first, the rule, `add`; minus `except`.
  std::vector<LocalTime> originals;
  std::size_t in_window = 0;
  auto too_many = [&] {
    return TooManyOccurrencesError(
        "series \"" + series.id + "\" has more than " + std::to_string(kMaxOccurrencesPerSeries) +
        " occurrences between " + format_date(window_.from) + " and " + format_date(window_.to) +
        " (rule " + series.rrule_text.value_or("") + "); choose a shorter window");
  };
  auto take = [&](LocalTime t) {
    originals.push_back(t);
    if (t >= window_begin && t < window_end && ++in_window > kMaxOccurrencesPerSeries)
      throw too_many();
    // The margins alone may hold many instances of a very frequent rule: bound them too.
    if (originals.size() > 4 * kMaxOccurrencesPerSeries) throw too_many();
  };
  if (series.rrule) {
    RecurrenceIterator it(*series.rrule, series.start, zone);
    if (range_from > series.start) it.seek(range_from);
    while (auto t = it.next()) {
      if (*t > range_to) break;
      if (*t >= range_from) take(*t);
    }
  } else if (series.start >= range_from && series.start <= range_to) {
    take(series.start);
  }
  bool sorted = true;
  for (LocalTime a : series.add) {
    if (a >= range_from && a <= range_to) {
      take(a);
      sorted = false;
    }
  }
  if (!sorted) {
    std::sort(originals.begin(), originals.end());
    originals.erase(std::unique(originals.begin(), originals.end()), originals.end());
  }
  if (!series.except.empty()) {
    std::erase_if(originals, [&](LocalTime t) {
      return std::find(series.except.begin(), series.except.end(), t) != series.except.end();
    });
  }

  // 2. The holiday policy.
  const auto calendars = observed_calendars(defs_, community, series);
  const HolidayIndex& holidays = index_for(calendars);
  auto is_holiday = [&holidays](LocalDay d) { return holidays.find(d) != nullptr; };

  struct Item {
    LocalTime original;
    LocalTime target;
    OccurrenceStatus status;
    const Holiday* holiday;
    std::string reason;
  };
  std::vector<Item> items;
  items.reserve(originals.size());
  std::vector<std::size_t> shifted;  // indexes into items, chronological
  std::set<LocalTime> held;
  for (LocalTime t : originals) {
    const LocalDay day = date::floor<date::days>(t);
    const Holiday* holiday = holidays.find(day);
    Item item{t, t, OccurrenceStatus::scheduled, holiday, {}};
    if (holiday) {
      const std::string label = holiday_label(*holiday);
      if (series.on_holiday == HolidayPolicy::keep) {
        item.reason = label + ": kept on the holiday";
      } else if (series.on_holiday == HolidayPolicy::skip) {
        item.status = OccurrenceStatus::skipped;
        item.reason = label + ": skipped";
      } else if (auto to = adjust(day, series.on_holiday, community.workweek, is_holiday)) {
        item.status = OccurrenceStatus::shifted;
        item.target = LocalTime{*to} + (t - LocalTime{day});
        item.reason = label + ": " + shift_phrase(series.on_holiday, day, *to);
        shifted.push_back(items.size());
      } else {
        item.status = OccurrenceStatus::skipped;
        item.reason = label + ": " + no_target_phrase(series.on_holiday);
      }
    }
    if (item.status == OccurrenceStatus::scheduled) held.insert(t);
    items.push_back(std::move(item));
  }
  // Shifted ones take their new starts after every unshifted one holds its own, in
  // chronological order; a start already held is not doubled.
  for (std::size_t i : shifted) {
    Item& item = items[i];
    if (!held.insert(item.target).second) {
      item.status = OccurrenceStatus::skipped;
      item.reason = holiday_label(*item.holiday) + ": skipped: " +
                    format_day_long(date::floor<date::days>(item.target)) + " at " +
                    format_local_minute(item.target).substr(11) +
                    " already has a session of this series";
    }
  }

  // 3. Overrides.
  std::map<LocalTime, const OverrideDef*> overrides;
  if (auto it = overrides_.find(series.id); it != overrides_.end()) {
    for (const OverrideDef* o : it->second) overrides[o->occurrence] = o;
  }
  auto find_item = [&](LocalTime original) -> Item* {
    auto pos = std::lower_bound(items.begin(), items.end(), original,
                                [](const Item& a, LocalTime b) { return a.original < b; });
    return pos != items.end() && pos->original == original ? &*pos : nullptr;
  };
  std::vector<std::pair<Item, const OverrideDef*>> outside;  // originals outside the range
  outside.reserve(overrides.size());
  std::vector<Item*> moved;
  for (const auto& [original, o] : overrides) {
    Item* item = find_item(original);
    if (!item) {
      if (!has_original(community, series, original)) {
        throw UnknownOccurrenceError(override_path(defs_, *o) + ": series \"" + series.id +
                                     "\" has no occurrence at " + format_local_minute(original) +
                                     nearest_originals(community, series, original));
      }
      // An occurrence far from the window matters only if it is moved into it.
      if (!o->move_to || o->cancel) continue;
      outside.push_back({Item{original, original, OccurrenceStatus::scheduled, nullptr, {}}, o});
      item = &outside.back().first;
    }
    const bool was_live = item->status != OccurrenceStatus::skipped;
    if (o->cancel) {
      if (was_live) held.erase(item->target);
      item->status = OccurrenceStatus::cancelled;
      item->reason = o->reason ? *o->reason : "cancelled";
    } else if (o->move_to) {
      if (was_live) held.erase(item->target);
      item->status = OccurrenceStatus::moved;
      item->target = *o->move_to;
      item->reason = o->reason ? *o->reason : "moved";
      moved.push_back(item);
    }
  }
  // Moves take their starts once every cancel and move has released its old one.
  for (Item* item : moved) {
    if (!held.insert(item->target).second) {
      const OverrideDef* o = overrides.at(item->original);
      throw OverlapError(override_path(defs_, *o) + ": moving " + series.id + " " +
                         format_local_minute(item->original) + " to " +
                         format_local_minute(item->target) +
                         " would double a session of the series already held at that time");
    }
  }

  // 4. Instants, and the window.
  ZoneResolver resolver(zone);
  auto emit = [&](Item& item, const OverrideDef* o) {
    const bool live = item.status != OccurrenceStatus::skipped &&
                      item.status != OccurrenceStatus::cancelled;
    const LocalTime shown = live ? item.target : item.original;
    if (shown < window_begin || shown >= window_end) return;
    Occurrence occ;
    occ.community = &community;
    occ.series = &series;
    occ.original = item.original;
    occ.status = item.status;
    if (live) {
      occ.local_start = item.target;
      occ.start = resolver.resolve(item.target);
      occ.end = *occ.start + (o && o->duration ? *o->duration : series.duration);
    }
    if (item.holiday) occ.holiday = *item.holiday;
    occ.reason = std::move(item.reason);
    occ.override_def = o;
    out.push_back(std::move(occ));
  };
  for (Item& item : items) {
    auto o = overrides.find(item.original);
    emit(item, o == overrides.end() ? nullptr : o->second);
  }
  for (auto& [item, o] : outside) emit(item, o);
}

}  // namespace

std::string_view to_string(OccurrenceStatus status) {
  switch (status) {
    case OccurrenceStatus::scheduled: return "scheduled";
    case OccurrenceStatus::shifted: return "shifted";
    case OccurrenceStatus::moved: return "moved";
    case OccurrenceStatus::skipped: return "skipped";
    case OccurrenceStatus::cancelled: return "cancelled";
  }
  return "scheduled";
}

const std::string& Occurrence::title() const {
  if (override_def && override_def->title) return *override_def->title;
  return series->title;
}

std::vector<Occurrence> expand(const Definitions& definitions, Window window,
                               const ExpandOptions& options) {
  if (window.to < window.from) {
    throw Error("the window ends (" + format_date(window.to) + ") before it starts (" +
                format_date(window.from) + ")");
  }
  Expander expander(definitions, window);
  std::vector<Occurrence> out;
  struct Key {
    Instant at;
    std::size_t community, series;
  };
  std::vector<std::pair<Key, std::size_t>> order;
  bool found = !options.series.has_value();
  for (std::size_t c = 0; c < definitions.communities.size(); ++c) {
    const CommunityDef& community = definitions.communities[c];
    if (options.community && community.id != *options.community) continue;
    for (std::size_t s = 0; s < community.series.size(); ++s) {
      const SeriesDef& series = community.series[s];
      if (options.series && series.id != *options.series) continue;
      found = true;
      const std::size_t first = out.size();
      expander.expand_series(community, series, out);
      ZoneResolver resolver(community.zone);
      for (std::size_t i = first; i < out.size(); ++i) {
        const Occurrence& o = out[i];
        order.push_back({Key{o.start ? *o.start : resolver.resolve(o.original), c, s}, i});
      }
    }
  }
  if (!found) throw Error("no series \"" + *options.series + "\" in " + definitions.source);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first.at != b.first.at) return a.first.at < b.first.at;
    if (a.first.community != b.first.community) return a.first.community < b.first.community;
    return a.first.series < b.first.series;
  });
  std::vector<Occurrence> sorted;
  sorted.reserve(out.size());
  for (const auto& entry : order) sorted.push_back(std::move(out[entry.second]));
  return sorted;
}

std::vector<Diagnostic> validate_schedule(const Definitions& definitions) {
  std::vector<Diagnostic> found;
  auto report = [&](Diagnostic::Severity severity, std::string where, std::string message) {
    found.push_back(Diagnostic{severity, std::move(where), std::move(message)});
  };
  for (std::size_t c = 0; c < definitions.communities.size(); ++c) {
    const CommunityDef& community = definitions.communities[c];
    for (std::size_t s = 0; s < community.series.size(); ++s) {
      const SeriesDef& series = community.series[s];
      const std::string path = definitions.source + ": /communities/" + std::to_string(c) +
                               "/series/" + std::to_string(s);
      if (series.rrule) {
        RecurrenceIterator it(*series.rrule, series.start, community.zone);
        it.next();  // DTSTART, always the first instance
        if (!it.next()) {
          report(Diagnostic::Severity::warning, path + "/rrule",
                 "the rule \"" + series.rrule_text.value_or("") +
                     "\" produces no occurrence after the start " +
                     format_local_minute(series.start));
        }
      }
      for (std::size_t e = 0; e < series.except.size(); ++e) {
        LocalTime t = series.except[e];
        auto probe = series;
        probe.except.clear();
        if (!has_original(community, probe, t)) {
          report(Diagnostic::Severity::warning, path + "/except/" + std::to_string(e),
                 format_local_minute(t) + " is not an occurrence of the series, so excepting it "
                                          "changes nothing" +
                     nearest_originals(community, series, t));
        }
      }
    }
  }
  for (const OverrideDef& o : definitions.overrides) {
    auto [community, series] = definitions.find_series(o.series);
    if (!series) continue;  // reported by the loader
    const std::string path = override_path(definitions, o);
    if (!has_original(*community, *series, o.occurrence)) {
      report(Diagnostic::Severity::error, path + "/occurrence",
             "series \"" + series->id + "\" has no occurrence at " +
                 format_local_minute(o.occurrence) +
                 nearest_originals(*community, *series, o.occurrence));
      continue;
    }
    if (!o.move_to || o.cancel) continue;
    const LocalDay target_day = date::floor<date::days>(*o.move_to);
    const auto calendars = observed_calendars(definitions, *community, *series);
    HolidayIndex index(calendars, target_day, target_day);
    if (const Holiday* h = index.find(target_day)) {
      report(Diagnostic::Severity::warning, path + "/move_to",
             "moves " + series->id + " " + format_local_minute(o.occurrence) + " onto " +
                 holiday_label(*h) + ", " + format_day_long(target_day));
    }
    // A move onto a start the series already holds would double a session.
    ExpandOptions only;
    only.series = series->id;
    Definitions single = definitions;
    std::erase_if(single.overrides, [&](const OverrideDef& other) { return other.series != o.series; });
    try {
      for (const Occurrence& occ : expand(single, Window{target_day, target_day}, only)) {
        if (occ.live() && occ.original != o.occurrence && occ.local_start == o.move_to) {
          report(Diagnostic::Severity::error, path + "/move_to",
                 "moves " + series->id + " " + format_local_minute(o.occurrence) + " onto " +
                     format_local_minute(*o.move_to) + ", which the occurrence " +
                     occ.occurrence_id() + " already holds");
        }
      }
    } catch (const OverlapError& e) {
      report(Diagnostic::Severity::error, path + "/move_to", e.what());
    } catch (const Error&) {
      // Reported for its own override.
    }
  }
  return found;
}

}  // namespace convene
