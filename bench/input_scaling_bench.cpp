// How the cost of reading input grows with its size (issue 7: "a file's cost is
// proportional to its size"). Each benchmark builds an input k times the samples'
// (k = 1, 10, 100) and measures loading it (parse_definitions: JSON, validation, the ICS
// file, the calendars) and expanding the 2026-27 season over it; time per k should grow
// as k, never faster (docs/benchmarks.md has the table and the ratios).
//
//   closures/k     the samples with k times their closures (the CoP team's 3, copied into
//                  k years, 2026 onwards)
//   ics_events/k   the samples with an ICS file of k times the district's 11 events (copies
//                  moved a year on each time)
//   series/k       the samples with k times their 7 series (new ids) and 3 overrides
//   wide_closures/n  n closures each spanning 1900..2200, indexed over a window of those
//                  three centuries (issue 7: 10 such closures took 22 s and 2.9 GB, being
//                  expanded day by day); should not grow with the window
// Run: build/bench/input_scaling_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "convene/definitions.h"
#include "convene/holiday_calendar.h"
#include "convene/schedule.h"

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const fs::path kSamples = fs::path(CONVENE_SOURCE_DIR) / "samples";

nlohmann::ordered_json samples() {
  std::string text = read(kSamples / "communities-2026-27.json");
  text = std::regex_replace(text, std::regex(R"(^\s*//[^\n]*)", std::regex::multiline), "");
  return nlohmann::ordered_json::parse(text, nullptr, true, true);
}

// "2026-12-21" k years on.
std::string years_on(const std::string& day, int k) {
  return std::to_string(std::stoi(day.substr(0, 4)) + k) + day.substr(4);
}

const convene::Window kSeason{*convene::parse_date("2026-09-01"), *convene::parse_date("2027-06-30")};

// Loads `text` (ICS paths relative to `dir`) and expands the season.
void load_and_expand(benchmark::State& state, const std::string& text, const std::string& dir) {
  std::size_t occurrences = 0;
  for (auto _ : state) {
    auto loaded = convene::parse_definitions(text, "bench.json", dir);
    if (!loaded.ok()) {
      state.SkipWithError(loaded.diagnostics.front().to_string().c_str());
      return;
    }
    occurrences = convene::expand(*loaded.definitions, kSeason).size();
    benchmark::DoNotOptimize(occurrences);
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  state.counters["occurrences"] = static_cast<double>(occurrences);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void closures(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  auto defs = samples();
  auto& list = defs["calendars"]["cop-closures"]["closures"];
  const auto original = list;
  list = nlohmann::ordered_json::array();
  for (int copy = 0; copy < k; ++copy) {
    for (auto c : original) {
      for (const char* key : {"date", "from", "to"})
        if (c.contains(key)) c[key] = years_on(c[key].get<std::string>(), copy);
      list.push_back(c);
    }
  }
  load_and_expand(state, defs.dump(), kSamples.string());
}

void ics_events(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const std::string ics = read(kSamples / "district-2026-27.ics");
  const auto begin = ics.find("BEGIN:VEVENT"), end = ics.rfind("END:VEVENT") + std::string("END:VEVENT\r\n").size();
  const std::string events = ics.substr(begin, end - begin);
  std::string body;
  for (int copy = 0; copy < k; ++copy) {
    // Every date (YYYYMMDD) and UID moved `copy` years on, so no two events coincide.
    std::string out;
    std::smatch m;
    std::string rest = events;
    const std::regex date(R"((:|,)(\d{4})(\d{4}))");
    while (std::regex_search(rest, m, date)) {
      out += m.prefix().str() + m[1].str() + std::to_string(std::stoi(m[2].str()) + copy) + m[3].str();
      rest = m.suffix().str();
    }
    out += rest;
    body += std::regex_replace(out, std::regex("UID:"), "UID:" + std::to_string(copy) + "-");
  }
  const fs::path dir = fs::temp_directory_path() / ("convene-bench-ics-" + std::to_string(k));
  fs::create_directories(dir);
  std::ofstream(dir / "district-2026-27.ics", std::ios::binary) << ics.substr(0, begin) << body << ics.substr(end);
  load_and_expand(state, samples().dump(), dir.string());
  fs::remove_all(dir);
}

void series(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  auto defs = samples();
  const auto communities = defs["communities"];
  const auto overrides = defs["overrides"];
  defs["communities"] = nlohmann::ordered_json::array();
  defs["overrides"] = nlohmann::ordered_json::array();
  for (int copy = 0; copy < k; ++copy) {
    const std::string suffix = copy == 0 ? "" : "-" + std::to_string(copy);
    for (auto c : communities) {
      c["id"] = c["id"].get<std::string>() + suffix;
      for (auto& s : c["series"]) {
        s["id"] = s["id"].get<std::string>() + suffix;
        if (s.contains("continues")) s["continues"] = s["continues"].get<std::string>() + suffix;
      }
      defs["communities"].push_back(c);
    }
    for (auto o : overrides) {
      o["series"] = o["series"].get<std::string>() + suffix;
      defs["overrides"].push_back(o);
    }
  }
  load_and_expand(state, defs.dump(), kSamples.string());
}

void wide_closures(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<convene::Closure> list;
  for (int i = 0; i < n; ++i)
    list.push_back({"Closed " + std::to_string(i), *convene::parse_date("1900-01-01") + date::days{i},
                    *convene::parse_date("2200-12-31")});
  const auto calendar = convene::HolidayCalendar{"closed"}.with_closures(list);
  for (auto _ : state) {
    const convene::HolidayIndex index({&calendar}, *convene::parse_date("1900-01-01"),
                                      *convene::parse_date("2200-12-31"));
    benchmark::DoNotOptimize(index.contains(*convene::parse_date("2100-06-01")));
  }
}

}  // namespace

BENCHMARK(closures)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(ics_events)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(series)->Arg(1)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(wide_closures)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
