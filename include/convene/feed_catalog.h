// convene/feed_catalog.h: the feeds convene publishes, by path, rendered once per change.
//
// The feed namespace (the same for `convene publish` files and `convene serve` URLs):
//   feeds/all.ics                          every community's series
//   feeds/communities/<community>.ics      one community
//   feeds/series/<series>.ics              one series
//   feeds/members/<token>.ics              a member's personal feed (store only)
//   feeds/expanded/...                     the same four, one VEVENT per session
// Ids are matched exactly against the definitions; nothing is ever looked up on disk,
// so no path ("../", "%2e%2e/", "feeds/series/..%2fx.ics") can reach outside this
// namespace: parse_feed_path() rejects anything but these shapes over [A-Za-z0-9._-].
//
// A FeedCatalog sits over a FeedSource (a definitions file, or the store) and keeps,
// per path, the rendered bytes, their gzip, a strong ETag and Last-Modified. Each call
// asks the source for its data version first (a stat() of the file, one row of the
// store), so a change is visible in the very next request; a feed is re-rendered only
// when the fingerprint of what it shows changed (the change detector's
// definition_fingerprint of each of its series, and their revisions), so a change to
// one series leaves every other feed's bytes, ETag and cache untouched. A series that
// continues another (convene split) is shown in that one's feed and not listed apart.
//
// How to use:
//   convene::FeedCatalog catalog(convene::FeedSource::file("samples/x.json"), {});
//   auto feed = catalog.get("feeds/series/mentoring-monday.ics");   // shared_ptr, or null
//   if (feed) write(feed->body);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "convene/definitions.h"
#include "convene/feed.h"
#include "convene/revision.h"
#include "convene/time.h"

namespace convene {

class Store;
class Clock;

// A parsed feed path.
struct FeedPath {
  enum class Kind { all, community, series, member };
  Kind kind = Kind::all;
  std::string id;  // community or series id, or the member's token
  bool expanded = false;
  // "feeds/series/mentoring-monday.ics" (no leading slash)
  std::string to_string() const;
};

// Parses a request path (leading "/" optional, already without the query string).
// Percent-encoded bytes are decoded once; anything that is not exactly one of the
// shapes above, or has an id outside [A-Za-z0-9._-] or equal to "." or "..", is nullopt.
std::optional<FeedPath> parse_feed_path(std::string_view path);

// What the catalog renders from: the definitions, revisions, and member look-ups.
struct FeedSnapshot {
  std::shared_ptr<const Definitions> definitions;
  RevisionSource revisions;
  std::uint64_t version = 0;  // changes whenever the source's data changes
  // Per series id: a hash of everything its feed entry depends on (the change detector's
  // definition_fingerprint, and its revisions).
  std::unordered_map<std::string, std::uint64_t> fingerprints;
};

// A member's personal feed, found by token.
struct MemberFeed {
  std::string member_id;
  std::string name;
  std::vector<std::string> series;
  std::vector<Seconds> reminders;
};

class FeedSource {
 public:
  virtual ~FeedSource() = default;
  // The current snapshot: the same object until the data changes. Throws
  // std::runtime_error with a clear message when the data cannot be read.
  virtual std::shared_ptr<const FeedSnapshot> snapshot() = 0;
  // The member whose token this is (compared in constant time), or nullopt.
  virtual std::optional<MemberFeed> member_by_token(std::string_view token) = 0;
  // Short description for logs and the subscribe page ("samples/x.json", "store convene.db").
  virtual std::string describe() const = 0;

  // A definitions file, re-read when its mtime or size changes; revisions are
  // RevisionSource::unchanged(mtime). No members.
  // `limits` bounds the reading of the file and its ICS files (convene/limits.h).
  static std::unique_ptr<FeedSource> file(std::string path, InputLimits limits = {});
  // The store (which must outlive the source): re-read when data_version() changes.
  static std::unique_ptr<FeedSource> store(Store& store);
};

// One feed as served: the body, its gzip, validators.
struct FeedResponse {
  std::string body;
  std::string gzip;           // empty when gzip is not smaller
  std::string etag;           // strong: "\"<16 hex>\"", a hash of body
  std::string gzip_etag;      // the gzip representation's: "\"<16 hex>-gz\""
  Instant last_modified{};    // the latest change to the series it shows or their sessions
  std::string last_modified_http;  // "Mon, 18 Jan 2027 16:00:00 GMT"
  std::size_t events = 0;
};

// An entry of the subscribe page and of `convene publish`.
struct FeedListing {
  FeedPath path;
  std::string title;
  std::string description;
};

struct FeedCatalogOptions {
  const Clock* clock = nullptr;      // for the horizon; nullptr: Clock::real()
  std::vector<Seconds> reminders;    // VALARMs on public feeds
  std::string uid_domain = "convene";
  Seconds refresh_interval{3600};
};

class FeedCatalog {
 public:
  FeedCatalog(std::unique_ptr<FeedSource> source, FeedCatalogOptions options);
  ~FeedCatalog();

  // The feed at `path`, or nullptr when there is none (unknown id or token). Thread-safe.
  // Throws std::runtime_error when the source fails or the engine rejects the data.
  std::shared_ptr<const FeedResponse> get(const FeedPath& path);
  // Every public feed (not members'), in definitions order: all, communities, series.
  std::vector<FeedListing> listings();
  // How many feeds were rendered since construction (for tests: "not re-rendered").
  std::uint64_t renders() const;
  FeedSource& source() { return *source_; }

 private:
  struct Entry;
  std::unique_ptr<FeedSource> source_;
  FeedCatalogOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  std::uint64_t renders_ = 0;
};

// The subscribe page: each feed with webcal://, Google Calendar and Outlook links.
// `base_url` is "http://127.0.0.1:8080" or "https://example.org/convene" (no slash at end).
std::string subscribe_page(const std::vector<FeedListing>& feeds, const std::string& base_url,
                           const std::string& source_name);

// gzip (RFC 1952) of `data` at the default level; deterministic (no timestamp).
std::string gzip_compress(std::string_view data);
// "\"<16 hex digits>\"": FNV-1a 64 of the bytes.
std::string strong_etag(std::string_view data);
// RFC 7231 IMF-fixdate, and its parser (also accepts RFC 850 and asctime forms? no:
// only IMF-fixdate; anything else is nullopt, and the condition is ignored).
std::string http_date(Instant at);
std::optional<Instant> parse_http_date(std::string_view text);

}  // namespace convene
