// Rendering the all-communities feed for 1,000 series (docs/benchmarks.md):
//   - RenderAllFeed: render_feed() alone (recurring mode: a master VEVENT per series, its
//     EXDATEs and overrides, VTIMEZONEs), and the same expanded (one VEVENT per session);
//   - CatalogAllFeedCold: what `convene serve` does for the first request after a change:
//     read the definitions file, fingerprint, render, gzip, ETag;
//   - CatalogAllFeedCached: every later request (the cache hit: stat(), look-up).
// The definitions are generated: 20 communities of 50 series, weekly, biweekly and
// monthly rules over the US federal and DC holidays, a third of them with a policy.
// Counters: bytes and VEVENTs of the feed, and the process' peak RSS (VmHWM) so far.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "convene/clock.h"
#include "convene/feed.h"
#include "convene/feed_catalog.h"

namespace {

using namespace convene;

nlohmann::ordered_json generated_definitions(int communities, int per_community) {
  static const char* rules[] = {"FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
                                "FREQ=MONTHLY;BYDAY=2WE", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;BYDAY=WE"};
  static const char* policies[] = {"following", "skip", "modified-following"};
  static const char* zones[] = {"America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"};
  nlohmann::ordered_json doc;
  doc["calendars"]["federal"] = {{"builtin", "us-federal"}};
  doc["calendars"]["dc"] = {{"builtin", "us-dc"}};
  doc["communities"] = nlohmann::ordered_json::array();
  int n = 0;
  for (int c = 0; c < communities; ++c) {
    nlohmann::ordered_json community;
    community["id"] = "community-" + std::to_string(c);
    community["name"] = "Community of practice " + std::to_string(c);
    community["timezone"] = zones[c % 4];
    community["observes"] = c % 2 ? nlohmann::ordered_json{"federal"} : nlohmann::ordered_json{"dc"};
    community["series"] = nlohmann::ordered_json::array();
    for (int s = 0; s < per_community; ++s, ++n) {
      nlohmann::ordered_json series;
      series["id"] = "series-" + std::to_string(n);
      series["title"] = "Session " + std::to_string(n);
      char start[32];
      std::snprintf(start, sizeof start, "2026-09-%02dT%02d:%02d", 1 + n % 28, 8 + n % 10, (n % 2) * 30);
      series["start"] = start;
      series["duration"] = n % 3 ? "PT1H" : "PT90M";
      series["rrule"] = rules[n % 5];
      if (n % 3 == 0) series["on_holiday"] = policies[(n / 3) % 3];
      series["description"] = "A recurring session of community " + std::to_string(c) + ".";
      series["join_url"] = "https://meet.example.org/" + std::to_string(n);
      community["series"].push_back(series);
    }
    doc["communities"].push_back(community);
  }
  return doc;
}

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "convene-feed-render-bench";
  std::string file = (dir / "defs-1000.json").string();
  std::shared_ptr<const Definitions> definitions;
  SimulatedClock clock{Instant{date::sys_days{date::year{2026} / 9 / 1}}};
  Fixture() {
    std::filesystem::create_directories(dir);
    std::ofstream(file) << generated_definitions(20, 50).dump(1);
    auto loaded = load_definitions(file);
    if (!loaded.ok()) {
      for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
      std::abort();
    }
    definitions = std::make_shared<const Definitions>(std::move(*loaded.definitions));
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

void RenderAllFeed(benchmark::State& state) {
  auto& f = fixture();
  FeedOptions options;
  options.name = "All communities";
  options.expanded = state.range(0) != 0;
  const auto horizon = feed_horizon(f.clock.now());
  const auto revisions = RevisionSource::unchanged(f.clock.now());
  RenderedFeed feed;
  for (auto _ : state) {
    feed = render_feed(*f.definitions, FeedSelection::all(), horizon, revisions, options);
    if (!feed) state.SkipWithError(feed.error.c_str());
    benchmark::DoNotOptimize(feed.ics.data());
  }
  state.counters["series"] = double(f.definitions->communities.size() * 50);
  state.counters["vevents"] = double(feed.events);
  state.counters["bytes"] = double(feed.ics.size());
  state.counters["peak_rss_MB"] = peak_rss_mb();
}
BENCHMARK(RenderAllFeed)->ArgName("expanded")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void CatalogAllFeedCold(benchmark::State& state) {
  auto& f = fixture();
  FeedCatalogOptions options;
  options.clock = &f.clock;
  std::size_t bytes = 0, gz = 0;
  for (auto _ : state) {
    FeedCatalog catalog(FeedSource::file(f.file), options);
    auto feed = catalog.get(FeedPath{});
    bytes = feed->body.size();
    gz = feed->gzip.size();
  }
  state.counters["bytes"] = double(bytes);
  state.counters["gzip_bytes"] = double(gz);
  state.counters["peak_rss_MB"] = peak_rss_mb();
}
BENCHMARK(CatalogAllFeedCold)->Unit(benchmark::kMillisecond);

void CatalogAllFeedCached(benchmark::State& state) {
  auto& f = fixture();
  FeedCatalogOptions options;
  options.clock = &f.clock;
  FeedCatalog catalog(FeedSource::file(f.file), options);
  catalog.get(FeedPath{});
  for (auto _ : state) benchmark::DoNotOptimize(catalog.get(FeedPath{}));
  state.counters["renders"] = double(catalog.renders());
}
BENCHMARK(CatalogAllFeedCached)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
