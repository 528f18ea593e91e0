// The archive of past sessions (convene/archive.h): its entries, the reading of search
// words, and the FTS5 index in a store and in memory: ranking, highlighting, filters,
// refreshes that write only what changed.
#include "convene/archive.h"

#include <gtest/gtest.h>

#include "convene/store.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

LocalDay day(const char* text) { return *parse_date(text); }
LocalTime lt(const char* text) { return *parse_local_minute(text); }
Instant instant(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}

Definitions samples() {
  auto loaded = load_definitions((testing::source_dir() / "samples/communities-2026-27.json").string());
  EXPECT_TRUE(loaded.ok());
  Definitions d = *loaded.definitions;
  // Past sessions with their materials, as facilitators record them.
  OverrideDef asthma;
  asthma.series = "mentoring-monday";
  asthma.occurrence = lt("2026-10-19T16:00");
  asthma.presenter = "Dr. Rivera";
  asthma.agenda = "Asthma action plans in the nurse's office; inhaler technique";
  asthma.resources = {{"Slides", "https://files.example.org/asthma.pdf"},
                      {"Recording", "https://video.example.org/asthma"}};
  d.overrides.push_back(asthma);
  OverrideDef flu;
  flu.series = "special-topics-cafe";
  flu.occurrence = lt("2026-10-29T15:30");
  flu.agenda = "Vaccines and the flu season: clinics with our partners";
  d.overrides.push_back(flu);
  return d;
}

std::string plain(std::string marked) {
  std::erase_if(marked, [](char c) { return c == kMarkOpen || c == kMarkClose; });
  return marked;
}

const Instant kNow = instant("2027-02-01T12:00:00Z");

struct Indexed {
  Definitions defs = samples();
  std::unique_ptr<ArchiveIndex> index = ArchiveIndex::in_memory();
  Indexed() {
    index->refresh("v1", [&] { return archive_entries(defs, day("2027-06-30")); });
  }
  ArchiveResults search(ArchiveQuery q) {
    if (!q.before) q.before = kNow;
    return index->search(q);
  }
};

TEST(ArchiveEntries, HoldEveryLiveSessionWithItsWords) {
  const Definitions defs = samples();
  auto entries = archive_entries(defs, day("2027-06-30"));
  auto it = std::find_if(entries.begin(), entries.end(), [](const ArchiveEntry& e) {
    return e.series == "mentoring-monday" && e.original == lt("2026-10-19T16:00");
  });
  ASSERT_NE(it, entries.end());
  EXPECT_EQ(it->community, "school-nurses");
  EXPECT_EQ(it->presenter, "Dr. Rivera");
  EXPECT_EQ(it->resources, "Slides https://files.example.org/asthma.pdf\nRecording https://video.example.org/asthma");
  EXPECT_EQ(it->day, day("2026-10-19"));
  // Skipped and cancelled sessions are not in the archive.
  for (const auto& e : entries) {
    EXPECT_FALSE(e.series == "slc-biweekly" && e.original == lt("2026-11-19T14:00")) << "cancelled";
    EXPECT_FALSE(e.series == "equity-collaborative" && e.original == lt("2027-01-01T12:00")) << "skipped";
  }
  // A shifted session is found on the day it takes place.
  auto mlk = std::find_if(entries.begin(), entries.end(), [](const ArchiveEntry& e) {
    return e.series == "mentoring-monday" && e.original == lt("2027-01-18T16:00");
  });
  ASSERT_NE(mlk, entries.end());
  EXPECT_EQ(mlk->day, day("2027-01-19"));
}

TEST(ArchiveMatch, ReadsWordsAsPrefixTermsAndQuotesAsPhrases) {
  auto t = archive_match("asthma \"action plan\" inhal");
  EXPECT_EQ(t.match, "\"asthma\"* AND \"action plan\" AND \"inhal\"*");
  EXPECT_EQ(t.terms, (std::vector<std::string>{"asthma", "action plan", "inhal"}));
  EXPECT_TRUE(archive_match("   ").match.empty());
  EXPECT_TRUE(archive_match("* - ( )").match.empty()) << "no word at all";
}

TEST(ArchiveMatch, FtsSyntaxInTheInputIsReadAsWords) {
  EXPECT_EQ(archive_match("title:snow OR NEAR(a b) x\"").match,
            "\"title:snow\"* AND \"OR\"* AND \"NEAR(a\"* AND \"b)\"* AND \"x\"*");
  EXPECT_EQ(archive_match("\"unclosed phrase").match, "\"unclosed phrase\"");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(archive_match(many).terms.size(), kMaxArchiveTerms);
  // Cut at the byte bound, never inside a UTF-8 character.
  std::string accents;
  while (accents.size() < kMaxArchiveQueryBytes + 10) accents += "é";
  auto cut = archive_match(accents);
  ASSERT_EQ(cut.terms.size(), 1u);
  EXPECT_EQ(cut.terms[0].size() % 2, 0u);
}

TEST(ArchiveIndex, FindsAPastSessionByAWordOfItsAgendaHighlighted) {
  Indexed x;
  auto r = x.search({.words = "inhaler"});
  ASSERT_EQ(r.total, 1u);
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].series, "mentoring-monday");
  EXPECT_EQ(r.hits[0].original, lt("2026-10-19T16:00"));
  EXPECT_NE(r.hits[0].snippet.find(std::string(1, kMarkOpen) + "inhaler" + kMarkClose), std::string::npos)
      << r.hits[0].snippet;
  EXPECT_EQ(plain(r.hits[0].title), "Mentoring Monday");
}

TEST(ArchiveIndex, StemsPrefixesAndIgnoresCase) {
  Indexed x;
  EXPECT_EQ(x.search({.words = "VACCINE"}).total, 1u) << "vaccines, stemmed";
  EXPECT_EQ(x.search({.words = "asth"}).total, 1u) << "a prefix";
  EXPECT_EQ(x.search({.words = "rivera"}).total, 1u) << "the presenter";
  EXPECT_EQ(x.search({.words = "asthma.pdf"}).total, 1u) << "a resource";
  EXPECT_EQ(x.search({.words = "\"action plans\""}).total, 1u);
  EXPECT_EQ(x.search({.words = "\"plans action\""}).total, 0u) << "a phrase keeps its order";
  EXPECT_EQ(x.search({.words = "asthma vaccines"}).total, 0u) << "every word is required";
}

TEST(ArchiveIndex, RanksTitleAboveDescriptionNewestFirstAmongEquals) {
  Indexed x;
  auto r = x.search({.words = "power"});
  ASSERT_GE(r.hits.size(), 2u);
  for (const auto& h : r.hits) EXPECT_EQ(h.series, "power-hour");
  for (std::size_t i = 1; i < r.hits.size(); ++i) {
    EXPECT_LE(r.hits[i - 1].rank, r.hits[i].rank);
    if (r.hits[i - 1].rank == r.hits[i].rank) EXPECT_GE(r.hits[i - 1].start, r.hits[i].start);
  }
  auto both = x.search({.words = "focus"});  // the title of one session, descriptions of Power Hour
  ASSERT_GE(both.hits.size(), 2u);
  EXPECT_EQ(both.hits[0].original, lt("2026-10-14T15:00"));
  EXPECT_NE(both.hits[0].title.find(kMarkOpen), std::string::npos) << "its title matched";
}

TEST(ArchiveIndex, OnlySessionsBeforeNowAndWithinTheFilters) {
  Indexed x;
  auto all = x.search({});
  for (const auto& h : all.hits) EXPECT_LT(h.start, kNow);
  EXPECT_GT(all.total, 20u);
  EXPECT_EQ(all.hits.size(), 20u) << "one page";
  for (std::size_t i = 1; i < all.hits.size(); ++i) EXPECT_GE(all.hits[i - 1].start, all.hits[i].start);

  auto community = x.search({.community = "dc-sbh-cop"});
  ASSERT_GT(community.total, 0u);
  for (const auto& h : community.hits) EXPECT_EQ(h.community, "dc-sbh-cop");

  auto series = x.search({.series = {"power-hour", "slc-biweekly"}, .limit = 100});
  for (const auto& h : series.hits) EXPECT_TRUE(h.series == "power-hour" || h.series == "slc-biweekly");

  auto window = x.search({.from = day("2026-10-01"), .to = day("2026-10-31"), .limit = 100});
  ASSERT_GT(window.total, 0u);
  for (const auto& h : window.hits) {
    EXPECT_GE(h.day, day("2026-10-01"));
    EXPECT_LE(h.day, day("2026-10-31"));
  }
  auto page2 = x.search({.offset = 20});
  ASSERT_FALSE(page2.hits.empty());
  EXPECT_LT(page2.hits[0].start, all.hits.back().start);
}

TEST(ArchiveIndex, FiltersByCategory) {
  Definitions defs = samples();
  defs.communities[0].series[0].categories = {"Clinical", "Mentoring"};
  auto index = ArchiveIndex::in_memory();
  index->refresh("v", [&] { return archive_entries(defs, day("2027-06-30")); });
  EXPECT_EQ(index->categories(), (std::vector<std::string>{"Clinical", "Mentoring"}));
  auto r = index->search({.category = "Clinical", .before = kNow, .limit = 100});
  ASSERT_GT(r.total, 0u);
  for (const auto& h : r.hits) EXPECT_EQ(h.series, "mentoring-monday");
  EXPECT_EQ(index->search({.category = "None", .before = kNow}).total, 0u);
}

TEST(ArchiveIndex, RefreshWritesOnlyWhatChangedAndSkipsAKnownVersion) {
  Indexed x;
  const std::size_t size = x.index->size();
  int calls = 0;
  x.index->refresh("v1", [&] {
    ++calls;
    return std::vector<ArchiveEntry>{};
  });
  EXPECT_EQ(calls, 0) << "the same version is not read again";
  EXPECT_EQ(x.index->size(), size);

  // An edited agenda is found by its new words, no longer by its old ones.
  for (auto& o : x.defs.overrides)
    if (o.series == "mentoring-monday" && o.occurrence == lt("2026-10-19T16:00")) o.agenda = "Concussion protocols";
  x.index->refresh("v2", [&] { return archive_entries(x.defs, day("2027-06-30")); });
  EXPECT_EQ(x.index->version(), "v2");
  EXPECT_EQ(x.search({.words = "inhaler"}).total, 0u);
  EXPECT_EQ(x.search({.words = "concussion"}).total, 1u);
  EXPECT_EQ(x.index->size(), size);

  // A series removed leaves the archive.
  x.defs.communities[2].series.clear();
  x.index->refresh("v3", [&] { return archive_entries(x.defs, day("2027-06-30")); });
  EXPECT_EQ(x.search({.series = {"slc-biweekly"}}).total, 0u);
  EXPECT_LT(x.index->size(), size);
}

TEST(ArchiveIndex, LivesInTheStoreFileAcrossOpens) {
  TempDir dir;
  const std::string path = (dir / "convene.db").string();
  const Definitions defs = samples();
  {
    auto store = Store::open({.path = path});
    auto index = ArchiveIndex::in_store(*store);
    index->refresh("v1", [&] { return archive_entries(defs, day("2027-06-30")); });
    EXPECT_EQ(index->search({.words = "inhaler", .before = kNow}).total, 1u);
  }
  auto store = Store::open({.path = path});
  auto index = ArchiveIndex::in_store(*store);
  EXPECT_EQ(index->version(), "v1");
  EXPECT_EQ(index->search({.words = "inhaler", .before = kNow}).total, 1u);
}

TEST(ArchiveIndex, HostileWordsNeverBreakTheQuery) {
  Indexed x;
  for (const char* words : {"\"", "\"\"", "AND", "NOT x", "x OR", "(", "NEAR(", "^", "a:b", "'; DROP TABLE archive_text; --",
                            "*", "\xff\xfe", "-", "col:\"x\"*"}) {
    EXPECT_NO_THROW(x.search({.words = words})) << words;
  }
  EXPECT_GT(x.index->size(), 0u);
}

}  // namespace
}  // namespace convene
