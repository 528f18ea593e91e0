// What a rule that never matches again costs to iterate to its end (issue 7: "the
// iteration's cost bounded for rules that never match"), against libical's iterator on the
// same rules in the same run. convene ends after one 400-year Gregorian cycle without an
// instance (RecurrenceIterator::End::no_match); libical's iterator searches on to its own
// limit. Each rule starts on Tuesday 2026-09-15 16:00 (floating time); the benchmark is the
// time to construct the iterator and call next() until it gives nothing (DTSTART, then the
// end).
//
//   monthly_feb30    FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30
//   yearly_apr31     FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31
//   daily_feb30      FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30
//   hourly_168_mo    FREQ=HOURLY;INTERVAL=168;BYDAY=MO      (a week's grid from a Tuesday)
//   minutely_week_mo FREQ=MINUTELY;INTERVAL=10080;BYDAY=MO
//   secondly_feb30   FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30
#include <benchmark/benchmark.h>

#include <libical/ical.h>

#include "convene/recurrence.h"
#include "convene/time.h"

namespace {

struct Rule {
  const char* key;
  const char* rrule;
};

const Rule kRules[] = {
    {"monthly_feb30", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30"},
    {"yearly_apr31", "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31"},
    {"daily_feb30", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"},
    {"hourly_168_mo", "FREQ=HOURLY;INTERVAL=168;BYDAY=MO"},
    {"minutely_week_mo", "FREQ=MINUTELY;INTERVAL=10080;BYDAY=MO"},
    {"secondly_feb30", "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"},
};

void Convene(benchmark::State& state, const Rule& r) {
  const auto rule = *convene::RecurrenceRule::parse(r.rrule);
  const auto start = *convene::parse_local_minute("2026-09-15T16:00");
  for (auto _ : state) {
    convene::RecurrenceIterator it(rule, start, nullptr);
    int n = 0;
    while (it.next()) ++n;
    benchmark::DoNotOptimize(n);
    if (n != 1 || it.end_reason() != convene::RecurrenceIterator::End::no_match)
      state.SkipWithError("the rule matched or ended otherwise");
  }
}

void Libical(benchmark::State& state, const Rule& r) {
  icalerror_set_errors_are_fatal(0);
  const icalrecurrencetype rule = icalrecurrencetype_from_string(r.rrule);
  const icaltimetype start = icaltime_from_string("20260915T160000");
  for (auto _ : state) {
    icalrecur_iterator* it = icalrecur_iterator_new(rule, start);
    int n = 0;
    while (it && !icaltime_is_null_time(icalrecur_iterator_next(it))) ++n;
    if (it) icalrecur_iterator_free(it);
    benchmark::DoNotOptimize(n);
  }
}

const int kRegistered = [] {
  for (const auto& r : kRules) {
    benchmark::RegisterBenchmark((std::string("convene/") + r.key).c_str(), Convene, r)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("libical/") + r.key).c_str(), Libical, r)->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
