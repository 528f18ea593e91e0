#include "convene/time.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <libical/ical.h>

#include "convene/limits.h"
#include "convene/validate.h"
#include "internal/posix_tz.h"

namespace convene {

namespace {

constexpr const char* kWeekdayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
constexpr const char* kMonthNames[] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};

// Reads exactly `width` decimal digits at text[pos].
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto result = std::from_chars(text.data() + pos, text.data() + pos + width, out);
  return result.ec == std::errc{};
}

// Offset that resolve_local() applies to a local time, by RFC 5545 §3.3.5.
Seconds offset_for(const date::local_info& info) {
  // unique: the only offset; ambiguous: the first (earlier instant); nonexistent: the
  // offset in force before the gap. All three are `first`.
  return info.first.offset;
}

// Past the last transition its TZif file lists (2037 in Debian's files), a zone follows
// the POSIX TZ rule in the file's footer; date's OS database ignores the footer, so we
// apply it here. `from` is the start of the table's last period.
struct ZoneTail {
  Instant from;
  time_internal::PosixTz rule;
};

const ZoneTail* tail_of(const date::time_zone* zone) {
  static std::mutex mutex;
  static std::unordered_map<const date::time_zone*, std::optional<ZoneTail>> tails;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = tails.try_emplace(zone);
  if (inserted) {
    const char* dir = std::getenv("TZDIR");
    std::ifstream in(std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + zone->name(),
                     std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    auto rule = time_internal::PosixTz::parse(time_internal::tzif_footer(content.str()));
    if (rule && rule->dst_offset) {
      const auto last = zone->get_info(date::sys_days{date::year{9000} / 1 / 1});
      it->second = ZoneTail{last.begin, *rule};
    }
  }
  return it->second ? &*it->second : nullptr;
}

// The UTC offset at an instant.
Seconds offset_at(Instant at, const date::time_zone* zone) {
  if (const ZoneTail* tail = tail_of(zone); tail && at >= tail->from) return tail->rule.offset_at(at);
  return zone->get_info(at).offset;
}

// Is `local` far enough past the table's last transition that only the tail rule knows it?
bool in_tail(LocalTime local, const ZoneTail* tail) {
  return tail && local >= LocalTime{tail->from.time_since_epoch()} + date::days{2};
}

// RFC 5545 §3.3.5 by the tail rule (see resolve_local in time.h).
Instant resolve_by_tail(LocalTime local, const ZoneTail& tail) {
  const Seconds a = tail.rule.std_offset, b = *tail.rule.dst_offset;
  const Instant by_a{local.time_since_epoch() - a}, by_b{local.time_since_epoch() - b};
  const bool a_valid = tail.rule.offset_at(by_a) == a;
  const bool b_valid = tail.rule.offset_at(by_b) == b;
  if (a_valid && b_valid) return std::min(by_a, by_b);  // ambiguous: the first occurrence
  if (a_valid) return by_a;
  if (b_valid) return by_b;
  // Nonexistent: the offset in force before the gap is the one at the earlier reading.
  const Instant earlier = std::min(by_a, by_b);
  return Instant{local.time_since_epoch() - tail.rule.offset_at(earlier)};
}

}  // namespace

namespace {

// The folder of the system tz database (TZDIR, as the C library reads it).
std::string tz_folder() {
  const char* dir = std::getenv("TZDIR");
  return dir && *dir ? dir : "/usr/share/zoneinfo";
}

// Names in the folder that are not zones of the IANA database: the system's own zone
// ("localtime"), zic's template ("posixrules"), the "unknown local time" placeholder
// ("Factory", "-00"), and the alternative trees and tables.
bool not_an_iana_zone(std::string_view name) {
  return name == "localtime" || name == "posixrules" || name == "Factory" ||
         name.rfind("posix/", 0) == 0 || name.rfind("right/", 0) == 0 ||
         name.find('.') != std::string_view::npos;
}

std::vector<std::string> read_zone_names() {
  std::vector<std::string> names;
  // tzdata.zi is the whole IANA database as zic reads it: "Z NAME ..." for a zone,
  // "L TARGET NAME" for a link (US/Eastern, UTC).
  std::ifstream in(tz_folder() + "/tzdata.zi");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, first, second;
    fields >> kind >> first >> second;
    if (kind == "Z" && !first.empty()) names.push_back(first);
    if (kind == "L" && !second.empty()) names.push_back(second);
  }
  if (names.empty()) {
    // No tzdata.zi: the zones and links date found in the folder.
    try {
      const auto& db = date::get_tzdb();
      for (const auto& zone : db.zones) names.push_back(zone.name());
#if !USE_OS_TZDB
      for (const auto& link : db.links) names.push_back(link.name());
#endif
    } catch (...) {
    }
  }
  std::erase_if(names, [](const std::string& n) { return not_an_iana_zone(n); });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

const std::vector<std::string>& zone_names() {
  static const std::vector<std::string> names = read_zone_names();
  return names;
}

const date::time_zone* find_zone(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxZoneNameLength) return nullptr;
  try {
    const auto& names = zone_names();
    if (!std::binary_search(names.begin(), names.end(), name, std::less<>())) return nullptr;
    return date::locate_zone(name);
  } catch (...) {
    return nullptr;
  }
}

Instant resolve_local(LocalTime local, const date::time_zone* zone) {
  if (const ZoneTail* tail = tail_of(zone); in_tail(local, tail)) return resolve_by_tail(local, *tail);
  const auto info = zone->get_info(local);
  return Instant{local.time_since_epoch() - offset_for(info)};
}

Instant ZoneResolver::resolve(LocalTime local) {
  if (local >= begin_ && local < end_) return Instant{local.time_since_epoch() - offset_};
  const ZoneTail* tail = tail_of(zone_);
  if (in_tail(local, tail)) return resolve_by_tail(local, *tail);
  const auto info = zone_->get_info(local);
  const Seconds offset = offset_for(info);
  if (info.result == date::local_info::unique) {
    // The local times of this period, less two days at each end, resolve with this
    // offset alone: no transition's gap or overlap (at most a day wide) reaches them.
    constexpr auto kMargin = date::days{2};
    const auto period_begin = info.first.begin == date::sys_seconds::min()
                                  ? LocalTime::min()
                                  : LocalTime{(info.first.begin + kMargin).time_since_epoch() +
                                              info.first.offset};
    // The table's last period ends where the tail rule takes over.
    const auto table_end = tail ? std::min(info.first.end, tail->from) : info.first.end;
    const auto period_end = table_end >= date::sys_days{date::year{9000} / 1 / 1}
                                ? LocalTime::max()
                                : LocalTime{(table_end - kMargin).time_since_epoch() +
                                            info.first.offset};
    if (period_begin < period_end) {
      begin_ = period_begin;
      end_ = period_end;
      offset_ = offset;
    }
  }
  return Instant{local.time_since_epoch() - offset};
}

LocalTime to_local(Instant at, const date::time_zone* zone) {
  return LocalTime{at.time_since_epoch() + offset_at(at, zone)};
}

namespace {

// "YYYY-MM-DD" with a real day, any year; nullopt otherwise.
std::optional<date::year_month_day> read_ymd(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (!read_digits(text, 0, 4, y) || !read_digits(text, 5, 2, m) || !read_digits(text, 8, 2, d))
    return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

bool supported_year(const date::year_month_day& ymd) {
  const int y = static_cast<int>(ymd.year());
  return y >= kMinYear && y <= kMaxYear;
}

std::string supported_years() {
  return "convene supports the years " + std::to_string(kMinYear) + " to " + std::to_string(kMaxYear);
}

// Why "2027-02-30" or "2026-09-14T25:00" is not a date (time): the part that is out of
// range when the shape is right, else "".
std::string why_not_date(std::string_view text) {
  auto digits = [&](std::size_t pos, std::size_t n) {
    if (pos + n > text.size()) return false;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
    }
    return true;
  };
  if (text.size() < 10 || !digits(0, 4) || text[4] != '-' || !digits(5, 2) || text[7] != '-' ||
      !digits(8, 2)) {
    return "";
  }
  int y = 0, m = 0, d = 0;
  read_digits(text, 0, 4, y);
  read_digits(text, 5, 2, m);
  read_digits(text, 8, 2, d);
  if (m < 1 || m > 12) return "there is no month " + std::to_string(m);
  const date::year_month_day_last last{date::year{y}, date::month_day_last{date::month{unsigned(m)}}};
  const unsigned days = static_cast<unsigned>(last.day());
  if (d < 1 || unsigned(d) > days) {
    return "there is no " + std::string(text.substr(0, 10)) + " (that month has " +
           std::to_string(days) + " days)";
  }
  if (y < kMinYear || y > kMaxYear) return "the year " + std::to_string(y) + " is out of range: " + supported_years();
  return "";
}

}  // namespace

std::optional<LocalDay> parse_date(std::string_view text) {
  const auto ymd = read_ymd(text);
  if (!ymd) return std::nullopt;
  return LocalDay{*ymd};
}

bool in_supported_years(LocalDay day) { return supported_year(date::year_month_day{day}); }

std::optional<LocalTime> parse_local_minute(std::string_view text) {
  if (text.size() != 16 && text.size() != 19) return std::nullopt;
  auto day = parse_date(text.substr(0, 10));
  if (!day || text[10] != 'T' || text[13] != ':') return std::nullopt;
  int hh = 0, mm = 0;
  if (!read_digits(text, 11, 2, hh) || !read_digits(text, 14, 2, mm)) return std::nullopt;
  if (text.size() == 19 && text.substr(16) != ":00") return std::nullopt;
  if (hh > 23 || mm > 59) return std::nullopt;
  return LocalTime{*day} + std::chrono::hours{hh} + std::chrono::minutes{mm};
}

std::optional<std::string> date_problem(std::string_view text) {
  if (auto day = parse_date(text); day && in_supported_years(*day)) return std::nullopt;
  const std::string why = why_not_date(text);
  return quote_value(text) + " is not a date" + (why.empty() ? "" : ": " + why) +
         "; expected \"YYYY-MM-DD\" such as \"2026-12-21\"";
}

std::optional<std::string> local_time_problem(std::string_view text) {
  if (auto t = parse_local_minute(text); t && in_supported_years(date::floor<date::days>(*t))) return std::nullopt;
  std::string why = why_not_date(text);
  if (why.empty() && text.size() >= 16 && text[10] == 'T' && text[13] == ':') {
    const std::string_view rest = text.substr(16);
    int hh = 0, mm = 0, ss = 0;
    if (rest == "Z" || (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) ||
        (rest.size() > 3 && (rest[3] == 'Z' || rest[3] == '+' || rest[3] == '-'))) {
      why = "a local time takes no \"Z\" or UTC offset: the community's time zone applies";
    } else if (read_digits(text, 11, 2, hh) && read_digits(text, 14, 2, mm) && (hh > 23 || mm > 59)) {
      why = "there is no time " + std::string(text.substr(11, 5));
    } else if (rest.size() == 3 && rest[0] == ':' && read_digits(rest, 1, 2, ss)) {
      why = "sessions start on a whole minute: write it without seconds";
    }
  }
  return quote_value(text) + " is not a local date and time" + (why.empty() ? "" : ": " + why) +
         "; expected \"YYYY-MM-DDTHH:MM\" such as \"2026-09-14T16:00\"";
}

namespace {

// RFC 5545 §3.3.6: ["+" / "-"] "P" (n "W" / [n "D"] ["T" [n "H"] [n "M"] [n "S"]]), with
// at least one part, each number a run of digits. Sums in 64-bit arithmetic that stops
// at the first part beyond kMaxDuration. `why` says what is wrong on failure.
std::optional<Seconds> read_duration(std::string_view original, std::string& why) {
  std::string upper(original);  // ABNF literals are case-insensitive: "pt1h" is "PT1H"
  for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  const std::string_view text = upper;
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i >= text.size() || text[i] != 'P') {
    why = "it does not start with \"P\"";
    return std::nullopt;
  }
  ++i;
  const long long max = kMaxDuration.count();
  long long total = 0;
  bool any = false, in_time = false, weeks = false;
  std::string_view order = "WD";  // the units still allowed, in order
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time || weeks) {
        why = weeks ? "weeks take no other part" : "it has a second \"T\"";
        return std::nullopt;
      }
      in_time = true;
      order = "HMS";
      ++i;
      if (i == text.size()) {
        why = "nothing follows \"T\"";
        return std::nullopt;
      }
      continue;
    }
    const std::size_t begin = i;
    long long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > max) break;  // already beyond: no need to read more digits exactly
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == begin || i == text.size()) {
      why = i == begin ? "a number is missing" : "the last number has no unit";
      return std::nullopt;
    }
    const char unit = text[i++];
    const auto allowed = order.find(unit);
    if (allowed == std::string_view::npos) {
      why = std::string("the unit \"") + unit + "\" is not allowed there (weeks W or days D, then \"T\" and "
            "hours H, minutes M, seconds S, in that order)";
      return std::nullopt;
    }
    order.remove_prefix(allowed + 1);
    if (unit == 'W') {
      weeks = true;
      order = "";
    }
    if (unit == 'D') order = "";
    const long long scale = unit == 'W' ? 604800 : unit == 'D' ? 86400 : unit == 'H' ? 3600 : unit == 'M' ? 60 : 1;
    if (n > max / scale || total + n * scale > max) {
      why = "it is longer than " + format_duration(kMaxDuration) + " (366 days), the longest convene supports";
      return std::nullopt;
    }
    total += n * scale;
    any = true;
  }
  if (!any) {
    why = "it has no part (such as \"1H\")";
    return std::nullopt;
  }
  return Seconds{negative ? -total : total};
}

}  // namespace

std::optional<Seconds> parse_duration(std::string_view text) {
  std::string why;
  return read_duration(text, why);
}

std::optional<std::string> duration_problem(std::string_view text) {
  std::string why;
  if (read_duration(text, why)) return std::nullopt;
  return quote_value(text) + " is not an RFC 5545 duration: " + why +
         "; expected one such as \"PT1H\", \"PT90M\" or \"P1D\"";
}

namespace {

// Appends `value` as exactly `width` decimal digits (hot: used for every occurrence
// printed, so no snprintf).
void put_digits(std::string& out, unsigned value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

void put_date(std::string& out, LocalDay day) {
  const date::year_month_day ymd{day};
  const int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    out += std::to_string(y);
  } else {
    put_digits(out, static_cast<unsigned>(y), 4);
  }
  out += '-';
  put_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out += '-';
  put_digits(out, static_cast<unsigned>(ymd.day()), 2);
}

}  // namespace

std::string format_local_minute(LocalTime local) {
  const auto day = date::floor<date::days>(local);
  const date::hh_mm_ss<Seconds> tod{local - day};
  std::string out;
  out.reserve(19);
  put_date(out, day);
  out += 'T';
  put_digits(out, static_cast<unsigned>(tod.hours().count()), 2);
  out += ':';
  put_digits(out, static_cast<unsigned>(tod.minutes().count()), 2);
  if (tod.seconds().count() != 0) {
    out += ':';
    put_digits(out, static_cast<unsigned>(tod.seconds().count()), 2);
  }
  return out;
}

std::string format_date(LocalDay day) {
  std::string out;
  out.reserve(10);
  put_date(out, day);
  return out;
}

std::string format_duration(Seconds duration) {
  const icaldurationtype d = icaldurationtype_from_int(static_cast<int>(duration.count()));
  char* text = icaldurationtype_as_ical_string_r(d);
  std::string out = text ? text : "";
  std::free(text);
  return out;
}

std::string format_rfc3339(Instant at, const date::time_zone* zone) {
  const Seconds offset = offset_at(at, zone);
  const LocalTime local{at.time_since_epoch() + offset};
  const auto day = date::floor<date::days>(local);
  const date::hh_mm_ss<Seconds> tod{local - day};
  const long offset_minutes = offset.count() / 60;
  const long abs_minutes = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d%c%02ld:%02ld", format_date(day).c_str(),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), offset_minutes < 0 ? '-' : '+',
                abs_minutes / 60, abs_minutes % 60);
  return buf;
}

std::string format_day_long(LocalDay day) {
  const date::year_month_day ymd{day};
  const date::weekday wd{day};
  return std::string(kWeekdayNames[wd.c_encoding()]) + " " +
         std::to_string(static_cast<unsigned>(ymd.day())) + " " +
         kMonthNames[static_cast<unsigned>(ymd.month()) - 1];
}

}  // namespace convene
