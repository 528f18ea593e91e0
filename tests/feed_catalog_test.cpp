// The feed catalog: the feed namespace (what parse_feed_path accepts and refuses), the
// cache (one render per change, the same bytes and ETag otherwise), and re-rendering only
// the feeds a change touches. The server test covers the same over HTTP.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "convene/clock.h"
#include "convene/feed_catalog.h"
#include "convene/store.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant out;
  in >> date::parse("%FT%TZ", out);
  return out;
}

std::string definitions_text() {
  return testing::read_file(testing::source_dir() / "tests/data/store/definitions.json");
}

FeedPath path(const char* text) {
  auto parsed = parse_feed_path(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(FeedPath{});
}

TEST(FeedPath, ParsesEveryShapeOfTheNamespace) {
  struct Case {
    const char* text;
    FeedPath::Kind kind;
    const char* id;
    bool expanded;
  };
  const Case cases[] = {
      {"feeds/all.ics", FeedPath::Kind::all, "", false},
      {"/feeds/all.ics", FeedPath::Kind::all, "", false},
      {"/feeds/expanded/all.ics", FeedPath::Kind::all, "", true},
      {"/feeds/communities/nurses.ics", FeedPath::Kind::community, "nurses", false},
      {"/feeds/series/mentoring-monday.ics", FeedPath::Kind::series, "mentoring-monday", false},
      {"/feeds/expanded/series/a.b_c-D9.ics", FeedPath::Kind::series, "a.b_c-D9", true},
      {"/feeds/members/abc_DEF-123.ics", FeedPath::Kind::member, "abc_DEF-123", false},
      {"/feeds/series/power%2dhour.ics", FeedPath::Kind::series, "power-hour", false},
      {"/feeds/series/x.ics.ics", FeedPath::Kind::series, "x.ics", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto p = parse_feed_path(c.text);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, c.kind);
    EXPECT_EQ(p->id, c.id);
    EXPECT_EQ(p->expanded, c.expanded);
    // to_string() gives the canonical form back, which parses to the same.
    auto again = parse_feed_path(p->to_string());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->to_string(), p->to_string());
  }
}

TEST(FeedPath, RefusesEverythingOutsideTheNamespace) {
  for (const char* text :
       {"", "/", "feeds", "/feeds/", "/feeds/all", "/feeds/all.ics/", "/feeds//all.ics", "/feeds/./all.ics",
        "/feeds/../feeds/all.ics", "/feeds/series/../all.ics", "/feeds/series/..ics", "/feeds/series/.ics",
        "/feeds/series/...ics", "/feeds/series/%2e%2e.ics", "/feeds/series/%2e%2e%2fall.ics", "/feeds/%2e%2e/all.ics",
        "/feeds/series/%2fetc%2fpasswd.ics", "/feeds/series/%252e%252e.ics", "/feeds/series/%25.ics",
        "/feeds/series/a%00.ics", "/feeds/series/a%0a.ics", "/feeds/series/%5c.ics", "/feeds\\series\\x.ics",
        "/feeds/series/a b.ics", "/feeds/series/%20.ics", "/feeds/series/\xc3\xa9.ics", "/feeds/series/%c3%a9.ics",
        "/feeds/series/a.ics?x", "/feeds/series/a.ics#x", "/feeds/series/%", "/feeds/series/%2", "/feeds/series/%zz.ics",
        "/feeds/other/a.ics", "/feeds/series/a/b.ics", "/feeds/expanded/expanded/all.ics", "/FEEDS/all.ics",
        "/feeds/All.ics", "/feeds/series/a.ICS", "http://x/feeds/all.ics", "//feeds/all.ics", "/etc/passwd"}) {
    EXPECT_FALSE(parse_feed_path(text)) << text;
  }
  EXPECT_FALSE(parse_feed_path("/feeds/series/" + std::string(600, 'a') + ".ics"));
}

TEST(HttpDate, FormatsAndParsesImfFixdate) {
  const Instant t = at("2027-01-18T16:00:00Z");
  EXPECT_EQ(http_date(t), "Mon, 18 Jan 2027 16:00:00 GMT");
  EXPECT_EQ(parse_http_date("Mon, 18 Jan 2027 16:00:00 GMT"), t);
  EXPECT_FALSE(parse_http_date("yesterday"));
  EXPECT_FALSE(parse_http_date(""));
}

// Regression (found by the server's fuzzer): an If-Modified-Since whose seconds were
// bytes 0xff, "Mon, 01 Feb 2027 10:00:\xff\xff\xff\xff00 GMT", reached date::parse, which
// read the seconds as a NaN and converted it to an integer (undefined behaviour, caught
// by UBSan). Only the exact IMF-fixdate shape is parsed now; anything else is no date.
TEST(HttpDate, OnlyTheExactImfFixdateShapeIsADate) {
  for (const std::string& text : std::vector<std::string>{
           "Mon, 01 Feb 2027 10:00:\xff\xff\xff\xff" "00 GMT", "Mon, 01 Feb 2027 10:00:nan GMT",
        "Mon, 01 Feb 2027 10:00:1e9 GMT", "Mon, 01 Feb 2027 10:00:-1 GMT", "Mon, 01 Feb 2027 10:00:0.5 GMT",
        "Mon, 1 Feb 2027 10:00:00 GMT", "Mon, 01 Feb 2027 10:00:00 UTC", "Mon, 01 Feb 2027 10:00:00 GMT ",
        " Mon, 01 Feb 2027 10:00:00 GMT", "Mon, 01 Feb 27 10:00:00 GMT", "Mon, 31 Feb 2027 10:00:00 GMT",
        "Mon, 01 Feb 2027 24:00:00 GMT", "Mon, 01 Feb 2027 10:60:00 GMT", "Mon, 01 Xyz 2027 10:00:00 GMT",
        "Monday, 01-Feb-27 10:00:00 GMT", "Mon Feb  1 10:00:00 2027", std::string("Mon, 01 Feb 2027 10:00:0\0 GMT", 29)})
    EXPECT_FALSE(parse_http_date(text)) << text;
  EXPECT_EQ(parse_http_date("Mon, 01 Feb 2027 10:00:59 GMT"), at("2027-02-01T10:00:59Z"));
}

TEST(StrongEtag, IsAQuotedHashOfTheBytes) {
  EXPECT_TRUE(std::regex_match(strong_etag("abc"), std::regex(R"("[0-9a-f]{16}")")));
  // Deterministic: the same bytes from another buffer give the same tag (no random seed).
  const std::string same = std::string("ab") + "c";
  EXPECT_EQ(strong_etag("abc"), strong_etag(same));
  EXPECT_NE(strong_etag("abc"), strong_etag("abd"));
}

TEST(GzipCompress, IsDeterministicAndGzip) {
  const std::string text(5000, 'x');
  const auto a = gzip_compress(text), b = gzip_compress(text);
  EXPECT_EQ(a, b);
  ASSERT_GT(a.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x8b);
  EXPECT_LT(a.size(), text.size());
}

struct FileCatalog {
  TempDir dir;
  std::string file = (dir / "defs.json").string();
  SimulatedClock clock{at("2027-02-01T12:00:00Z")};
  std::unique_ptr<FeedCatalog> catalog;
  FileCatalog() {
    testing::write_file(file, definitions_text());
    FeedCatalogOptions options;
    options.clock = &clock;
    catalog = std::make_unique<FeedCatalog>(FeedSource::file(file), options);
  }
};

// Rewrites the definitions file with `text` keeping its modification time: the change is
// seen through the size (part of the file's stamp). Regression (found by the sanitizer
// build, issue 7): a file source's revisions are the file's modification time in whole
// seconds, so a rewrite that fell in the next second changed every feed's LAST-MODIFIED
// and re-rendered them all: the tests below that count renders failed whenever the write
// crossed a second (1 run in 5 under ASan, 3 in 600 in the normal build).
void rewrite_keeping_mtime(const std::string& file, const std::string& text) {
  const auto mtime = std::filesystem::last_write_time(file);
  testing::write_file(file, text);
  std::filesystem::last_write_time(file, mtime);
}

TEST(FeedCatalog, RendersOnceAndServesTheCache) {
  FileCatalog f;
  auto first = f.catalog->get(path("feeds/series/power-hour.ics"));
  ASSERT_TRUE(first);
  EXPECT_EQ(f.catalog->renders(), 1u);
  EXPECT_NE(first->body.find("BEGIN:VCALENDAR"), std::string::npos);
  EXPECT_EQ(first->etag, strong_etag(first->body));
  EXPECT_EQ(first->gzip_etag, first->etag.substr(0, 17) + "-gz\"");
  EXPECT_EQ(first->gzip, gzip_compress(first->body));
  EXPECT_EQ(first->last_modified_http, http_date(first->last_modified));
  auto second = f.catalog->get(path("/feeds/series/power-hour.ics"));
  EXPECT_EQ(second, first);  // the same cached object
  EXPECT_EQ(f.catalog->renders(), 1u);
  // Expanded is another feed.
  auto expanded = f.catalog->get(path("feeds/expanded/series/power-hour.ics"));
  ASSERT_TRUE(expanded);
  EXPECT_NE(expanded->etag, first->etag);
  EXPECT_EQ(f.catalog->renders(), 2u);
}

TEST(FeedCatalog, UnknownIdsAreNull) {
  FileCatalog f;
  EXPECT_FALSE(f.catalog->get(path("feeds/series/nope.ics")));
  EXPECT_FALSE(f.catalog->get(path("feeds/communities/nope.ics")));
  EXPECT_FALSE(f.catalog->get(path("feeds/members/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")));
  EXPECT_EQ(f.catalog->renders(), 0u);
}

TEST(FeedCatalog, AChangeRerendersOnlyTheFeedsItTouches) {
  FileCatalog f;
  const auto power = f.catalog->get(path("feeds/series/power-hour.ics"));
  const auto mentoring = f.catalog->get(path("feeds/series/mentoring-monday.ics"));
  const auto bh = f.catalog->get(path("feeds/communities/dc-bh.ics"));
  const auto nurses = f.catalog->get(path("feeds/communities/nurses.ics"));
  const auto all = f.catalog->get(path("feeds/all.ics"));
  ASSERT_TRUE(power && mentoring && bh && nurses && all);
  EXPECT_EQ(f.catalog->renders(), 5u);
  // Change Power Hour's title: the file's size changes, so its stamp does.
  std::string text = definitions_text();
  const auto pos = text.find("\"Power Hour\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 12, "\"Power Hour (new room)\"");
  rewrite_keeping_mtime(f.file, text);

  auto power2 = f.catalog->get(path("feeds/series/power-hour.ics"));
  ASSERT_TRUE(power2);
  EXPECT_NE(power2->etag, power->etag);
  EXPECT_NE(power2->body.find("Power Hour (new room)"), std::string::npos);
  EXPECT_EQ(f.catalog->renders(), 6u);
  // Untouched feeds: the same object (bytes, ETag), no render.
  EXPECT_EQ(f.catalog->get(path("feeds/series/mentoring-monday.ics")), mentoring);
  EXPECT_EQ(f.catalog->get(path("feeds/communities/dc-bh.ics")), bh);
  EXPECT_EQ(f.catalog->renders(), 6u);
  // Feeds that show Power Hour are rendered again.
  EXPECT_NE(f.catalog->get(path("feeds/communities/nurses.ics"))->etag, nurses->etag);
  EXPECT_NE(f.catalog->get(path("feeds/all.ics"))->etag, all->etag);
  EXPECT_EQ(f.catalog->renders(), 8u);
}

TEST(FeedCatalog, ACalendarChangeTouchesTheSeriesThatObserveIt) {
  FileCatalog f;
  const auto bh = f.catalog->get(path("feeds/series/bh-monthly.ics"));
  const auto power = f.catalog->get(path("feeds/series/power-hour.ics"));
  // The "school" calendar is observed by the nurses community only.
  std::string text = definitions_text();
  const auto pos = text.find("\"Winter break\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 14, "\"Winter holidays\"");
  rewrite_keeping_mtime(f.file, text);
  EXPECT_EQ(f.catalog->get(path("feeds/series/bh-monthly.ics")), bh);
  EXPECT_NE(f.catalog->get(path("feeds/series/power-hour.ics")), power);
}

TEST(FeedCatalog, TheHorizonMovesWithTheClockMonth) {
  FileCatalog f;
  const auto before = f.catalog->get(path("feeds/series/power-hour.ics"));
  f.clock.set(at("2027-02-27T12:00:00Z"));  // same month: same horizon, same feed
  EXPECT_EQ(f.catalog->get(path("feeds/series/power-hour.ics")), before);
  f.clock.set(at("2027-03-02T12:00:00Z"));  // next month: a month more of sessions
  const auto after = f.catalog->get(path("feeds/series/power-hour.ics"));
  EXPECT_NE(after->etag, before->etag);
  EXPECT_EQ(f.catalog->renders(), 2u);
}

TEST(FeedCatalog, ABrokenFileKeepsTheLastGoodFeeds) {
  FileCatalog f;
  const auto before = f.catalog->get(path("feeds/all.ics"));
  testing::write_file(f.file, "{ not json");
  EXPECT_EQ(f.catalog->get(path("feeds/all.ics")), before);
}

TEST(FeedCatalog, AMissingFileIsAClearError) {
  TempDir dir;
  FeedCatalog catalog(FeedSource::file((dir / "missing.json").string()), {});
  try {
    catalog.get(FeedPath{});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
}

TEST(FeedCatalog, ListingsAreAllThenCommunitiesThenSeries) {
  FileCatalog f;
  std::vector<std::string> paths;
  for (const auto& l : f.catalog->listings()) paths.push_back(l.path.to_string());
  EXPECT_EQ(paths, (std::vector<std::string>{"feeds/all.ics", "feeds/communities/nurses.ics",
                                             "feeds/communities/dc-bh.ics", "feeds/series/mentoring-monday.ics",
                                             "feeds/series/power-hour.ics", "feeds/series/bh-monthly.ics"}));
}

TEST(FeedCatalog, StoreChangesAreSeenAtOnceAndOnlyTouchedFeedsRerender) {
  TempDir dir;
  SimulatedClock clock{at("2027-02-01T09:00:00Z")};
  auto store = Store::open({.path = (dir / "convene.db").string(), .clock = &clock});
  const auto file = dir / "defs.json";
  testing::write_file(file, definitions_text());
  store->import_definitions(*load_definitions(file.string()).definitions, {.actor = "ana"});
  auto issued = store->add_member({.id = "rosa", .name = "Rosa", .email = "rosa@example.org"}, {.actor = "ana"});
  store->subscribe("rosa", {Subscription::Kind::series, "power-hour"}, {.actor = "ana"});
  FeedCatalogOptions options;
  options.clock = &clock;
  FeedCatalog catalog(FeedSource::store(*store), options);

  const auto power = catalog.get(path("feeds/series/power-hour.ics"));
  const auto mentoring = catalog.get(path("feeds/series/mentoring-monday.ics"));
  FeedPath member{FeedPath::Kind::member, issued.token, false};
  const auto personal = catalog.get(member);
  ASSERT_TRUE(power && mentoring && personal);
  EXPECT_EQ(catalog.renders(), 3u);
  EXPECT_EQ(catalog.get(member), personal);  // the member's feed is cached too

  clock.advance(Seconds{3600});
  store->cancel("power-hour", LocalTime{LocalDay{date::year{2027} / 3 / 3}} + std::chrono::hours{15},
                {.actor = "ana"});
  const auto power2 = catalog.get(path("feeds/series/power-hour.ics"));
  EXPECT_NE(power2->etag, power->etag);
  EXPECT_GT(power2->last_modified, power->last_modified);
  EXPECT_EQ(catalog.get(path("feeds/series/mentoring-monday.ics")), mentoring);
  EXPECT_NE(catalog.get(member)->etag, personal->etag);
  EXPECT_EQ(catalog.renders(), 5u);

  // A rotated token stops at once; the new one works.
  auto rotated = store->rotate_token("rosa", {.actor = "ana"});
  EXPECT_FALSE(catalog.get(member));
  EXPECT_TRUE(catalog.get(FeedPath{FeedPath::Kind::member, rotated.token, false}));
}

TEST(SubscribePage, EscapesAndLinksEveryFeed) {
  std::vector<FeedListing> feeds{{FeedPath{}, "All <communities>", "A & B"},
                                 {FeedPath{FeedPath::Kind::series, "s1", false}, "S \"1\"", ""}};
  const auto page = subscribe_page(feeds, "https://example.org/cop", "defs.json");
  EXPECT_NE(page.find("All &lt;communities&gt;"), std::string::npos);
  EXPECT_NE(page.find("A &amp; B"), std::string::npos);
  EXPECT_NE(page.find("S &quot;1&quot;"), std::string::npos);
  EXPECT_NE(page.find("webcal://example.org/cop/feeds/series/s1.ics"), std::string::npos);
  EXPECT_NE(page.find("https://example.org/cop/feeds/expanded/series/s1.ics"), std::string::npos);
  EXPECT_EQ(page.find("<communities>"), std::string::npos);
}

}  // namespace
}  // namespace convene
