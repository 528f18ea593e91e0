#include "convene/feed_catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "convene/change_detector.h"
#include "convene/clock.h"
#include "convene/html.h"
#include "convene/store.h"

namespace convene {

namespace {

// --- hashing ------------------------------------------------------------------------

struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  Fnv& add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator, so ("ab","c") != ("a","bc")
    h *= 1099511628211ull;
    return *this;
  }
  Fnv& add(std::uint64_t v) { return add(std::string_view(reinterpret_cast<const char*>(&v), sizeof v)); }
};

std::string hex16(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[std::size_t(i)] = digits[v & 15];
  return out;
}

// Per series: what its feed entry depends on, as the change detector sees it (every
// definition that can change an output of it) and its revisions (their last change moves
// whenever one of them does).
std::unordered_map<std::string, std::uint64_t> fingerprints(const Definitions& defs,
                                                          const RevisionSource& revisions) {
  std::unordered_map<std::string, std::uint64_t> out;
  for (const auto& community : defs.communities) {
    for (const auto& series : community.series) {
      Fnv f;
      f.add(definition_fingerprint(defs, community, series));
      const Revision r = revisions.series(series.id);
      f.add(r.sequence).add(std::uint64_t(r.modified.time_since_epoch().count()));
      if (revisions.last_change) {
        const LastChange last = revisions.last_change(series.id);
        f.add(last.id).add(std::uint64_t(last.at.time_since_epoch().count()));
      }
      out[series.id] = f.h;
    }
  }
  return out;
}

// --- sources ------------------------------------------------------------------------

std::string errors_of(const LoadedDefinitions& loaded) {
  std::string text;
  for (const auto& d : loaded.diagnostics) {
    if (d.severity != Diagnostic::Severity::error) continue;
    if (!text.empty()) text += "\n";
    text += d.to_string();
  }
  return text;
}

class FileSource final : public FeedSource {
 public:
  FileSource(std::string path, InputLimits limits) : path_(std::move(path)), limits_(limits) {}

  std::shared_ptr<const FeedSnapshot> snapshot() override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0)
      throw std::runtime_error(path_ + ": cannot read the definitions file (" + std::strerror(errno) + ")");
    const std::uint64_t stamp = std::uint64_t(st.st_mtim.tv_sec) * 1000000000ull +
                                std::uint64_t(st.st_mtim.tv_nsec) + (std::uint64_t(st.st_size) << 40);
    std::lock_guard lock(mutex_);
    if (current_ && stamp == stamp_) return current_;
    auto loaded = load_definitions(path_, limits_);
    if (!loaded.ok()) {
      if (current_) return current_;  // keep serving the last good definitions
      throw std::runtime_error(errors_of(loaded));
    }
    auto snap = std::make_shared<FeedSnapshot>();
    snap->definitions = std::make_shared<const Definitions>(std::move(*loaded.definitions));
    snap->revisions = RevisionSource::unchanged(Instant{Seconds{st.st_mtim.tv_sec}});
    snap->version = ++version_;
    snap->fingerprints = fingerprints(*snap->definitions, snap->revisions);
    stamp_ = stamp;
    current_ = std::move(snap);
    return current_;
  }
  std::optional<MemberFeed> member_by_token(std::string_view) override { return std::nullopt; }
  std::string describe() const override { return path_; }

 private:
  std::string path_;
  InputLimits limits_;
  std::mutex mutex_;
  std::uint64_t stamp_ = 0, version_ = 0;
  std::shared_ptr<const FeedSnapshot> current_;
};

class StoreSource final : public FeedSource {
 public:
  explicit StoreSource(Store& store) : store_(store) {}

  std::shared_ptr<const FeedSnapshot> snapshot() override {
    const std::uint64_t version = store_.data_version();
    std::lock_guard lock(mutex_);
    if (current_ && version == current_->version) return current_;
    // Definitions and revisions from one read transaction: one consistent state.
    StoreSnapshot state = store_.snapshot();
    if (!state.definitions.ok()) throw std::runtime_error(errors_of(state.definitions));
    auto snap = std::make_shared<FeedSnapshot>();
    snap->definitions = std::make_shared<const Definitions>(std::move(*state.definitions.definitions));
    snap->revisions = std::move(state.revisions);
    snap->version = state.data_version;
    snap->fingerprints = fingerprints(*snap->definitions, snap->revisions);
    current_ = std::move(snap);
    return current_;
  }
  std::optional<MemberFeed> member_by_token(std::string_view token) override {
    auto member = store_.find_member_by_token(token);
    if (!member) return std::nullopt;
    return MemberFeed{member->id, member->name, store_.subscribed_series(member->id),
                      member->reminders.offsets};
  }
  std::string describe() const override { return "store " + store_.path(); }

 private:
  Store& store_;
  std::mutex mutex_;
  std::shared_ptr<const FeedSnapshot> current_;
};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// --- paths ----------------------------------------------------------------------------

std::string FeedPath::to_string() const {
  std::string out = "feeds/";
  if (expanded) out += "expanded/";
  switch (kind) {
    case Kind::all: return out + "all.ics";
    case Kind::community: return out + "communities/" + id + ".ics";
    case Kind::series: return out + "series/" + id + ".ics";
    case Kind::member: return out + "members/" + id + ".ics";
  }
  return out;
}

std::optional<FeedPath> parse_feed_path(std::string_view raw) {
  if (raw.size() > 512) return std::nullopt;
  // Decode percent-escapes once; a decoded '/' or '%' or control byte is refused.
  std::string path;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;
      const int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = char(hi * 16 + lo);
      if (c == '/' || c == '%' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      i += 2;
      if (!id_char(c)) return std::nullopt;
    } else if (c != '/' && !id_char(c)) {
      return std::nullopt;
    }
    path += c;
  }
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == "..") return std::nullopt;
  FeedPath out;
  std::size_t k = 0;
  if (parts.size() < 2 || parts[k++] != "feeds") return std::nullopt;
  if (parts[k] == "expanded") {
    out.expanded = true;
    ++k;
  }
  const std::size_t left = parts.size() - k;
  auto strip_ics = [](const std::string& name, std::string& id) {
    if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".ics") != 0) return false;
    id = name.substr(0, name.size() - 4);
    return !id.empty() && id != "." && id != "..";
  };
  if (left == 1) {
    if (parts[k] != "all.ics") return std::nullopt;
    out.kind = FeedPath::Kind::all;
    return out;
  }
  if (left != 2) return std::nullopt;
  if (parts[k] == "communities") out.kind = FeedPath::Kind::community;
  else if (parts[k] == "series") out.kind = FeedPath::Kind::series;
  else if (parts[k] == "members") out.kind = FeedPath::Kind::member;
  else return std::nullopt;
  if (!strip_ics(parts[k + 1], out.id)) return std::nullopt;
  return out;
}

std::unique_ptr<FeedSource> FeedSource::file(std::string path, InputLimits limits) {
  return std::make_unique<FileSource>(std::move(path), limits);
}
std::unique_ptr<FeedSource> FeedSource::store(Store& store) {
  return std::make_unique<StoreSource>(store);
}

// --- encodings ------------------------------------------------------------------------

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&zs, uLong(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
  return out;
}

std::string strong_etag(std::string_view data) {
  Fnv f;
  f.add(data);
  return "\"" + hex16(f.h) + "\"";
}

std::string http_date(Instant at) {
  return date::format("%a, %d %b %Y %H:%M:%S GMT", at);
}

namespace {

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7): letters and digits where the
// format has them, and nothing more. date::parse alone also reads "1 Feb", a two-digit
// year and trailing text, and reads seconds as a floating value, so that bytes there
// became a NaN converted to an integer (undefined behaviour; found by the server's fuzzer).
bool imf_fixdate_shape(std::string_view text) {
  static constexpr std::string_view shape = "Aaa, 00 Aaa 0000 00:00:00 GMT";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const char c = text[i];
    const bool ok = shape[i] == '0'   ? c >= '0' && c <= '9'
                    : shape[i] == 'A' ? c >= 'A' && c <= 'Z'
                    : shape[i] == 'a' ? c >= 'a' && c <= 'z'
                                      : c == shape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<Instant> parse_http_date(std::string_view text) {
  if (!imf_fixdate_shape(text)) return std::nullopt;
  std::istringstream in{std::string(text)};
  Instant at;
  in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", at);
  if (in.fail()) return std::nullopt;
  return at;
}

// --- the catalog --------------------------------------------------------------------

struct FeedCatalog::Entry {
  std::uint64_t version = 0;  // snapshot version it was last validated against
  LocalDay horizon{};
  std::uint64_t key = 0;      // fingerprint of its inputs
  std::shared_ptr<const FeedResponse> response;
};

FeedCatalog::FeedCatalog(std::unique_ptr<FeedSource> source, FeedCatalogOptions options)
    : source_(std::move(source)), options_(std::move(options)) {}
FeedCatalog::~FeedCatalog() = default;

std::uint64_t FeedCatalog::renders() const {
  std::lock_guard lock(mutex_);
  return renders_;
}

std::shared_ptr<const FeedResponse> FeedCatalog::get(const FeedPath& path) {
  auto snap = source_->snapshot();
  const Clock& clock = options_.clock ? *options_.clock : Clock::real();
  const LocalDay horizon = feed_horizon(clock.now());
  const Definitions& defs = *snap->definitions;

  // Member feeds are found (and re-checked: a rotated token stops at once) every time.
  std::optional<MemberFeed> member;
  std::string cache_name = path.to_string();
  if (path.kind == FeedPath::Kind::member) {
    member = source_->member_by_token(path.id);
    if (!member) return nullptr;
    cache_name = std::string(path.expanded ? "x" : "") + "member:" + member->member_id;
  } else {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(cache_name);
    if (it != entries_.end() && it->second->version == snap->version && it->second->horizon == horizon)
      return it->second->response;
  }

  // What the feed shows, and the fingerprint of that.
  FeedSelection selection;
  FeedOptions options;
  options.uid_domain = options_.uid_domain;
  options.refresh_interval = options_.refresh_interval;
  options.reminders = options_.reminders;
  options.expanded = path.expanded;
  switch (path.kind) {
    case FeedPath::Kind::all:
      options.name = "All communities";
      options.description = "Every community of practice";  // public: no file or store path
      break;
    case FeedPath::Kind::community: {
      const CommunityDef* community = nullptr;
      for (const auto& c : defs.communities)
        if (c.id == path.id) community = &c;
      if (!community) return nullptr;
      selection = FeedSelection::community(path.id);
      options.name = community->name;
      options.description = community->description.value_or("");
      break;
    }
    case FeedPath::Kind::series: {
      auto [community, series] = defs.find_series(path.id);
      if (!series) return nullptr;
      selection = FeedSelection::one_series(path.id);
      options.name = series->title + " · " + community->name;
      options.description = series->description.value_or("");
      break;
    }
    case FeedPath::Kind::member:
      selection = FeedSelection::list(member->series);
      options.name = member->name + " · convene";
      options.description = "The sessions " + member->name + " subscribes to";
      options.reminders = member->reminders;
      break;
  }
  const auto selected = select_series(defs, selection);
  Fnv key;
  key.add(std::uint64_t(horizon.time_since_epoch().count()))
      .add(options.name)
      .add(options.description)
      .add(std::uint64_t(options.expanded));
  for (auto r : options.reminders) key.add(std::uint64_t(r.count()));
  Instant last_modified{};
  for (const auto& [community, series] : selected) {
    auto it = snap->fingerprints.find(series->id);
    key.add(series->id).add(it == snap->fingerprints.end() ? 0 : it->second);
    last_modified = std::max(last_modified, snap->revisions.series(series->id).modified);
    if (snap->revisions.last_change)
      last_modified = std::max(last_modified, snap->revisions.last_change(series->id).at);
  }

  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    auto& slot = entries_[cache_name];
    if (!slot) slot = std::make_shared<Entry>();
    if (slot->response && slot->key == key.h && slot->horizon == horizon) {
      // Nothing it shows changed: no re-render, same bytes and ETag.
      auto updated = std::make_shared<Entry>(*slot);
      updated->version = snap->version;
      slot = updated;
      return slot->response;
    }
  }

  auto rendered = render_feed(defs, selection, horizon, snap->revisions, options);
  if (!rendered) throw std::runtime_error(rendered.error);
  auto response = std::make_shared<FeedResponse>();
  response->body = std::move(rendered.ics);
  response->events = rendered.events;
  auto gz = gzip_compress(response->body);
  if (gz.size() < response->body.size()) response->gzip = std::move(gz);
  response->etag = strong_etag(response->body);
  response->gzip_etag = response->etag.substr(0, response->etag.size() - 1) + "-gz\"";
  response->last_modified = last_modified;
  response->last_modified_http = http_date(last_modified);

  entry = std::make_shared<Entry>();
  entry->version = snap->version;
  entry->horizon = horizon;
  entry->key = key.h;
  entry->response = response;
  std::lock_guard lock(mutex_);
  entries_[cache_name] = entry;
  ++renders_;
  return response;
}

std::vector<FeedListing> FeedCatalog::listings() {
  auto snap = source_->snapshot();
  const Definitions& defs = *snap->definitions;
  std::vector<FeedListing> out;
  out.push_back({FeedPath{}, "All communities", "Every series of every community"});
  for (const auto& c : defs.communities)
    out.push_back({FeedPath{FeedPath::Kind::community, c.id, false}, c.name,
                   c.description.value_or("")});
  // A series that continues another (convene split) is in that one's feed: listed once.
  for (const auto& c : defs.communities)
    for (const auto& s : c.series)
      if (!s.continues || !defs.find_series(*s.continues).second)
        out.push_back({FeedPath{FeedPath::Kind::series, s.id, false}, s.title + " · " + c.name,
                       s.description.value_or("")});
  return out;
}

// `source_name` is not shown: a public page names no internal path (issue 9).
std::string subscribe_page(const std::vector<FeedListing>& feeds, const std::string& base_url,
                           const std::string& /*source_name*/) {
  std::ostringstream html;
  html << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>convene: subscribe to a calendar</title>\n"
       << "<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
          "line-height:1.4}li{margin:0 0 1.2rem}small{color:#555}a{margin-right:.8rem}</style>\n"
       << "</head>\n<body>\n<h1>Subscribe to a calendar</h1>\n"
       << "<p>Pick a feed and add it to your calendar once: every change shows up there by itself.</p>\n"
          "<ul>\n";
  const auto scheme_end = base_url.find("://");
  const std::string host_part = scheme_end == std::string::npos ? base_url : base_url.substr(scheme_end + 3);
  for (const auto& feed : feeds) {
    const std::string rel = feed.path.to_string();
    FeedPath expanded = feed.path;
    expanded.expanded = true;
    const std::string http_url = (base_url.empty() ? "." : base_url) + "/" + rel;
    const std::string webcal = "webcal://" + host_part + "/" + rel;
    html << "<li><strong>" << html::text(feed.title) << "</strong>";
    if (!feed.description.empty()) html << "<br><small>" << html::text(feed.description) << "</small>";
    html << "<br>";
    if (base_url.empty()) {
      // Published without --base-url: only links relative to this page work.
      html << "<a href=\"" << html::url_attribute(http_url) << "\">.ics</a>"
           << "<a href=\"" << html::url_attribute("./" + expanded.to_string())
           << "\">.ics (one event per session)</a></li>\n";
      continue;
    }
    const std::string google = "https://calendar.google.com/calendar/r?cid=" + html::query_component(webcal);
    const std::string outlook = "https://outlook.live.com/calendar/0/addfromweb?url=" +
                                html::query_component(http_url) + "&name=" + html::query_component(feed.title);
    html << "<a href=\"" << html::url_attribute(webcal) << "\">Subscribe (webcal)</a>"
         << "<a href=\"" << html::url_attribute(google) << "\">Add to Google Calendar</a>"
         << "<a href=\"" << html::url_attribute(outlook) << "\">Add to Outlook</a>"
         << "<a href=\"" << html::url_attribute(http_url) << "\">.ics</a>"
         << "<a href=\"" << html::url_attribute(base_url + "/" + expanded.to_string())
         << "\">.ics (one event per session)</a></li>\n";
  }
  html << "</ul>\n</body>\n</html>\n";
  return html.str();
}

}  // namespace convene
