// The archive's search over 10,000 past sessions (docs/benchmarks.md): the latency of
// ArchiveIndex::search() for the words members type, as /archive and /api/v1/archive run
// it (a page of 20, ranked by BM25, the matched words marked), in the store's file.
//
// The sessions are generated: 10,000 of them over ten years, each with a title, a
// presenter, an agenda of 12 to 40 words and two resources drawn from a vocabulary of
// school-nursing words (Zipf-like: the first words are common, the last rare), so a query
// matches from a handful to thousands of sessions. Each round runs 200 queries (one, two
// and three words, a prefix, a phrase, with a community or date filter), timing each one;
// the counters are the median and the 99th percentile over every query of every round,
// in wall-clock time and in the thread's CPU time.
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "convene/archive.h"
#include "convene/store.h"

namespace {

using namespace convene;

const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w = {
        "asthma", "inhaler", "vaccine", "immunization", "diabetes", "insulin", "seizure", "allergy",
        "epinephrine", "concussion", "screening", "vision", "hearing", "nutrition", "obesity", "anxiety",
        "depression", "trauma", "behavior", "attendance", "chronic", "absenteeism", "medication", "policy",
        "documentation", "referral", "telehealth", "equity", "family", "engagement", "consent", "privacy",
        "hygiene", "influenza", "covid", "measles", "lice", "dental", "sleep", "sports", "physicals",
        "emergency", "drills", "care", "plans", "students", "teachers", "counselors", "clinic", "budget"};
    for (int i = 0; i < 450; ++i) w.push_back("term" + std::to_string(i));
    return w;
  }();
  return words;
}

// Word i with a Zipf-like frequency.
std::string word(std::mt19937& rng) {
  const auto& v = vocabulary();
  std::uniform_real_distribution<double> u(0, 1);
  const double x = u(rng);
  return v[std::min<std::size_t>(v.size() - 1, static_cast<std::size_t>(v.size() * x * x * x))];
}

std::string words(std::mt19937& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + word(rng);
  return out;
}

std::vector<ArchiveEntry> sessions(int n) {
  std::mt19937 rng(20270105);
  std::vector<ArchiveEntry> out;
  const LocalDay first = date::local_days{date::year{2017} / 1 / 2};
  for (int i = 0; i < n; ++i) {
    ArchiveEntry e;
    e.series = "series-" + std::to_string(i % 100);
    e.community = "community-" + std::to_string(i % 10);
    e.day = first + date::days{i * 3650 / n};
    e.original = LocalTime{e.day.time_since_epoch()} + std::chrono::hours{16};
    e.start = Instant{e.original.time_since_epoch()} + std::chrono::hours{5};
    e.title = "Session " + std::to_string(i) + ": " + words(rng, 3);
    e.presenter = "Presenter " + std::to_string(i % 300);
    e.agenda = words(rng, 12 + static_cast<int>(rng() % 29));
    e.resources = "Slides " + word(rng) + " https://example.org/" + std::to_string(i) + ".pdf\nHandout " + word(rng) +
                  " https://example.org/h" + std::to_string(i) + ".pdf";
    e.categories = {i % 3 ? "clinical" : "policy"};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ArchiveQuery> queries(Instant now) {
  std::mt19937 rng(7);
  std::vector<ArchiveQuery> out;
  for (int i = 0; i < 200; ++i) {
    ArchiveQuery q;
    switch (i % 6) {
      case 0: q.words = word(rng); break;
      case 1: q.words = words(rng, 2); break;
      case 2: q.words = words(rng, 3); break;
      case 3: q.words = word(rng).substr(0, 4); break;  // a prefix
      case 4: q.words = "\"" + words(rng, 2) + "\""; break;  // a phrase
      default:
        q.words = word(rng);
        q.community = "community-" + std::to_string(i % 10);
        q.from = date::local_days{date::year{2020} / 1 / 1};
    }
    q.before = now;
    out.push_back(std::move(q));
  }
  return out;
}

double thread_cpu_micros() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void ArchiveSearch10k(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("convene-archive-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto store = Store::open({.path = (dir / "convene.db").string()});
    auto index = ArchiveIndex::in_store(*store);
    const auto entries = sessions(10000);
    index->refresh("v1", [&] { return entries; });
    const Instant now = Instant{date::sys_days{date::year{2027} / 1 / 5}};
    const auto qs = queries(now);
    std::vector<double> micros, cpu_micros;
    std::size_t hits = 0;
    for (auto _ : state) {
      for (const auto& q : qs) {
        const double c0 = thread_cpu_micros();
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = index->search(q);
        const auto t1 = std::chrono::steady_clock::now();
        cpu_micros.push_back(thread_cpu_micros() - c0);
        hits += r.total;
        micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    }
    state.counters["sessions"] = static_cast<double>(index->size());
    state.counters["queries"] = static_cast<double>(micros.size());
    state.counters["median_us"] = percentile(micros, 0.5);
    state.counters["p99_us"] = percentile(micros, 0.99);
    state.counters["max_us"] = percentile(micros, 1.0);
    // The same in CPU time of the searching thread: what the search costs, whatever else
    // the machine runs (wall-clock percentiles on a loaded machine measure its scheduler).
    state.counters["cpu_median_us"] = percentile(cpu_micros, 0.5);
    state.counters["cpu_p99_us"] = percentile(cpu_micros, 0.99);
    state.counters["mean_hits"] = static_cast<double>(hits) / static_cast<double>(micros.size());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(ArchiveSearch10k)->Unit(benchmark::kMillisecond)->Iterations(5);

// Indexing them all into a fresh store file (the first request of `convene serve` after
// an import), then a refresh that finds nothing changed.
void ArchiveRefresh10k(benchmark::State& state) {
  const auto entries = sessions(10000);
  for (auto _ : state) {
    const auto dir = std::filesystem::temp_directory_path() / ("convene-archive-bench-r" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
      auto store = Store::open({.path = (dir / "convene.db").string()});
      auto index = ArchiveIndex::in_store(*store);
      index->refresh("v1", [&] { return entries; });
      index->refresh("v2", [&] { return entries; });  // nothing changed: compared, not written
    }
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(ArchiveRefresh10k)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
