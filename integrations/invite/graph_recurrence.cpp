// Microsoft Graph's side of the cloud targets: settings, Windows zone names (ICU) and
// the RRULE -> patternedRecurrence mapping.
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "convene/cloud.h"
#include "invite/internal/cloud_http.h"

namespace convene::cloud {

namespace {

using nlohmann::json;

std::optional<std::string> text_of(const json& j, const char* name, bool required, std::string& error) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
    if (required || it != j.end()) error = "the settings' \"" + std::string(name) + "\" is missing or not a string";
    return std::nullopt;
  }
  return it->get<std::string>();
}

const char* day_name(std::string_view two) {
  static const std::map<std::string_view, const char*> days = {{"SU", "sunday"},   {"MO", "monday"}, {"TU", "tuesday"},
                                                               {"WE", "wednesday"}, {"TH", "thursday"}, {"FR", "friday"},
                                                               {"SA", "saturday"}};
  const auto it = days.find(two);
  return it == days.end() ? nullptr : it->second;
}

const char* index_name(int n) {
  switch (n) {
    case 1: return "first";
    case 2: return "second";
    case 3: return "third";
    case 4: return "fourth";
    case -1: return "last";
  }
  return nullptr;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto next = text.find(sep, at);
    out.emplace_back(text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  return out;
}

std::optional<int> small_int(const std::string& s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  std::size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (std::size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  return std::stoi(s);
}

// "3MO" -> (3, "monday"); "MO" -> (0, "monday").
std::optional<std::pair<int, const char*>> by_day(const std::string& item) {
  if (item.size() < 2) return std::nullopt;
  const char* day = day_name(std::string_view(item).substr(item.size() - 2));
  if (!day) return std::nullopt;
  const std::string prefix = item.substr(0, item.size() - 2);
  if (prefix.empty()) return std::make_pair(0, day);
  const auto n = small_int(prefix);
  if (!n) return std::nullopt;
  return std::make_pair(*n, day);
}

std::string weekday_of(LocalTime t) {
  static const char* names[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  return names[date::weekday(date::floor<date::days>(t)).c_encoding()];
}

}  // namespace

std::optional<json> graph_pattern(const std::optional<std::string>& rrule, bool has_rdates, LocalTime start,
                                  std::string_view zone, std::string& why_not) {
  if (has_rdates) {
    why_not = "its sessions include added dates (RDATE)";
    return std::nullopt;
  }
  if (!rrule) {
    why_not = "it has no rule";
    return std::nullopt;
  }
  return graph_recurrence(*rrule, start, zone, why_not);
}

std::string graph_token_url(std::string_view tenant) {
  return "https://login.microsoftonline.com/" + percent_encode(tenant) + "/oauth2/v2.0/token";
}

std::optional<std::string> windows_zone(std::string_view iana) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString win;
  icu::TimeZone::getWindowsID(icu::UnicodeString::fromUTF8(icu::StringPiece(iana.data(), int32_t(iana.size()))), win,
                              status);
  if (U_FAILURE(status) || win.isEmpty()) return std::nullopt;
  std::string out;
  win.toUTF8String(out);
  return out;
}

json to_json(const GraphSettings& s) {
  json j = http_to_json(s.http);
  j["tenant"] = s.tenant;
  j["client_id"] = s.client_id;
  j["client_secret"] = s.client_secret.to_json();
  j["mailbox"] = s.mailbox;
  if (s.teams) j["teams"] = true;
  return j;
}

std::optional<GraphSettings> graph_settings(const json& j, std::string& error) {
  if (!j.is_object()) {
    error = "the settings are not a JSON object";
    return std::nullopt;
  }
  GraphSettings s;
  const auto tenant = text_of(j, "tenant", true, error);
  const auto client = tenant ? text_of(j, "client_id", true, error) : std::nullopt;
  const auto mailbox = client ? text_of(j, "mailbox", true, error) : std::nullopt;
  if (!mailbox) return std::nullopt;
  s.tenant = *tenant;
  s.client_id = *client;
  s.mailbox = *mailbox;
  const auto secret = j.find("client_secret");
  if (secret == j.end()) {
    error = "the settings have no \"client_secret\"";
    return std::nullopt;
  }
  auto ref = SecretRef::from_json(*secret, error);
  if (!ref) {
    error = "the settings' \"client_secret\": " + error;
    return std::nullopt;
  }
  s.client_secret = *ref;
  if (const auto t = j.find("teams"); t != j.end()) {
    if (!t->is_boolean()) {
      error = "the settings' \"teams\" is not true or false";
      return std::nullopt;
    }
    s.teams = t->get<bool>();
  }
  s.http.api_url = kGraphApiUrl;
  s.http.token_url = graph_token_url(s.tenant);
  s.http.requests_per_minute = 0;
  if (!http_from_json(j, s.http, error)) return std::nullopt;
  if (s.http.max_connections > kGraphMailboxConcurrency) {
    error = "a Graph target runs at most " + std::to_string(kGraphMailboxConcurrency) +
            " requests at once per mailbox (\"max_connections\")";
    return std::nullopt;
  }
  return s;
}

std::optional<json> graph_recurrence(std::string_view rrule, LocalTime start, std::string_view zone,
                                     std::string& why_not) {
  std::map<std::string, std::string> parts;
  for (const auto& item : split(rrule, ';')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      why_not = "the rule is not FREQ=...;...";
      return std::nullopt;
    }
    parts[item.substr(0, eq)] = item.substr(eq + 1);
  }
  for (const auto& [k, v] : parts)
    if (k != "FREQ" && k != "INTERVAL" && k != "UNTIL" && k != "COUNT" && k != "BYDAY" && k != "BYMONTHDAY" &&
        k != "BYMONTH" && k != "BYSETPOS" && k != "WKST") {
      why_not = "its rule has " + k;
      return std::nullopt;
    }
  const auto win = windows_zone(zone);
  if (!win) {
    why_not = "its zone " + std::string(zone) + " has no Windows name";
    return std::nullopt;
  }
  const std::string freq = parts["FREQ"];
  const int interval = parts.count("INTERVAL") ? small_int(parts["INTERVAL"]).value_or(0) : 1;
  if (interval < 1 || interval > 99) {
    why_not = "its INTERVAL is not 1 to 99";
    return std::nullopt;
  }
  json pattern = {{"interval", interval}};
  std::vector<std::pair<int, const char*>> days;
  if (parts.count("BYDAY"))
    for (const auto& d : split(parts["BYDAY"], ',')) {
      const auto parsed = by_day(d);
      if (!parsed) {
        why_not = "its BYDAY " + d + " is not a day";
        return std::nullopt;
      }
      days.push_back(*parsed);
    }
  const bool numbered_days = std::any_of(days.begin(), days.end(), [](const auto& d) { return d.first != 0; });
  std::optional<int> setpos;
  if (parts.count("BYSETPOS")) setpos = small_int(parts["BYSETPOS"]);
  const std::optional<int> monthday = parts.count("BYMONTHDAY") ? small_int(parts["BYMONTHDAY"]) : std::nullopt;
  const std::optional<int> month = parts.count("BYMONTH") ? small_int(parts["BYMONTH"]) : std::nullopt;
  if ((parts.count("BYMONTHDAY") && (!monthday || *monthday < 1 || *monthday > 31)) ||
      (parts.count("BYMONTH") && (!month || *month < 1 || *month > 12)) || (parts.count("BYSETPOS") && !setpos)) {
    why_not = "its BYMONTHDAY, BYMONTH or BYSETPOS is a list or negative";
    return std::nullopt;
  }
  auto days_json = [&] {
    json list = json::array();
    for (const auto& d : days) list.push_back(d.second);
    return list;
  };
  // The index of a relative pattern: "3MO" alone, or "MO,TU" with BYSETPOS.
  auto relative_index = [&]() -> const char* {
    if (numbered_days) return days.size() == 1 && !setpos ? index_name(days[0].first) : nullptr;
    return days.empty() || !setpos ? nullptr : index_name(*setpos);
  };
  const date::year_month_day first{date::floor<date::days>(start)};
  if (freq == "DAILY" && days.empty() && !monthday && !month && !setpos) {
    pattern["type"] = "daily";
  } else if (freq == "WEEKLY" && !numbered_days && !monthday && !month && !setpos) {
    pattern["type"] = "weekly";
    pattern["daysOfWeek"] = days.empty() ? json::array({weekday_of(start)}) : days_json();
    const char* wkst = parts.count("WKST") ? day_name(parts["WKST"]) : "monday";
    if (!wkst) {
      why_not = "its WKST is not a day";
      return std::nullopt;
    }
    pattern["firstDayOfWeek"] = wkst;
  } else if (freq == "MONTHLY" && days.empty() && !month && !setpos) {
    pattern["type"] = "absoluteMonthly";
    pattern["dayOfMonth"] = monthday.value_or(int(unsigned(first.day())));
  } else if (freq == "MONTHLY" && !monthday && !month && relative_index()) {
    pattern["type"] = "relativeMonthly";
    pattern["daysOfWeek"] = days_json();
    pattern["index"] = relative_index();
  } else if (freq == "YEARLY" && days.empty() && !setpos) {
    pattern["type"] = "absoluteYearly";
    pattern["dayOfMonth"] = monthday.value_or(int(unsigned(first.day())));
    pattern["month"] = month.value_or(int(unsigned(first.month())));
  } else if (freq == "YEARLY" && !monthday && relative_index()) {
    pattern["type"] = "relativeYearly";
    pattern["daysOfWeek"] = days_json();
    pattern["index"] = relative_index();
    pattern["month"] = month.value_or(int(unsigned(first.month())));
  } else {
    why_not = "its rule (" + std::string(rrule.substr(0, 80)) + ") is none of Graph's six patterns";
    return std::nullopt;
  }
  json range = {{"startDate", date::format("%F", date::floor<date::days>(start))}, {"recurrenceTimeZone", *win}};
  if (parts.count("UNTIL")) {
    // UNTIL is a UTC time (the builder's form) or a date: its day in the series' zone.
    const std::string& u = parts["UNTIL"];
    std::istringstream in(u);
    date::sys_seconds at{};
    if (u.size() == 16 && u.back() == 'Z') {
      in >> date::parse("%Y%m%dT%H%M%SZ", at);
    } else if (u.size() == 8) {
      date::local_days d{};
      in >> date::parse("%Y%m%d", d);
      at = date::sys_seconds{d.time_since_epoch()};
      if (!in.fail()) range["endDate"] = date::format("%F", d);
    }
    if (in.fail()) {
      why_not = "its UNTIL " + u + " is not read";
      return std::nullopt;
    }
    if (!range.contains("endDate"))
      range["endDate"] = date::format("%F", date::floor<date::days>(to_local(at, find_zone(zone))));
    range["type"] = "endDate";
  } else if (parts.count("COUNT")) {
    const auto n = small_int(parts["COUNT"]);
    if (!n || *n < 1) {
      why_not = "its COUNT is not a positive number below 10000";
      return std::nullopt;
    }
    range["type"] = "numbered";
    range["numberOfOccurrences"] = *n;
  } else {
    range["type"] = "noEnd";
  }
  return json{{"pattern", pattern}, {"range", range}};
}

}  // namespace convene::cloud

namespace convene::cloud {

std::map<LocalTime, std::string> graph_single_events(const std::string& etag) {
  std::map<LocalTime, std::string> out;
  const json j = json::parse(etag, nullptr, false);
  if (!j.is_object() || !j.contains("single_events") || !j["single_events"].is_object()) return out;
  for (const auto& [when, id] : j["single_events"].items())
    if (const auto t = parse_local_minute(when); t && id.is_string()) out[*t] = id.get<std::string>();
  return out;
}

std::string graph_single_events_etag(const std::map<LocalTime, std::string>& events) {
  json map = json::object();
  for (const auto& [t, id] : events) map[format_local_minute(t)] = id;
  return json{{"single_events", map}}.dump();
}

}  // namespace convene::cloud
