// Recurrence rules: the iteration (parsing is recurrence_rule.cpp).
//
// The iterator follows python-dateutil's rrule._iter in its shape: the rule's time line
// is cut into periods of its frequency (a year, a month, a week from WKST, a day, an
// hour, a minute, a second), INTERVAL periods apart from DTSTART's. For each period it
// takes the period's days that pass every day-level BYxxx part (BYMONTH, BYWEEKNO,
// BYYEARDAY, BYMONTHDAY, BYDAY, read from a mask built once per year), crosses them
// with the sorted time set (BYHOUR x BYMINUTE x BYSECOND, DTSTART's where a part is
// absent), and, with BYSETPOS, keeps the named positions of that sorted set. That is
// RFC 5545's expand/limit table (§3.3.10): a BYxxx part finer than the frequency
// expands the period (all its matching days or times), one at least as coarse limits
// it (the period's own day or hour must match).
//
// Where RFC 5545 leaves room, the semantics are RFC 8984 §4.3.3.1's (docs/recurrence.md):
// the day-level parts a rule leaves to DTSTART are RecurrenceRule::with_implicit_parts',
// and a YEARLY rule with BYWEEKNO has week-numbering years as its periods. A day that
// does not exist in a period (the 31st in April, the 29th of February in 2027) is
// simply not among the period's days: it is skipped.
#include "convene/recurrence.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <climits>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "internal/recurrence_calendar.h"

namespace convene {

namespace {

using namespace recurrence_internal;

constexpr std::int64_t kSecondsPerDay = 86400;

// The Gregorian calendar repeats every 400 years: 146097 days, exactly 20871 weeks,
// 4800 months; in seconds, kCycleDays * kSecondsPerDay.
constexpr std::int64_t kCycleDays = 146097;

}  // namespace

struct RecurrenceIterator::Impl {
  // A year's days that pass every day-level BYxxx part: ok[i] for day i (0 = 1 January).
  struct YearMask {
    int year = INT_MIN;
    std::int64_t first = 0;
    int len = 0;
    std::array<std::uint8_t, 366> ok{};
  };
  enum class DayFilter { none, weekdays, mask };
  enum class UntilKind { none, day, local, instant };

  // How many consecutive periods without an instance prove that a rule of frequency
  // DAILY or coarser will never produce one again: the Gregorian calendar repeats every
  // 400 years (146097 days, exactly 20871 weeks, 4800 months), so a period's matches
  // depend only on its place in that cycle, and this many consecutive periods have
  // visited every place the rule's INTERVAL can reach. FREQ=MONTHLY;BYMONTH=2;
  // BYMONTHDAY=30 gives up after 4800 months (a fraction of a millisecond). Finer
  // rules stop at the end of year 9999 at the latest (as dateutil's MAXYEAR), skipping
  // whole days, hours or minutes that cannot match.
  // Finer rules (HOURLY, MINUTELY, SECONDLY) on a grid of `step` seconds visit every
  // place in the cycle they can reach within kCycleDays * 86400 / gcd(step, that)
  // periods; they stop after that many periods without an instance, or at the end of
  // year kLastRuleYear, whichever is sooner, skipping whole days, hours or minutes that
  // cannot match (FREQ=HOURLY;INTERVAL=168;BYDAY=MO from a Tuesday gives up after
  // 20871 periods).
  static std::int64_t cycle_periods(Frequency f, std::int64_t step) {
    switch (f) {
      case Frequency::yearly: return 400;
      case Frequency::monthly: return 4800;
      case Frequency::weekly: return kCycleDays / 7;
      case Frequency::daily: return kCycleDays;
      default: {
        const std::int64_t cycle = kCycleDays * kSecondsPerDay;
        return cycle / std::gcd(step, cycle);
      }
    }
  }

  Impl(const RecurrenceRule& rule, LocalTime start, const date::time_zone* zone)
      : freq(rule.freq), interval(rule.interval), resolver(zone) {
    if (rule.interval < 1 || rule.interval > kMaxRuleInterval)
      throw std::invalid_argument("RecurrenceIterator: INTERVAL must be 1.." +
                                  std::to_string(kMaxRuleInterval) + " (rule " +
                                  rule.to_string() + ")");
    dtstart = start.time_since_epoch().count();
    if (rule.count) count = *rule.count;
    if (rule.until) set_until(*rule.until);
    wkst = static_cast<int>(rule.wkst.c_encoding());
    last_day = day_number(kLastRuleYear, 12, 31);
    const RecurrenceRule full = rule.with_implicit_parts(start);

    const std::int64_t start_day = floor_div(dtstart, kSecondsPerDay);
    const std::int64_t tod = dtstart - start_day * kSecondsPerDay;
    const date::year_month_day ymd{date::sys_days{date::days{start_day}}};
    const int sy = static_cast<int>(ymd.year());
    const int sm = static_cast<int>(static_cast<unsigned>(ymd.month()));

    // Day-level parts, with those the rule leaves to DTSTART written out.
    for (const int m : full.by_month)
      if (m >= 1 && m <= 12) month_bits |= static_cast<std::uint16_t>(1u << m);
    const bool any_month_part = !full.by_month.empty();
    has_byday = !full.by_day.empty();
    for (const auto& wd : full.by_day) {
      const int w = static_cast<int>(wd.weekday.c_encoding() % 7);
      // An ordinal only means something in a month or a year (RFC 5545); elsewhere it
      // is read as the plain weekday, as dateutil does (parse() rejects such rules).
      if (wd.nth == 0 || freq < Frequency::monthly) {
        weekday_bits |= static_cast<std::uint8_t>(1u << w);
      } else {
        nth.emplace_back(w, wd.nth);
      }
    }
    for (const int d : full.by_month_day) {
      if (d >= 1 && d <= 31) mday_pos.set(static_cast<std::size_t>(d));
      if (d <= -1 && d >= -31) mday_neg.set(static_cast<std::size_t>(-d));
    }
    has_mday = !full.by_month_day.empty();
    for (const int d : full.by_year_day) {
      if (d >= 1 && d <= 366) yday_pos.set(static_cast<std::size_t>(d));
      if (d <= -1 && d >= -366) yday_neg.set(static_cast<std::size_t>(-d));
    }
    has_yday = !full.by_year_day.empty();
    for (const int w : full.by_week_no) {
      if (w >= 1 && w <= 53) weekno_pos.set(static_cast<std::size_t>(w));
      if (w <= -1 && w >= -53) weekno_neg.set(static_cast<std::size_t>(-w));
    }
    has_weekno = !full.by_week_no.empty();
    // RFC 5545: an ordinal BYDAY of a YEARLY rule counts in the month "when the BYMONTH
    // rule part is present", in the year otherwise; a BYMONTH taken from DTSTART does not
    // make it count in the month (FREQ=YEARLY;BYMONTHDAY=1,8;BYDAY=22MO from Monday
    // 2026-06-01, the 22nd Monday of 2026, is the 22nd Monday when it falls on 1 or 8 June,
    // as ical.net reads it).
    nth_in_month = freq == Frequency::monthly || (freq == Frequency::yearly && !rule.by_month.empty());
    week_years = freq == Frequency::yearly && has_weekno;
    if (any_month_part && month_bits == 0) never = true;  // only invalid months given
    if (!any_month_part && !has_byday && !has_mday && !has_yday && !has_weekno) {
      day_filter = DayFilter::none;
    } else if (!any_month_part && has_byday && nth.empty() && !has_mday && !has_yday &&
               !has_weekno) {
      day_filter = DayFilter::weekdays;
      for (int j = 0; j < 7; ++j)
        if (weekday_bits >> ((wkst + j) % 7) & 1) week_offsets[week_offset_count++] = j;
    } else {
      day_filter = DayFilter::mask;
    }

    // Time-level parts.
    const auto valid = [](const std::vector<int>& values, int hi, int fallback) {
      std::vector<int> out;
      for (const int v : values)
        if (v >= 0 && v <= hi) out.push_back(v);
      if (values.empty()) out.push_back(fallback);
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    };
    const int sh = static_cast<int>(tod / 3600), smin = static_cast<int>(tod / 60 % 60),
              ssec = static_cast<int>(tod % 60);
    const auto hours = valid(rule.by_hour, 23, sh);
    const auto minutes = valid(rule.by_minute, 59, smin);
    const auto seconds = valid(rule.by_second, 59, ssec);
    const auto limit = [](const std::vector<int>& values, auto& bits, bool& has) {
      has = !values.empty();
      for (const int v : values)
        if (v >= 0 && v < static_cast<int>(bits.size())) bits.set(v);
    };
    switch (freq) {
      case Frequency::yearly:
      case Frequency::monthly:
      case Frequency::weekly:
      case Frequency::daily:
        for (const int h : hours)
          for (const int m : minutes)
            for (const int s : seconds) offsets.push_back(h * 3600 + m * 60 + s);
        break;
      case Frequency::hourly:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        for (const int m : minutes)
          for (const int s : seconds) offsets.push_back(m * 60 + s);
        unit = 3600;
        break;
      case Frequency::minutely:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        limit(rule.by_minute, minute_limit, has_minute_limit);
        for (const int s : seconds) offsets.push_back(s);
        unit = 60;
        break;
      case Frequency::secondly:
        limit(rule.by_hour, hour_limit, has_hour_limit);
        limit(rule.by_minute, minute_limit, has_minute_limit);
        limit(rule.by_second, second_limit, has_second_limit);
        offsets.push_back(0);
        unit = 1;
        break;
    }
    std::sort(offsets.begin(), offsets.end());  // already sorted; kept for clarity
    if (offsets.empty()) never = true;
    noffsets = static_cast<std::int64_t>(offsets.size());
    for (const int p : rule.by_set_pos)
      if (p != 0) setpos.push_back(p);
    std::sort(setpos.begin(), setpos.end());
    setpos.erase(std::unique(setpos.begin(), setpos.end()), setpos.end());
    selected.reserve(setpos.size());
    if (!setpos_selectable()) never = true;

    // The period grid.
    switch (freq) {
      case Frequency::yearly: origin = week_years ? week_year_of(start_day, sy, wkst) : sy; break;
      case Frequency::monthly: origin = static_cast<std::int64_t>(sy) * 12 + (sm - 1); break;
      case Frequency::weekly:
        origin = start_day - floor_mod(weekday_of(start_day) - wkst, 7);
        break;
      case Frequency::daily: origin = start_day; break;
      default:
        origin = floor_div(dtstart, unit) * unit;
        step = unit * interval;
        if (!sub_daily_reachable()) never = true;
        break;
    }
    max_empty_run = cycle_periods(freq, step);
    if (never) stop(End::no_match);
  }

  void set_until(const Until& until) {
    if (const auto* day = std::get_if<LocalDay>(&until)) {
      until_kind = UntilKind::day;
      // Inclusive local day: every time before the next midnight.
      until_local = (day->time_since_epoch().count() + 1) * kSecondsPerDay - 1;
    } else if (const auto* local = std::get_if<LocalTime>(&until)) {
      until_kind = UntilKind::local;
      until_local = local->time_since_epoch().count();
    } else {
      until_kind = UntilKind::instant;
      until_instant = std::get<Instant>(until);
    }
  }

  bool beyond_until(std::int64_t t) {
    switch (until_kind) {
      case UntilKind::none: return false;
      case UntilKind::day:
      case UntilKind::local: return t > until_local;
      case UntilKind::instant: {
        const LocalTime local{Seconds{t}};
        // Without a zone a UTC UNTIL is read against the local times as if they were UTC.
        const Instant at = resolver.zone() ? resolver.resolve(local)
                                           : Instant{local.time_since_epoch()};
        return at > until_instant;
      }
    }
    return false;
  }

  // Whether some time of day on the grid of a sub-daily rule passes its BYHOUR,
  // BYMINUTE and BYSECOND limits. The grid's times of day, over all days, are those
  // congruent to the origin modulo gcd(step, 86400). FREQ=HOURLY;INTERVAL=2;BYHOUR=3
  // from 16:00 never matches (dateutil raises "Invalid rrule byxxx generates an empty
  // set"); such a rule gives DTSTART only.
  bool sub_daily_reachable() const {
    const std::int64_t g = std::gcd(step, kSecondsPerDay);
    const std::int64_t phase = floor_mod(origin, g);
    for (std::int64_t t = phase; t < kSecondsPerDay; t += g) {
      if (time_passes(t)) return true;
    }
    return false;
  }

  // Whether some position of BYSETPOS can exist in a period's set of days x times: a
  // period holds at most kMostDays[freq] days (one for DAILY and finer) times the
  // offsets. Found by rrule_fuzz (docs/fuzzing.md): FREQ=SECONDLY;BYSECOND=4,10;
  // BYSETPOS=-2,3 can never select anything (a SECONDLY period holds one instant), and
  // the iteration walked every second up to year kLastRuleYear (`convene check` and
  // `expand` hung on a 150-byte file) because the periods were never empty, only their
  // selections. Such a rule gives DTSTART only.
  bool setpos_selectable() const {
    if (setpos.empty()) return true;
    std::int64_t most_days = 1;
    switch (freq) {
      case Frequency::yearly: most_days = week_years ? 371 : 366; break;
      case Frequency::monthly: most_days = 31; break;
      case Frequency::weekly: most_days = 7; break;
      default: break;
    }
    const std::int64_t most = most_days * static_cast<std::int64_t>(offsets.size());
    for (const int p : setpos)
      if ((p > 0 ? p : -static_cast<std::int64_t>(p)) <= most) return true;
    return false;
  }

  // `tod` is a period start (seconds into the day).
  bool time_passes(std::int64_t tod) const {
    if (has_hour_limit && !hour_limit[static_cast<std::size_t>(tod / 3600)]) return false;
    if (has_minute_limit && !minute_limit[static_cast<std::size_t>(tod / 60 % 60)]) return false;
    if (has_second_limit && !second_limit[static_cast<std::size_t>(tod % 60)]) return false;
    return true;
  }

  const YearMask& year_mask(int year) {
    if (masks[0].year == year) return masks[0];
    if (masks[1].year == year) return masks[1];
    YearMask& m = masks[next_mask];
    next_mask ^= 1;
    build_mask(m, year);
    return m;
  }

  void build_mask(YearMask& m, int y) {
    m.year = y;
    m.first = day_number(y, 1, 1);
    m.len = year_length(y);
    const int len = m.len;
    const int wd0 = weekday_of(m.first);
    auto& ok = m.ok;
    std::fill(ok.begin(), ok.begin() + len, std::uint8_t{1});
    std::array<int, 13> month_start{};
    for (int mo = 1, idx = 0; mo <= 12; ++mo) {
      month_start[mo - 1] = idx;
      const int ml = month_length(y, mo);
      if (month_bits && !(month_bits >> mo & 1)) {
        std::fill(ok.begin() + idx, ok.begin() + idx + ml, std::uint8_t{0});
      } else if (has_mday) {
        for (int d = 1; d <= ml; ++d)
          if (!mday_pos[d] && !mday_neg[ml - d + 1]) ok[idx + d - 1] = 0;
      }
      idx += ml;
    }
    month_start[12] = len;
    if (has_yday) {
      for (int i = 0; i < len; ++i)
        if (!yday_pos[i + 1] && !yday_neg[len - i]) ok[i] = 0;
    }
    if (has_weekno) {
      // Each day has the week number of its own week-year: 29 December 2025 (a Monday)
      // is in week 1 of 2026 with WKST=MO; 1 January 2027 (a Friday) in week 53 of 2026.
      const std::int64_t w1p = week_one_start(y - 1, wkst), w1 = week_one_start(y, wkst),
                         w1n = week_one_start(y + 1, wkst), w1nn = week_one_start(y + 2, wkst);
      for (int i = 0; i < len; ++i) {
        const std::int64_t d = m.first + i;
        std::int64_t wn = 0, weeks = 0;
        if (d < w1) {
          wn = (d - w1p) / 7 + 1, weeks = (w1 - w1p) / 7;
        } else if (d >= w1n) {
          wn = (d - w1n) / 7 + 1, weeks = (w1nn - w1n) / 7;
        } else {
          wn = (d - w1) / 7 + 1, weeks = (w1n - w1) / 7;
        }
        if (!weekno_pos[static_cast<std::size_t>(wn)] &&
            !weekno_neg[static_cast<std::size_t>(weeks - wn + 1)])
          ok[i] = 0;
      }
    }
    if (has_byday) {
      // BYDAY is a union: every listed plain weekday, plus each ordinal weekday of its
      // month (MONTHLY; YEARLY with BYMONTH) or year (YEARLY).
      std::array<std::uint8_t, 366> day_ok{};
      if (weekday_bits) {
        for (int i = 0; i < len; ++i) day_ok[i] = weekday_bits >> ((wd0 + i) % 7) & 1;
      }
      const auto mark = [&](int a, int b) {  // range [a, b] of day indices
        for (const auto& [w, n] : nth) {
          int i = 0;
          if (n > 0) {
            i = a + (n - 1) * 7 + static_cast<int>(floor_mod(w - (wd0 + a) % 7, 7));
          } else {
            i = b + (n + 1) * 7 - static_cast<int>(floor_mod((wd0 + b) % 7 - w, 7));
          }
          if (i >= a && i <= b) day_ok[i] = 1;
        }
      };
      if (!nth.empty()) {
        if (nth_in_month) {
          for (int mo = 1; mo <= 12; ++mo)
            if (!month_bits || (month_bits >> mo & 1))
              mark(month_start[mo - 1], month_start[mo] - 1);
        } else {
          mark(0, len - 1);
        }
      }
      for (int i = 0; i < len; ++i) ok[i] &= day_ok[i];
    }
  }

  bool day_ok(std::int64_t day) {
    switch (day_filter) {
      case DayFilter::none: return true;
      case DayFilter::weekdays: return weekday_bits >> weekday_of(day) & 1;
      case DayFilter::mask: break;
    }
    const YearMask* m = current_mask;
    if (!m || day < m->first || day >= m->first + m->len) {
      const date::year_month_day ymd{date::sys_days{date::days{day}}};
      m = current_mask = &year_mask(static_cast<int>(ymd.year()));
    }
    return m->ok[static_cast<std::size_t>(day - m->first)];
  }

  void push_day(std::int64_t day) { bases[nbases++] = day * kSecondsPerDay; }

  // Loads period `k` into the buffer (possibly empty) and moves `k` on.
  void load_period() {
    nbases = 0;
    std::int64_t next_k = k + 1;
    switch (freq) {
      case Frequency::yearly: {
        const std::int64_t y = origin + k * interval;
        if (y > kLastRuleYear) return stop(End::horizon);
        if (week_years) {
          // Week-year y: from the first day of its week 1 to the day before next year's.
          const std::int64_t end = std::min(week_one_start(static_cast<int>(y) + 1, wkst), last_day + 1);
          for (std::int64_t d = week_one_start(static_cast<int>(y), wkst); d < end; ++d)
            if (day_ok(d)) push_day(d);
          break;
        }
        const YearMask& m = year_mask(static_cast<int>(y));
        for (int i = 0; i < m.len; ++i)
          if (m.ok[static_cast<std::size_t>(i)]) push_day(m.first + i);
        break;
      }
      case Frequency::monthly: {
        const std::int64_t ms = origin + k * interval;
        const std::int64_t y = floor_div(ms, 12);
        const int mo = static_cast<int>(ms - y * 12) + 1;
        if (y > kLastRuleYear) return stop(End::horizon);
        const YearMask& m = year_mask(static_cast<int>(y));
        const std::int64_t first = day_number(static_cast<int>(y), mo, 1);
        const int ml = month_length(static_cast<int>(y), mo);
        const std::int64_t base = first - m.first;
        for (int d = 0; d < ml; ++d)
          if (m.ok[static_cast<std::size_t>(base + d)]) push_day(first + d);
        break;
      }
      case Frequency::weekly: {
        const std::int64_t w = origin + k * 7 * interval;
        if (w > last_day) return stop(End::horizon);
        if (day_filter == DayFilter::weekdays) {
          for (int j = 0; j < week_offset_count; ++j) push_day(w + week_offsets[j]);
        } else {
          for (int j = 0; j < 7; ++j)
            if (day_ok(w + j)) push_day(w + j);
        }
        break;
      }
      case Frequency::daily: {
        const std::int64_t d = origin + k * interval;
        if (d > last_day) return stop(End::horizon);
        if (day_ok(d)) push_day(d);
        break;
      }
      default: {
        const std::int64_t p = origin + k * step;
        const std::int64_t day = floor_div(p, kSecondsPerDay);
        if (day > last_day) return stop(End::horizon);
        std::int64_t boundary = 0;  // where the failing part may pass again
        if (!day_ok(day)) {
          boundary = (day + 1) * kSecondsPerDay;
        } else {
          const std::int64_t tod = p - day * kSecondsPerDay;
          if (has_hour_limit && !hour_limit[static_cast<std::size_t>(tod / 3600)]) {
            boundary = p - tod % 3600 + 3600;
          } else if (has_minute_limit && !minute_limit[static_cast<std::size_t>(tod / 60 % 60)]) {
            boundary = p - tod % 60 + 60;
          } else if (has_second_limit && !second_limit[static_cast<std::size_t>(tod % 60)]) {
            boundary = p + 1;
          } else {
            bases[nbases++] = p;
          }
        }
        if (nbases == 0) {
          const std::int64_t jump = floor_div(boundary - origin + step - 1, step);
          next_k = std::max(next_k, jump);
        }
        break;
      }
    }
    // Periods without an instance since the last that had one (k may jump ahead).
    const std::int64_t visited = k;
    k = next_k;
    begin_cursor();
    if (cursor == cursor_end) {
      if (next_k - productive_k > max_empty_run) stop(End::no_match);
    } else {
      productive_k = visited;
    }
  }

  // No further period is loaded; next() ends with `why` once the buffer is empty.
  void stop(End why) {
    exhausted = true;
    exhausted_why = why;
    nbases = 0;
    cursor = cursor_end = 0;
  }

  void begin_cursor() {
    cursor = 0;
    if (setpos.empty()) {
      cursor_end = nbases * noffsets;
      day_index = 0;
      time_index = 0;
      return;
    }
    // BYSETPOS: positions in the period's sorted set of days x times.
    selected.clear();
    const std::int64_t n = nbases * noffsets;
    for (const int p : setpos) {
      const std::int64_t idx = p > 0 ? p - 1 : n + p;
      if (idx >= 0 && idx < n) selected.push_back(idx);
    }
    std::sort(selected.begin(), selected.end());
    selected.erase(std::unique(selected.begin(), selected.end()), selected.end());
    cursor_end = static_cast<std::int64_t>(selected.size());
  }

  // The next instance of the rule itself after DTSTART and at or after `floor`.
  std::optional<std::int64_t> next_raw() {
    for (;;) {
      while (cursor < cursor_end) {
        std::int64_t t = 0;
        if (setpos.empty()) {
          t = bases[day_index] + offsets[static_cast<std::size_t>(time_index)];
          if (++time_index == noffsets) {
            time_index = 0;
            ++day_index;
          }
        } else {
          const std::int64_t idx = selected[static_cast<std::size_t>(cursor)];
          t = bases[idx / noffsets] + offsets[static_cast<std::size_t>(idx % noffsets)];
        }
        ++cursor;
        if (t > dtstart && t >= floor) return t;
      }
      if (exhausted) return std::nullopt;
      load_period();
    }
  }

  // The index of the period that holds local time `t` (or that would, for a rule
  // whose periods do not cover every time).
  std::int64_t period_of(std::int64_t t) const {
    const std::int64_t day = floor_div(t, kSecondsPerDay);
    switch (freq) {
      case Frequency::yearly: {
        const date::year_month_day ymd{date::sys_days{date::days{day}}};
        int y = static_cast<int>(ymd.year());
        if (week_years) y = week_year_of(day, y, wkst);
        return floor_div(y - origin, interval);
      }
      case Frequency::monthly: {
        const date::year_month_day ymd{date::sys_days{date::days{day}}};
        const std::int64_t ms = static_cast<std::int64_t>(static_cast<int>(ymd.year())) * 12 +
                                static_cast<unsigned>(ymd.month()) - 1;
        return floor_div(ms - origin, interval);
      }
      case Frequency::weekly: return floor_div(day - origin, 7 * interval);
      case Frequency::daily: return floor_div(day - origin, interval);
      default: return floor_div(t - origin, step);
    }
  }

  std::optional<LocalTime> next() {
    if (finished) return std::nullopt;
    if (dtstart_pending) {
      dtstart_pending = false;
      ++emitted;
      return LocalTime{Seconds{dtstart}};
    }
    if (count && emitted >= *count) return finish(End::count);
    const std::optional<std::int64_t> t = take_next();
    if (!t) return finish(exhausted_why);
    if (beyond_until(*t)) return finish(End::until);
    ++emitted;
    return LocalTime{Seconds{*t}};
  }

  // The instance held back by seek(), else the next from the rule.
  std::optional<std::int64_t> take_next() {
    if (!lookahead) return next_raw();
    const auto t = lookahead;
    lookahead.reset();
    return t;
  }

  std::optional<LocalTime> finish(End why) {
    if (!finished) end = why;
    finished = true;
    return std::nullopt;
  }

  void seek(std::int64_t from) {
    if (finished) return;
    if (dtstart_pending) {
      if (dtstart >= from) return;
      dtstart_pending = false;
      ++emitted;
    }
    if (lookahead && *lookahead >= from) return;
    if (count) {
      // Every instance before `from` still counts towards COUNT (at most COUNT of them).
      for (;;) {
        if (emitted >= *count) return static_cast<void>(finish(End::count));
        const std::optional<std::int64_t> t = take_next();
        if (!t) return static_cast<void>(finish(exhausted_why));
        if (beyond_until(*t)) return static_cast<void>(finish(End::until));
        if (*t >= from) {
          lookahead = t;
          return;
        }
        ++emitted;
      }
    }
    lookahead.reset();
    if (from > (last_day + 1) * kSecondsPerDay) {
      // Past the last day any rule reaches (and past what period_of can compute).
      stop(End::horizon);
      return;
    }
    floor = std::max(floor, from);
    const std::int64_t target = period_of(from);
    if (target > k && !exhausted) {
      k = target;
      productive_k = target;
      nbases = 0;
      cursor = cursor_end = 0;
    }
  }

  // --- the rule ---
  Frequency freq;
  std::int64_t interval;
  std::optional<std::int64_t> count;
  UntilKind until_kind = UntilKind::none;
  std::int64_t until_local = 0;
  Instant until_instant{};
  ZoneResolver resolver;
  int wkst = 1;
  std::int64_t last_day = 0;
  bool never = false;

  DayFilter day_filter = DayFilter::none;
  std::uint16_t month_bits = 0;
  bool has_byday = false;
  std::uint8_t weekday_bits = 0;
  std::vector<std::pair<int, int>> nth;
  bool has_mday = false;
  std::bitset<32> mday_pos, mday_neg;
  bool has_yday = false;
  std::bitset<367> yday_pos, yday_neg;
  bool has_weekno = false;
  bool week_years = false;
  bool nth_in_month = false;  // ordinal BYDAY counts in the month (else in the year)  // YEARLY with BYWEEKNO: periods are week-numbering years
  std::bitset<54> weekno_pos, weekno_neg;
  std::array<int, 7> week_offsets{};
  int week_offset_count = 0;

  std::vector<std::int32_t> offsets;  // seconds from a base: of the day, hour or minute
  std::int64_t noffsets = 0;
  bool has_hour_limit = false, has_minute_limit = false, has_second_limit = false;
  std::bitset<24> hour_limit;
  std::bitset<60> minute_limit, second_limit;
  std::vector<int> setpos;

  std::int64_t origin = 0;  // year, month serial, week start day, day, or period start
  std::int64_t unit = kSecondsPerDay, step = 0;
  std::int64_t max_empty_run = 0;  // periods without an instance that prove there is none

  // --- the state ---
  std::int64_t dtstart = 0;
  bool dtstart_pending = true;
  std::int64_t emitted = 0;
  bool exhausted = false;
  End exhausted_why = End::no_match;
  bool finished = false;
  std::optional<End> end;
  std::int64_t floor = std::numeric_limits<std::int64_t>::min();
  std::optional<std::int64_t> lookahead;
  std::int64_t k = 0;
  std::int64_t productive_k = 0;  // the last period with an instance (or the first)

  std::array<std::int64_t, 372> bases{};  // local seconds of the period's days (or its start)
  std::int64_t nbases = 0;
  std::vector<std::int64_t> selected;
  std::int64_t cursor = 0, cursor_end = 0, day_index = 0, time_index = 0;

  std::array<YearMask, 2> masks;
  int next_mask = 0;
  const YearMask* current_mask = nullptr;
};

RecurrenceIterator::RecurrenceIterator(const RecurrenceRule& rule, LocalTime dtstart,
                                       const date::time_zone* zone)
    : impl_(std::make_unique<Impl>(rule, dtstart, zone)) {}
RecurrenceIterator::~RecurrenceIterator() = default;
RecurrenceIterator::RecurrenceIterator(RecurrenceIterator&&) noexcept = default;
RecurrenceIterator& RecurrenceIterator::operator=(RecurrenceIterator&&) noexcept = default;

std::optional<LocalTime> RecurrenceIterator::next() { return impl_->next(); }

void RecurrenceIterator::seek(LocalTime from) { impl_->seek(from.time_since_epoch().count()); }

std::optional<RecurrenceIterator::End> RecurrenceIterator::end_reason() const { return impl_->end; }

std::vector<LocalTime> expand_between(const RecurrenceRule& rule, LocalTime dtstart,
                                      const date::time_zone* zone, LocalTime from, LocalTime to,
                                      std::size_t limit) {
  std::vector<LocalTime> out;
  RecurrenceIterator it(rule, dtstart, zone);
  it.seek(from);
  while (out.size() <= limit) {
    const auto t = it.next();
    if (!t || *t > to) break;
    out.push_back(*t);
  }
  return out;
}

}  // namespace convene
