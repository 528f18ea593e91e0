// Words for people: meeting patterns, times, zone names, why a session moved, the
// subscribe links of each calendar client (convene/web.h).
#include <unicode/locid.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "convene/html.h"
#include "convene/web.h"

namespace convene::web {

namespace {

const char* const kOrdinals[] = {"", "first", "second", "third", "fourth", "fifth"};
const char* const kWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"",     "January", "February", "March",     "April",   "May",     "June",
                               "July", "August",  "September", "October", "November", "December"};
constexpr std::string_view kDash = "\u2013";  // en dash

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// "a", "a and b", "a, b and c"
std::string joined(const std::vector<std::string>& items, std::string_view last = " and ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? std::string(last) : ", ";
    out += items[i];
  }
  return out;
}

std::string day_ordinal(int day) {
  const int tens = day % 100;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th" : day % 10 == 1 ? "st" : day % 10 == 2 ? "nd" : day % 10 == 3 ? "rd" : "th";
  return std::to_string(day) + suffix;
}

std::string nth_words(int nth) {
  if (nth >= 1 && nth <= 5) return kOrdinals[nth];
  if (nth == -1) return "last";
  if (nth == -2) return "second-to-last";
  return {};
}

std::string weekday_name(date::weekday w) { return kWeekdays[w.c_encoding()]; }

// "Mondays and Wednesdays" / "Monday and Wednesday"
std::string weekday_list(const std::vector<WeekdayNum>& days, bool plural) {
  std::vector<std::string> names;
  for (const auto& d : days) names.push_back(weekday_name(d.weekday) + (plural ? "s" : ""));
  return joined(names);
}

bool is_workweek(const std::vector<WeekdayNum>& days) {
  if (days.size() != 5) return false;
  for (const auto& d : days) {
    if (d.nth != 0 || d.weekday == date::Saturday || d.weekday == date::Sunday) return false;
  }
  return true;
}

// " of every other month", " of the month"
std::string every_n(int interval, const char* unit, const char* units) {
  if (interval == 1) return std::string("every ") + unit;
  if (interval == 2) return std::string("every other ") + unit;
  return "every " + std::to_string(interval) + " " + units;
}

// The months a rule is limited to, in words: "September to June" for a run that wraps
// around the year, else "in March, June and September"; "" when none.
std::string months_words(std::vector<int> months) {
  if (months.empty() || months.size() == 12) return {};
  std::sort(months.begin(), months.end());
  months.erase(std::unique(months.begin(), months.end()), months.end());
  // Find a month whose predecessor is missing: the start of a single cyclic run, if any.
  auto has = [&](int m) { return std::binary_search(months.begin(), months.end(), ((m + 11) % 12) + 1); };
  int runs = 0, start = 0;
  for (int m : months) {
    if (!has(m - 1)) {
      ++runs;
      start = m;
    }
  }
  if (runs == 1 && months.size() >= 3) {
    const int end = ((start - 1 + static_cast<int>(months.size()) - 1) % 12) + 1;
    return std::string(kMonths[start]) + " to " + kMonths[end];
  }
  std::vector<std::string> names;
  for (int m : months) names.push_back(kMonths[m]);
  return "in " + joined(names);
}

bool plain_rule(const RecurrenceRule& r) {
  return r.by_second.empty() && r.by_minute.empty() && r.by_hour.empty() && r.by_year_day.empty() &&
         r.by_week_no.empty() && r.by_set_pos.empty() &&
         (r.freq == Frequency::daily || r.freq == Frequency::weekly || r.freq == Frequency::monthly ||
          r.freq == Frequency::yearly);
}

// The day part of a rule in words, or nullopt when these words cannot say it.
std::optional<std::string> rule_days(const RecurrenceRule& rule, LocalTime dtstart) {
  if (!plain_rule(rule)) return std::nullopt;
  const RecurrenceRule r = rule.with_implicit_parts(dtstart);
  const date::year_month_day ymd{date::floor<date::days>(dtstart)};
  const bool ordinals = std::any_of(r.by_day.begin(), r.by_day.end(), [](const WeekdayNum& d) { return d.nth != 0; });
  switch (r.freq) {
    case Frequency::daily:
      if (!r.by_month_day.empty() || ordinals) return std::nullopt;
      if (r.by_day.empty()) return capitalised(every_n(r.interval, "day", "days"));
      if (r.interval != 1) return std::nullopt;
      return is_workweek(r.by_day) ? "Every weekday" : "Every " + weekday_list(r.by_day, false);
    case Frequency::weekly:
      if (!r.by_month_day.empty() || ordinals) return std::nullopt;
      if (r.interval == 1) return is_workweek(r.by_day) ? "Every weekday" : "Every " + weekday_list(r.by_day, false);
      if (r.interval == 2) return "Every other " + weekday_list(r.by_day, false);
      return "Every " + std::to_string(r.interval) + " weeks on " + weekday_list(r.by_day, false);
    case Frequency::monthly: {
      std::string days;
      if (!r.by_day.empty() && r.by_month_day.empty()) {
        if (!ordinals) {
          days = "Every " + weekday_list(r.by_day, false);
        } else {
          // "Second and fourth Tuesday": one weekday, several ordinals; or one ordinal each.
          std::vector<std::string> parts;
          const bool one_weekday = std::all_of(r.by_day.begin(), r.by_day.end(),
                                               [&](const WeekdayNum& d) { return d.weekday == r.by_day[0].weekday; });
          for (const auto& d : r.by_day) {
            const std::string n = nth_words(d.nth);
            if (n.empty() || d.nth == 0) return std::nullopt;
            parts.push_back(one_weekday ? n : n + " " + weekday_name(d.weekday));
          }
          days = capitalised(joined(parts)) + (one_weekday ? " " + weekday_name(r.by_day[0].weekday) : "");
          days += " of " + std::string(r.interval == 1 ? "the month" : every_n(r.interval, "month", "months"));
        }
      } else if (r.by_day.empty() && !r.by_month_day.empty()) {
        std::vector<std::string> parts;
        for (int d : r.by_month_day) {
          if (d == -1) parts.push_back("last day");
          else if (d > 0) parts.push_back(day_ordinal(d));
          else return std::nullopt;
        }
        days = "The " + joined(parts) + " of " + (r.interval == 1 ? "the month" : every_n(r.interval, "month", "months"));
      } else {
        return std::nullopt;
      }
      if (!ordinals && !r.by_day.empty() && r.interval != 1) return std::nullopt;
      const std::string months = months_words(r.by_month);
      return months.empty() ? days : days + ", " + months;
    }
    case Frequency::yearly: {
      if (r.by_month.size() != 1 || r.interval != 1) return std::nullopt;
      const char* month = kMonths[r.by_month[0]];
      if (r.by_day.size() == 1 && r.by_month_day.empty() && r.by_day[0].nth != 0) {
        const std::string n = nth_words(r.by_day[0].nth);
        if (n.empty()) return std::nullopt;
        return capitalised(n) + " " + weekday_name(r.by_day[0].weekday) + " of " + month + ", every year";
      }
      if (r.by_day.empty() && r.by_month_day.size() == 1 && r.by_month_day[0] > 0)
        return "Every year on " + std::to_string(r.by_month_day[0]) + " " + month;
      (void)ymd;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::string icu_name(const date::time_zone* zone, icu::TimeZone::EDisplayType type) {
  std::unique_ptr<icu::TimeZone> tz(icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(std::string(zone->name()))));
  icu::UnicodeString name;
  tz->getDisplayName(false, type, icu::Locale("en", "US"), name);
  std::string out;
  name.toUTF8String(out);
  return out;
}

// ICU's names, looked up once per zone.
struct ZoneNames {
  std::string abbreviation, long_name;
};
const ZoneNames& names_of(const date::time_zone* zone) {
  static std::mutex mutex;
  static std::map<const date::time_zone*, ZoneNames> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(zone);
  if (it != cache.end()) return it->second;
  ZoneNames n;
  const std::string id(zone->name());
  if (id == "UTC" || id == "Etc/UTC" || id == "Etc/UCT" || id == "UCT" || id == "Zulu" || id == "Etc/Zulu") {
    n.abbreviation = n.long_name = "UTC";
  } else {
    n.long_name = icu_name(zone, icu::TimeZone::LONG_GENERIC);
    const std::string shortname = icu_name(zone, icu::TimeZone::SHORT_GENERIC);
    n.abbreviation = shortname.find(' ') == std::string::npos ? shortname : n.long_name;
  }
  return cache.emplace(zone, std::move(n)).first->second;
}

}  // namespace

std::string clock_time(LocalTime t) {
  const auto since = t - date::floor<date::days>(t);
  const auto h = static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(since).count());
  const auto m = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(since).count() % 60);
  const int hour12 = h % 12 == 0 ? 12 : h % 12;
  std::string out = std::to_string(hour12);
  if (m != 0) out += (m < 10 ? ":0" : ":") + std::to_string(m);
  return out + (h < 12 ? " am" : " pm");
}

std::string time_range(LocalTime start, LocalTime end) {
  if (end <= start) return clock_time(start);
  const std::string a = clock_time(start), b = clock_time(end);
  const bool same_half = a.substr(a.size() - 2) == b.substr(b.size() - 2) && end - start < std::chrono::hours{12};
  if (same_half) return a.substr(0, a.size() - 3) + std::string(kDash) + b;
  return a + " " + std::string(kDash) + " " + b;
}

std::string zone_abbreviation(const date::time_zone* zone) { return zone ? names_of(zone).abbreviation : "UTC"; }
std::string zone_long_name(const date::time_zone* zone) { return zone ? names_of(zone).long_name : "UTC"; }

std::string meeting_pattern(const CommunityDef& community, const SeriesDef& series) {
  const std::string time = time_range(series.start, series.start + series.duration) + " " +
                           zone_abbreviation(community.zone);
  if (!series.rrule) {
    const std::size_t sessions = 1 + series.add.size();
    if (sessions == 1) return format_day_long(date::floor<date::days>(series.start)) + ", " + time;
    return std::to_string(sessions) + " sessions on chosen dates, " + time;
  }
  if (auto days = rule_days(*series.rrule, series.start)) return *days + ", " + time;
  return "Recurring (" + series.rrule_text.value_or(series.rrule->to_string()) + "), " + time;
}

std::string why_words(const Occurrence& o) {
  const auto day_of = [](LocalTime t) { return date::floor<date::days>(t); };
  if (o.status == OccurrenceStatus::cancelled) {
    const std::string reason = o.override_def && o.override_def->reason ? *o.override_def->reason : "";
    return reason.empty() ? "Cancelled" : "Cancelled: " + reason;
  }
  if (o.status == OccurrenceStatus::skipped) {
    return o.holiday ? "No session: " + o.holiday->name : "No session";
  }
  if (o.status != OccurrenceStatus::shifted && o.status != OccurrenceStatus::moved) return {};
  std::string line = "Moved from " + format_day_long(day_of(o.original));
  if (o.local_start && (*o.local_start - day_of(*o.local_start)) != (o.original - day_of(o.original)))
    line += ", " + clock_time(o.original);
  std::string why;
  if (o.status == OccurrenceStatus::shifted && o.holiday) why = o.holiday->name;
  else if (o.override_def && o.override_def->reason) why = *o.override_def->reason;
  return why.empty() ? line : line + ": " + why;
}

SubscribeLinks subscribe_links(std::string_view feed_url, std::string_view name) {
  SubscribeLinks l;
  l.url = std::string(feed_url);
  const auto scheme = feed_url.find("://");
  l.apple = "webcal://" + std::string(scheme == std::string_view::npos ? feed_url : feed_url.substr(scheme + 3));
  l.google = "https://calendar.google.com/calendar/r?cid=" + html::query_component(l.apple);
  const std::string query = "?url=" + html::query_component(l.url) + "&name=" + html::query_component(name);
  l.outlook_365 = "https://outlook.office.com/calendar/0/addfromweb" + query;
  l.outlook_com = "https://outlook.live.com/calendar/0/addfromweb" + query;
  return l;
}

}  // namespace convene::web
