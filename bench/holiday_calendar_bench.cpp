// How long the engine's holiday look-ups take: holidays() for the years of an
// expansion window (±1) and a HolidayIndex over them.
#include <benchmark/benchmark.h>

#include "convene/holiday_calendar.h"

namespace {

void BM_BuiltinDcHolidaysThreeYears(benchmark::State& state) {
  const auto dc = *convene::HolidayCalendar::builtin("us-dc");
  for (auto _ : state) {
    auto holidays = dc.holidays(date::year{2026}, date::year{2028});
    benchmark::DoNotOptimize(holidays.data());
  }
  state.SetItemsProcessed(state.iterations() * 3);  // years
}
BENCHMARK(BM_BuiltinDcHolidaysThreeYears);

void BM_BuiltinFederalHolidaysOneYear(benchmark::State& state) {
  const auto federal = *convene::HolidayCalendar::builtin("us-federal");
  for (auto _ : state) {
    auto holidays = federal.holidays(date::year{2027}, date::year{2027});
    benchmark::DoNotOptimize(holidays.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuiltinFederalHolidaysOneYear);

void BM_IndexDcAndSchoolThreeYears(benchmark::State& state) {
  const auto dc = *convene::HolidayCalendar::builtin("us-dc");
  const auto school = convene::HolidayCalendar{"school"}.with_closure(
      {"Winter break", convene::LocalDay{date::year{2026} / 12 / 21},
       convene::LocalDay{date::year{2027} / 1 / 1}});
  const convene::LocalDay from{date::year{2026} / 1 / 1}, to{date::year{2028} / 12 / 31};
  for (auto _ : state) {
    convene::HolidayIndex index({&school, &dc}, from, to);
    benchmark::DoNotOptimize(index.find(from));
  }
}
BENCHMARK(BM_IndexDcAndSchoolThreeYears);

void BM_IndexFind(benchmark::State& state) {
  const auto dc = *convene::HolidayCalendar::builtin("us-dc");
  const convene::LocalDay from{date::year{2026} / 1 / 1}, to{date::year{2028} / 12 / 31};
  const convene::HolidayIndex index({&dc}, from, to);
  convene::LocalDay d = from;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.find(d));
    d = d < to ? d + date::days{1} : from;
  }
}
BENCHMARK(BM_IndexFind);

}  // namespace

BENCHMARK_MAIN();
