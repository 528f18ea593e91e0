#include "internal/posix_tz.h"

#include <cctype>

namespace convene::time_internal {

namespace {

// A tiny cursor over the TZ string.
struct Reader {
  std::string_view text;
  std::size_t pos = 0;
  bool done() const { return pos >= text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos;
    return true;
  }
  std::optional<int> number() {
    if (done() || !std::isdigit(static_cast<unsigned char>(peek()))) return std::nullopt;
    int value = 0;
    while (!done() && std::isdigit(static_cast<unsigned char>(peek()))) {
      value = value * 10 + (text[pos++] - '0');
      if (value > 10000) return std::nullopt;
    }
    return value;
  }
  // A zone abbreviation: letters (at least 3), or anything inside <...>.
  bool name() {
    if (eat('<')) {
      while (!done() && peek() != '>') ++pos;
      return eat('>');
    }
    const std::size_t from = pos;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek()))) ++pos;
    return pos - from >= 3;
  }
  // [+-]hh[:mm[:ss]], the sign as written.
  std::optional<Seconds> hms() {
    int sign = 1;
    if (eat('-')) sign = -1;
    else eat('+');
    auto h = number();
    if (!h) return std::nullopt;
    int m = 0, s = 0;
    if (eat(':')) {
      auto mm = number();
      if (!mm) return std::nullopt;
      m = *mm;
      if (eat(':')) {
        auto ss = number();
        if (!ss) return std::nullopt;
        s = *ss;
      }
    }
    return Seconds{sign * (*h * 3600 + m * 60 + s)};
  }
  std::optional<PosixTransition> transition() {
    PosixTransition t;
    if (eat('M')) {
      auto m = number();
      if (!m || !eat('.')) return std::nullopt;
      auto w = number();
      if (!w || !eat('.')) return std::nullopt;
      auto d = number();
      if (!d || *m < 1 || *m > 12 || *w < 1 || *w > 5 || *d > 6) return std::nullopt;
      t.kind = PosixTransition::Kind::month_week_day;
      t.month = *m;
      t.week = *w;
      t.weekday = *d;
    } else if (eat('J')) {
      auto n = number();
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      t.kind = PosixTransition::Kind::julian_no_leap;
      t.day = *n;
    } else {
      auto n = number();
      if (!n || *n > 365) return std::nullopt;
      t.kind = PosixTransition::Kind::zero_based;
      t.day = *n;
    }
    if (eat('/')) {
      auto time = hms();
      if (!time) return std::nullopt;
      t.time = *time;
    }
    return t;
  }
};

}  // namespace

LocalDay PosixTransition::day_in(int year) const {
  const date::year y{year};
  switch (kind) {
    case Kind::month_week_day: {
      const auto m = date::month{static_cast<unsigned>(month)};
      if (week == 5) {
        // The last such weekday of the month.
        const LocalDay last{date::sys_days{y / m / date::last}.time_since_epoch()};
        const date::weekday w{last};
        return last - (w - date::weekday{static_cast<unsigned>(weekday)});
      }
      const LocalDay first{date::sys_days{y / m / 1}.time_since_epoch()};
      const date::weekday w{first};
      return first + (date::weekday{static_cast<unsigned>(weekday)} - w) + date::weeks{week - 1};
    }
    case Kind::julian_no_leap: {
      const LocalDay jan1{date::sys_days{y / 1 / 1}.time_since_epoch()};
      // 29 February is never counted: J60 is 1 March in every year.
      const int extra = (y.is_leap() && day >= 60) ? 1 : 0;
      return jan1 + date::days{day - 1 + extra};
    }
    case Kind::zero_based:
      return LocalDay{date::sys_days{y / 1 / 1}.time_since_epoch()} + date::days{day};
  }
  return LocalDay{};
}

std::optional<PosixTz> PosixTz::parse(std::string_view text) {
  Reader r{text};
  PosixTz tz;
  if (!r.name()) return std::nullopt;
  auto std_west = r.hms();  // POSIX offsets are west of UTC: "EST5"
  if (!std_west) return std::nullopt;
  tz.std_offset = -*std_west;
  if (r.done()) return tz;
  if (!r.name()) return std::nullopt;
  tz.dst_offset = tz.std_offset + std::chrono::hours{1};
  if (r.peek() != ',' && !r.done()) {
    auto dst_west = r.hms();
    if (!dst_west) return std::nullopt;
    tz.dst_offset = -*dst_west;
  }
  if (!r.eat(',')) return std::nullopt;  // daylight time without rules: not supported
  auto start = r.transition();
  if (!start || !r.eat(',')) return std::nullopt;
  auto end = r.transition();
  if (!end || !r.done()) return std::nullopt;
  tz.start = *start;
  tz.end = *end;
  return tz;
}

Seconds PosixTz::offset_at(Instant at) const {
  if (!dst_offset) return std_offset;
  // The year by the standard-time wall clock; transitions are never at a year's turn.
  const auto local_day = date::floor<date::days>(at + std_offset);
  const int year = static_cast<int>(date::year_month_day{local_day}.year());
  // Start: a local standard time; end: a local daylight time.
  const Instant begin{(LocalTime{start.day_in(year)} + start.time).time_since_epoch() - std_offset};
  const Instant finish{(LocalTime{end.day_in(year)} + end.time).time_since_epoch() - *dst_offset};
  const bool daylight = begin < finish ? (at >= begin && at < finish)   // northern
                                       : (at < finish || at >= begin);  // southern
  return daylight ? *dst_offset : std_offset;
}

std::string tzif_footer(std::string_view tzif) {
  if (tzif.size() < 2 || tzif.back() != '\n') return {};
  const auto previous = tzif.rfind('\n', tzif.size() - 2);
  if (previous == std::string_view::npos) return {};
  return std::string(tzif.substr(previous + 1, tzif.size() - previous - 2));
}

}  // namespace convene::time_internal
