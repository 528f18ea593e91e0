// The definitions loader: JSON text → validated Definitions, and back.
//
// Reading happens in three steps:
//   1. nlohmann parses the text into an ordered_json (comments allowed; key order kept,
//      so calendars stay in file order), while a parser callback notes duplicate keys;
//      a syntax error stops here with one "FILE:LINE:COLUMN" diagnostic;
//   2. a pre-pass collects the calendar ids and series ids, so references to them
//      (observes, continues, overrides) can be checked wherever they appear;
//   3. the walk checks every object against its known keys and every value against its
//      type and range, collecting every problem with its JSON pointer. Diagnostics are
//      then sorted into document order (by the position of the node they point at).
#include "convene/definitions.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "convene/input_file.h"
#include "convene/limits.h"
#include "convene/validate.h"
#include "internal/definitions_text.h"

namespace convene {

// --- text helpers ------------------------------------------------------------

namespace definitions_internal {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  return bounded_edit_distance(a, b, std::max(a.size(), b.size()));
}

std::size_t bounded_edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;  // at least that many insertions
  // Three rows suffice for the transposition step.
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  std::size_t prev_row_min = 0;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    // A cell draws on the two rows above it: two rows past the limit end the search.
    if (row_min > limit && prev_row_min > limit) return limit + 1;
    prev_row_min = row_min;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], limit + 1);
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  if (word.size() > kMaxSuggestedWordLength) return std::nullopt;
  const std::size_t limit = word.size() <= 3 ? 1 : 2;
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  const std::size_t considered = std::min(candidates.size(), kMaxSuggestionCandidates);
  for (std::size_t k = 0; k < considered; ++k) {
    const auto& candidate = candidates[k];
    const std::size_t d = bounded_edit_distance(word, candidate, best_distance - 1);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
      if (d == 0) break;
    }
  }
  return best;
}

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> nearest_zones(std::string_view name, std::size_t limit) {
  if (name.size() > kMaxSuggestedWordLength) return {};
  std::vector<std::pair<std::size_t, std::string>> scored;
  const bool has_slash = name.find('/') != std::string_view::npos;
  constexpr std::size_t kNear = 2;
  for (const std::string& zone : zone_names()) {
    std::size_t d = bounded_edit_distance(name, zone, kNear);
    if (!has_slash) {
      const auto slash = zone.rfind('/');
      if (slash != std::string::npos) {
        d = std::min(d, bounded_edit_distance(name, std::string_view(zone).substr(slash + 1), kNear));
      }
    }
    if (d <= kNear && d < name.size()) scored.emplace_back(d, zone);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (auto& [d, zone] : scored) {
    if (out.size() == limit) break;
    out.push_back(std::move(zone));
  }
  return out;
}

}  // namespace definitions_internal

namespace {

using Json = nlohmann::ordered_json;
using definitions_internal::escape_pointer_token;
using definitions_internal::nearest;

// --- the format's keys -------------------------------------------------------

using Keys = std::vector<std::string>;
const Keys kTopKeys{"calendars", "communities", "overrides"};
const Keys kCalendarKeys{"builtin", "rules", "closures", "ics"};
const Keys kRuleKeys{"name", "month", "day", "observed", "weekday", "nth", "easter", "since", "until"};
const Keys kClosureKeys{"name", "date", "from", "to"};
const Keys kCommunityKeys{"id",       "name",     "description", "timezone",
                          "observes", "workweek", "cancellations", "series"};
const Keys kSeriesKeys{"id",         "title",    "description", "start",     "duration",
                       "rrule",      "add",      "except",      "on_holiday", "observes",
                       "join_url",   "location", "organizer",   "presenter", "categories",
                       "reminders",  "continues", "online_meeting"};
const Keys kPersonKeys{"name", "email"};
const Keys kOverrideKeys{"series",   "occurrence", "move_to",  "duration", "cancel",
                         "title",    "description", "join_url", "location", "presenter",
                         "agenda",   "resources",  "reason"};
const Keys kResourceKeys{"title", "url"};

constexpr const char* kWeekdayCodes[] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};  // c_encoding

std::optional<date::weekday> parse_weekday_code(std::string_view code) {
  for (unsigned i = 0; i < 7; ++i) {
    if (code == kWeekdayCodes[i]) return date::weekday{i};
  }
  return std::nullopt;
}

std::string weekday_code(date::weekday day) { return kWeekdayCodes[day.c_encoding()]; }

std::string quote(std::string_view text) { return quote_value(text); }

// The items of a list a message names: at most kMaxListed (each quoted if long or odd),
// then how many more.
constexpr std::size_t kMaxListed = 12;
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < kMaxListed; ++i) {
    if (!out.empty()) out += separator;
    out += printable(items[i]).size() == items[i].size() && items[i].size() <= 40 ? items[i] : quote(items[i]);
  }
  if (items.size() > kMaxListed) out += " and " + std::to_string(items.size() - kMaxListed) + " more";
  return out;
}

// "a number (5)", "an object", "a string (\"PT1H\")": what was found instead.
std::string describe(const Json& value) {
  std::string kind;
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: kind = "a string"; break;
    case Json::value_t::boolean: kind = "a boolean"; break;
    default: kind = "a number"; break;
  }
  if (value.is_string()) return kind + " (" + quote(value.get_ref<const std::string&>()) + ")";
  return kind + " (" + printable(value.dump()) + ")";
}

const std::vector<std::string>& policy_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto p : {HolidayPolicy::skip, HolidayPolicy::following, HolidayPolicy::preceding,
                   HolidayPolicy::modified_following, HolidayPolicy::modified_preceding,
                   HolidayPolicy::nearest, HolidayPolicy::next_week, HolidayPolicy::keep}) {
      out.emplace_back(to_string(p));
    }
    return out;
  }();
  return names;
}

// --- the loader --------------------------------------------------------------

enum class Need { optional, required };

class Loader;

// An object of the format: its unknown keys are reported when it is opened.
class Object {
 public:
  Object(Loader& loader, const Json& json, std::string pointer, const Keys& known);
  const Json* find(std::string_view key) const {
    auto it = json_.find(std::string(key));
    return it == json_.end() ? nullptr : &*it;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  std::string at(std::string_view key) const {
    return pointer_ + "/" + escape_pointer_token(key);
  }
  const std::string& pointer() const { return pointer_; }

 private:
  const Json& json_;
  std::string pointer_;
};

struct Pending {
  std::string pointer;
  std::string message;
  Diagnostic::Severity severity = Diagnostic::Severity::error;
};

class Loader {
 public:
  Loader(std::string source, std::string base_dir, InputLimits options)
      : source_(std::move(source)), base_dir_(std::move(base_dir)), options_(options) {}

  void error(std::string pointer, std::string message) {
    pending_.push_back({std::move(pointer), std::move(message)});
  }

  // "Did you mean" for a name among many (series, calendars): nearest(), for the first
  // kMaxSuggestionsPerFile unknown names of the file only, so that 10,000 unknown
  // references among 10,000 series cost no more than 25.
  std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
    if (suggestions_left_ == 0) return std::nullopt;
    --suggestions_left_;
    return nearest(word, candidates);
  }

  LoadedDefinitions run(const Json& doc, std::vector<Pending> early);

  // --- typed readers: each reports what is wrong and returns nullopt ---------
  std::optional<std::string> string(const Json& v, const std::string& at, bool non_empty) {
    if (!v.is_string()) {
      error(at, "expected a string, got " + describe(v));
      return std::nullopt;
    }
    auto s = v.get<std::string>();
    if (non_empty && s.empty()) {
      error(at, "must not be empty");
      return std::nullopt;
    }
    if (auto why = text_problem(s)) {
      error(at, std::move(*why));
      return std::nullopt;
    }
    return s;
  }
  // A string that must pass `check` (url_problem, email_problem, category_problem).
  template <class Check>
  std::optional<std::string> checked_string(const Json& v, const std::string& at, Check check,
                                            bool non_empty = true) {
    auto s = string(v, at, non_empty);
    if (!s) return std::nullopt;
    if (auto why = check(*s)) {
      error(at, std::move(*why));
      return std::nullopt;
    }
    return s;
  }
  std::optional<std::string> url_field(const Object& o, std::string_view key, Need need) {
    return field(o, key, need, [&](const Json& v, const std::string& at) {
      return checked_string(v, at, url_problem);
    });
  }
  std::optional<long long> integer(const Json& v, const std::string& at) {
    if (v.is_number_unsigned()) {
      // Beyond any valid value; range checks report the number as written.
      const auto u = v.get<unsigned long long>();
      return u > 1'000'000'000ULL ? 1'000'000'001LL : static_cast<long long>(u);
    }
    if (v.is_number_integer()) return v.get<long long>();
    error(at, "expected an integer, got " + describe(v));
    return std::nullopt;
  }
  std::optional<long long> integer_in(const Json& v, const std::string& at, long long lo,
                                      long long hi, std::string_view what) {
    auto n = integer(v, at);
    if (!n) return std::nullopt;
    if (*n < lo || *n > hi) {
      error(at, std::string(what) + " " + v.dump() + " is out of range " +
                    std::to_string(lo) + ".." + std::to_string(hi));
      return std::nullopt;
    }
    return n;
  }
  std::optional<bool> boolean(const Json& v, const std::string& at) {
    if (!v.is_boolean()) {
      error(at, "expected true or false, got " + describe(v));
      return std::nullopt;
    }
    return v.get<bool>();
  }
  std::optional<LocalTime> local_time(const Json& v, const std::string& at) {
    auto s = string(v, at, false);
    if (!s) return std::nullopt;
    if (auto why = local_time_problem(*s)) {
      error(at, std::move(*why));
      return std::nullopt;
    }
    return parse_local_minute(*s);
    return std::nullopt;
  }
  std::optional<LocalDay> day(const Json& v, const std::string& at) {
    auto s = string(v, at, false);
    if (!s) return std::nullopt;
    if (auto why = date_problem(*s)) {
      error(at, std::move(*why));
      return std::nullopt;
    }
    return parse_date(*s);
    return std::nullopt;
  }
  std::optional<Seconds> duration(const Json& v, const std::string& at) {
    auto s = string(v, at, false);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      error(at, *duration_problem(*s));
      return std::nullopt;
    }
    if (d->count() <= 0) {
      error(at, "the duration " + quote(*s) + " must be positive");
      return std::nullopt;
    }
    return d;
  }
  const Json* array(const Json& v, const std::string& at) {
    if (!v.is_array()) {
      error(at, "expected an array, got " + describe(v));
      return nullptr;
    }
    return &v;
  }
  bool object(const Json& v, const std::string& at) {
    if (!v.is_object()) {
      error(at, "expected an object, got " + describe(v));
      return false;
    }
    return true;
  }

  // A field of `o` read by `read` (one of the readers above); reports a missing
  // required key at the object.
  template <class Read>
  auto field(const Object& o, std::string_view key, Need need, Read read)
      -> decltype(read(std::declval<const Json&>(), std::declval<const std::string&>())) {
    const Json* v = o.find(key);
    if (!v) {
      if (need == Need::required) error(o.pointer(), "missing required key " + quote(key));
      return std::nullopt;
    }
    return read(*v, o.at(key));
  }
  std::optional<std::string> string_field(const Object& o, std::string_view key, Need need,
                                          bool non_empty) {
    return field(o, key, need, [&](const Json& v, const std::string& at) {
      return string(v, at, non_empty);
    });
  }
  std::optional<LocalTime> local_time_field(const Object& o, std::string_view key, Need need) {
    return field(o, key, need,
                 [&](const Json& v, const std::string& at) { return local_time(v, at); });
  }
  std::optional<LocalDay> day_field(const Object& o, std::string_view key, Need need) {
    return field(o, key, need, [&](const Json& v, const std::string& at) { return day(v, at); });
  }
  std::optional<Seconds> duration_field(const Object& o, std::string_view key, Need need) {
    return field(o, key, need,
                 [&](const Json& v, const std::string& at) { return duration(v, at); });
  }
  std::vector<LocalTime> local_times_field(const Object& o, std::string_view key);
  std::vector<std::string> calendar_ids_field(const Object& o, std::string_view key);
  std::vector<std::string> strings_field(const Object& o, std::string_view key,
                                         std::optional<std::string> (*check)(std::string_view));
  std::vector<Seconds> reminders_field(const Object& o, std::string_view key);

 private:
  void prepass(const Json& doc);
  std::optional<CalendarDef> calendar(const std::string& id, const Json& v, const std::string& at);
  std::optional<HolidayRule> rule(const Json& v, const std::string& at);
  std::optional<Closure> closure(const Json& v, const std::string& at);
  std::optional<CommunityDef> community(const Json& v, const std::string& at);
  std::optional<SeriesDef> series(const Json& v, const std::string& at);
  std::optional<OverrideDef> override_def(const Json& v, const std::string& at);
  std::vector<Diagnostic> finish(const Json* doc);

  std::string source_;
  std::string base_dir_;
  InputLimits options_;
  std::vector<Pending> pending_;
  std::size_t suggestions_left_ = kMaxSuggestionsPerFile;
  std::vector<std::string> calendar_ids_;  // from the pre-pass, in file order
  std::vector<std::string> series_ids_;    // from the pre-pass, in file order
  std::unordered_set<std::string> calendar_id_set_, series_id_set_;  // the same, to look up
  std::map<std::string, std::string> first_series_at_;     // id → pointer of its first series
  std::map<std::string, std::string> first_community_at_;  // id → pointer
};

Object::Object(Loader& loader, const Json& json, std::string pointer, const Keys& known)
    : json_(json), pointer_(std::move(pointer)) {
  for (auto it = json_.begin(); it != json_.end(); ++it) {
    const std::string& key = it.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown key " + quote(key);
    if (auto near = nearest(key, known)) {
      message += "; did you mean " + quote(*near) + "?";
    } else {
      message += " (expected one of: " + join(known) + ")";
    }
    loader.error(at(key), std::move(message));
  }
}

std::vector<LocalTime> Loader::local_times_field(const Object& o, std::string_view key) {
  std::vector<LocalTime> out;
  const Json* v = o.find(key);
  if (!v || !array(*v, o.at(key))) return out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (auto t = local_time((*v)[i], o.at(key) + "/" + std::to_string(i))) out.push_back(*t);
  }
  return out;
}

std::vector<std::string> Loader::strings_field(const Object& o, std::string_view key,
                                               std::optional<std::string> (*check)(std::string_view)) {
  std::vector<std::string> out;
  const Json* v = o.find(key);
  if (!v || !array(*v, o.at(key))) return out;
  if (v->size() > kMaxCategories) {
    error(o.at(key), std::to_string(v->size()) + " entries: at most " + std::to_string(kMaxCategories));
    return out;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (auto s = checked_string((*v)[i], o.at(key) + "/" + std::to_string(i), check)) out.push_back(*s);
  }
  return out;
}

// Offsets before a session's start: RFC 5545 durations, zero or positive, each once.
std::vector<Seconds> Loader::reminders_field(const Object& o, std::string_view key) {
  std::vector<Seconds> out;
  std::unordered_set<long long> listed;
  const Json* v = o.find(key);
  if (!v || !array(*v, o.at(key))) return out;
  if (v->size() > kMaxReminders) {
    error(o.at(key), std::to_string(v->size()) + " reminders: a series may have at most " +
                         std::to_string(kMaxReminders));
    return out;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string at = o.at(key) + "/" + std::to_string(i);
    auto s = string((*v)[i], at, true);
    if (!s) continue;
    auto d = parse_duration(*s);
    if (!d) {
      error(at, *duration_problem(*s) + " (how long before the start: \"PT15M\")");
      continue;
    }
    if (d->count() < 0) {
      error(at, "the reminder " + quote(*s) + " is negative; write how long before the start, "
                "without a sign (\"PT15M\")");
      continue;
    }
    if (!listed.insert(d->count()).second) {
      error(at, "the reminder " + quote(*s) + " is listed twice");
      continue;
    }
    out.push_back(*d);
  }
  return out;
}

std::vector<std::string> Loader::calendar_ids_field(const Object& o, std::string_view key) {
  std::vector<std::string> out;
  std::unordered_set<std::string> listed;
  const Json* v = o.find(key);
  if (!v || !array(*v, o.at(key))) return out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const std::string at = o.at(key) + "/" + std::to_string(i);
    auto id = string((*v)[i], at, true);
    if (!id) continue;
    if (!calendar_id_set_.count(*id)) {
      std::string message = "unknown calendar " + quote(*id);
      if (auto near = suggest(*id, calendar_ids_)) message += "; did you mean " + quote(*near) + "?";
      if (calendar_ids_.empty()) {
        message += " (the file defines no calendars under \"calendars\")";
      } else {
        message += " (calendars defined: " + join(calendar_ids_) + ")";
      }
      error(at, std::move(message));
      continue;
    }
    if (!listed.insert(*id).second) {
      error(at, "calendar " + quote(*id) + " is listed twice");
      continue;
    }
    out.push_back(*id);
  }
  return out;
}

void Loader::prepass(const Json& doc) {
  if (auto it = doc.find("calendars"); it != doc.end() && it->is_object()) {
    for (auto c = it->begin(); c != it->end(); ++c) {
      calendar_ids_.push_back(c.key());
      calendar_id_set_.insert(c.key());
    }
  }
  if (auto it = doc.find("communities"); it != doc.end() && it->is_array()) {
    for (const auto& community : *it) {
      if (!community.is_object()) continue;
      auto s = community.find("series");
      if (s == community.end() || !s->is_array()) continue;
      for (const auto& series : *s) {
        if (!series.is_object()) continue;
        auto id = series.find("id");
        if (id != series.end() && id->is_string() && !id->get<std::string>().empty()) {
          series_ids_.push_back(id->get<std::string>());
          series_id_set_.insert(series_ids_.back());
        }
      }
    }
  }
}

LoadedDefinitions Loader::run(const Json& doc, std::vector<Pending> early) {
  pending_ = std::move(early);
  LoadedDefinitions result;
  if (!doc.is_object()) {
    error("", "expected a JSON object at the top level, got " + describe(doc));
    result.diagnostics = finish(&doc);
    return result;
  }
  prepass(doc);
  Definitions defs;
  defs.source = source_;
  Object top(*this, doc, "", kTopKeys);

  if (const Json* calendars = top.find("calendars"); calendars && object(*calendars, top.at("calendars"))) {
    for (auto it = calendars->begin(); it != calendars->end(); ++it) {
      const std::string at = top.at("calendars") + "/" + escape_pointer_token(it.key());
      if (auto c = calendar(it.key(), it.value(), at)) defs.calendars.push_back(std::move(*c));
    }
  }
  if (const Json* communities = top.find("communities");
      communities && array(*communities, top.at("communities"))) {
    for (std::size_t i = 0; i < communities->size(); ++i) {
      const std::string at = top.at("communities") + "/" + std::to_string(i);
      if (auto c = community((*communities)[i], at)) defs.communities.push_back(std::move(*c));
    }
  }
  if (const Json* overrides = top.find("overrides");
      overrides && array(*overrides, top.at("overrides"))) {
    std::map<std::pair<std::string, LocalTime>, std::string> seen;  // → pointer of the first
    for (std::size_t i = 0; i < overrides->size(); ++i) {
      const std::string at = top.at("overrides") + "/" + std::to_string(i);
      auto o = override_def((*overrides)[i], at);
      if (!o) continue;
      auto [it, inserted] = seen.emplace(std::pair{o->series, o->occurrence}, at);
      if (!inserted) {
        error(at, "a second override of " + quote(o->series) + " occurrence " +
                      quote(format_local_minute(o->occurrence)) + " (the first is at " +
                      it->second + "); merge them into one");
        continue;
      }
      defs.overrides.push_back(std::move(*o));
    }
  }

  result.diagnostics = finish(&doc);
  const bool has_error =
      std::any_of(result.diagnostics.begin(), result.diagnostics.end(),
                  [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
  if (!has_error) result.definitions = std::move(defs);
  return result;
}

std::optional<CalendarDef> Loader::calendar(const std::string& id, const Json& v,
                                            const std::string& at) {
  bool ok = true;
  if (id.empty()) {
    error(at, "a calendar id must not be empty");
    ok = false;
  }
  if (!object(v, at)) return std::nullopt;
  Object o(*this, v, at, kCalendarKeys);
  CalendarDef def;
  def.id = id;
  std::optional<HolidayCalendar> calendar;
  if (o.has("builtin")) {
    def.builtin = string_field(o, "builtin", Need::optional, true);
    if (!def.builtin) {
      ok = false;
    } else if (!(calendar = HolidayCalendar::builtin(*def.builtin, id))) {
      const auto& names = HolidayCalendar::builtin_names();
      std::string message = "unknown built-in calendar " + quote(*def.builtin);
      if (auto near = nearest(*def.builtin, names)) message += "; did you mean " + quote(*near) + "?";
      message += " (built-in calendars: " + join(names) + ")";
      error(o.at("builtin"), std::move(message));
      ok = false;
    }
  }
  if (!calendar) calendar.emplace(id);
  if (const Json* rules = o.find("rules"); rules && array(*rules, o.at("rules"))) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      auto r = rule((*rules)[i], o.at("rules") + "/" + std::to_string(i));
      if (!r) {
        ok = false;
        continue;
      }
      def.rules.push_back(*r);
      calendar = calendar->with_rule(std::move(*r));
    }
  } else if (rules) {
    ok = false;
  }
  if (const Json* closures = o.find("closures"); closures && array(*closures, o.at("closures"))) {
    for (std::size_t i = 0; i < closures->size(); ++i) {
      auto c = closure((*closures)[i], o.at("closures") + "/" + std::to_string(i));
      if (!c) {
        ok = false;
        continue;
      }
      def.closures.push_back(std::move(*c));
    }
    calendar = calendar->with_closures(def.closures);
  } else if (closures) {
    ok = false;
  }
  if (o.has("ics")) {
    def.ics = string_field(o, "ics", Need::optional, true);
    if (!def.ics) {
      ok = false;
    } else {
      const std::filesystem::path path =
          base_dir_.empty() ? std::filesystem::path(*def.ics)
                            : std::filesystem::path(base_dir_) / *def.ics;
      IcsClosures ics = load_ics_closures(path.string(), options_);
      if (!ics.error.empty()) {
        // load_ics_closures names the file in its message; name it here if not.
        std::string message = ics.error;
        if (message.find(path.string()) == std::string::npos) message = path.string() + ": " + message;
        error(o.at("ics"), "cannot use the ICS file: " + message);
        ok = false;
      } else {
        calendar = calendar->with_closures(std::move(ics.closures));
      }
    }
  }
  if (!ok) return std::nullopt;
  def.calendar = std::move(*calendar);
  return def;
}

std::optional<HolidayRule> Loader::rule(const Json& v, const std::string& at) {
  if (!object(v, at)) return std::nullopt;
  Object o(*this, v, at, kRuleKeys);
  bool ok = true;
  auto name = string_field(o, "name", Need::required, true);
  ok &= name.has_value();

  auto year = [&](std::string_view key) -> std::optional<int> {
    if (!o.has(key)) return std::nullopt;
    auto n = field(o, key, Need::optional, [&](const Json& j, const std::string& p) {
      return integer_in(j, p, kMinYear, kMaxYear, "year");
    });
    if (!n) ok = false;
    return n ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  };
  auto since = year("since");
  auto until = year("until");
  if (since && until && *until < *since) {
    error(o.at("until"), "\"until\" " + std::to_string(*until) + " is before \"since\" " +
                             std::to_string(*since));
    ok = false;
  }
  // Keys that do not belong to the kind of rule chosen.
  auto reject = [&](std::initializer_list<std::string_view> keys, std::string_view kind) {
    for (auto key : keys) {
      if (o.has(key)) {
        error(o.at(key), std::string(kind) + " takes no " + quote(key) +
                             " (a rule is one of {month, day, observed?}, "
                             "{month, weekday, nth} or {easter})");
        ok = false;
      }
    }
  };
  auto month = [&]() -> std::optional<unsigned> {
    auto m = field(o, "month", Need::required, [&](const Json& j, const std::string& p) {
      return integer_in(j, p, 1, 12, "month");
    });
    if (!m) ok = false;
    return m ? std::optional<unsigned>(static_cast<unsigned>(*m)) : std::nullopt;
  };

  if (o.has("easter")) {
    reject({"month", "day", "observed", "weekday", "nth"}, "an Easter rule");
    auto offset = field(o, "easter", Need::required, [&](const Json& j, const std::string& p) {
      return integer_in(j, p, -366, 366, "the Easter offset");
    });
    ok &= offset.has_value();
    if (!ok) return std::nullopt;
    return EasterRule{*name, static_cast<int>(*offset), since, until};
  }
  if (o.has("weekday") || o.has("nth")) {
    reject({"day", "observed"}, "an nth-weekday rule");
    auto m = month();
    std::optional<date::weekday> weekday;
    if (auto code = string_field(o, "weekday", Need::required, true)) {
      weekday = parse_weekday_code(*code);
      if (!weekday) {
        error(o.at("weekday"), "unknown weekday " + quote(*code) +
                                   "; expected one of MO, TU, WE, TH, FR, SA, SU");
      }
    }
    ok &= weekday.has_value();
    auto nth = field(o, "nth", Need::required, [&](const Json& j, const std::string& p) {
      auto n = integer(j, p);
      if (n && (*n == 0 || *n < -5 || *n > 5)) {
        error(p, "nth " + std::to_string(*n) +
                     " is out of range: 1..5 counts from the start of the month, "
                     "-1..-5 from its end");
        return std::optional<long long>{};
      }
      return n;
    });
    ok &= nth.has_value();
    if (!ok) return std::nullopt;
    return NthWeekdayRule{*name, *m, *weekday, static_cast<int>(*nth), since, until};
  }
  auto m = month();
  auto d = field(o, "day", Need::required, [&](const Json& j, const std::string& p) {
    auto n = integer_in(j, p, 1, 31, "day");
    if (n && m) {
      // February 29 is allowed: the rule applies in leap years only.
      const unsigned last = static_cast<unsigned>(
          date::year_month_day_last{date::year{2000}, date::month_day_last{date::month{*m}}}.day());
      if (static_cast<unsigned>(*n) > last) {
        error(p, "month " + std::to_string(*m) + " has no day " + std::to_string(*n));
        return std::optional<long long>{};
      }
    }
    return n;
  });
  ok &= d.has_value();
  bool observe_weekend = false;
  if (auto observed = string_field(o, "observed", Need::optional, false)) {
    if (*observed == "weekend") {
      observe_weekend = true;
    } else {
      error(o.at("observed"), "unknown observance " + quote(*observed) +
                                  "; the only one is \"weekend\" (Saturday → Friday before, "
                                  "Sunday → Monday after)");
      ok = false;
    }
  } else if (o.has("observed")) {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return FixedDateRule{*name, *m, static_cast<unsigned>(*d), observe_weekend, since, until};
}

std::optional<Closure> Loader::closure(const Json& v, const std::string& at) {
  if (!object(v, at)) return std::nullopt;
  Object o(*this, v, at, kClosureKeys);
  auto name = string_field(o, "name", Need::required, true);
  bool ok = name.has_value();
  std::optional<LocalDay> from, to;
  if (o.has("date")) {
    for (std::string_view key : {"from", "to"}) {
      if (o.has(key)) {
        error(o.at(key), "a closure has either \"date\" or \"from\" and \"to\", not both");
        ok = false;
      }
    }
    from = to = day_field(o, "date", Need::required);
  } else if (o.has("from") || o.has("to")) {
    from = day_field(o, "from", Need::required);
    to = day_field(o, "to", Need::required);
    if (from && to && *to < *from) {
      error(o.at("to"), "\"to\" " + format_date(*to) + " is before \"from\" " + format_date(*from));
      ok = false;
    }
  } else {
    error(at, "a closure needs \"date\" (one day) or \"from\" and \"to\" (inclusive)");
    ok = false;
  }
  if (!ok || !from || !to) return std::nullopt;
  return Closure{*name, *from, *to};
}

std::optional<CommunityDef> Loader::community(const Json& v, const std::string& at) {
  if (!object(v, at)) return std::nullopt;
  Object o(*this, v, at, kCommunityKeys);
  CommunityDef def;
  bool ok = true;
  if (auto id = string_field(o, "id", Need::required, true)) {
    auto [it, inserted] = first_community_at_.emplace(*id, at);
    if (!inserted) {
      error(o.at("id"), "duplicate community id " + quote(*id) + " (first used at " +
                            it->second + ")");
      ok = false;
    }
    def.id = *id;
  } else {
    ok = false;
  }
  if (auto name = string_field(o, "name", Need::required, true)) {
    def.name = *name;
  } else {
    ok = false;
  }
  if (o.has("description")) {
    def.description = string_field(o, "description", Need::optional, false);
    ok &= def.description.has_value();
  }
  if (auto tz = string_field(o, "timezone", Need::required, true)) {
    def.timezone = *tz;
    def.zone = find_zone(*tz);
    if (!def.zone) {
      std::string message = "unknown time zone " + quote(*tz);
      const auto near = suggestions_left_ > 0 ? (--suggestions_left_, definitions_internal::nearest_zones(*tz))
                                              : std::vector<std::string>{};
      for (std::size_t i = 0; i < near.size(); ++i) {
        message += (i == 0 ? "; did you mean " : " or ") + quote(near[i]);
        if (i + 1 == near.size()) message += "?";
      }
      message += " (an IANA name such as \"America/New_York\")";
      error(o.at("timezone"), std::move(message));
      ok = false;
    }
  } else {
    ok = false;
  }
  const std::size_t errors_before = pending_.size();
  def.observes = calendar_ids_field(o, "observes");
  if (const Json* ww = o.find("workweek"); ww && array(*ww, o.at("workweek"))) {
    Workweek workweek = Workweek::of({});
    for (std::size_t i = 0; i < ww->size(); ++i) {
      const std::string p = o.at("workweek") + "/" + std::to_string(i);
      auto code = string((*ww)[i], p, true);
      if (!code) continue;
      auto day = parse_weekday_code(*code);
      if (!day) {
        error(p, "unknown day " + quote(*code) + "; expected one of MO, TU, WE, TH, FR, SA, SU");
      } else if (workweek.contains(*day)) {
        error(p, "day " + quote(*code) + " is listed twice");
      } else {
        workweek = workweek.with(*day);
      }
    }
    if (ww->empty()) error(o.at("workweek"), "a workweek needs at least one day");
    def.workweek = workweek;
  }
  if (auto shown = string_field(o, "cancellations", Need::optional, true)) {
    if (auto c = parse_cancellations(*shown)) {
      def.cancellations = *c;
    } else {
      error(o.at("cancellations"), "unknown value " + quote(*shown) + " (expected \"show\" or \"hide\")");
    }
  }
  if (const Json* series_list = o.find("series")) {
    if (array(*series_list, o.at("series"))) {
      for (std::size_t i = 0; i < series_list->size(); ++i) {
        if (auto s = series((*series_list)[i], o.at("series") + "/" + std::to_string(i))) {
          def.series.push_back(std::move(*s));
        }
      }
    }
  } else {
    error(at, "missing required key \"series\" (an array, possibly empty)");
  }
  if (pending_.size() != errors_before) ok = false;
  if (!ok) return std::nullopt;
  return def;
}

std::optional<SeriesDef> Loader::series(const Json& v, const std::string& at) {
  if (!object(v, at)) return std::nullopt;
  const std::size_t errors_before = pending_.size();
  Object o(*this, v, at, kSeriesKeys);
  SeriesDef def;
  if (auto id = string_field(o, "id", Need::required, true)) {
    auto [it, inserted] = first_series_at_.emplace(*id, at);
    if (!inserted) {
      error(o.at("id"), "duplicate series id " + quote(*id) +
                            " (series ids are unique across the file; first used at " +
                            it->second + ")");
    }
    def.id = *id;
  }
  if (auto title = string_field(o, "title", Need::required, true)) def.title = *title;
  if (o.has("description")) def.description = string_field(o, "description", Need::optional, false);
  if (auto start = local_time_field(o, "start", Need::required)) def.start = *start;
  if (auto d = duration_field(o, "duration", Need::required)) def.duration = *d;
  if (o.has("rrule")) {
    if (auto text = string_field(o, "rrule", Need::optional, true)) {
      auto parsed = RecurrenceRule::parse(*text);
      if (parsed) {
        def.rrule_text = *text;
        def.rrule = *parsed;
      } else {
        // RecurrenceRule::parse quotes the text in its message (at most 80 characters of
        // it); quote it here if not.
        std::string message = parsed.error();
        if (message.rfind("invalid RRULE ", 0) != 0) {
          message = "invalid RRULE " + quote(*text) + ": " + message;
        }
        error(o.at("rrule"), std::move(message));
      }
    }
  }
  def.add = local_times_field(o, "add");
  def.except = local_times_field(o, "except");
  if (auto policy = string_field(o, "on_holiday", Need::optional, true)) {
    if (auto p = parse_holiday_policy(*policy)) {
      def.on_holiday = *p;
    } else {
      std::string message = "unknown holiday policy " + quote(*policy);
      if (auto near = nearest(*policy, policy_names())) message += "; did you mean " + quote(*near) + "?";
      message += " (expected one of: " + join(policy_names()) + ")";
      error(o.at("on_holiday"), std::move(message));
    }
  }
  def.observes = calendar_ids_field(o, "observes");
  if (o.has("join_url")) def.join_url = url_field(o, "join_url", Need::optional);
  def.online_meeting = field(o, "online_meeting", Need::optional,
                             [&](const Json& j, const std::string& p) { return boolean(j, p); });
  if (o.has("location")) def.location = string_field(o, "location", Need::optional, false);
  if (o.has("presenter")) def.presenter = string_field(o, "presenter", Need::optional, false);
  if (const Json* organizer = o.find("organizer"); organizer && object(*organizer, o.at("organizer"))) {
    Object person(*this, *organizer, o.at("organizer"), kPersonKeys);
    Person p;
    if (auto name = field(person, "name", Need::optional, [&](const Json& j, const std::string& at) {
          return checked_string(j, at, display_name_problem, /*non_empty=*/false);
        })) {
      p.name = *name;
    }
    if (auto email = field(person, "email", Need::required, [&](const Json& j, const std::string& at) {
          return checked_string(j, at, email_problem);
        })) {
      p.email = *email;
    }
    def.organizer = p;
  }
  def.categories = strings_field(o, "categories", category_problem);
  def.reminders = reminders_field(o, "reminders");
  if (auto continues = string_field(o, "continues", Need::optional, true)) {
    if (*continues == def.id) {
      error(o.at("continues"), "a series cannot continue itself");
    } else if (!series_id_set_.count(*continues)) {
      std::string message = "unknown series " + quote(*continues);
      if (auto near = suggest(*continues, series_ids_)) message += "; did you mean " + quote(*near) + "?";
      error(o.at("continues"), std::move(message));
    }
    def.continues = *continues;
  }
  if (pending_.size() != errors_before) return std::nullopt;
  return def;
}

std::optional<OverrideDef> Loader::override_def(const Json& v, const std::string& at) {
  if (!object(v, at)) return std::nullopt;
  const std::size_t errors_before = pending_.size();
  Object o(*this, v, at, kOverrideKeys);
  OverrideDef def;
  if (auto series = string_field(o, "series", Need::required, true)) {
    if (!series_id_set_.count(*series)) {
      std::string message = "unknown series " + quote(*series);
      if (auto near = suggest(*series, series_ids_)) message += "; did you mean " + quote(*near) + "?";
      error(o.at("series"), std::move(message));
    }
    def.series = *series;
  }
  if (auto occurrence = local_time_field(o, "occurrence", Need::required)) def.occurrence = *occurrence;
  def.move_to = local_time_field(o, "move_to", Need::optional);
  def.duration = duration_field(o, "duration", Need::optional);
  if (auto cancel = field(o, "cancel", Need::optional,
                          [&](const Json& j, const std::string& p) { return boolean(j, p); })) {
    def.cancel = *cancel;
    if (*cancel && o.has("move_to")) {
      error(o.at("cancel"), "an override either cancels (\"cancel\": true) or moves "
                            "(\"move_to\") an occurrence, not both");
    }
  }
  if (o.has("title")) def.title = string_field(o, "title", Need::optional, true);
  if (o.has("description")) def.description = string_field(o, "description", Need::optional, false);
  if (o.has("join_url")) def.join_url = url_field(o, "join_url", Need::optional);
  if (o.has("location")) def.location = string_field(o, "location", Need::optional, false);
  if (o.has("presenter")) def.presenter = string_field(o, "presenter", Need::optional, false);
  if (o.has("agenda")) def.agenda = string_field(o, "agenda", Need::optional, false);
  if (o.has("reason")) def.reason = string_field(o, "reason", Need::optional, false);
  if (const Json* resources = o.find("resources"); resources && array(*resources, o.at("resources"))) {
    for (std::size_t i = 0; i < resources->size(); ++i) {
      const std::string p = o.at("resources") + "/" + std::to_string(i);
      if (!object((*resources)[i], p)) continue;
      Object r(*this, (*resources)[i], p, kResourceKeys);
      auto title = string_field(r, "title", Need::required, true);
      auto url = url_field(r, "url", Need::required);
      if (title && url) def.resources.push_back({*title, *url});
    }
  }
  if (pending_.size() != errors_before) return std::nullopt;
  return def;
}

// The place of a JSON pointer's node in document order: the index of each step among
// its parent's children (object keys in file order). A pointer to a key that is not in
// the document (a missing required key is reported at its object) stops at the deepest
// node it reaches. Comparing two places as sequences orders nodes in pre-order: a parent
// before its children, siblings in file order.
class DocumentOrder {
 public:
  explicit DocumentOrder(const Json* doc) : doc_(doc) {}

  std::vector<std::size_t> place(std::string_view pointer) {
    std::vector<std::size_t> out;
    const Json* node = doc_;
    while (node && !pointer.empty() && pointer.front() == '/') {
      pointer.remove_prefix(1);
      const std::size_t end = std::min(pointer.find('/'), pointer.size());
      const std::string token = unescape(pointer.substr(0, end));
      pointer.remove_prefix(end);
      if (node->is_object()) {
        const auto child = child_of(*node, token);
        if (!child.second) break;
        out.push_back(child.first);
        node = child.second;
      } else if (node->is_array() && !token.empty() && token.size() < 20 &&
                 std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const std::size_t i = std::stoull(token);
        if (i >= node->size()) break;
        out.push_back(i);
        node = &(*node)[i];
      } else {
        break;
      }
    }
    return out;
  }

 private:
  static std::string unescape(std::string_view token) {
    std::string out;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        out += token[++i] == '0' ? '~' : '/';
      } else {
        out += token[i];
      }
    }
    return out;
  }
  // The position of `key` among an object's keys and its value, by an index built once
  // per object that some diagnostic points into (an ordered_json finds keys by a linear
  // search); {0, nullptr} when the object has no such key.
  std::pair<std::size_t, const Json*> child_of(const Json& object, const std::string& key) {
    auto [it, fresh] = keys_.try_emplace(&object);
    if (fresh) {
      std::size_t i = 0;
      for (auto k = object.begin(); k != object.end(); ++k, ++i) it->second.emplace(k.key(), std::pair{i, &k.value()});
    }
    auto found = it->second.find(key);
    if (found == it->second.end()) return {0, nullptr};
    return found->second;
  }

  const Json* doc_;
  std::unordered_map<const Json*, std::unordered_map<std::string_view, std::pair<std::size_t, const Json*>>> keys_;
};

std::vector<Diagnostic> Loader::finish(const Json* doc) {
  DocumentOrder order(doc);
  std::vector<std::pair<std::vector<std::size_t>, std::size_t>> keyed;  // (place, index)
  keyed.reserve(pending_.size());
  for (std::size_t i = 0; i < pending_.size(); ++i) keyed.emplace_back(order.place(pending_[i].pointer), i);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Diagnostic> out;
  out.reserve(keyed.size());
  for (const auto& [place, i] : keyed) {
    const Pending& p = pending_[i];
    out.push_back({p.severity, p.pointer.empty() ? source_ : source_ + ": " + p.pointer, p.message});
  }
  return out;
}

// Where JSON nesting first goes deeper than kMaxJsonDepth: the offset of that "[" or "{",
// found by one pass that skips strings and comments (nlohmann's // and /* */); nullopt
// when the text stays within it. Run before parsing, so no parser, printer or walk ever
// meets a document deeper than that.
std::optional<std::size_t> too_deep(std::string_view text) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      i = std::min(text.find('\n', i), text.size());
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const auto end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 1;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

// 1-based line and column of the byte at `offset` (0-based) in `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// nlohmann's message without its id and its own position:
// "[json.exception.parse_error.101] parse error at line 4, column 10: syntax error ..."
// → "syntax error ...".
std::string clean_parse_message(std::string message) {
  if (auto close = message.find("] "); message.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
    message.erase(0, close + 2);
  }
  if (message.rfind("parse error", 0) == 0) {
    if (auto colon = message.find(": "); colon != std::string::npos) message.erase(0, colon + 2);
  }
  // nlohmann quotes the token it read last, whole and as it is ("last read: '<8 MB>'"):
  // quote it the way every message quotes a value.
  constexpr std::string_view kLastRead = "; last read: '";
  if (const auto at = message.find(kLastRead); at != std::string::npos) {
    std::string token = message.substr(at + kLastRead.size());
    if (!token.empty() && token.back() == '\'') token.pop_back();
    message = message.substr(0, at) + "; last read: " + quote_value(token);
  }
  return printable(message);
}

}  // namespace

// --- public API ----------------------------------------------------------------

std::string_view to_string(Cancellations cancellations) {
  return cancellations == Cancellations::hide ? "hide" : "show";
}

std::optional<Cancellations> parse_cancellations(std::string_view text) {
  if (text == "show") return Cancellations::show;
  if (text == "hide") return Cancellations::hide;
  return std::nullopt;
}

const CalendarDef* Definitions::find_calendar(std::string_view id) const {
  for (const auto& c : calendars) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::pair<const CommunityDef*, const SeriesDef*> Definitions::find_series(std::string_view id) const {
  for (const auto& community : communities) {
    for (const auto& s : community.series) {
      if (s.id == id) return {&community, &s};
    }
  }
  return {nullptr, nullptr};
}

namespace {

// `where` as a message shows it: escaped (convene/validate.h), each step of a JSON
// pointer cut to kMaxQuotedChars characters ("/calendars/xxxx…"), so an unknown key of
// a megabyte names its place in a line.
std::string shown_place(std::string_view where) {
  std::string out;
  std::size_t start = 0;
  while (start <= where.size()) {
    const std::size_t slash = std::min(where.find('/', start), where.size());
    std::string step = printable(where.substr(start, slash - start));
    if (step.size() > kMaxQuotedChars) {
      std::size_t cut = kMaxQuotedChars;
      while (cut > 0 && (static_cast<unsigned char>(step[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
      step = step.substr(0, cut) + "…";
    }
    out += step;
    if (slash == where.size()) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string out = severity == Severity::error ? "error: " : "warning: ";
  if (!where.empty()) out += shown_place(where) + ": ";
  return out + message;
}

LoadedDefinitions parse_definitions(std::string_view text, const std::string& source,
                                    const std::string& base_dir, const InputLimits& options) {
  if (const auto deep = too_deep(text)) {
    const auto [line, column] = line_column(text, *deep);
    LoadedDefinitions result;
    result.diagnostics.push_back({Diagnostic::Severity::error,
                                  source + ":" + std::to_string(line) + ":" + std::to_string(column),
                                  "arrays and objects nest more than " + std::to_string(kMaxJsonDepth) +
                                      " deep here; the definitions format needs 5"});
    return result;
  }
  // Duplicate keys: nlohmann keeps the last silently; we report them. The callback
  // tracks where the parser is (each open object's keys, each open array's index), and
  // builds a JSON pointer only for a key that is a duplicate.
  struct Frame {
    bool is_array = false;
    std::size_t index = 0;
    std::string key;
    std::unordered_set<std::string> keys;
    std::unordered_set<std::string> reported;  // duplicates already reported
  };
  std::vector<Frame> frames;
  std::vector<Pending> duplicates;
  auto element_done = [&] {
    if (!frames.empty() && frames.back().is_array) ++frames.back().index;
  };
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, Json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start: frames.push_back(Frame{}); break;
      case E::array_start: frames.push_back(Frame{true, 0, {}, {}, {}}); break;
      case E::object_end:
      case E::array_end:
        if (!frames.empty()) frames.pop_back();
        element_done();
        break;
      case E::value: element_done(); break;
      case E::key: {
        if (frames.empty()) break;
        auto key = parsed.get<std::string>();
        if (!frames.back().keys.insert(key).second && frames.back().reported.insert(key).second) {
          std::string pointer;
          for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
            pointer += "/" + (frames[i].is_array ? std::to_string(frames[i].index)
                                                 : escape_pointer_token(frames[i].key));
          }
          duplicates.push_back({pointer + "/" + escape_pointer_token(key),
                                "duplicate key " + quote(key) +
                                    " (JSON would silently keep only the last)"});
        }
        frames.back().key = std::move(key);
        break;
      }
    }
    return true;
  };
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                      /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    const auto [line, column] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
    LoadedDefinitions result;
    result.diagnostics.push_back({Diagnostic::Severity::error,
                                  source + ":" + std::to_string(line) + ":" + std::to_string(column),
                                  clean_parse_message(e.what())});
    return result;
  } catch (const nlohmann::json::exception& e) {
    LoadedDefinitions result;
    result.diagnostics.push_back({Diagnostic::Severity::error, source, clean_parse_message(e.what())});
    return result;
  }
  return Loader(source, base_dir, options).run(doc, std::move(duplicates));
}

LoadedDefinitions parse_definitions_json(const nlohmann::ordered_json& document,
                                         const std::string& source, const std::string& base_dir,
                                         const InputLimits& options) {
  return Loader(source, base_dir, options).run(document, {});
}

LoadedDefinitions load_definitions(const std::string& path, const InputLimits& limits) {
  const InputFile file = read_input_file(path, limits.max_file_size);
  if (!file) {
    LoadedDefinitions result;
    result.diagnostics.push_back(
        {Diagnostic::Severity::error, path, "cannot read the definitions file: " + file.error});
    return result;
  }
  return parse_definitions(file.text, path, std::filesystem::path(path).parent_path().string(), limits);
}

// --- writing -------------------------------------------------------------------

namespace {

Json rule_to_json(const HolidayRule& rule) {
  Json j;
  auto years = [&](const auto& r) {
    if (r.since) j["since"] = *r.since;
    if (r.until) j["until"] = *r.until;
  };
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        j["name"] = r.name;
        if constexpr (std::is_same_v<T, FixedDateRule>) {
          j["month"] = r.month;
          j["day"] = r.day;
          if (r.observe_weekend) j["observed"] = "weekend";
        } else if constexpr (std::is_same_v<T, NthWeekdayRule>) {
          j["month"] = r.month;
          j["weekday"] = weekday_code(r.weekday);
          j["nth"] = r.nth;
        } else {
          j["easter"] = r.offset_days;
        }
        years(r);
      },
      rule);
  return j;
}

Json local_times_to_json(const std::vector<LocalTime>& times) {
  Json j = Json::array();
  for (auto t : times) j.push_back(format_local_minute(t));
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const Definitions& definitions) {
  Json out = Json::object();
  if (!definitions.calendars.empty()) {
    Json calendars = Json::object();
    for (const auto& c : definitions.calendars) {
      Json j = Json::object();
      if (c.builtin) j["builtin"] = *c.builtin;
      if (!c.rules.empty()) {
        Json rules = Json::array();
        for (const auto& r : c.rules) rules.push_back(rule_to_json(r));
        j["rules"] = std::move(rules);
      }
      if (!c.closures.empty()) {
        Json closures = Json::array();
        for (const auto& closure : c.closures) {
          Json cj;
          cj["name"] = closure.name;
          if (closure.from == closure.to) {
            cj["date"] = format_date(closure.from);
          } else {
            cj["from"] = format_date(closure.from);
            cj["to"] = format_date(closure.to);
          }
          closures.push_back(std::move(cj));
        }
        j["closures"] = std::move(closures);
      }
      if (c.ics) j["ics"] = *c.ics;
      calendars[c.id] = std::move(j);
    }
    out["calendars"] = std::move(calendars);
  }
  if (!definitions.communities.empty()) {
    Json communities = Json::array();
    for (const auto& c : definitions.communities) {
      Json j;
      j["id"] = c.id;
      j["name"] = c.name;
      if (c.description) j["description"] = *c.description;
      j["timezone"] = c.timezone;
      if (!c.observes.empty()) j["observes"] = c.observes;
      if (!(c.workweek == Workweek())) {
        Json days = Json::array();
        for (unsigned i = 1; i <= 7; ++i) {  // MO..SU
          const date::weekday day{i % 7};
          if (c.workweek.contains(day)) days.push_back(weekday_code(day));
        }
        j["workweek"] = std::move(days);
      }
      if (c.cancellations != Cancellations::show) j["cancellations"] = std::string(to_string(c.cancellations));
      Json series = Json::array();
      for (const auto& s : c.series) {
        Json sj;
        sj["id"] = s.id;
        sj["title"] = s.title;
        if (s.description) sj["description"] = *s.description;
        sj["start"] = format_local_minute(s.start);
        sj["duration"] = format_duration(s.duration);
        if (s.rrule_text) {
          sj["rrule"] = *s.rrule_text;
        } else if (s.rrule) {
          sj["rrule"] = s.rrule->to_string();
        }
        if (!s.add.empty()) sj["add"] = local_times_to_json(s.add);
        if (!s.except.empty()) sj["except"] = local_times_to_json(s.except);
        if (s.on_holiday != HolidayPolicy::skip) sj["on_holiday"] = std::string(to_string(s.on_holiday));
        if (!s.observes.empty()) sj["observes"] = s.observes;
        if (s.join_url) sj["join_url"] = *s.join_url;
        if (s.online_meeting) sj["online_meeting"] = *s.online_meeting;
        if (s.location) sj["location"] = *s.location;
        if (s.organizer) {
          Json person;
          if (!s.organizer->name.empty()) person["name"] = s.organizer->name;
          person["email"] = s.organizer->email;
          sj["organizer"] = std::move(person);
        }
        if (s.presenter) sj["presenter"] = *s.presenter;
        if (!s.categories.empty()) sj["categories"] = s.categories;
        if (!s.reminders.empty()) {
          Json reminders = Json::array();
          for (auto r : s.reminders) reminders.push_back(format_duration(r));
          sj["reminders"] = std::move(reminders);
        }
        if (s.continues) sj["continues"] = *s.continues;
        series.push_back(std::move(sj));
      }
      j["series"] = std::move(series);
      communities.push_back(std::move(j));
    }
    out["communities"] = std::move(communities);
  }
  if (!definitions.overrides.empty()) {
    Json overrides = Json::array();
    for (const auto& o : definitions.overrides) {
      Json j;
      j["series"] = o.series;
      j["occurrence"] = format_local_minute(o.occurrence);
      if (o.move_to) j["move_to"] = format_local_minute(*o.move_to);
      if (o.duration) j["duration"] = format_duration(*o.duration);
      if (o.cancel) j["cancel"] = true;
      if (o.title) j["title"] = *o.title;
      if (o.description) j["description"] = *o.description;
      if (o.join_url) j["join_url"] = *o.join_url;
      if (o.location) j["location"] = *o.location;
      if (o.presenter) j["presenter"] = *o.presenter;
      if (o.agenda) j["agenda"] = *o.agenda;
      if (!o.resources.empty()) {
        Json resources = Json::array();
        for (const auto& r : o.resources) resources.push_back(Json{{"title", r.title}, {"url", r.url}});
        j["resources"] = std::move(resources);
      }
      if (o.reason) j["reason"] = *o.reason;
      overrides.push_back(std::move(j));
    }
    out["overrides"] = std::move(overrides);
  }
  return out;
}

}  // namespace convene
