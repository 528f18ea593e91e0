// How fast convene expands recurrences, against libical's iterator on the same rules
// in the same run (python-dateutil: bench/dateutil_bench.py; both together with a
// table of ratios: bench/run_expand_comparison.sh).
//
// Rules, each from Monday 2026-09-14 16:00 America/New_York over ten years:
//   weekly_mo     FREQ=WEEKLY;BYDAY=MO
//   weekly_mo_fr  FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
//   monthly_2mo   FREQ=MONTHLY;BYDAY=2MO
//   daily         FREQ=DAILY
// and school_year_1000: 1,000 series (eight everyday rules, starts spread over the
// first two weeks of September, 08:00 to 17:00) over 2026-09-01 .. 2027-06-30.
//
// Benchmarks (counter occ_per_s = occurrences produced per second):
//   engine/KEY         convene::expand(): rule, us-dc holidays with policy `following`,
//                      resolution to instants in America/New_York, sorting
//   iterator/KEY       the bare RecurrenceIterator (local starts)
//   iterator_zone/KEY  the iterator and a ZoneResolver (instants)
//   libical/KEY        icalrecur_iterator_new/next over the same rule and span
#include <benchmark/benchmark.h>

#include <deque>
#include <string>
#include <vector>

#include <libical/ical.h>

#include "convene/definitions.h"
#include "convene/holiday_calendar.h"
#include "convene/recurrence.h"
#include "convene/schedule.h"
#include "convene/time.h"

namespace {

using convene::LocalTime;

struct Rule {
  const char* key;
  const char* rrule;
};
constexpr Rule kRules[] = {
    {"weekly_mo", "FREQ=WEEKLY;BYDAY=MO"},
    {"weekly_mo_fr", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
    {"monthly_2mo", "FREQ=MONTHLY;BYDAY=2MO"},
    {"daily", "FREQ=DAILY"},
};

// The same eight rules and starts as bench/dateutil_bench.py.
constexpr const char* kSchoolYearRules[] = {
    "FREQ=WEEKLY;BYDAY=MO",       "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "FREQ=MONTHLY;BYDAY=2MO",
    "FREQ=DAILY",                 "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",  "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=WEEKLY;BYDAY=MO,WE,FR"};
constexpr int kSchoolYearSeries = 1000;

const char* const kStart = "2026-09-14T16:00";
const char* const kTenYearsEnd = "2036-09-13T23:59";
const char* const kSchoolYearFrom = "2026-09-01";
const char* const kSchoolYearTo = "2027-06-30";

LocalTime local(const char* text) { return *convene::parse_local_minute(text); }

// Series i of the school year: rule i % 8, starting on 1 + i % 14 September at 8 + i % 10 h.
LocalTime school_year_start(int i) {
  return LocalTime{convene::LocalDay{date::year{2026} / 9 / (1 + i % 14)}} +
         std::chrono::hours{8 + i % 10};
}

const date::time_zone* new_york() {
  static const date::time_zone* zone = convene::find_zone("America/New_York");
  return zone;
}

convene::Definitions definitions(const std::vector<std::pair<std::string, LocalTime>>& series) {
  convene::Definitions defs;
  defs.source = "expand_bench";
  convene::CalendarDef dc;
  dc.id = "dc";
  dc.builtin = "us-dc";
  dc.calendar = *convene::HolidayCalendar::builtin("us-dc", "dc");
  defs.calendars.push_back(dc);
  convene::CommunityDef community;
  community.id = "bench";
  community.name = "Benchmark CoP";
  community.timezone = "America/New_York";
  community.zone = new_york();
  community.observes = {"dc"};
  for (std::size_t i = 0; i < series.size(); ++i) {
    convene::SeriesDef s;
    s.id = "series-" + std::to_string(i);
    s.title = s.id;
    s.start = series[i].second;
    s.duration = std::chrono::hours{1};
    s.rrule_text = series[i].first;
    s.rrule = *convene::RecurrenceRule::parse(series[i].first);
    s.on_holiday = convene::HolidayPolicy::following;
    community.series.push_back(std::move(s));
  }
  defs.communities.push_back(std::move(community));
  return defs;
}

std::vector<std::pair<std::string, LocalTime>> school_year_series() {
  std::vector<std::pair<std::string, LocalTime>> out;
  for (int i = 0; i < kSchoolYearSeries; ++i)
    out.emplace_back(kSchoolYearRules[i % 8], school_year_start(i));
  return out;
}

void report(benchmark::State& state, std::size_t occurrences_per_iteration) {
  state.counters["occ_per_s"] = benchmark::Counter(
      static_cast<double>(occurrences_per_iteration) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.counters["occurrences"] = static_cast<double>(occurrences_per_iteration);
}

// --- convene ---------------------------------------------------------------

void engine(benchmark::State& state, const convene::Definitions& defs, convene::Window window) {
  std::size_t n = 0;
  for (auto _ : state) {
    auto occurrences = convene::expand(defs, window);
    n = occurrences.size();
    benchmark::DoNotOptimize(occurrences.data());
  }
  report(state, n);
}

template <bool kResolve>
std::size_t iterate(const convene::RecurrenceRule& rule, LocalTime start, LocalTime end) {
  convene::RecurrenceIterator it(rule, start, new_york());
  convene::ZoneResolver resolver(new_york());
  std::size_t n = 0;
  while (auto t = it.next()) {
    if (*t > end) break;
    if constexpr (kResolve) {
      benchmark::DoNotOptimize(resolver.resolve(*t));
    } else {
      benchmark::DoNotOptimize(*t);
    }
    ++n;
  }
  return n;
}

template <bool kResolve>
void iterator(benchmark::State& state, const char* rrule) {
  const auto rule = *convene::RecurrenceRule::parse(rrule);
  std::size_t n = 0;
  for (auto _ : state) n = iterate<kResolve>(rule, local(kStart), local(kTenYearsEnd));
  report(state, n);
}

template <bool kResolve>
void iterator_school_year(benchmark::State& state) {
  std::vector<convene::RecurrenceRule> rules;
  for (const char* r : kSchoolYearRules) rules.push_back(*convene::RecurrenceRule::parse(r));
  const LocalTime end = LocalTime{convene::LocalDay{date::year{2027} / 6 / 30}} + std::chrono::hours{24} -
                        std::chrono::seconds{1};
  std::size_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (int i = 0; i < kSchoolYearSeries; ++i)
      n += iterate<kResolve>(rules[static_cast<std::size_t>(i % 8)], school_year_start(i), end);
  }
  report(state, n);
}

// --- libical -----------------------------------------------------------------

icaltimetype ical_time(LocalTime t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<convene::Seconds> tod{t - day};
  icaltimetype out = icaltime_null_time();
  out.year = static_cast<int>(ymd.year());
  out.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  out.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  out.hour = static_cast<int>(tod.hours().count());
  out.minute = static_cast<int>(tod.minutes().count());
  out.second = static_cast<int>(tod.seconds().count());
  return out;
}

std::size_t libical_iterate(const icalrecurrencetype& rule, icaltimetype start, icaltimetype end) {
  icalrecur_iterator* it = icalrecur_iterator_new(rule, start);
  std::size_t n = 0;
  for (;;) {
    const icaltimetype t = icalrecur_iterator_next(it);
    if (icaltime_is_null_time(t) || icaltime_compare(t, end) > 0) break;
    benchmark::DoNotOptimize(t);
    ++n;
  }
  icalrecur_iterator_free(it);
  return n;
}

void libical(benchmark::State& state, const char* rrule) {
  const icalrecurrencetype rule = icalrecurrencetype_from_string(rrule);
  const icaltimetype start = ical_time(local(kStart)), end = ical_time(local(kTenYearsEnd));
  std::size_t n = 0;
  for (auto _ : state) n = libical_iterate(rule, start, end);
  report(state, n);
}

void libical_school_year(benchmark::State& state) {
  std::vector<icalrecurrencetype> rules;
  for (const char* r : kSchoolYearRules) rules.push_back(icalrecurrencetype_from_string(r));
  const icaltimetype end = ical_time(local("2027-06-30T23:59"));
  std::vector<icaltimetype> starts;
  for (int i = 0; i < kSchoolYearSeries; ++i) starts.push_back(ical_time(school_year_start(i)));
  std::size_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (int i = 0; i < kSchoolYearSeries; ++i)
      n += libical_iterate(rules[static_cast<std::size_t>(i % 8)], starts[static_cast<std::size_t>(i)], end);
  }
  report(state, n);
}

void register_all() {
  for (const Rule& r : kRules) {
    const std::string key = r.key;
    static std::deque<convene::Definitions> keep;  // alive for the whole run
    keep.push_back(definitions({{r.rrule, local(kStart)}}));
    const convene::Definitions* defs = &keep.back();
    const convene::Window ten_years{*convene::parse_date("2026-09-14"),
                                    *convene::parse_date("2036-09-13")};
    benchmark::RegisterBenchmark(("engine/" + key).c_str(), [defs, ten_years](benchmark::State& s) {
      engine(s, *defs, ten_years);
    });
    benchmark::RegisterBenchmark(("iterator/" + key).c_str(), iterator<false>, r.rrule);
    benchmark::RegisterBenchmark(("iterator_zone/" + key).c_str(), iterator<true>, r.rrule);
    benchmark::RegisterBenchmark(("libical/" + key).c_str(), libical, r.rrule);
  }
  static const convene::Definitions school = definitions(school_year_series());
  benchmark::RegisterBenchmark("engine/school_year_1000", [](benchmark::State& s) {
    engine(s, school, {*convene::parse_date(kSchoolYearFrom), *convene::parse_date(kSchoolYearTo)});
  });
  benchmark::RegisterBenchmark("iterator/school_year_1000", iterator_school_year<false>);
  benchmark::RegisterBenchmark("iterator_zone/school_year_1000", iterator_school_year<true>);
  benchmark::RegisterBenchmark("libical/school_year_1000", libical_school_year);
}

}  // namespace

int main(int argc, char** argv) {
  icalerror_set_errors_are_fatal(0);
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
