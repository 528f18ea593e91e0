// Holiday calendars: rules, closures, the built-in US calendars, ICS closures and the
// day index used by the engine.
#include "convene/holiday_calendar.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <filesystem>
#include <set>
#include <utility>

#include <libical/ical.h>

#include "convene/input_file.h"
#include "convene/validate.h"

namespace convene {

namespace holiday_internal {
// What a calendar holds (HolidayCalendar::Data is this, under the header's private name).
struct CalendarContent {
  std::string id;
  std::vector<HolidayRule> rules;
  std::vector<Closure> closures;
  // "<rule name> (observed)" for each rule, parallel to `rules`, so that holidays()
  // builds no strings.
  std::vector<std::string> observed_names;
};
}  // namespace holiday_internal

struct HolidayCalendar::Data : holiday_internal::CalendarContent {};

namespace {

using date::days;
using date::local_days;
using date::year;
using date::year_month_day;

constexpr const char* kObservedSuffix = " (observed)";

// The years holidays() and HolidayIndex accept; far from date::year's limits so that
// year ± 2 never overflows.
constexpr int kComputedMinYear = -30000;
constexpr int kComputedMaxYear = 30000;

std::string rule_name(const HolidayRule& rule) {
  return std::visit([](const auto& r) { return r.name; }, rule);
}

using holiday_internal::CalendarContent;

template <class Data>
std::shared_ptr<Data> make_data(std::string id, std::vector<HolidayRule> rules,
                                std::vector<Closure> closures) {
  auto data = std::make_shared<Data>();
  data->id = std::move(id);
  data->rules = std::move(rules);
  data->closures = std::move(closures);
  data->observed_names.reserve(data->rules.size());
  for (const auto& rule : data->rules) data->observed_names.push_back(rule_name(rule) + kObservedSuffix);
  return data;
}

bool in_years(int y, const std::optional<int>& since, const std::optional<int>& until) {
  return (!since || y >= *since) && (!until || y <= *until);
}

// Gregorian (Western) Easter Sunday: the anonymous Gregorian algorithm (Meeus/Jones/
// Butcher). 2027 → 28 March, 2026 → 5 April.
local_days easter_sunday(int y) {
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return local_days{year{y} / static_cast<unsigned>(month) / static_cast<unsigned>(day)};
}

// The nth (1..5) or nth-from-last (-1..-5) `wd` of a month; nullopt when the month has
// no such day (a fifth Monday in most months) or nth is out of range.
std::optional<local_days> nth_weekday(int y, unsigned month, date::weekday wd, int nth) {
  if (month < 1 || month > 12 || !wd.ok()) return std::nullopt;
  const auto ym = year{y} / date::month{month};
  if (nth >= 1 && nth <= 5) {
    const date::year_month_weekday ymw{ym.year(), ym.month(), wd[static_cast<unsigned>(nth)]};
    if (!ymw.ok()) return std::nullopt;
    return local_days{ymw};
  }
  if (nth <= -1 && nth >= -5) {
    const local_days last{date::year_month_weekday_last{ym.year(), ym.month(), wd[date::last]}};
    const local_days d = last - days{7 * (-nth - 1)};
    if (year_month_day{d}.month() != date::month{month}) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

// Appends the holidays of `rule` (index `index` in data.rules) that fall in
// [lo, hi] (years [from_y, to_y]) to `out`.
class Collector {
 public:
  Collector(const CalendarContent& data, int from_y, int to_y, std::vector<Holiday>& out)
      : data_(data),
        from_y_(from_y),
        to_y_(to_y),
        lo_(local_days{year{from_y} / 1 / 1}),
        hi_(local_days{year{to_y} / 12 / 31}),
        out_(out) {}

  void add(local_days day, const std::string& name) {
    if (day < lo_ || day > hi_) return;
    out_.push_back(Holiday{day, name, data_.id});
  }

  void rule(std::size_t index, const FixedDateRule& r) {
    if (r.month < 1 || r.month > 12 || r.day < 1 || r.day > 31 || r.every_years < 1) return;
    // Years around the range too: New Year's Day of to_y + 1 (a Saturday) is observed on
    // 31 December of to_y, and 31 December of from_y - 1 (a Sunday) on 1 January of from_y.
    for (int y = from_y_ - 1; y <= to_y_ + 1; ++y) {
      if (!in_years(y, r.since, r.until)) continue;
      if (r.every_years > 1) {
        const int k = y - r.since.value_or(0);
        if (((k % r.every_years) + r.every_years) % r.every_years != 0) continue;
      }
      // 29 February exists in leap years only; 31 April never: such a year gives nothing.
      const year_month_day ymd{year{y}, date::month{r.month}, date::day{r.day}};
      if (!ymd.ok()) continue;
      const local_days day{ymd};
      add(day, r.name);
      if (!r.observe_weekend) continue;
      const date::weekday wd{day};
      if (wd == date::Saturday && r.observe_saturday) add(day - days{1}, data_.observed_names[index]);
      if (wd == date::Sunday) add(day + days{1}, data_.observed_names[index]);
    }
  }

  void rule(std::size_t, const NthWeekdayRule& r) {
    for (int y = from_y_; y <= to_y_; ++y) {
      if (!in_years(y, r.since, r.until)) continue;
      if (auto day = nth_weekday(y, r.month, r.weekday, r.nth)) add(*day, r.name);
    }
  }

  void rule(std::size_t, const EasterRule& r) {
    // An offset beyond a few weeks can cross into another year.
    const int spill = std::abs(r.offset_days) / 365 + 1;
    for (int y = std::max(from_y_ - spill, kComputedMinYear); y <= std::min(to_y_ + spill, kComputedMaxYear); ++y) {
      if (!in_years(y, r.since, r.until)) continue;
      add(easter_sunday(y) + days{r.offset_days}, r.name);
    }
  }

  void closure(const Closure& c) {
    const local_days first = std::max(c.from, lo_);
    const local_days last = std::min(c.to, hi_);
    for (local_days d = first; d <= last; d += days{1}) out_.push_back(Holiday{d, c.name, data_.id});
  }

 private:
  const CalendarContent& data_;
  int from_y_, to_y_;
  local_days lo_, hi_;
  std::vector<Holiday>& out_;
};

// The built-in calendars. Each rule follows 5 U.S.C. 6103 (federal) or the D.C. Code;
// the years a holiday was established bound its rule (MLK Day 1986, Juneteenth 2021,
// DC Emancipation Day 2005, Inauguration Day on 20 January 1965). The Uniform Monday
// Holiday Act moved Washington's Birthday, Memorial Day, Columbus Day and (until 1977)
// Veterans Day to Mondays from 1971; the earlier fixed dates are kept for the years
// before. For 1990–2060 this matches python3-holidays' US calendar (checked by
// tests/holiday_calendar_test.cpp) except Juneteenth, which that version predates.
// Before 1971 the observance rules are applied as they are today: an approximation
// (the Saturday → Friday rule dates from 1971), no calendar of ours reaches back there.
std::vector<HolidayRule> federal_rules() {
  using date::Monday;
  using date::Thursday;
  auto fixed = [](std::string name, unsigned month, unsigned day, std::optional<int> since = {},
                  std::optional<int> until = {}) {
    FixedDateRule r;
    r.name = std::move(name);
    r.month = month;
    r.day = day;
    r.observe_weekend = true;
    r.since = since;
    r.until = until;
    return HolidayRule{std::move(r)};
  };
  auto nth = [](std::string name, unsigned month, date::weekday wd, int n,
                std::optional<int> since = {}, std::optional<int> until = {}) {
    return HolidayRule{NthWeekdayRule{std::move(name), month, wd, n, since, until}};
  };
  return {
      fixed("New Year's Day", 1, 1, 1871),
      nth("Martin Luther King, Jr. Day", 1, Monday, 3, 1986),
      fixed("Washington's Birthday", 2, 22, 1879, 1970),
      nth("Washington's Birthday", 2, Monday, 3, 1971),
      fixed("Memorial Day", 5, 30, 1888, 1970),
      nth("Memorial Day", 5, Monday, -1, 1971),
      fixed("Juneteenth National Independence Day", 6, 19, 2021),
      fixed("Independence Day", 7, 4, 1871),
      nth("Labor Day", 9, Monday, 1, 1894),
      fixed("Columbus Day", 10, 12, 1937, 1970),
      nth("Columbus Day", 10, Monday, 2, 1971),
      fixed("Veterans Day", 11, 11, 1938, 1970),
      nth("Veterans Day", 10, Monday, 4, 1971, 1977),
      fixed("Veterans Day", 11, 11, 1978),
      nth("Thanksgiving Day", 11, Thursday, 4, 1871),
      fixed("Christmas Day", 12, 25, 1871),
  };
}

std::vector<HolidayRule> dc_rules() {
  auto rules = federal_rules();
  // D.C. Code § 1-612.02: 16 April, a Saturday observed on Friday, a Sunday on Monday.
  FixedDateRule emancipation;
  emancipation.name = "DC Emancipation Day";
  emancipation.month = 4;
  emancipation.day = 16;
  emancipation.observe_weekend = true;
  emancipation.since = 2005;
  rules.push_back(emancipation);
  // 5 U.S.C. 6103(c): 20 January of every fourth year from 1965, for the Washington
  // area; on a Sunday the next day; on a Saturday no day instead.
  FixedDateRule inauguration;
  inauguration.name = "Inauguration Day";
  inauguration.month = 1;
  inauguration.day = 20;
  inauguration.observe_weekend = true;
  inauguration.observe_saturday = false;
  inauguration.since = 1965;
  inauguration.every_years = 4;
  rules.push_back(inauguration);
  return rules;
}

}  // namespace

HolidayCalendar::HolidayCalendar(std::string id) : data_(make_data<Data>(std::move(id), {}, {})) {}

std::optional<HolidayCalendar> HolidayCalendar::builtin(std::string_view name, std::string id) {
  static const std::shared_ptr<const Data> federal = make_data<Data>("us-federal", federal_rules(), {});
  static const std::shared_ptr<const Data> dc = make_data<Data>("us-dc", dc_rules(), {});
  const std::shared_ptr<const Data>* found = name == "us-federal" ? &federal
                                             : name == "us-dc"    ? &dc
                                                                  : nullptr;
  if (!found) return std::nullopt;
  const auto& data = *found;
  HolidayCalendar calendar{""};
  if (id.empty() || id == data->id) {
    calendar.data_ = data;
  } else {
    auto copy = std::make_shared<Data>(*data);
    copy->id = std::move(id);
    calendar.data_ = std::move(copy);
  }
  return calendar;
}

const std::vector<std::string>& HolidayCalendar::builtin_names() {
  static const std::vector<std::string> names{"us-federal", "us-dc"};
  return names;
}

HolidayCalendar HolidayCalendar::with_rule(HolidayRule rule) const {
  auto copy = std::make_shared<Data>(*data_);
  copy->observed_names.push_back(rule_name(rule) + kObservedSuffix);
  copy->rules.push_back(std::move(rule));
  HolidayCalendar result{""};
  result.data_ = std::move(copy);
  return result;
}

HolidayCalendar HolidayCalendar::with_closure(Closure closure) const {
  std::vector<Closure> one;
  one.push_back(std::move(closure));
  return with_closures(std::move(one));
}

HolidayCalendar HolidayCalendar::with_closures(std::vector<Closure> closures) const {
  auto copy = std::make_shared<Data>(*data_);
  if (copy->closures.empty()) {
    copy->closures = std::move(closures);
  } else {
    copy->closures.reserve(copy->closures.size() + closures.size());
    for (auto& c : closures) copy->closures.push_back(std::move(c));
  }
  HolidayCalendar result{""};
  result.data_ = std::move(copy);
  return result;
}

HolidayCalendar HolidayCalendar::merged_with(const HolidayCalendar& other) const {
  auto copy = std::make_shared<Data>(*data_);
  const Data& o = *other.data_;
  copy->rules.insert(copy->rules.end(), o.rules.begin(), o.rules.end());
  copy->observed_names.insert(copy->observed_names.end(), o.observed_names.begin(),
                              o.observed_names.end());
  copy->closures.insert(copy->closures.end(), o.closures.begin(), o.closures.end());
  HolidayCalendar result{""};
  result.data_ = std::move(copy);
  return result;
}

const std::string& HolidayCalendar::id() const { return data_->id; }
const std::vector<HolidayRule>& HolidayCalendar::rules() const { return data_->rules; }
const std::vector<Closure>& HolidayCalendar::closures() const { return data_->closures; }

namespace {

// The holidays the rules of `data` give in the years [from_y, to_y], unsorted.
void collect_rule_holidays(const CalendarContent& data, int from_y, int to_y, std::vector<Holiday>& out) {
  out.reserve(out.size() + static_cast<std::size_t>(to_y - from_y + 1) * (data.rules.size() + 1));
  Collector collect{data, from_y, to_y, out};
  for (std::size_t i = 0; i < data.rules.size(); ++i) {
    std::visit([&](const auto& r) { collect.rule(i, r); }, data.rules[i]);
  }
}

}  // namespace

std::vector<Holiday> HolidayCalendar::holidays(date::year from, date::year to) const {
  const int from_y = std::max(static_cast<int>(from), kComputedMinYear);
  const int to_y = std::min(static_cast<int>(to), kComputedMaxYear);
  std::vector<Holiday> out;
  if (from_y > to_y) return out;
  collect_rule_holidays(*data_, from_y, to_y, out);
  Collector collect{*data_, from_y, to_y, out};
  for (const auto& c : data_->closures) collect.closure(c);
  std::sort(out.begin(), out.end(), [](const Holiday& a, const Holiday& b) {
    if (a.day != b.day) return a.day < b.day;
    return a.name < b.name;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Holiday& a, const Holiday& b) {
                          return a.day == b.day && a.name == b.name;
                        }),
            out.end());
  return out;
}

// --- ICS closures ---------------------------------------------------------------

namespace {

// A recurring all-day event is expanded to at most this many instances per RRULE,
// none after this year: a district calendar covers a few school years.
constexpr int kMaxIcsInstances = 1000;
constexpr int kMaxIcsYear = 2100;

// libical aborts on some errors unless told otherwise; errors must be messages here.
void make_libical_nonfatal() {
  static std::once_flag once;
  std::call_once(once, [] {
    icalerror_set_errors_are_fatal(0);
    for (const icalerrorenum e :
         {ICAL_BADARG_ERROR, ICAL_NEWFAILED_ERROR, ICAL_ALLOCATION_ERROR, ICAL_MALFORMEDDATA_ERROR,
          ICAL_PARSE_ERROR, ICAL_INTERNAL_ERROR, ICAL_FILE_ERROR, ICAL_USAGE_ERROR,
          ICAL_UNIMPLEMENTED_ERROR, ICAL_UNKNOWN_ERROR}) {
      icalerror_set_error_state(e, ICAL_ERROR_NONFATAL);
    }
  });
}

struct ComponentDeleter {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, ComponentDeleter>;

struct RecurDeleter {
  void operator()(icalrecur_iterator* it) const { icalrecur_iterator_free(it); }
};

// The physical lines of the text, without their CR/LF.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == text.size()) break;
    pos = end + 1;
  }
  return lines;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string quote(std::string_view s) { return quote_value(s); }

// A value shown without quotes (a UID, libical's own complaint): escaped as quote_value
// escapes, at most kMaxQuotedChars characters of it.
std::string shown(std::string_view s) {
  std::string q = quote_value(s);  // "\"...\"" or "\"...\"…"
  const bool cut = q.size() >= 4 && q.compare(q.size() - 3, 3, "…") == 0;
  if (cut) q.resize(q.size() - 3);
  return q.substr(1, q.size() - 2) + (cut ? "…" : "");
}

// libical's complaint about a value ("Can't parse as DATE value in DTSTART property.
// Removing entire property: 2026aa01"): its words, and the value quoted as values are.
std::string complaint(std::string_view text) {
  const auto colon = text.rfind(": ");
  if (colon == std::string_view::npos) return shown(text);
  return shown(text.substr(0, colon)) + ": " + quote(text.substr(colon + 2));
}

// The content lines of an iCalendar text as libical's parser reads them (a line ends at
// LF, or at CR where no LF follows; a line that starts with a space or a tab continues
// the one before), with the number of the physical line each starts on.
std::vector<std::pair<std::size_t, std::string_view>> content_lines(std::string_view text) {
  std::vector<std::pair<std::size_t, std::string_view>> out;
  std::size_t pos = 0, physical = 0;
  const bool any_lf = text.find('\n') != std::string_view::npos;
  while (pos < text.size()) {
    std::size_t end = text.find(any_lf ? '\n' : '\r', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++physical;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      // A continuation: libical joins it to the line before; only the first line's name counts.
    } else {
      out.emplace_back(physical, line);
    }
    pos = end + 1;
  }
  return out;
}

// Why the BEGIN and END lines of `text` do not nest (an END with nothing open, a BEGIN
// never ended, an END naming another component), or nullopt. Checked before libical
// parses the text: its parser prints "Encountered END before BEGIN" on stderr itself.
std::optional<std::string> unbalanced(std::string_view text) {
  std::vector<std::pair<std::size_t, std::string>> open;  // line, component name
  for (const auto& [line_number, line] : content_lines(text)) {
    const auto name_end = line.find_first_of(";:");
    if (name_end == std::string_view::npos) continue;
    std::string name(trim(line.substr(0, name_end)));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name != "BEGIN" && name != "END") continue;
    std::string component(trim(line.substr(line.find(':') == std::string_view::npos ? line.size() : line.find(':') + 1)));
    for (char& c : component) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string at = "line " + std::to_string(line_number) + ": ";
    if (name == "BEGIN") {
      open.emplace_back(line_number, component);
    } else if (open.empty()) {
      return at + "END:" + shown(component) + " with no component open (BEGIN and END lines do not match)";
    } else if (open.back().second != component) {
      return at + "END:" + shown(component) + " ends BEGIN:" + shown(open.back().second) + " of line " +
             std::to_string(open.back().first) + " (BEGIN and END lines do not match)";
    } else {
      open.pop_back();
    }
  }
  if (!open.empty()) {
    return "line " + std::to_string(open.back().first) + ": BEGIN:" + shown(open.back().second) +
           " is never ended (no END:" + shown(open.back().second) + ")";
  }
  return std::nullopt;
}

std::optional<local_days> to_day(const icaltimetype& t) {
  if (icaltime_is_null_time(t)) return std::nullopt;
  const year_month_day ymd{year{t.year}, date::month{static_cast<unsigned>(t.month)},
                           date::day{static_cast<unsigned>(t.day)}};
  if (!ymd.ok()) return std::nullopt;
  return local_days{ymd};
}

std::string format_ical_date(const icaltimetype& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", t.year, t.month, t.day);
  return buf;
}

class IcsReader {
 public:
  IcsReader(std::string_view text, const std::string& source, std::size_t max_events)
      : text_(text), source_(source), max_events_(max_events), lines_(split_lines(text)) {
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (iequals(trim(lines_[i]), "BEGIN:VEVENT")) vevent_lines_.push_back(i + 1);
    }
  }

  IcsClosures read() {
    IcsClosures result;
    std::string_view body = text_;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 BOM
    if (body.find('\0') != std::string_view::npos) {
      return fail("not an iCalendar file: it contains binary data (NUL bytes)");
    }
    // The first non-blank line must open a calendar; HTML error pages and other files
    // saved under an .ics name are caught here with their first line quoted.
    std::size_t first = 0;
    while (first < lines_.size() && trim(lines_[first]).empty()) ++first;
    if (first == lines_.size()) return fail("empty file: expected an iCalendar file (BEGIN:VCALENDAR)");
    std::string_view head = trim(lines_[first]);
    if (first == 0 && head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
    if (!iequals(head, "BEGIN:VCALENDAR")) {
      return fail("line " + std::to_string(first + 1) + ": not an iCalendar file: expected " +
                  "BEGIN:VCALENDAR, found " + quote(head));
    }
    // The cap on events, before libical builds them all.
    if (vevent_lines_.size() > max_events_) {
      return fail("line " + std::to_string(vevent_lines_[max_events_]) + ": more than " +
                  std::to_string(max_events_) + " events (BEGIN:VEVENT); a school calendar has a few "
                  "hundred: is this the right file?");
    }
    if (auto why = unbalanced(body)) return fail(*why);
    const std::string copy(body);
    ComponentPtr root{icalparser_parse_string(copy.c_str())};
    if (!root) {
      return fail("cannot parse the iCalendar content (is a BEGIN:/END: pair unbalanced, "
                  "END:VCALENDAR missing?)");
    }
    std::vector<icalcomponent*> calendars;
    const icalcomponent_kind kind = icalcomponent_isa(root.get());
    if (kind == ICAL_VCALENDAR_COMPONENT) {
      calendars.push_back(root.get());
    } else if (kind == ICAL_XROOT_COMPONENT) {
      for (icalcomponent* c = icalcomponent_get_first_component(root.get(), ICAL_VCALENDAR_COMPONENT);
           c; c = icalcomponent_get_next_component(root.get(), ICAL_VCALENDAR_COMPONENT)) {
        calendars.push_back(c);
      }
    }
    if (calendars.empty()) return fail("cannot parse the iCalendar content: no VCALENDAR");
    for (icalcomponent* cal : calendars) {
      if (auto message = structural_error(cal)) return fail(*message);
    }

    std::vector<icalcomponent*> events;
    for (icalcomponent* cal : calendars) {
      for (icalcomponent* ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
           ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        events.push_back(ev);
      }
    }
    // RECURRENCE-ID: an instance of a recurring event replaced by its own VEVENT (moved,
    // renamed or cancelled). The master's expansion leaves that instance out.
    std::set<std::pair<std::string, local_days>> replaced;
    for (icalcomponent* ev : events) {
      icalproperty* rid = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
      const char* uid = icalcomponent_get_uid(ev);
      if (!rid || !uid) continue;
      if (auto day = to_day(icalproperty_get_recurrenceid(rid))) replaced.emplace(uid, *day);
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (auto message = read_event(events[i], i, replaced, result.closures)) return fail(*message);
    }
    return result;
  }

 private:
  IcsClosures fail(const std::string& message) const {
    IcsClosures result;
    result.error = source_ + ": " + message;
    return result;
  }

  // The line of a physical line equal to `content`, for messages; 0 if not found.
  std::size_t line_of(std::string_view content) const {
    content = trim(content);
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (trim(lines_[i]) == content) return i + 1;
    }
    return 0;
  }

  // A line that is neither a property nor BEGIN/END (libical's COMPONENT-PARSE-ERROR)
  // anywhere in the component: the content is not iCalendar.
  std::optional<std::string> structural_error(icalcomponent* component) const {
    for (icalproperty* p = icalcomponent_get_first_property(component, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(component, ICAL_XLICERROR_PROPERTY)) {
      icalparameter* type = icalproperty_get_first_parameter(p, ICAL_XLICERRORTYPE_PARAMETER);
      if (!type || icalparameter_get_xlicerrortype(type) != ICAL_XLICERRORTYPE_COMPONENTPARSEERROR) {
        continue;
      }
      const std::string message = icalproperty_get_xlicerror(p) ? icalproperty_get_xlicerror(p) : "";
      const auto colon = message.find(": ");
      const std::string bad = colon == std::string::npos ? message : message.substr(colon + 2);
      const std::size_t line = line_of(bad);
      return (line ? "line " + std::to_string(line) + ": " : std::string()) +
             "not an iCalendar content line (no property name or BEGIN/END): " + quote(bad);
    }
    for (icalcomponent* c = icalcomponent_get_first_component(component, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(component, ICAL_ANY_COMPONENT)) {
      if (auto message = structural_error(c)) return message;
    }
    return std::nullopt;
  }

  // `line N: event "Winter break" (UID wb-2026@ccps.example)`
  std::string describe(icalcomponent* ev, std::size_t index) const {
    std::string out;
    if (index < vevent_lines_.size()) out += "line " + std::to_string(vevent_lines_[index]) + ": ";
    out += "event";
    const char* summary = icalcomponent_get_summary(ev);
    if (summary && *summary) out += " " + quote(summary);
    const char* uid = icalcomponent_get_uid(ev);
    if (uid && *uid) out += " (UID " + shown(uid) + ")";
    return out;
  }

  // libical's complaint about a property it could not read and dropped, if any.
  static std::optional<std::string> value_error(icalcomponent* ev, std::string_view property) {
    const std::string needle = "in " + std::string(property) + " property";
    for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(ev, ICAL_XLICERROR_PROPERTY)) {
      const char* message = icalproperty_get_xlicerror(p);
      if (message && std::string_view(message).find(needle) != std::string_view::npos) return message;
    }
    return std::nullopt;
  }

  std::optional<std::string> read_event(icalcomponent* ev, std::size_t index,
                                        const std::set<std::pair<std::string, local_days>>& replaced,
                                        std::vector<Closure>& out) const {
    // A cancelled event closes nothing (a district calendar keeps a cancelled snow make-up
    // day as STATUS:CANCELLED).
    if (icalcomponent_get_status(ev) == ICAL_STATUS_CANCELLED) return std::nullopt;
    icalproperty* start_prop = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    if (!start_prop) {
      if (auto bad = value_error(ev, "DTSTART")) return describe(ev, index) + ": unreadable DTSTART: " + complaint(*bad);
      return describe(ev, index) + ": no DTSTART (every VEVENT needs one)";
    }
    const icaltimetype start = icalproperty_get_dtstart(start_prop);
    if (!start.is_date) return std::nullopt;  // a timed event: not a closure
    const auto first = to_day(start);
    if (!first) return describe(ev, index) + ": invalid DTSTART date " + format_ical_date(start);
    for (const char* property : {"DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}) {
      if (auto bad = value_error(ev, property)) {
        return describe(ev, index) + ": unreadable " + property + ": " + complaint(*bad);
      }
    }

    // Length in days: DTEND is exclusive; DURATION (P1D, P1W) counts days; neither means
    // one day (RFC 5545 §3.6.1). A DTEND equal to DTSTART, which some exporters write
    // for a one-day event, is read as one day too.
    long length = 1;
    if (icalproperty* end_prop = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY)) {
      const icaltimetype end = icalproperty_get_dtend(end_prop);
      if (!end.is_date) {
        return describe(ev, index) + ": DTEND " + quote(icaltime_as_ical_string(end)) +
               " is a date-time but DTSTART is a date (both must be VALUE=DATE)";
      }
      const auto last = to_day(end);
      if (!last) return describe(ev, index) + ": invalid DTEND date " + format_ical_date(end);
      if (*last < *first) {
        return describe(ev, index) + ": DTEND " + format_ical_date(end) + " is before DTSTART " +
               format_ical_date(start);
      }
      length = std::max<long>(1, (*last - *first).count());
    } else if (icalproperty* dur_prop = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY)) {
      const icaldurationtype d = icalproperty_get_duration(dur_prop);
      const long seconds = icaldurationtype_as_int(d);
      if (d.is_neg || seconds < 0) {
        return describe(ev, index) + ": negative DURATION " +
               quote(icaldurationtype_as_ical_string(d));
      }
      // A partial day (P1DT12H, not valid with a DATE start) still closes that day.
      length = std::max<long>(1, (seconds + 86399) / 86400);
    }

    const char* summary_text = icalcomponent_get_summary(ev);
    const std::string name = summary_text && *summary_text ? summary_text : "Closed";
    const char* uid_text = icalcomponent_get_uid(ev);
    const std::string uid = uid_text ? uid_text : "";

    std::set<local_days> starts{*first};
    const bool is_override = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
    if (!is_override) {
      for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY); p;
           p = icalcomponent_get_next_property(ev, ICAL_RRULE_PROPERTY)) {
        const icalrecurrencetype rule = icalproperty_get_rrule(p);
        std::unique_ptr<icalrecur_iterator, RecurDeleter> it{icalrecur_iterator_new(rule, start)};
        if (!it) {
          const char* text = icalproperty_get_value_as_string(p);
          return describe(ev, index) + ": libical cannot expand RRULE " + quote(text ? text : "");
        }
        int count = 0;
        for (icaltimetype t = icalrecur_iterator_next(it.get());
             !icaltime_is_null_time(t) && t.year <= kMaxIcsYear && count < kMaxIcsInstances;
             t = icalrecur_iterator_next(it.get()), ++count) {
          if (auto day = to_day(t)) starts.insert(*day);
        }
      }
      for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_RDATE_PROPERTY); p;
           p = icalcomponent_get_next_property(ev, ICAL_RDATE_PROPERTY)) {
        const icaldatetimeperiodtype rdate = icalproperty_get_rdate(p);
        const icaltimetype t = icaltime_is_null_time(rdate.time) ? rdate.period.start : rdate.time;
        if (auto day = to_day(t)) starts.insert(*day);
      }
      // EXDATE removes instances by their date (a DATE-TIME EXDATE on an all-day event,
      // which some exporters write, still names its day).
      for (icalproperty* p = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); p;
           p = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY)) {
        if (auto day = to_day(icalproperty_get_exdate(p))) starts.erase(*day);
      }
      if (!uid.empty()) {
        for (auto it = starts.begin(); it != starts.end();) {
          it = replaced.count({uid, *it}) ? starts.erase(it) : std::next(it);
        }
      }
    }
    for (const local_days s : starts) out.push_back(Closure{name, s, s + days{length - 1}});
    return std::nullopt;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t max_events_;
  std::vector<std::string_view> lines_;
  std::vector<std::size_t> vevent_lines_;  // the line of each BEGIN:VEVENT, in order
};

}  // namespace

IcsClosures parse_ics_closures(std::string_view ics_text, const std::string& source_name,
                               const InputLimits& limits) {
  make_libical_nonfatal();
  return IcsReader{ics_text, source_name, limits.max_ics_events}.read();
}

IcsClosures load_ics_closures(const std::string& path, const InputLimits& limits) {
  const InputFile file = read_input_file(path, limits.max_file_size);
  if (!file) {
    IcsClosures result;
    result.error = path + ": cannot read the iCalendar file: " + file.error;
    return result;
  }
  return parse_ics_closures(file.text, path, limits);
}

// --- HolidayIndex ---------------------------------------------------------------

HolidayIndex::HolidayIndex(const std::vector<const HolidayCalendar*>& calendars, LocalDay from,
                           LocalDay to)
    : from_(from), to_(to) {
  if (to < from) return;
  // Every holiday as an interval of days with its priority: the calendar's place in
  // `calendars`, then the name (holidays() order). A rule's holiday is one day; a
  // closure is its whole range, clipped to [from, to], never one entry per day.
  struct Interval {
    LocalDay first, last;
    std::size_t rank;
    std::uint32_t entry;
  };
  std::vector<Interval> intervals;
  const int from_y = static_cast<int>(year_month_day{from}.year());
  const int to_y = static_cast<int>(year_month_day{to}.year());
  for (std::size_t rank = 0; rank < calendars.size(); ++rank) {
    const HolidayCalendar* calendar = calendars[rank];
    if (!calendar) continue;
    std::vector<Holiday> days;
    collect_rule_holidays(*calendar->data_, std::max(from_y, kComputedMinYear), std::min(to_y, kComputedMaxYear), days);
    for (auto& h : days) {
      if (h.day < from || h.day > to) continue;
      intervals.push_back({h.day, h.day, rank, static_cast<std::uint32_t>(entries_.size())});
      entries_.push_back(std::move(h));
    }
    for (const Closure& c : calendar->closures()) {
      const LocalDay first = std::max(c.from, from), last = std::min(c.to, to);
      if (first > last) continue;
      intervals.push_back({first, last, rank, static_cast<std::uint32_t>(entries_.size())});
      entries_.push_back(Holiday{first, c.name, calendar->id()});
    }
  }
  // One sweep over the interval ends: between two consecutive ends the same intervals
  // hold, and the first by (rank, name) wins. Adjacent days with the same winner make
  // one span.
  struct End {
    LocalDay day;
    bool opens;
    std::uint32_t interval;
  };
  std::vector<End> ends;
  ends.reserve(2 * intervals.size());
  for (std::uint32_t i = 0; i < intervals.size(); ++i) {
    ends.push_back({intervals[i].first, true, i});
    ends.push_back({intervals[i].last + days{1}, false, i});
  }
  std::sort(ends.begin(), ends.end(), [](const End& a, const End& b) { return a.day < b.day; });
  auto before = [&](std::uint32_t a, std::uint32_t b) {
    const Interval& x = intervals[a];
    const Interval& y = intervals[b];
    if (x.rank != y.rank) return x.rank < y.rank;
    const std::string& xn = entries_[x.entry].name;
    const std::string& yn = entries_[y.entry].name;
    if (xn != yn) return xn < yn;
    return a < b;
  };
  std::set<std::uint32_t, decltype(before)> open(before);
  for (std::size_t k = 0; k < ends.size();) {
    const LocalDay day = ends[k].day;
    for (; k < ends.size() && ends[k].day == day; ++k) {
      if (ends[k].opens) {
        open.insert(ends[k].interval);
      } else {
        open.erase(ends[k].interval);
      }
    }
    if (open.empty()) continue;
    const LocalDay until = k < ends.size() ? ends[k].day - days{1} : to;
    const std::uint32_t winner = intervals[*open.begin()].entry;
    if (!spans_.empty() && spans_.back().entry == winner && spans_.back().last + days{1} == day) {
      spans_.back().last = until;
    } else {
      spans_.push_back({day, until, winner});
    }
  }
}

const HolidayIndex::Span* HolidayIndex::span_of(LocalDay day) const {
  if (spans_.empty() || day < from_ || day > to_) return nullptr;
  auto it = std::upper_bound(spans_.begin(), spans_.end(), day,
                             [](LocalDay d, const Span& s) { return d < s.first; });
  if (it == spans_.begin()) return nullptr;
  --it;
  return day <= it->last ? &*it : nullptr;
}

bool HolidayIndex::contains(LocalDay day) const { return span_of(day) != nullptr; }

std::optional<Holiday> HolidayIndex::find(LocalDay day) const {
  const Span* span = span_of(day);
  if (!span) return std::nullopt;
  const Holiday& entry = entries_[span->entry];
  return Holiday{day, entry.name, entry.calendar};
}

}  // namespace convene
