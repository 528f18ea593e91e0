// The change detector (see convene/change_detector.h): fingerprints of what outputs show.
#include "convene/change_detector.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "internal/store_crypto.h"

namespace convene {

namespace {

LocalDay day_of(LocalTime t) { return date::floor<date::days>(t); }

// A canonical text of typed, length-prefixed fields, hashed with SHA-256 (the first 8
// bytes): two different sequences of fields never give the same text.
class Canon {
 public:
  Canon& add(std::string_view field) {
    text_ += std::to_string(field.size());
    text_ += ':';
    text_ += field;
    return *this;
  }
  Canon& add(const char* field) { return add(std::string_view(field)); }
  Canon& add(const std::string& field) { return add(std::string_view(field)); }
  Canon& add(const std::optional<std::string>& field) {
    if (!field) return add_tag('-');
    add_tag('+');
    return add(*field);
  }
  Canon& add(std::int64_t value) { return add(std::string_view(std::to_string(value))); }
  Canon& add(Instant at) { return add(static_cast<std::int64_t>(at.time_since_epoch().count())); }
  Canon& add(LocalTime t) { return add(static_cast<std::int64_t>(t.time_since_epoch().count())); }
  Canon& add(Seconds s) { return add(static_cast<std::int64_t>(s.count())); }
  Canon& add_tag(char tag) {
    text_ += tag;
    return *this;
  }
  template <class T, class F>
  Canon& add_list(const std::vector<T>& list, F each) {
    add(static_cast<std::int64_t>(list.size()));
    for (const auto& x : list) each(*this, x);
    return *this;
  }
  Fingerprint hash() const {
    const auto digest = store_internal::sha256(text_);
    Fingerprint f = 0;
    for (int i = 0; i < 8; ++i) f = (f << 8) | digest[static_cast<std::size_t>(i)];
    return f;
  }

 private:
  std::string text_;
};

void add_view(Canon& c, const EventView& v) {
  c.add(v.summary).add(v.description).add(v.location).add(v.url);
  if (v.organizer) {
    c.add_tag('o').add(v.organizer->name).add(v.organizer->email);
  } else {
    c.add_tag('-');
  }
  c.add_list(v.categories, [](Canon& k, const std::string& x) { k.add(x); });
  c.add_tag(v.takes_place ? 'T' : 'F').add(v.status);
  c.add_list(v.reminders, [](Canon& k, Seconds x) { k.add(x); }).add(v.alarm_text);
  c.add(v.timezone);
  if (v.local_start) c.add_tag('@').add(*v.local_start).add(*v.start).add(*v.end); else c.add_tag('-');
}

std::string hh_mm(LocalTime t) { return format_local_minute(t).substr(11, 5); }

// Why a session does not take place: the facilitator's reason for a cancel, the
// holiday or closure for a skip ("Staff development day", "Snow day"); empty if none.
std::string cancelled_because(const Occurrence& o) {
  if (o.status == OccurrenceStatus::cancelled)
    return o.override_def && o.override_def->reason ? *o.override_def->reason : "";
  return o.holiday ? o.holiday->name : "";
}

// "Moved from Monday 18 January: Martin Luther King, Jr. Day" (the time is named too
// when the time of day changed); "Cancelled: Staff development day".
std::string why_line(const Occurrence& o) {
  if (!o.live()) {
    const std::string because = cancelled_because(o);
    return because.empty() ? "Cancelled" : "Cancelled: " + because;
  }
  if (o.status != OccurrenceStatus::shifted && o.status != OccurrenceStatus::moved) return {};
  std::string line = "Moved from " + format_day_long(day_of(o.original));
  if (o.local_start && hh_mm(*o.local_start) != hh_mm(o.original)) line += " " + hh_mm(o.original);
  std::string why;
  if (o.status == OccurrenceStatus::shifted && o.holiday) {
    why = o.holiday->name;
  } else if (o.override_def && o.override_def->reason) {
    why = *o.override_def->reason;
  }
  if (!why.empty()) line += ": " + why;
  return line;
}

// DESCRIPTION: why (if moved or cancelled), the description, presenter, agenda,
// resources, join link.
std::string description_of(const SeriesDef& series, const Occurrence* o) {
  const OverrideDef* edit = o ? o->override_def : nullptr;
  std::vector<std::string> parts;
  if (o) {
    auto why = why_line(*o);
    if (!why.empty()) parts.push_back(std::move(why));
  }
  const auto& description = edit && edit->description ? edit->description : series.description;
  if (description && !description->empty()) parts.push_back(*description);
  std::string details;
  const auto& presenter = edit && edit->presenter ? edit->presenter : series.presenter;
  if (presenter) details += "Presenter: " + *presenter + "\n";
  if (edit && edit->agenda) details += "Agenda: " + *edit->agenda + "\n";
  if (edit && !edit->resources.empty()) {
    details += "Resources:\n";
    for (const auto& r : edit->resources) details += "- " + r.title + ": " + r.url + "\n";
  }
  const auto& join = edit && edit->join_url ? edit->join_url : series.join_url;
  if (join) details += "Join: " + *join + "\n";
  if (!details.empty()) {
    details.pop_back();
    parts.push_back(std::move(details));
  }
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "\n\n";
    out += p;
  }
  return out;
}

// The calendars a series observes: its community's, then its own, without repeats.
std::vector<const CalendarDef*> observed(const Definitions& defs, const CommunityDef& community,
                                         const SeriesDef& series) {
  std::vector<const CalendarDef*> out;
  std::set<std::string_view> seen;
  for (const auto* ids : {&community.observes, &series.observes}) {
    for (const auto& id : *ids) {
      if (!seen.insert(id).second) continue;
      if (const CalendarDef* c = defs.find_calendar(id)) out.push_back(c);
    }
  }
  return out;
}

date::days move_margin(const Definitions& defs, const SeriesDef& series) {
  date::days margin{kFeedMargin};
  for (const auto& o : defs.overrides) {
    if (o.series != series.id || !o.move_to) continue;
    const auto shift = std::chrono::abs(day_of(*o.move_to) - day_of(o.occurrence)) + date::days{2};
    margin = std::max(margin, date::days{shift.count()});
  }
  return margin;
}

}  // namespace

LocalDay feed_horizon(Instant now) {
  const date::year_month_day today{date::floor<date::days>(now)};
  const auto month = date::year_month{today.year(), today.month()} + date::years{2};
  return LocalDay{date::sys_days{month / date::last}.time_since_epoch()};
}

RenderSpan render_span(const Definitions& definitions, const SeriesDef& series, LocalDay horizon) {
  LocalDay first = day_of(series.start);
  for (auto a : series.add) first = std::min(first, day_of(a));
  const date::days margin = move_margin(definitions, series);
  return {first, horizon + margin, margin};
}

std::vector<Occurrence> rendered_occurrences(const Definitions& definitions, const CommunityDef& community,
                                             const SeriesDef& series, LocalDay last) {
  LocalDay first = day_of(series.start);
  for (auto a : series.add) first = std::min(first, day_of(a));
  const date::days margin = move_margin(definitions, series);
  ExpandOptions options;
  options.series = series.id;
  std::vector<Occurrence> out;
  if (last + margin < first - margin) return out;
  for (auto& o : expand(definitions, Window{first - margin, last + margin}, options)) {
    if (o.series->id != series.id || o.community != &community || day_of(o.original) > last) continue;
    out.push_back(std::move(o));
  }
  return out;
}

bool shown_as_cancelled(const Occurrence& o, bool was_live, bool expanded) {
  if (o.live()) return false;
  const bool show = o.community->cancellations == Cancellations::show;
  if (show && (o.status == OccurrenceStatus::cancelled || was_live)) return true;
  return expanded && was_live;
}

EventView series_view(const CommunityDef& community, const SeriesDef& series) {
  EventView v;
  v.summary = series.title;
  v.description = description_of(series, nullptr);
  v.location = series.location;
  v.url = series.join_url;
  v.organizer = series.organizer;
  v.categories = series.categories;
  v.reminders = series.reminders;
  v.alarm_text = series.title;
  v.timezone = community.timezone;
  return v;
}

EventView occurrence_view(const Occurrence& o) {
  const SeriesDef& series = *o.series;
  const OverrideDef* edit = o.override_def;
  EventView v;
  v.takes_place = o.live();
  if (v.takes_place) {
    v.summary = o.title();
  } else {
    const std::string because = cancelled_because(o);
    v.summary = "Cancelled: " + o.title() + (because.empty() ? "" : " (" + because + ")");
  }
  v.description = description_of(series, &o);
  v.location = edit && edit->location ? edit->location : series.location;
  v.url = edit && edit->join_url ? edit->join_url : series.join_url;
  v.organizer = series.organizer;
  v.categories = series.categories;
  v.status = std::string(to_string(o.status));
  if (v.takes_place) {
    v.reminders = series.reminders;
    v.alarm_text = o.title();
  }
  v.timezone = o.community->timezone;
  if (v.takes_place) {
    v.local_start = *o.local_start;
    v.start = *o.start;
    v.end = *o.end;
  } else {
    v.local_start = o.original;
    v.start = resolve_local(o.original, o.community->zone);
    v.end = *v.start + (edit && edit->duration ? *edit->duration : series.duration);
  }
  return v;
}

Fingerprint occurrence_fingerprint(const Occurrence& o) {
  Canon c;
  c.add("occurrence/1").add(o.original);
  add_view(c, occurrence_view(o));
  if (!o.live()) c.add(std::string_view(to_string(o.community->cancellations)));
  return c.hash();
}

Fingerprint definition_fingerprint(const Definitions& definitions, const CommunityDef& community,
                                   const SeriesDef& series, std::optional<LocalDay> from) {
  Definitions d;
  for (const CalendarDef* calendar : observed(definitions, community, series)) d.calendars.push_back(*calendar);
  CommunityDef own = community;
  own.series = {series};
  d.communities.push_back(std::move(own));
  for (const auto& o : definitions.overrides) {
    if (o.series != series.id) continue;
    const bool near = !from || day_of(o.occurrence) >= *from || (o.move_to && day_of(*o.move_to) >= *from);
    if (near) d.overrides.push_back(o);
  }
  // Each override names its own session: their order in the file says nothing.
  std::sort(d.overrides.begin(), d.overrides.end(),
            [](const OverrideDef& a, const OverrideDef& b) { return a.occurrence < b.occurrence; });
  nlohmann::ordered_json json = to_json(d);
  // The community's name and description are no session's: feeds name them on their own.
  if (json.contains("communities")) {
    json["communities"][0].erase("name");
    json["communities"][0].erase("description");
  }
  // A calendar's effect is its builtin, rules and every closure (from the file, the
  // builtin or an ICS file): the ICS file's path says nothing of what it held.
  nlohmann::ordered_json calendars = nlohmann::ordered_json::array();
  for (const auto& calendar : d.calendars) {
    nlohmann::ordered_json cj =
        json.contains("calendars") && json["calendars"].contains(calendar.id) ? json["calendars"][calendar.id]
                                                                                : nlohmann::ordered_json::object();
    cj.erase("closures");
    cj.erase("ics");
    cj["id"] = calendar.id;
    nlohmann::ordered_json closures = nlohmann::ordered_json::array();
    for (const auto& closure : calendar.calendar.closures()) {
      if (from && closure.to < *from) continue;
      closures.push_back({closure.name, format_date(closure.from), format_date(closure.to)});
    }
    cj["all_closures"] = std::move(closures);
    calendars.push_back(std::move(cj));
  }
  json["calendars"] = std::move(calendars);
  Canon c;
  c.add("definition/1").add(json.dump());
  if (from) c.add(format_date(*from));
  return c.hash();
}

SeriesFingerprints fingerprint_series(const Definitions& definitions, const CommunityDef& community,
                                      const SeriesDef& series, LocalDay coverage,
                                      const std::function<bool(LocalTime)>& was_live) {
  SeriesFingerprints out;
  Canon master;
  master.add("series/1");
  add_view(master, series_view(community, series));
  master.add(series.start).add(series.duration);
  master.add(series.rrule_text ? series.rrule_text : (series.rrule ? std::optional<std::string>(series.rrule->to_string())
                                                                    : std::nullopt));
  master.add_list(series.add, [](Canon& k, LocalTime t) { k.add(t); });
  master.add_list(series.except, [](Canon& k, LocalTime t) { k.add(t); });
  for (const Occurrence& o : rendered_occurrences(definitions, community, series, coverage)) {
    out.occurrences[o.original] = occurrence_fingerprint(o);
    out.live[o.original] = o.live();
    // The sessions the master leaves out (EXDATE), with why.
    if (!o.live() && !shown_as_cancelled(o, was_live(o.original), false)) {
      master.add_tag('x').add(o.original).add(std::string_view(to_string(o.status)));
    }
  }
  master.add_tag('|').add(static_cast<std::int64_t>(
      definition_fingerprint(definitions, community, series, coverage - date::days{kCoverageSlack})));
  out.series = master.hash();
  return out;
}

}  // namespace convene
