#include "convene/schedule.h"

#include <algorithm>
#include <cstdint>
#include <deque>
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

// Why an item is where it is; the text is written only for the items emitted.
enum class Why : std::uint8_t { none, kept, skipped, shifted, no_target, blocked, override_def };

// One original occurrence of a series on its way through the policy and the overrides.
struct Item {
  LocalTime original;
  LocalTime target;
  OccurrenceStatus status;
  Why why;
  const Holiday* holiday;
  const OverrideDef* override_def;
};

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
  std::vector<Item> items_;  // scratch, reused across series
  std::deque<Holiday> holidays_found_;  // what items_ point at (a deque: pointers stay valid)

 public:
  // The sort key of each occurrence emitted, in emission order: its start instant (the
  // original start's for skipped and cancelled ones).
  std::vector<Instant> keys_;
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

  // 1. Originals (DTSTART first, the rule, `add`; minus `except`), straight into items
  //    in chronological order, and 2. the holiday policy for each.
  const auto calendars = observed_calendars(defs_, community, series);
  const HolidayIndex& holidays = index_for(calendars);
  auto is_holiday = [&holidays](LocalDay d) { return holidays.contains(d); };

  std::vector<Item>& items = items_;
  items.clear();
  holidays_found_.clear();
  std::size_t in_window = 0;
  std::size_t shifted_count = 0;
  auto too_many = [&] {
    return TooManyOccurrencesError(
        "series \"" + series.id + "\" has more than " + std::to_string(kMaxOccurrencesPerSeries) +
        " occurrences between " + format_date(window_.from) + " and " + format_date(window_.to) +
        " (rule " + series.rrule_text.value_or("") + "); choose a shorter window");
  };
  auto take = [&](LocalTime t) {
    if (t >= window_begin && t < window_end && ++in_window > kMaxOccurrencesPerSeries)
      throw too_many();
    // The margins alone may hold many instances of a very frequent rule: bound them too.
    if (items.size() >= 4 * kMaxOccurrencesPerSeries) throw too_many();
    const LocalDay day = date::floor<date::days>(t);
    const Holiday* holiday = nullptr;
    if (auto found = holidays.find(day)) holiday = &holidays_found_.emplace_back(std::move(*found));
    Item& item = items.emplace_back(Item{t, t, OccurrenceStatus::scheduled, Why::none, holiday, nullptr});
    if (!holiday) return;
    if (series.on_holiday == HolidayPolicy::keep) {
      item.why = Why::kept;
    } else if (series.on_holiday == HolidayPolicy::skip) {
      item.status = OccurrenceStatus::skipped;
      item.why = Why::skipped;
    } else if (auto to = adjust(day, series.on_holiday, community.workweek, is_holiday)) {
      item.status = OccurrenceStatus::shifted;
      item.why = Why::shifted;
      item.target = LocalTime{*to} + (t - LocalTime{day});
      ++shifted_count;
    } else {
      item.status = OccurrenceStatus::skipped;
      item.why = Why::no_target;
    }
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
    auto by_original = [](const Item& x, const Item& y) { return x.original < y.original; };
    std::stable_sort(items.begin(), items.end(), by_original);
    items.erase(std::unique(items.begin(), items.end(),
                            [](const Item& x, const Item& y) { return x.original == y.original; }),
                items.end());
  }
  if (!series.except.empty()) {
    std::erase_if(items, [&](const Item& item) {
      const bool gone = std::find(series.except.begin(), series.except.end(), item.original) !=
                        series.except.end();
      if (gone && item.status == OccurrenceStatus::shifted) --shifted_count;
      return gone;
    });
  }

  auto find_item = [&](LocalTime original) -> Item* {
    auto pos = std::lower_bound(items.begin(), items.end(), original,
                                [](const Item& a, LocalTime b) { return a.original < b; });
    return pos != items.end() && pos->original == original ? &*pos : nullptr;
  };
  // The starts the series holds: every item still at its own start (found by a binary
  // search of the originals, no set needed), plus `taken`: the new starts of shifted
  // and moved items.
  std::set<LocalTime> taken;
  auto held = [&](LocalTime t) {
    if (const Item* at = find_item(t); at && at->status == OccurrenceStatus::scheduled) return true;
    return taken.count(t) > 0;
  };
  // Shifted ones take their new starts after every unshifted one holds its own, in
  // chronological order; a start already held is not doubled.
  if (shifted_count > 0) {
    for (Item& item : items) {
      if (item.status != OccurrenceStatus::shifted) continue;
      if (held(item.target)) {
        item.status = OccurrenceStatus::skipped;
        item.why = Why::blocked;
      } else {
        taken.insert(item.target);
      }
    }
  }

  // 3. Overrides.
  std::vector<Item> outside;  // originals outside the range, moved into it
  if (auto found = overrides_.find(series.id); found != overrides_.end()) {
    std::vector<const OverrideDef*> mine = found->second;
    std::sort(mine.begin(), mine.end(),
              [](const OverrideDef* a, const OverrideDef* b) { return a->occurrence < b->occurrence; });
    outside.reserve(mine.size());
    std::vector<Item*> moved;
    for (const OverrideDef* o : mine) {
      Item* item = find_item(o->occurrence);
      if (!item) {
        if (!has_original(community, series, o->occurrence)) {
          throw UnknownOccurrenceError(override_path(defs_, *o) + ": series \"" + series.id +
                                       "\" has no occurrence at " +
                                       format_local_minute(o->occurrence) +
                                       nearest_originals(community, series, o->occurrence));
        }
        // An occurrence far from the window matters only if it is moved into it.
        if (!o->move_to || o->cancel) continue;
        outside.push_back(Item{o->occurrence, o->occurrence, OccurrenceStatus::scheduled,
                               Why::none, nullptr, nullptr});
        item = &outside.back();
      }
      item->override_def = o;
      if (!o->cancel && !o->move_to) continue;  // an edit: title, description, ...
      if (item->status == OccurrenceStatus::shifted) taken.erase(item->target);
      item->why = Why::override_def;
      if (o->cancel) {
        item->status = OccurrenceStatus::cancelled;
      } else {
        item->status = OccurrenceStatus::moved;
        item->target = *o->move_to;
        moved.push_back(item);
      }
    }
    // Moves take their starts once every cancel and move has released its old one.
    for (Item* item : moved) {
      if (held(item->target) || !taken.insert(item->target).second) {
        throw OverlapError(override_path(defs_, *item->override_def) + ": moving " + series.id +
                           " " + format_local_minute(item->original) + " to " +
                           format_local_minute(item->target) +
                           " would double a session of the series already held at that time");
      }
    }
  }

  // 4. Instants, the window, and the words.
  ZoneResolver resolver(zone);
  if (const std::size_t needed = out.size() + items.size() + outside.size();
      needed > out.capacity()) {
    out.reserve(std::max(needed, 2 * out.capacity()));  // keep growth geometric
  }
  auto emit = [&](const Item& item) {
    const bool live = item.status != OccurrenceStatus::skipped &&
                      item.status != OccurrenceStatus::cancelled;
    const LocalTime shown = live ? item.target : item.original;
    if (shown < window_begin || shown >= window_end) return;
    const OverrideDef* o = item.override_def;
    Occurrence& occ = out.emplace_back();
    occ.community = &community;
    occ.series = &series;
    occ.original = item.original;
    occ.status = item.status;
    if (live) {
      occ.local_start = item.target;
      occ.start = resolver.resolve(item.target);
      occ.end = *occ.start + (o && o->duration ? *o->duration : series.duration);
      keys_.push_back(*occ.start);
    } else {
      keys_.push_back(resolver.resolve(item.original));
    }
    occ.override_def = o;
    if (item.holiday) occ.holiday = *item.holiday;
    const LocalDay day = date::floor<date::days>(item.original);
    switch (item.why) {
      case Why::none:
        break;
      case Why::kept:
        occ.reason = holiday_label(*item.holiday) + ": kept on the holiday";
        break;
      case Why::skipped:
        occ.reason = holiday_label(*item.holiday) + ": skipped";
        break;
      case Why::shifted:
        occ.reason = holiday_label(*item.holiday) + ": " +
                     shift_phrase(series.on_holiday, day, date::floor<date::days>(item.target));
        break;
      case Why::no_target:
        occ.reason = holiday_label(*item.holiday) + ": " + no_target_phrase(series.on_holiday);
        break;
      case Why::blocked:
        occ.reason = holiday_label(*item.holiday) + ": skipped: " +
                     format_day_long(date::floor<date::days>(item.target)) + " at " +
                     format_local_minute(item.target).substr(11) +
                     " already has a session of this series";
        break;
      case Why::override_def:
        occ.reason = o->reason ? *o->reason : (o->cancel ? "cancelled" : "moved");
        break;
    }
  };
  for (const Item& item : items) emit(item);
  for (const Item& item : outside) emit(item);
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
  // Emission order is community, series, then chronological within a series; the
  // result is ordered by (start instant, community, series): a stable sort by instant.
  bool found = !options.series.has_value();
  for (const CommunityDef& community : definitions.communities) {
    if (options.community && community.id != *options.community) continue;
    for (const SeriesDef& series : community.series) {
      if (options.series && series.id != *options.series) continue;
      found = true;
      expander.expand_series(community, series, out);
    }
  }
  if (!found) throw Error("no series \"" + *options.series + "\" in " + definitions.source);
  const std::vector<Instant>& keys = expander.keys_;
  if (std::is_sorted(keys.begin(), keys.end())) return out;
  std::vector<std::uint32_t> order(out.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&keys](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
  // Apply the permutation in place, cycle by cycle (no second vector of occurrences).
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] == i) continue;
    Occurrence held = std::move(out[i]);
    std::size_t j = i;
    while (order[j] != i) {
      const std::size_t next = order[j];
      out[j] = std::move(out[next]);
      order[j] = static_cast<std::uint32_t>(j);
      j = next;
    }
    out[j] = std::move(held);
    order[j] = static_cast<std::uint32_t>(j);
  }
  return out;
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
    if (const auto h = index.find(target_day)) {
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
