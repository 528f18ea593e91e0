// Views of occurrences: expand's JSON and CSV, preview's season tables, check's summary.
#include <iomanip>
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

namespace internal {

Json or_null(const std::optional<std::string>& value) { return value ? Json(*value) : Json(nullptr); }
Json text_or_null(const std::string& value) { return value.empty() ? Json(nullptr) : Json(value); }
std::string utc(Instant at) { return date::format("%Y-%m-%dT%H:%M:%SZ", at); }
std::string utc_short(Instant at) { return date::format("%Y-%m-%d %H:%MZ", at); }
const char* short_weekday(LocalDay day) {
  static const char* const kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  return kNames[date::weekday{day}.c_encoding()];
}
std::string hh_mm(LocalTime t) { return format_local_minute(t).substr(11, 5); }
std::string count_of(std::size_t n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string why(const Occurrence& o, LocalTime original_shown) {
  std::string text = o.reason;
  if (o.status == OccurrenceStatus::shifted || o.status == OccurrenceStatus::moved) {
    const LocalDay from = date::floor<date::days>(original_shown);
    text += (text.empty() ? "" : " ") + std::string("(from ") + short_weekday(from) + " " + format_date(from) + " " +
            hh_mm(original_shown) + ")";
  }
  if (o.override_def && o.override_def->title && o.live()) {
    text += (text.empty() ? "" : "; ") + std::string("titled \"") + o.title() + "\"";
  }
  return text;
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace internal

using namespace internal;

namespace {

bool shown(const SeriesDef& series, const std::optional<std::string>& only) { return !only || series.id == *only; }

}  // namespace

Json occurrence_json(const Occurrence& o) {
  const date::time_zone* zone = o.community->zone;
  Json j;
  j["community"] = o.community->id;
  j["series"] = o.series->id;
  j["title"] = o.title();
  j["occurrence_id"] = o.occurrence_id();
  j["start"] = o.start ? Json(format_rfc3339(*o.start, zone)) : Json(nullptr);
  j["end"] = o.end ? Json(format_rfc3339(*o.end, zone)) : Json(nullptr);
  j["local_start"] = o.local_start ? Json(format_local_minute(*o.local_start)) : Json(nullptr);
  j["timezone"] = o.community->timezone;
  j["status"] = to_string(o.status);
  j["reason"] = text_or_null(o.reason);
  if (o.holiday) {
    j["holiday"] = {{"name", o.holiday->name}, {"calendar", o.holiday->calendar}, {"date", format_date(o.holiday->day)}};
  } else {
    j["holiday"] = nullptr;
  }
  return j;
}

Json occurrences_json(const std::vector<Occurrence>& occurrences) { return array_of(occurrences, occurrence_json); }

std::string occurrences_csv(const std::vector<Occurrence>& occurrences) {
  std::ostringstream out;
  out << "community,series,title,occurrence_id,start,end,local_start,timezone,status,reason,"
         "holiday,holiday_calendar\r\n";
  for (const auto& o : occurrences) {
    const date::time_zone* zone = o.community->zone;
    out << csv_field(o.community->id) << ',' << csv_field(o.series->id) << ',' << csv_field(o.title()) << ','
        << o.occurrence_id() << ',' << (o.start ? format_rfc3339(*o.start, zone) : "") << ','
        << (o.end ? format_rfc3339(*o.end, zone) : "") << ','
        << (o.local_start ? format_local_minute(*o.local_start) : "") << ',' << csv_field(o.community->timezone)
        << ',' << to_string(o.status) << ',' << csv_field(o.reason) << ','
        << csv_field(o.holiday ? o.holiday->name : "") << ',' << csv_field(o.holiday ? o.holiday->calendar : "")
        << "\r\n";
  }
  return out.str();
}

std::string preview_text(const Definitions& defs, const std::vector<Occurrence>& occurrences, Window window,
                         const std::optional<std::string>& only) {
  std::ostringstream out;
  out << "Season " << format_date(window.from) << " to " << format_date(window.to) << "\n";
  for (const auto& community : defs.communities) {
    for (const auto& series : community.series) {
      if (!shown(series, only)) continue;
      out << "\n" << series.title << " [" << series.id << "] · " << community.name << " · " << community.timezone
          << "\n";
      out << "  " << hh_mm(series.start) << "–" << hh_mm(series.start + series.duration) << " ("
          << format_duration(series.duration) << ")";
      if (series.rrule_text) out << " · " << *series.rrule_text;
      out << " · on holiday: " << to_string(series.on_holiday);
      if (series.online_meeting)
        out << " · online meeting: " << (*series.online_meeting ? "yes (Meet on Google, Teams on Microsoft 365)" : "none");
      out << "\n";
      std::size_t count = 0, live = 0;
      std::ostringstream rows;
      for (const auto& o : occurrences) {
        if (o.series != &series) continue;
        ++count;
        if (o.live()) ++live;
        const LocalTime at = o.local_start ? *o.local_start : o.original;
        const LocalDay day = date::floor<date::days>(at);
        rows << "  " << format_date(day) << "  " << short_weekday(day) << "  " << hh_mm(at) << "  " << std::left
             << std::setw(9) << to_string(o.status);
        if (const std::string w = why(o, o.original); !w.empty()) rows << "  " << w;
        rows << "\n";
      }
      if (count == 0) {
        out << "  (no sessions in this window)\n";
        continue;
      }
      out << "  Date        Day  Time   Status     Why\n" << rows.str();
      out << "  " << live << " session" << (live == 1 ? "" : "s") << " of " << count << "\n";
    }
  }
  return out.str();
}

Json preview_json(const Definitions& defs, const std::vector<Occurrence>& occurrences, Window window,
                  const std::optional<std::string>& only) {
  Json j;
  j["from"] = format_date(window.from);
  j["to"] = format_date(window.to);
  j["series"] = Json::array();
  for (const auto& community : defs.communities) {
    for (const auto& series : community.series) {
      if (!shown(series, only)) continue;
      Json s;
      s["id"] = series.id;
      s["title"] = series.title;
      s["community"] = community.id;
      s["timezone"] = community.timezone;
      s["time"] = hh_mm(series.start);
      s["duration"] = format_duration(series.duration);
      s["rrule"] = or_null(series.rrule_text);
      s["on_holiday"] = to_string(series.on_holiday);
      s["online_meeting"] = series.online_meeting ? Json(*series.online_meeting) : Json(nullptr);
      Json list = Json::array();
      std::size_t live = 0;
      for (const auto& o : occurrences) {
        if (o.series != &series) continue;
        if (o.live()) ++live;
        list.push_back(occurrence_json(o));
      }
      s["sessions"] = list.size();
      s["live"] = live;
      s["occurrences"] = std::move(list);
      j["series"].push_back(std::move(s));
    }
  }
  return j;
}

std::string check_text(const Definitions& defs, std::size_t warnings) {
  std::size_t series = 0;
  for (const auto& c : defs.communities) series += c.series.size();
  std::string out = defs.source + ": ok: " + count_of(defs.calendars.size(), "calendar", "calendars") + ", " +
                    count_of(defs.communities.size(), "community", "communities") + ", " +
                    count_of(series, "series", "series") + ", " +
                    count_of(defs.overrides.size(), "override", "overrides");
  if (warnings) out += " (" + count_of(warnings, "warning", "warnings") + ")";
  return out + "\n";
}

Json check_json(const Definitions& defs, const std::vector<Diagnostic>& warnings) {
  std::size_t series = 0;
  for (const auto& c : defs.communities) series += c.series.size();
  Json j;
  j["source"] = defs.source;
  j["ok"] = true;
  j["calendars"] = defs.calendars.size();
  j["communities"] = defs.communities.size();
  j["series"] = series;
  j["overrides"] = defs.overrides.size();
  j["warnings"] = Json::array();
  for (const auto& w : warnings) j["warnings"].push_back({{"where", w.where}, {"message", w.message}});
  return j;
}

}  // namespace convene::views
