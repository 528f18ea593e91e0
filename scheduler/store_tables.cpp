// Definitions ↔ tables (see internal/store_tables.h).
#include <algorithm>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "internal/store_tables.h"

namespace convene::store_internal {

namespace {

// --- column encodings ------------------------------------------------------------

std::string strings_to_text(const std::vector<std::string>& values) {
  return nlohmann::json(values).dump();
}

std::vector<std::string> text_to_strings(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

std::string times_to_text(const std::vector<LocalTime>& values) {
  nlohmann::json j = nlohmann::json::array();
  for (auto t : values) j.push_back(format_local_minute(t));
  return j.dump();
}

std::vector<LocalTime> text_to_times(const std::string& text) {
  std::vector<LocalTime> out;
  for (const auto& s : text_to_strings(text)) {
    auto t = parse_local_minute(s);
    if (!t) throw StoreError(StoreError::Kind::corrupt, "a stored start \"" + s + "\" is not a date and time");
    out.push_back(*t);
  }
  return out;
}

}  // namespace

std::string offsets_to_text(const std::vector<Seconds>& offsets) {
  nlohmann::json j = nlohmann::json::array();
  for (auto o : offsets) j.push_back(o.count());
  return j.dump();
}

std::vector<Seconds> text_to_offsets(const std::string& text) {
  std::vector<Seconds> out;
  for (const auto& s : nlohmann::json::parse(text)) out.push_back(Seconds{s.get<std::int64_t>()});
  return out;
}

namespace {

std::string resources_to_text(const std::vector<Resource>& resources) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : resources) j.push_back({{"title", r.title}, {"url", r.url}});
  return j.dump();
}

std::vector<Resource> text_to_resources(const std::string& text) {
  std::vector<Resource> out;
  for (const auto& r : nlohmann::json::parse(text)) {
    out.push_back({r.at("title").get<std::string>(), r.at("url").get<std::string>()});
  }
  return out;
}

std::int64_t workweek_mask(Workweek w) {
  std::int64_t mask = 0;
  for (unsigned d = 0; d < 7; ++d) {
    if (w.contains(date::weekday{d})) mask |= std::int64_t{1} << d;
  }
  return mask;
}

Workweek mask_workweek(std::int64_t mask) {
  Workweek w = Workweek::of({});
  for (unsigned d = 0; d < 7; ++d) {
    if (mask & (std::int64_t{1} << d)) w = w.with(date::weekday{d});
  }
  return w;
}

LocalTime stored_time(const std::string& text) {
  auto t = parse_local_minute(text);
  if (!t) throw StoreError(StoreError::Kind::corrupt, "a stored start \"" + text + "\" is not a date and time");
  return *t;
}

LocalDay stored_day(const std::string& text) {
  auto d = parse_date(text);
  if (!d) throw StoreError(StoreError::Kind::corrupt, "a stored date \"" + text + "\" is not a date");
  return *d;
}


// --- reading ---------------------------------------------------------------------

HolidayRule read_rule(Statement& q) {
  // kind, name, month, day, weekday, nth, offset_days, observe_weekend, observe_saturday,
  // every_years, since, until
  const std::string kind = q.text(0);
  auto since = q.optional_int64(10);
  auto until = q.optional_int64(11);
  auto years = [&](auto& r) {
    if (since) r.since = static_cast<int>(*since);
    if (until) r.until = static_cast<int>(*until);
  };
  if (kind == "fixed") {
    FixedDateRule r;
    r.name = q.text(1);
    r.month = static_cast<unsigned>(q.int64(2));
    r.day = static_cast<unsigned>(q.int64(3));
    r.observe_weekend = q.int64(7) != 0;
    r.observe_saturday = q.int64(8) != 0;
    r.every_years = static_cast<int>(q.int64(9));
    years(r);
    return r;
  }
  if (kind == "nth") {
    NthWeekdayRule r;
    r.name = q.text(1);
    r.month = static_cast<unsigned>(q.int64(2));
    r.weekday = date::weekday{static_cast<unsigned>(q.int64(4))};
    r.nth = static_cast<int>(q.int64(5));
    years(r);
    return r;
  }
  EasterRule r;
  r.name = q.text(1);
  r.offset_days = static_cast<int>(q.int64(6));
  years(r);
  return r;
}

std::vector<Closure> read_closures(Connection& db, const std::string& calendar, const char* origin) {
  std::vector<Closure> out;
  auto q = db.query(
      "SELECT name, from_day, to_day FROM calendar_closures WHERE calendar = ?1 AND origin = ?2 "
      "ORDER BY position");
  q->bind(1, calendar).bind(2, origin);
  while (q->step()) out.push_back({q->text(0), stored_day(q->text(1)), stored_day(q->text(2))});
  return out;
}

}  // namespace

bool definitions_empty(Connection& db) {
  auto q = db.query("SELECT (SELECT count(*) FROM calendars) + (SELECT count(*) FROM communities)");
  return !q->step() || q->int64(0) == 0;
}

std::vector<Closure> ics_closures(const CalendarDef& calendar) {
  std::vector<Closure> all = calendar.calendar.closures();
  auto remove_one = [&all](const Closure& c) {
    auto it = std::find(all.begin(), all.end(), c);
    if (it != all.end()) all.erase(it);
  };
  if (calendar.builtin) {
    if (auto builtin = HolidayCalendar::builtin(*calendar.builtin, calendar.id)) {
      for (const auto& c : builtin->closures()) remove_one(c);
    }
  }
  for (const auto& c : calendar.closures) remove_one(c);
  return all;
}

LoadedDefinitions read_definitions(Connection& db, const std::string& source) {
  LoadedDefinitions result;
  Definitions defs;
  defs.source = source;
  bool ok = true;
  auto error = [&](const std::string& where, const std::string& message) {
    result.diagnostics.push_back({Diagnostic::Severity::error, source + ": " + where, message});
    ok = false;
  };

  // Calendars.
  {
    auto q = db.query("SELECT id, builtin, ics FROM calendars ORDER BY position");
    while (q->step()) {
      CalendarDef c;
      c.id = q->text(0);
      c.builtin = q->optional_text(1);
      c.ics = q->optional_text(2);
      defs.calendars.push_back(std::move(c));
    }
  }
  for (auto& c : defs.calendars) {
    std::optional<HolidayCalendar> calendar;
    if (c.builtin) {
      calendar = HolidayCalendar::builtin(*c.builtin, c.id);
      if (!calendar) error("calendar \"" + c.id + "\"", "unknown built-in calendar \"" + *c.builtin + "\"");
    }
    if (!calendar) calendar.emplace(c.id);
    {
      auto q = db.query(
          "SELECT kind, name, month, day, weekday, nth, offset_days, observe_weekend, "
          "observe_saturday, every_years, since, until FROM calendar_rules WHERE calendar = ?1 "
          "ORDER BY position");
      q->bind(1, c.id);
      while (q->step()) {
        HolidayRule rule = read_rule(*q);
        c.rules.push_back(rule);
        calendar = calendar->with_rule(std::move(rule));
      }
    }
    c.closures = read_closures(db, c.id, "file");
    calendar = calendar->with_closures(c.closures);
    calendar = calendar->with_closures(read_closures(db, c.id, "ics"));
    c.calendar = std::move(*calendar);
  }

  // Communities and their series.
  {
    auto q = db.query(
        "SELECT id, name, description, timezone, observes, workweek, cancellations FROM communities "
        "ORDER BY position");
    while (q->step()) {
      CommunityDef c;
      c.id = q->text(0);
      c.name = q->text(1);
      c.description = q->optional_text(2);
      c.timezone = q->text(3);
      c.observes = text_to_strings(q->text(4));
      c.workweek = mask_workweek(q->int64(5));
      if (auto shown = parse_cancellations(q->text(6))) {
        c.cancellations = *shown;
      } else {
        error("community \"" + c.id + "\"", "unknown cancellations value \"" + q->text(6) + "\"");
      }
      c.zone = find_zone(c.timezone);
      if (!c.zone) {
        error("community \"" + c.id + "\"",
              "the time zone \"" + c.timezone + "\" is not in this system's tz database");
      }
      defs.communities.push_back(std::move(c));
    }
  }
  std::unordered_map<std::string, RecurrenceRule> rules;
  for (auto& c : defs.communities) {
    auto q = db.query(
        "SELECT id, title, description, start, duration, rrule, add_starts, except_starts, "
        "on_holiday, observes, join_url, location, organizer_name, organizer_email, presenter, "
        "categories, continues, reminders, online_meeting FROM series WHERE community = ?1 ORDER BY position");
    q->bind(1, c.id);
    while (q->step()) {
      SeriesDef s;
      s.id = q->text(0);
      s.title = q->text(1);
      s.description = q->optional_text(2);
      s.start = stored_time(q->text(3));
      s.duration = Seconds{q->int64(4)};
      s.rrule_text = q->optional_text(5);
      if (s.rrule_text) {
        auto it = rules.find(*s.rrule_text);
        if (it == rules.end()) {
          auto parsed = RecurrenceRule::parse(*s.rrule_text);
          if (parsed) {
            it = rules.emplace(*s.rrule_text, *parsed).first;
          } else {
            error("series \"" + s.id + "\"", parsed.error());
          }
        }
        if (it != rules.end()) s.rrule = it->second;
      }
      s.add = text_to_times(q->text(6));
      s.except = text_to_times(q->text(7));
      const std::string policy = q->text(8);
      if (auto p = parse_holiday_policy(policy)) {
        s.on_holiday = *p;
      } else {
        error("series \"" + s.id + "\"", "unknown holiday policy \"" + policy + "\"");
      }
      s.observes = text_to_strings(q->text(9));
      s.join_url = q->optional_text(10);
      s.location = q->optional_text(11);
      if (!q->is_null(13)) s.organizer = Person{q->optional_text(12).value_or(""), q->text(13)};
      s.presenter = q->optional_text(14);
      s.categories = text_to_strings(q->text(15));
      s.continues = q->optional_text(16);
      s.reminders = text_to_offsets(q->text(17));
      if (!q->is_null(18)) s.online_meeting = q->int64(18) != 0;
      c.series.push_back(std::move(s));
    }
  }

  // Overrides.
  {
    auto q = db.query(
        "SELECT series, occurrence, move_to, duration, cancel, title, description, join_url, "
        "location, presenter, agenda, resources, reason FROM overrides ORDER BY position");
    while (q->step()) {
      OverrideDef o;
      o.series = q->text(0);
      o.occurrence = stored_time(q->text(1));
      if (auto m = q->optional_text(2)) o.move_to = stored_time(*m);
      if (auto d = q->optional_int64(3)) o.duration = Seconds{*d};
      o.cancel = q->int64(4) != 0;
      o.title = q->optional_text(5);
      o.description = q->optional_text(6);
      o.join_url = q->optional_text(7);
      o.location = q->optional_text(8);
      o.presenter = q->optional_text(9);
      o.agenda = q->optional_text(10);
      o.resources = text_to_resources(q->text(11));
      o.reason = q->optional_text(12);
      defs.overrides.push_back(std::move(o));
    }
  }
  if (ok) result.definitions = std::move(defs);
  return result;
}

// --- writing ---------------------------------------------------------------------

namespace {

void bind_series(Statement& q, const SeriesDef& s) {
  // ?1 id, ?4 title ... ?20 continues (community ?2 and position ?3 bound by the caller)
  q.bind(1, s.id);
  q.bind(4, s.title);
  q.bind(5, s.description);
  q.bind(6, format_local_minute(s.start));
  q.bind(7, static_cast<std::int64_t>(s.duration.count()));
  if (s.rrule_text) {
    q.bind(8, *s.rrule_text);
  } else if (s.rrule) {
    q.bind(8, s.rrule->to_string());
  } else {
    q.bind_null(8);
  }
  q.bind(9, times_to_text(s.add));
  q.bind(10, times_to_text(s.except));
  q.bind(11, std::string(to_string(s.on_holiday)));
  q.bind(12, strings_to_text(s.observes));
  q.bind(13, s.join_url);
  q.bind(14, s.location);
  if (s.organizer) {
    q.bind(15, s.organizer->name);
    q.bind(16, s.organizer->email);
  } else {
    q.bind_null(15);
    q.bind_null(16);
  }
  q.bind(17, s.presenter);
  q.bind(18, strings_to_text(s.categories));
  q.bind(19, s.continues);
  q.bind(21, offsets_to_text(s.reminders));
  if (s.online_meeting) q.bind(22, std::int64_t{*s.online_meeting});
  else q.bind_null(22);
}

constexpr const char* kUpsertSeries =
    "INSERT INTO series (id, community, position, title, description, start, duration, rrule, "
    "add_starts, except_starts, on_holiday, observes, join_url, location, organizer_name, "
    "organizer_email, presenter, categories, continues, created, reminders, online_meeting) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
    "ON CONFLICT (id) DO UPDATE SET community = excluded.community, position = excluded.position, "
    "title = excluded.title, description = excluded.description, start = excluded.start, "
    "duration = excluded.duration, rrule = excluded.rrule, add_starts = excluded.add_starts, "
    "except_starts = excluded.except_starts, on_holiday = excluded.on_holiday, "
    "observes = excluded.observes, join_url = excluded.join_url, location = excluded.location, "
    "organizer_name = excluded.organizer_name, organizer_email = excluded.organizer_email, "
    "presenter = excluded.presenter, categories = excluded.categories, "
    "continues = excluded.continues, reminders = excluded.reminders, online_meeting = excluded.online_meeting";

void insert_rule(Connection& db, const std::string& calendar, std::int64_t position, const HolidayRule& rule) {
  auto q = db.query(
      "INSERT INTO calendar_rules (calendar, position, kind, name, month, day, weekday, nth, "
      "offset_days, observe_weekend, observe_saturday, every_years, since, until) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  q->bind(1, calendar).bind(2, position);
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        q->bind(4, r.name);
        auto opt = [](const std::optional<int>& v) {
          return v ? std::optional<std::int64_t>(*v) : std::optional<std::int64_t>();
        };
        q->bind(13, opt(r.since)).bind(14, opt(r.until));
        q->bind(10, std::int64_t{0}).bind(11, std::int64_t{1}).bind(12, std::int64_t{1});
        if constexpr (std::is_same_v<T, FixedDateRule>) {
          q->bind(3, "fixed").bind(5, std::int64_t{r.month}).bind(6, std::int64_t{r.day});
          q->bind(10, std::int64_t{r.observe_weekend}).bind(11, std::int64_t{r.observe_saturday});
          q->bind(12, std::int64_t{r.every_years});
        } else if constexpr (std::is_same_v<T, NthWeekdayRule>) {
          q->bind(3, "nth").bind(5, std::int64_t{r.month});
          q->bind(7, std::int64_t{r.weekday.c_encoding()}).bind(8, std::int64_t{r.nth});
        } else {
          q->bind(3, "easter").bind(9, std::int64_t{r.offset_days});
        }
      },
      rule);
  q->run();
}

void insert_closure(Connection& db, const std::string& calendar, const char* origin,
                    std::int64_t position, const Closure& c) {
  auto q = db.query(
      "INSERT INTO calendar_closures (calendar, origin, position, name, from_day, to_day) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  q->bind(1, calendar).bind(2, origin).bind(3, position).bind(4, c.name);
  q->bind(5, format_date(c.from)).bind(6, format_date(c.to));
  q->run();
}

std::vector<std::string> ids_of(Connection& db, const char* sql) {
  std::vector<std::string> out;
  auto q = db.query(sql);
  while (q->step()) out.push_back(q->text(0));
  return out;
}

}  // namespace

void write_definitions(Connection& db, const Definitions& definitions, Instant now) {
  const auto now_s = static_cast<std::int64_t>(now.time_since_epoch().count());
  db.query("DELETE FROM overrides")->run();
  db.query("DELETE FROM calendar_rules")->run();
  db.query("DELETE FROM calendar_closures")->run();

  std::set<std::string> calendars, communities, series;
  for (std::size_t i = 0; i < definitions.calendars.size(); ++i) {
    const CalendarDef& c = definitions.calendars[i];
    calendars.insert(c.id);
    {
      auto q = db.query(
          "INSERT INTO calendars (id, position, builtin, ics) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT (id) DO UPDATE SET position = excluded.position, builtin = excluded.builtin, "
          "ics = excluded.ics");
      q->bind(1, c.id).bind(2, static_cast<std::int64_t>(i)).bind(3, c.builtin).bind(4, c.ics);
      q->run();
    }
    for (std::size_t r = 0; r < c.rules.size(); ++r) insert_rule(db, c.id, static_cast<std::int64_t>(r), c.rules[r]);
    for (std::size_t k = 0; k < c.closures.size(); ++k)
      insert_closure(db, c.id, "file", static_cast<std::int64_t>(k), c.closures[k]);
    const auto from_ics = ics_closures(c);
    for (std::size_t k = 0; k < from_ics.size(); ++k)
      insert_closure(db, c.id, "ics", static_cast<std::int64_t>(k), from_ics[k]);
  }
  for (std::size_t i = 0; i < definitions.communities.size(); ++i) {
    const CommunityDef& c = definitions.communities[i];
    communities.insert(c.id);
    auto q = db.query(
        "INSERT INTO communities (id, position, name, description, timezone, observes, workweek, "
        "cancellations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET "
        "position = excluded.position, name = excluded.name, description = excluded.description, "
        "timezone = excluded.timezone, observes = excluded.observes, workweek = excluded.workweek, "
        "cancellations = excluded.cancellations");
    q->bind(1, c.id).bind(2, static_cast<std::int64_t>(i)).bind(3, c.name).bind(4, c.description);
    q->bind(5, c.timezone).bind(6, strings_to_text(c.observes)).bind(7, workweek_mask(c.workweek));
    q->bind(8, std::string(to_string(c.cancellations)));
    q->run();
  }
  for (const auto& c : definitions.communities) {
    for (std::size_t i = 0; i < c.series.size(); ++i) {
      const SeriesDef& s = c.series[i];
      series.insert(s.id);
      auto q = db.query(kUpsertSeries);
      bind_series(*q, s);
      q->bind(2, c.id).bind(3, static_cast<std::int64_t>(i)).bind(20, now_s);
      q->run();
    }
  }
  for (const auto& id : ids_of(db, "SELECT id FROM series")) {
    if (!series.count(id)) db.query("DELETE FROM series WHERE id = ?1")->bind(1, id).run();
  }
  for (const auto& id : ids_of(db, "SELECT id FROM communities")) {
    if (!communities.count(id)) db.query("DELETE FROM communities WHERE id = ?1")->bind(1, id).run();
  }
  for (const auto& id : ids_of(db, "SELECT id FROM calendars")) {
    if (!calendars.count(id)) db.query("DELETE FROM calendars WHERE id = ?1")->bind(1, id).run();
  }
  for (const auto& o : definitions.overrides) put_override(db, o);
}

void put_override(Connection& db, const OverrideDef& o) {
  auto q = db.query(
      "INSERT INTO overrides (series, occurrence, position, move_to, duration, cancel, title, "
      "description, join_url, location, presenter, agenda, resources, reason) VALUES (?1, ?2, "
      "(SELECT COALESCE(MAX(position), -1) + 1 FROM overrides), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
      "?11, ?12, ?13) ON CONFLICT (series, occurrence) DO UPDATE SET move_to = excluded.move_to, "
      "duration = excluded.duration, cancel = excluded.cancel, title = excluded.title, "
      "description = excluded.description, join_url = excluded.join_url, "
      "location = excluded.location, presenter = excluded.presenter, agenda = excluded.agenda, "
      "resources = excluded.resources, reason = excluded.reason");
  q->bind(1, o.series).bind(2, format_local_minute(o.occurrence));
  if (o.move_to) q->bind(3, format_local_minute(*o.move_to)); else q->bind_null(3);
  if (o.duration) q->bind(4, static_cast<std::int64_t>(o.duration->count())); else q->bind_null(4);
  q->bind(5, std::int64_t{o.cancel}).bind(6, o.title).bind(7, o.description).bind(8, o.join_url);
  q->bind(9, o.location).bind(10, o.presenter).bind(11, o.agenda);
  q->bind(12, resources_to_text(o.resources)).bind(13, o.reason);
  q->run();
}

void delete_override(Connection& db, std::string_view series, LocalTime occurrence) {
  auto q = db.query("DELETE FROM overrides WHERE series = ?1 AND occurrence = ?2");
  q->bind(1, series).bind(2, format_local_minute(occurrence));
  q->run();
}

void update_series(Connection& db, const SeriesDef& s) {
  auto q = db.query(
      "UPDATE series SET title = ?4, description = ?5, start = ?6, duration = ?7, rrule = ?8, "
      "add_starts = ?9, except_starts = ?10, on_holiday = ?11, observes = ?12, join_url = ?13, "
      "location = ?14, organizer_name = ?15, organizer_email = ?16, presenter = ?17, "
      "categories = ?18, continues = ?19, reminders = ?21, online_meeting = ?22 "
      "WHERE id = ?1 AND ?2 IS NULL AND ?3 IS NULL AND ?20 IS NULL");
  bind_series(*q, s);
  q->bind_null(2).bind_null(3).bind_null(20);
  q->run();
}

void insert_series_after(Connection& db, std::string_view community, std::string_view after,
                         const SeriesDef& s, Instant now) {
  std::int64_t position = 0;
  {
    auto q = db.query("SELECT position FROM series WHERE id = ?1");
    q->bind(1, after);
    if (q->step()) position = q->int64(0) + 1;
  }
  {
    auto q = db.query("UPDATE series SET position = position + 1 WHERE community = ?1 AND position >= ?2");
    q->bind(1, community).bind(2, position);
    q->run();
  }
  auto q = db.query(kUpsertSeries);
  bind_series(*q, s);
  q->bind(2, community).bind(3, position).bind(20, static_cast<std::int64_t>(now.time_since_epoch().count()));
  q->run();
}

void remove_closures(Connection& db, std::string_view calendar, LocalDay from, LocalDay to) {
  auto q = db.query(
      "DELETE FROM calendar_closures WHERE calendar = ?1 AND origin = 'file' AND from_day = ?2 "
      "AND to_day = ?3");
  q->bind(1, calendar).bind(2, format_date(from)).bind(3, format_date(to));
  q->run();
}

void add_closure(Connection& db, std::string_view calendar, const Closure& closure) {
  std::int64_t position = 0;
  {
    auto q = db.query(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM calendar_closures WHERE calendar = ?1 AND origin = 'file'");
    q->bind(1, calendar);
    if (q->step()) position = q->int64(0);
  }
  insert_closure(db, std::string(calendar), "file", position, closure);
}

}  // namespace convene::store_internal
